package notify

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
)

// cardMessage is a question's living card as it should look now.
func (s *Service) cardMessage(c *Card) chat.Message { return RenderCard(c) }

// RenderCard renders a living question card: the question, then a status
// line (answers, accepted ✓, score, closed and obsolete badges). Every SOE
// string goes through internal/mrkdwn.
func RenderCard(c *Card) chat.Message {
	q := &c.State
	title := link(q.URL, q.Title, titleLen)
	head := fmt.Sprintf("*%s*%s", title, excerpt(q.BodyHTML))
	text := "Question: " + plainText(q.Title, titleLen)
	if c.New {
		head = ":new: *New question*\n" + head
		text = "New question: " + plainText(q.Title, titleLen)
	}
	ev := &Event{Scope: c.Scope, Question: q}
	blocks := []slack.Block{
		blockkit.Section(head),
		blockkit.Context("Asked by " + name(q.Owner) + " · " + cardStatus(c)),
		footer(ev),
	}
	if q.URL != "" {
		blocks = append(blocks, slack.NewActionBlock("notify_q", blockkit.LinkButton(fmt.Sprintf("notify_open:%d", q.ID), "Answer on Stack Overflow", q.URL)))
	}
	blocks = withQuestionRow(blocks, ev) // cardactions.go
	return chat.Message{Text: text, Blocks: blocks}
}

// cardStatus is the card's status line.
func cardStatus(c *Card) string {
	q := &c.State
	n := max(q.AnswerCount, c.Answers)
	parts := []string{":speech_balloon: " + plural(n, "answer", "answers")}
	if c.Accepted {
		parts = append(parts, ":white_check_mark: accepted")
	}
	parts = append(parts, fmt.Sprintf("score %d", q.Score))
	if q.Closed {
		parts = append(parts, ":lock: *closed*")
	}
	if q.Obsolete {
		parts = append(parts, ":warning: *obsolete*")
	}
	return strings.Join(parts, " · ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// threadReply renders an answers or accepted event as a reply in its
// question card's thread (the card says which question).
func (s *Service) threadReply(ev *Event) chat.Message { return RenderThreadReply(ev) }

// RenderThreadReply is threadReply, exported for goldens.
func RenderThreadReply(ev *Event) chat.Message {
	q := ev.Question
	if ev.Kind == EventAccepted {
		blocks := []slack.Block{blockkit.Section(":white_check_mark: *Accepted answer*")}
		if len(ev.Answers) > 0 {
			blocks = withAnswerRow(append(blocks, blockkit.Section(answerText(ev.Answers[0], "wrote the accepted answer"))), ev, ev.Answers[0], true)
		}
		return chat.Message{Text: "Accepted answer: " + plainText(q.Title, titleLen), Blocks: blocks}
	}
	n := len(ev.Answers)
	lead, text := ":speech_balloon: *New answer*", "New answer: "+plainText(q.Title, titleLen)
	if n != 1 {
		lead, text = fmt.Sprintf(":speech_balloon: *%d new answers*", n), fmt.Sprintf("%d new answers: %s", n, plainText(q.Title, titleLen))
	}
	return chat.Message{Text: text, Blocks: answerBlocks([]slack.Block{blockkit.Section(lead)}, ev)}
}
