package notify

import (
	"fmt"
	"html"
	"strings"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
)

// ActionReconnect is the action_id of the Reconnect button of a "paused"
// notice; its value is the scope key. The subscriptions feature handles it.
const ActionReconnect = "notify_reconnect"

// Card limits.
const (
	excerptLen     = 280
	maxCardAnswers = 5
	titleLen       = 150
	nameLen        = 80
)

func (s *Service) render(ev *Event, t Target) chat.Message {
	return Render(ev, t.Reason, s.opts.Command)
}

// Render builds the Slack message of one event for one kind of target
// (reason "channel", "asker", "expert" or "notice"). Every SOE string goes
// through internal/mrkdwn; the only mentions are of channel ids we store.
func Render(ev *Event, reason, command string) chat.Message {
	if command == "" {
		command = "/soe"
	}
	if m, ok := renderTimer(ev, command); ok { // escalate_render.go
		return m
	}
	switch ev.Kind {
	case EventQuestion:
		return renderQuestion(ev, reason)
	case EventAnswers:
		return renderAnswers(ev, reason)
	case EventAccepted:
		return renderAccepted(ev, reason)
	case EventPaused:
		if reason == reasonChannelNotice {
			return renderPausedChannel(ev, command)
		}
		return renderPaused(ev, command)
	case EventDisabled:
		return renderDisabled(ev, command)
	case EventDigest:
		return renderDigest(ev, command)
	case EventFold:
		return renderFold(ev)
	}
	return chat.Message{Text: "Stack Overflow activity", Blocks: []slack.Block{blockkit.Section("Stack Overflow activity")}}
}

// plainText is SOE text (HTML-escaped, maybe more than once) as inert mrkdwn.
func plainText(s string, n int) string { return mrkdwn.Plain(mrkdwn.Truncate(s, n)) }

// link is an SOE string as a link label (decoded once; Link escapes it).
func link(url, label string, n int) string {
	label = mrkdwn.Truncate(html.UnescapeString(label), n)
	if url == "" {
		return mrkdwn.Plain(label)
	}
	return mrkdwn.Link(url, label)
}

// TagList renders tags as inline code ("every tag" for an empty list or "*").
func TagList(tags []string) string {
	var out []string
	for _, t := range tags {
		if t == "*" {
			out = append(out, "every tag")
			continue
		}
		out = append(out, mrkdwn.Code(t))
	}
	if len(out) == 0 {
		return "every tag"
	}
	return strings.Join(out, ", ")
}

func tagsLine(q *QuestionInfo) string {
	var out []string
	for _, t := range q.Tags {
		out = append(out, mrkdwn.Code(t))
	}
	return strings.Join(out, " ")
}

func footer(ev *Event) *slack.ContextBlock {
	parts := []string{}
	if tl := tagsLine(ev.Question); tl != "" {
		parts = append(parts, tl)
	}
	parts = append(parts, mrkdwn.Escape(ev.Scope.String()))
	return blockkit.Context(strings.Join(parts, " · "))
}

func name(p Person) string {
	if p.Name == "" {
		return "someone"
	}
	return link(p.URL, p.Name, nameLen)
}

func excerpt(bodyHTML string) string {
	if e := mrkdwn.Excerpt(bodyHTML, excerptLen); e != "" {
		return "\n>" + e
	}
	return ""
}

// --- cards ------------------------------------------------------------------------

func renderQuestion(ev *Event, reason string) chat.Message {
	q := ev.Question
	title := link(q.URL, q.Title, titleLen)
	lead := ":new: *New question*"
	text := "New question: " + plainText(q.Title, titleLen)
	if reason == "expert" {
		lead = ":mortar_board: *New question in a tag where you are a subject-matter expert*"
		text = "New question for an expert: " + plainText(q.Title, titleLen)
	}
	blocks := []slack.Block{
		blockkit.Section(fmt.Sprintf("%s\n*%s*%s", lead, title, excerpt(q.BodyHTML))),
		blockkit.Context("Asked by " + name(q.Owner)),
		footer(ev),
	}
	if q.URL != "" {
		blocks = append(blocks, slack.NewActionBlock("notify_q", blockkit.LinkButton(fmt.Sprintf("notify_open:%d", q.ID), "Answer on Stack Overflow", q.URL)))
	}
	blocks = withQuestionRow(blocks, ev)
	return chat.Message{Text: text, Blocks: blocks}
}

func renderAnswers(ev *Event, reason string) chat.Message {
	q := ev.Question
	title := link(q.URL, q.Title, titleLen)
	n := len(ev.Answers)
	var lead, text string
	switch {
	case reason == "asker" && n == 1:
		lead = fmt.Sprintf(":speech_balloon: Your question *%s* has a new answer", title)
		text = "Your question has a new answer: " + plainText(q.Title, titleLen)
	case reason == "asker":
		lead = fmt.Sprintf(":speech_balloon: Your question *%s* has %d new answers", title, n)
		text = fmt.Sprintf("Your question has %d new answers: %s", n, plainText(q.Title, titleLen))
	case n == 1:
		lead = fmt.Sprintf(":speech_balloon: *New answer* to *%s*", title)
		text = "New answer: " + plainText(q.Title, titleLen)
	default:
		lead = fmt.Sprintf(":speech_balloon: *%d new answers* to *%s*", n, title)
		text = fmt.Sprintf("%d new answers: %s", n, plainText(q.Title, titleLen))
	}
	blocks := append(answerBlocks([]slack.Block{blockkit.Section(lead)}, ev), footer(ev))
	return chat.Message{Text: text, Blocks: blocks}
}

// answerBlocks appends ev's answers (at most maxCardAnswers, then a link to
// the rest), each with its button row, to blocks.
func answerBlocks(blocks []slack.Block, ev *Event) []slack.Block {
	for i, a := range ev.Answers {
		if i == maxCardAnswers {
			more := fmt.Sprintf("…and %d more.", len(ev.Answers)-maxCardAnswers)
			if ev.Question.URL != "" {
				more += " " + mrkdwn.Link(ev.Question.URL, "See them all on Stack Overflow")
			}
			return append(blocks, blockkit.Context(more))
		}
		blocks = withAnswerRow(append(blocks, blockkit.Section(answerText(a, "answered"))), ev, a, false)
	}
	return blocks
}

func answerText(a AnswerInfo, verb string) string {
	t := fmt.Sprintf("*%s* %s:%s", name(a.Owner), verb, excerpt(a.BodyHTML))
	if a.URL != "" {
		t += "\n" + mrkdwn.Link(a.URL, "View answer")
	}
	return t
}

func renderAccepted(ev *Event, reason string) chat.Message {
	q := ev.Question
	title := link(q.URL, q.Title, titleLen)
	lead := fmt.Sprintf(":white_check_mark: *Accepted answer* on *%s*", title)
	text := "Accepted answer: " + plainText(q.Title, titleLen)
	if reason == "asker" {
		lead = fmt.Sprintf(":white_check_mark: An answer to your question *%s* was accepted", title)
		text = "An answer to your question was accepted: " + plainText(q.Title, titleLen)
	}
	blocks := []slack.Block{blockkit.Section(lead)}
	if len(ev.Answers) > 0 {
		blocks = withAnswerRow(append(blocks, blockkit.Section(answerText(ev.Answers[0], "wrote the accepted answer"))), ev, ev.Answers[0], true)
	}
	blocks = append(blocks, footer(ev))
	return chat.Message{Text: text, Blocks: blocks}
}

func channelList(ids []string) string {
	var out []string
	for _, id := range ids {
		out = append(out, mrkdwn.ChannelMention(id))
	}
	return strings.Join(out, ", ")
}

func renderPaused(ev *Event, command string) chat.Message {
	n := ev.notice()
	scope := mrkdwn.Escape(ev.Scope.String())
	text := fmt.Sprintf(":double_vertical_bar: I paused your subscriptions on *%s* (%s in %s): nobody who can see %s has a working Stack Overflow connection any more.\n"+
		"Reconnect and they resume by themselves. %s shows their state.",
		scope, TagList(n.Tags), channelList(n.Channels), scope, mrkdwn.Code(command+" subscriptions mine"))
	btn := blockkit.PrimaryButton(ActionReconnect, "Reconnect", ev.Scope.Key())
	return chat.Message{
		Text:   "Your Stack Overflow subscriptions on " + scope + " are paused: reconnect to resume them.",
		Blocks: []slack.Block{blockkit.Section(text), blockkit.Actions("notify_paused", btn)},
	}
}

// renderPausedChannel is the one notice a channel gets when none of a
// subscription's owners can read its scope any more.
func renderPausedChannel(ev *Event, command string) chat.Message {
	n := ev.notice()
	scope := mrkdwn.Escape(ev.Scope.String())
	text := fmt.Sprintf(":double_vertical_bar: This channel's subscription to %s on *%s* is paused: none of the people who keep it running can read %s on Stack Overflow any more.\n"+
		"Anyone here who can may keep it running with their own connection. %s shows who keeps it running.",
		TagList(n.Tags), scope, scope, mrkdwn.Code(command+" subscriptions"))
	btn := blockkit.Button(ActionAdopt, "Keep it running as me", n.SubID)
	return chat.Message{
		Text:   "This channel's Stack Overflow subscription on " + scope + " is paused.",
		Blocks: []slack.Block{blockkit.Section(text), blockkit.Actions("notify_adopt", btn)},
	}
}

func renderDisabled(ev *Event, command string) chat.Message {
	n := ev.notice()
	why := "I am not allowed to post there"
	switch n.Reason {
	case "channel_not_found":
		why = "it no longer exists or I cannot see it"
	case "not_in_channel":
		why = "I am not a member"
	case "is_archived", "channel_is_archived":
		why = "it was archived"
	}
	text := fmt.Sprintf(":no_entry: I can no longer post in %s (%s), so I turned off its subscriptions to %s.\n"+
		"To get them back, invite me with %s and run %s again.",
		channelList(n.Channels), why, TagList(n.Tags), mrkdwn.Code("/invite @soebot"), mrkdwn.Code(command+" subscribe"))
	return chat.Message{Text: "A channel's Stack Overflow subscriptions were turned off.", Blocks: []slack.Block{blockkit.Section(text)}}
}
