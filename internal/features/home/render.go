package home

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soetext"
)

func (f *Feature) render(d *data) []slack.Block {
	cmd := f.cfg.Command
	site := "Stack Overflow"
	if f.cfg.SiteURL != "" {
		site = mrkdwn.Link(f.cfg.SiteURL, "Stack Overflow")
	}
	blocks := []slack.Block{
		blockkit.Header("Stack Overflow in Slack"),
		blockkit.Section(fmt.Sprintf("Search, ask and find the experts on %s without leaving Slack. I always act as you, with your own account. Type %s to see everything I can do.",
			site, mrkdwn.Code(cmd+" help"))),
		blockkit.Divider(),
		blockkit.Section("*Your connections*"),
	}
	if d.LinksFailed {
		blocks = append(blocks, blockkit.Section(":warning: I could not read your connections just now. Open this tab again in a moment."))
	}
	for _, c := range d.Connections {
		blocks = append(blocks, renderConn(c, cmd)...)
	}
	blocks = append(blocks, blockkit.Context(fmt.Sprintf("Private teams: %s connects one, %s lists your connections.",
		mrkdwn.Code(cmd+" link team <slug>"), mrkdwn.Code(cmd+" whoami"))))
	for _, extra := range d.Extra {
		blocks = append(blocks, blockkit.Divider())
		blocks = append(blocks, extra...)
	}
	blocks = append(blocks, blockkit.Divider())
	blocks = append(blocks, renderExpertise(d, cmd)...)
	return blockkit.Cap(blocks, maxBlocks)
}

func renderConn(c conn, cmd string) []slack.Block {
	name := "Main site"
	if c.Scope.IsTeam() {
		name = "Team " + c.Scope.Team
	}
	name = "*" + mrkdwn.Escape(name) + "*"
	connect := func(action, label string) *slack.ButtonBlockElement {
		if c.ConnectURL == "" {
			return nil
		}
		return blockkit.LinkButton(action+":"+c.Scope.Key(), label, c.ConnectURL).WithStyle(slack.StylePrimary)
	}
	switch {
	case c.Link == nil:
		text := name + ": not connected. Connect to search, ask and see previews of Stack Overflow links."
		if btn := connect(router.ActionConnect, "Connect"); btn != nil {
			return []slack.Block{blockkit.SectionWithButton(text, btn)}
		}
		return []slack.Block{blockkit.Section(text + " Run " + mrkdwn.Code(cmd+" link") + ".")}
	case c.Link.Invalid:
		reason := "Stack Overflow no longer accepts it"
		if c.Link.InvalidReason != "" {
			reason = c.Link.InvalidReason
		}
		text := fmt.Sprintf(":warning: %s: %s needs reconnecting (%s).", name, soetext.Account(*c.Link), mrkdwn.Escape(reason))
		els := []slack.BlockElement{}
		if btn := connect(router.ActionReconnect, "Reconnect"); btn != nil {
			els = append(els, btn)
		}
		els = append(els, disconnectButton(c.Scope))
		return []slack.Block{blockkit.Section(text), blockkit.Actions("home_conn_"+c.Scope.Key(), els...)}
	default:
		text := fmt.Sprintf(":white_check_mark: %s: connected as %s · %s · %s", name, soetext.Account(*c.Link), c.Link.Access(), soetext.Expiry(*c.Link))
		return []slack.Block{blockkit.SectionWithButton(text, disconnectButton(c.Scope))}
	}
}

func disconnectButton(scope soe.Scope) *slack.ButtonBlockElement {
	where := "the main site"
	if scope.IsTeam() {
		where = "team " + scope.Team
	}
	confirm := slack.NewConfirmationBlockObject(
		blockkit.Plain("Disconnect?"),
		blockkit.Markdown(fmt.Sprintf("I will forget your Stack Overflow connection for %s and stop acting as you there. You can connect again at any time.", mrkdwn.Escape(where))),
		blockkit.Plain("Disconnect"), blockkit.Plain("Cancel")).WithStyle(slack.StyleDanger)
	return blockkit.Button(actionDisconnect+":"+scope.Key(), "Disconnect", scope.Key()).WithStyle(slack.StyleDanger).WithConfirm(confirm)
}

func renderExpertise(d *data, cmd string) []slack.Block {
	ex := d.Expertise
	switch {
	case d.ExpertiseFail != "":
		return []slack.Block{blockkit.Section("*Your expertise*\n:warning: " + mrkdwn.Escape(d.ExpertiseFail))}
	case ex == nil:
		return []slack.Block{blockkit.Section("*Your expertise*\nConnect your main-site account to see the tags you are a subject-matter expert for, and the questions waiting for an answer there.")}
	case ex.SMEDisabled:
		return []slack.Block{blockkit.Section("*Your expertise*\nSubject-matter experts are turned off on this Stack Overflow site.")}
	case len(ex.Tags) == 0:
		text := "*Your expertise*\nYou are not a subject-matter expert for any tag yet. " +
			"Find the experts on a tag with " + mrkdwn.Code(cmd+" experts <tag>") + "."
		if ex.Partial {
			text += fmt.Sprintf(" (I checked the %d most used tags that have experts.)", ex.Checked)
		}
		return []slack.Block{blockkit.Section(text)}
	}
	var tags []string
	for _, t := range ex.Tags {
		tags = append(tags, mrkdwn.Link(t.WebURL, mrkdwn.Truncate(t.Name, 40)))
	}
	blocks := []slack.Block{blockkit.Section("*Tags you are an expert on*\n" + strings.Join(tags, " · "))}
	if ex.Partial {
		blocks = append(blocks, blockkit.Context(fmt.Sprintf("I checked the %d most used tags that have experts.", ex.Checked)))
	}
	return append(blocks, renderQuestions(ex.Questions)...)
}

// renderQuestions lists the unanswered questions in the user's tags.
func renderQuestions(qs []soe.QuestionSummary) []slack.Block {
	if len(qs) == 0 {
		return []slack.Block{blockkit.Section("*Unanswered questions in your tags*\nNone right now. :tada:")}
	}
	blocks := []slack.Block{blockkit.Section("*Unanswered questions in your tags*")}
	for _, q := range qs {
		meta := []string{soetext.Answers(q.AnswerCount), soetext.Votes(q.Score)}
		if t := soetext.Tags(q.TagNames(), 5); t != "" {
			meta = append(meta, t)
		}
		if q.Owner != nil && q.Owner.Name != "" {
			meta = append(meta, "asked by "+mrkdwn.Plain(mrkdwn.Truncate(q.Owner.Name, 80)))
		}
		blocks = append(blocks, blockkit.Section(":question: *"+mrkdwn.Link(q.WebURL, soetext.Title(q.Title, soetext.TitleLen))+"*\n"+strings.Join(meta, " · ")))
	}
	return blocks
}
