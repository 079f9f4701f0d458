package experts

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/soe"
)

type renderOpts struct {
	shareValue string // set on the private answer: the Share button's value
	sharedBy   string // set on the shared message: who shared it
}

// render builds the experts answer. Every SOE string is escaped; the only
// mentions are the Slack ids we mapped ourselves.
func (f *Feature) render(scope soe.Scope, results []tagExperts, o renderOpts) chat.Message {
	var blocks []slack.Block
	var summary []string
	for i, res := range results {
		if i > 0 {
			blocks = append(blocks, blockkit.Divider())
		}
		bs, sum := f.renderTag(scope, i, res, o)
		blocks = append(blocks, bs...)
		summary = append(summary, sum)
	}
	if o.shareValue != "" && anyFound(results) {
		blocks = append(blocks, blockkit.Actions("experts_share", blockkit.PrimaryButton(actionShare, "Share in channel", o.shareValue)))
	}
	if o.sharedBy != "" {
		blocks = append(blocks, blockkit.Context("Shared by "+mrkdwn.Mention(o.sharedBy)+" with "+mrkdwn.Code(f.cfg.Command+" experts")))
	}
	return chat.Message{Text: "Experts: " + strings.Join(summary, "; "), Blocks: blockkit.Cap(blocks, 50)}
}

// renderTag is the part of the answer about the i-th tag, and its summary.
func (f *Feature) renderTag(scope soe.Scope, i int, res tagExperts, o renderOpts) ([]slack.Block, string) {
	name := res.Typed
	if res.Tag != nil {
		name = res.Tag.Name
	}
	switch {
	case res.Tag == nil:
		text := fmt.Sprintf(":mag: No tag %s on %s.", mrkdwn.Code(name), mrkdwn.Escape(scope.String()))
		if len(res.Suggestions) > 0 {
			var s []string
			for _, n := range res.Suggestions {
				s = append(s, mrkdwn.Code(n))
			}
			text += " Did you mean " + strings.Join(s, ", ") + "?"
		}
		return []slack.Block{blockkit.Section(text)}, "no tag " + name
	case res.SMEDisabled:
		return []slack.Block{blockkit.Section(fmt.Sprintf(":no_entry: Subject-matter experts are turned off on %s, so I cannot say who the experts on %s are.",
			mrkdwn.Escape(scope.String()), mrkdwn.Code(name)))}, "SMEs are turned off"
	}
	askable := f.asker != nil && o.sharedBy == ""
	none := len(res.Users) == 0 && len(res.Groups) == 0
	blocks := []slack.Block{blockkit.Header("Experts on " + name)}
	var summary string
	if none {
		blocks = append(blocks, blockkit.Section(noExperts(name, res.Tag.WatcherCount, askable)))
		summary = "no experts on " + name
	} else {
		blocks = append(blocks, blockkit.Section(expertLines(res)))
		summary = fmt.Sprintf("%d experts on %s", len(res.Users)+len(res.Groups), name)
	}
	var els []slack.BlockElement
	if askable {
		label := "Ask the experts"
		if none {
			label = "Ask a question in this tag"
		}
		els = append(els, f.asker.AskButton(name, label, scope, []string{name}, ""))
	}
	if res.Tag.WebURL != "" {
		els = append(els, blockkit.LinkButton("experts_view_tag:"+name, "View tag", res.Tag.WebURL))
	}
	tagLink := mrkdwn.Link(res.Tag.WebURL, name)
	blocks = append(blocks, blockkit.Context(fmt.Sprintf("%s on %s · %d posts", tagLink, mrkdwn.Escape(scope.String()), res.Tag.PostCount)))
	if len(els) > 0 {
		blocks = append(blocks, blockkit.Actions(fmt.Sprintf("experts_actions_%d", i), els...))
	}
	return blocks, summary
}

// noExperts says a tag has no SMEs, and who watches it.
func noExperts(name string, watchers int, askable bool) string {
	text := fmt.Sprintf("%s has no subject-matter experts yet.", mrkdwn.Code(name))
	switch watchers {
	case 0:
		text += " Nobody watches it either."
	case 1:
		text += " 1 person watches it."
	default:
		text += fmt.Sprintf(" %d people watch it.", watchers)
	}
	if askable {
		text += " You could ask a question in this tag instead."
	}
	return text
}

// expertLines lists the SME users, then each group with its members.
func expertLines(res tagExperts) string {
	var lines []string
	for _, p := range res.Users {
		lines = append(lines, "• "+renderPerson(p))
	}
	for _, g := range res.Groups {
		var ms []string
		for _, m := range g.Members {
			ms = append(ms, renderPerson(m))
		}
		line := "• *" + mrkdwn.Escape(mrkdwn.Truncate(g.Name, 80)) + "* (group)"
		if len(ms) > 0 {
			line += ": " + strings.Join(ms, ", ")
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func anyFound(rs []tagExperts) bool {
	for _, r := range rs {
		if r.Tag != nil && !r.SMEDisabled {
			return true
		}
	}
	return false
}

func renderPerson(p people.Person) string {
	name := mrkdwn.Link(p.ProfileURL, mrkdwn.Truncate(p.Name, 80))
	if p.SlackID != "" {
		return mrkdwn.Mention(p.SlackID) + " (" + name + ")"
	}
	return name
}
