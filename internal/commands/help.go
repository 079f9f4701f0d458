package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
)

func (b *Bot) runHelp(ctx context.Context, r *Request) {
	b.Reply(ctx, r, b.helpMessage(""))
}

// helpMessage lists every visible subcommand with its usage; intro, when
// given, comes first (already mrkdwn).
func (b *Bot) helpMessage(intro string) chat.Message {
	var lines []string
	for _, s := range b.subs {
		if s.Hidden {
			continue
		}
		lines = append(lines, fmt.Sprintf("`%s %s`  %s", b.cfg.Command, s.Usage, s.Summary))
	}
	var blocks []slack.Block
	if intro != "" {
		blocks = append(blocks, Section(intro))
	}
	blocks = append(blocks,
		Header("Stack Overflow in Slack"),
		Section(strings.Join(lines, "\n")),
		Context("Add `team <slug>` to use a private team instead of the main site."),
	)
	text := "soebot commands: " + b.cfg.Command + " help"
	if intro != "" {
		text = intro
	}
	return chat.Message{Text: text, Blocks: blocks}
}

func (b *Bot) unknownMessage(word, full string) chat.Message {
	intro := fmt.Sprintf(":thinking_face: I did not understand %s.", mrkdwn.Code(word))
	if b.HasSubcommand("search") {
		intro += fmt.Sprintf(" To search for it, try %s.", mrkdwn.Code(b.cfg.Command+" search "+mrkdwn.Truncate(full, 200)))
	}
	return b.helpMessage(intro)
}
