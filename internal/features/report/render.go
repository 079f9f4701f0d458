package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
)

// renderTag is the report on one tag. Every SOE string is escaped.
func renderTag(r *tagReport, cmd string) chat.Message {
	if r.Tag == nil {
		text := fmt.Sprintf(":mag: No tag %s on %s.", mrkdwn.Code(r.Typed), mrkdwn.Escape(r.Scope.String()))
		if len(r.Suggestions) > 0 {
			var s []string
			for _, n := range r.Suggestions {
				s = append(s, mrkdwn.Code(n))
			}
			text += " Did you mean " + strings.Join(s, ", ") + "?"
		}
		return blockkit.Text(text)
	}
	st := r.Stats
	name := r.Tag.Name
	blocks := []slack.Block{
		blockkit.Header(mrkdwn.Truncate(fmt.Sprintf("Report on %s, last %d days", name, r.Days), 150)),
		blockkit.Section(expertsLine(r, cmd) + "\n" + watchersLine(r.Tag.WatcherCount)),
		blockkit.Section(questionsLine(st)),
		blockkit.Section(oldestLines(st)),
		blockkit.Section(channelsLine(r.Channels, cmd, name)),
	}
	ctx := fmt.Sprintf("%s on %s · as Stack Overflow shows it to you · %s to %s", mrkdwn.Link(r.Tag.WebURL, name),
		mrkdwn.Escape(r.Scope.String()), st.From.Format("Jan 2, 2006"), st.To.Format("Jan 2, 2006"))
	if st.Truncated {
		ctx += fmt.Sprintf(" · counted over the first %d questions", st.Asked)
	}
	blocks = append(blocks, blockkit.Context(ctx))
	summary := fmt.Sprintf("Report on %s: %d questions in %d days, %d%% answered", name, st.Asked, r.Days, percent(st.Answered, st.Asked))
	return chat.Message{Text: summary, Blocks: blocks}
}

func expertsLine(r *tagReport, cmd string) string {
	if r.SMEDisabled {
		return fmt.Sprintf(":no_entry: *Experts:* subject-matter experts are turned off on %s.", mrkdwn.Escape(r.Scope.String()))
	}
	if r.People == 0 {
		return ":warning: *Experts:* none. Nobody is routed the questions of this tag; a moderator can add some with " +
			mrkdwn.Code(cmd+" experts add @person "+r.Tag.Name) + "."
	}
	var groups []string
	for _, g := range r.Groups {
		groups = append(groups, "*"+mrkdwn.Escape(mrkdwn.Truncate(g.Name, 60))+"*")
	}
	line := fmt.Sprintf(":busts_in_silhouette: *Experts:* %s, %s: %s in all", plural(len(r.Users), "user", "users"),
		plural(len(r.Groups), "group", "groups"), plural(r.People, "person", "people"))
	if len(groups) > 0 {
		line += " (groups: " + strings.Join(groups, ", ") + ")"
	}
	return line
}

func watchersLine(n int) string {
	return fmt.Sprintf(":eyes: *Watchers:* %d", n)
}

func questionsLine(st Stats) string {
	if st.Asked == 0 {
		return ":speech_balloon: *Questions:* none asked in this period."
	}
	line := fmt.Sprintf(":speech_balloon: *Questions:* %d asked · %d%% answered (%d) · %d%% with an accepted answer (%d)",
		st.Asked, percent(st.Answered, st.Asked), st.Answered, percent(st.Accepted, st.Asked), st.Accepted)
	if st.FirstAnswerSample > 0 {
		line += fmt.Sprintf("\n:stopwatch: *Median time to a first answer:* %s (over %s)", humanDuration(st.MedianFirstAnswer),
			plural(st.FirstAnswerSample, "answered question", "answered questions"))
	}
	return line
}

func oldestLines(st Stats) string {
	switch {
	case st.Asked == 0:
		return ":white_check_mark: *Unanswered:* none."
	case len(st.Oldest) == 0:
		return ":white_check_mark: *Unanswered:* none. Every question of this period has an answer."
	}
	lines := []string{fmt.Sprintf(":hourglass: *Oldest unanswered* (%d of %d):", len(st.Oldest), st.Asked-st.Answered)}
	for _, q := range st.Oldest {
		lines = append(lines, fmt.Sprintf("• %s · asked %s", mrkdwn.Link(q.WebURL, mrkdwn.Truncate(q.Title, 100)), ageText(st.To.Sub(q.CreationDate))))
	}
	return strings.Join(lines, "\n")
}

func channelsLine(channels []string, cmd, tag string) string {
	if len(channels) == 0 {
		return ":mailbox_with_no_mail: *Channels:* none here follow this tag. Start with " + mrkdwn.Code(cmd+" subscribe "+tag) + "."
	}
	var cs []string
	for i, c := range channels {
		if i == 20 {
			cs = append(cs, fmt.Sprintf("and %d more", len(channels)-20))
			break
		}
		cs = append(cs, mrkdwn.ChannelMention(c))
	}
	return ":mailbox: *Channels following it:* " + strings.Join(cs, ", ")
}

// renderTop lists the tags with the most unanswered questions.
func renderTop(r *topReport, cmd string) chat.Message {
	if len(r.Tags) == 0 {
		return blockkit.Text(fmt.Sprintf(":white_check_mark: No unanswered questions on %s in the last %d days (%d asked).",
			mrkdwn.Escape(r.Scope.String()), r.Days, r.Asked))
	}
	lines := []string{fmt.Sprintf("*Tags with the most unanswered questions* on %s, last %d days:", mrkdwn.Escape(r.Scope.String()), r.Days)}
	for i, t := range r.Tags {
		lines = append(lines, fmt.Sprintf("%d. %s · %s unanswered · %s", i+1, mrkdwn.Link(t.Tag.WebURL, t.Tag.Name),
			plural(t.Unanswered, "question", "questions"), coverage(t)))
	}
	ctx := fmt.Sprintf("%d questions asked in the period · details with %s", r.Asked, mrkdwn.Code(cmd+" report <tag>"))
	if r.Truncated {
		ctx += fmt.Sprintf(" · counted over the first %d", r.Asked)
	}
	return chat.Message{Text: fmt.Sprintf("Tags with the most unanswered questions, last %d days", r.Days),
		Blocks: []slack.Block{blockkit.Section(strings.Join(lines, "\n")), blockkit.Context(ctx)}}
}

// coverage says how many SMEs a tag has.
func coverage(t topTag) string {
	switch n := t.Tag.SubjectMatterExpertCount; {
	case n == nil:
		return "SMEs turned off"
	case *n == 0:
		return ":warning: no experts"
	default:
		return plural(*n, "expert", "experts")
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// humanDuration is d in the largest sensible unit.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute", "minutes")
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f hours", d.Hours())
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}

// ageText is how long ago something happened.
func ageText(d time.Duration) string {
	if d < 24*time.Hour {
		return "today"
	}
	return plural(int(d/(24*time.Hour)), "day ago", "days ago")
}
