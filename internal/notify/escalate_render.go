package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
)

// maxSummaryQuestions bounds the questions listed in a daily-cap summary.
const maxSummaryQuestions = 15

// renderTimer renders the timer events (ok false for any other event).
func renderTimer(ev *Event, command string) (chat.Message, bool) {
	info := ev.Timer
	if info == nil {
		info = &TimerInfo{}
	}
	switch ev.Kind {
	case EventUnanswered:
		return renderUnanswered(ev, info), true
	case EventEscalationDM:
		return renderEscalationDM(ev, info), true
	case EventEscalation:
		return renderEscalation(ev, info, command), true
	case EventEscSummary:
		return renderEscSummary(ev, info), true
	}
	return chat.Message{}, false
}

func questionHead(lead string, q *QuestionInfo) *slack.SectionBlock {
	return blockkit.Section(fmt.Sprintf("%s\n*%s*%s", lead, link(q.URL, q.Title, titleLen), excerpt(q.BodyHTML)))
}

func answerButton(q *QuestionInfo) slack.BlockElement {
	return blockkit.LinkButton("notify_open:"+strconv.Itoa(q.ID), "Answer on Stack Overflow", q.URL)
}

// ageWords is how old a question is, as its messages say it: whole hours
// (minutes under an hour), never less than the delay that made the event.
func ageWords(age, after time.Duration) string {
	a := age.Truncate(time.Minute)
	if age >= time.Hour {
		a = age.Truncate(time.Hour)
	}
	return FormatAge(max(a, after))
}

// renderUnanswered is the unanswered filter's card in the channel.
func renderUnanswered(ev *Event, info *TimerInfo) chat.Message {
	q := ev.Question
	age := ageWords(info.Age, info.After)
	blocks := []slack.Block{
		questionHead(fmt.Sprintf(":hourglass: *Still unanswered after %s*", age), q),
		blockkit.Context(fmt.Sprintf("Asked by %s %s ago", name(q.Owner), age)),
		footer(ev),
	}
	if q.URL != "" {
		blocks = append(blocks, blockkit.Actions("notify_q", answerButton(q)))
	}
	return chat.Message{Text: fmt.Sprintf("Still unanswered after %s: %s", age, plainText(q.Title, titleLen)), Blocks: blocks}
}

// renderEscalationDM is the DM to one SME.
func renderEscalationDM(ev *Event, info *TimerInfo) chat.Message {
	q := ev.Question
	age := ageWords(info.Age, info.After)
	var els []slack.BlockElement
	if q.URL != "" {
		els = append(els, answerButton(q))
	}
	els = append(els, blockkit.Button(ActionEscalationDecline, "Not for me", info.Value))
	blocks := []slack.Block{
		questionHead(fmt.Sprintf(":sos: *A question in your tags is still unanswered after %s*", age), q),
		blockkit.Context(fmt.Sprintf("Asked by %s %s ago · you are a subject-matter expert of %s", name(q.Owner), age, tagsLine(q))),
		footer(ev),
		blockkit.Actions("notify_esc", els...),
	}
	return chat.Message{Text: fmt.Sprintf("Still unanswered after %s, in your tags: %s", age, plainText(q.Title, titleLen)), Blocks: blocks}
}

// renderEscalation is the channel post of a question still unanswered.
func renderEscalation(ev *Event, info *TimerInfo, command string) chat.Message {
	q := ev.Question
	age := ageWords(info.Age, info.After)
	lead := fmt.Sprintf(":rotating_light: *Still unanswered after %s*", age)
	var who string
	if len(info.Mentions) > 0 {
		var ms []string
		for _, id := range info.Mentions {
			ms = append(ms, mrkdwn.Mention(id))
		}
		who = strings.Join(ms, ", ") + ": you are subject-matter experts of these tags. Can you help?"
		if len(ms) == 1 {
			who = ms[0] + ": you are a subject-matter expert of these tags. Can you help?"
		}
	} else {
		who = "None of the subject-matter experts of these tags is in Slack to ask. Can anyone here help?"
	}
	blocks := []slack.Block{
		blockkit.Section(fmt.Sprintf("%s: *%s*\n%s", lead, link(q.URL, q.Title, titleLen), who)),
	}
	if notes := escalationNotes(info, command); notes != "" {
		blocks = append(blocks, blockkit.Context(notes))
	}
	blocks = append(blocks, footer(ev))
	if q.URL != "" {
		blocks = append(blocks, blockkit.Actions("notify_q", answerButton(q)))
	}
	return chat.Message{Text: fmt.Sprintf("Still unanswered after %s: %s", age, plainText(q.Title, titleLen)), Blocks: blocks,
		ThreadTS: info.ThreadTS}
}

func escalationNotes(info *TimerInfo, command string) string {
	var notes []string
	plural := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	if info.Skipped > 0 {
		notes = append(notes, plural(info.Skipped, "expert", "experts")+" skipped (deactivated in Slack or not taking DMs)")
	}
	if info.Unknown > 0 {
		notes = append(notes, plural(info.Unknown, "expert is", "experts are")+" not known in Slack")
	}
	if len(info.Off) > 0 {
		notes = append(notes, "subject-matter experts are turned off on the site, so I could not ask any for "+TagList(info.Off))
	}
	if len(notes) == 0 {
		return ""
	}
	return strings.Join(notes, " · ") + " · see " + mrkdwn.Code(command+" experts <tag>")
}

// renderEscSummary is the one DM an SME gets for the questions over the
// daily cap.
func renderEscSummary(ev *Event, info *TimerInfo) chat.Message {
	n := len(info.Questions)
	head := fmt.Sprintf(":inbox_tray: *%d more questions in your tags are still unanswered*", n)
	if n == 1 {
		head = ":inbox_tray: *1 more question in your tags is still unanswered*"
	}
	var lines []string
	for i, q := range info.Questions {
		if i == maxSummaryQuestions {
			lines = append(lines, fmt.Sprintf("…and %d more.", n-maxSummaryQuestions))
			break
		}
		lines = append(lines, "• "+link(q.URL, q.Title, titleLen))
	}
	blocks := []slack.Block{
		blockkit.Section(head + "\n" + strings.Join(lines, "\n")),
		blockkit.Context(fmt.Sprintf("You get at most %d escalations a day, one message each; these are the rest of today's, in one. · %s",
			MaxEscalationDMsPerDay, mrkdwn.Escape(ev.Scope.String()))),
	}
	return chat.Message{Text: fmt.Sprintf("%d more unanswered questions in your tags", n), Blocks: blocks}
}

// dmRefused reports Slack errors meaning the user cannot get a DM from the
// bot (deactivated, DMs closed): retrying cannot help.
func dmRefused(err error) bool {
	switch slackCode(err) {
	case "user_disabled", "account_inactive", "cannot_dm_bot", "messages_tab_disabled", "user_not_visible":
		return true
	}
	return false
}
