package router

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
)

func (r *Router) runHelp(ctx context.Context, req *Request) {
	r.Reply(ctx, req.Env, r.helpMessage(""))
}

func (r *Router) quickHelp(*Request) (chat.Message, bool) { return r.helpMessage(""), true }

// helpMessage lists every visible subcommand with its usage; intro, when
// given, comes first (already mrkdwn).
func (r *Router) helpMessage(intro string) chat.Message {
	var lines []string
	for _, s := range r.subs {
		if s.Hidden {
			continue
		}
		lines = append(lines, fmt.Sprintf("`%s %s`  %s", r.cfg.Command, r.usage(s), s.Summary))
	}
	foot := "Add `team <slug>` to use a private team instead of the main site."
	if r.cfg.BasicBusiness {
		foot = "Connected to Stack Overflow for Teams: every command works in your team."
	}
	var blocks []slack.Block
	if intro != "" {
		blocks = append(blocks, blockkit.Section(intro))
	}
	blocks = append(blocks,
		blockkit.Header("Stack Overflow in Slack"),
		blockkit.Section(strings.Join(lines, "\n")),
		blockkit.Context(foot),
	)
	text := "soebot commands: " + r.cfg.Command + " help"
	if intro != "" {
		text = intro
	}
	return chat.Message{Text: text, Blocks: blocks}
}

func (r *Router) unknownMessage(word, full string) chat.Message {
	intro := fmt.Sprintf(":thinking_face: I did not understand %s.", mrkdwn.Code(word))
	if r.byName["search"] != nil {
		intro += fmt.Sprintf(" To search for it, try %s.", mrkdwn.Code(r.cfg.Command+" search "+mrkdwn.Truncate(full, 200)))
	}
	return r.helpMessage(intro)
}

// teamUsage matches the `team <slug>` parts of usage lines.
var teamUsage = regexp.MustCompile(` \[team <slug>[^\]]*\]`)

// usage is s.Usage, without its team option on Basic/Business.
func (r *Router) usage(s *Subcommand) string {
	if !r.cfg.BasicBusiness {
		return s.Usage
	}
	return teamUsage.ReplaceAllString(s.Usage, "")
}
