package subscriptions

import (
	"context"
	"fmt"
	"strings"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/router"
)

// ThreadSettings keeps whether a channel's notifications are living
// question cards (channels.Settings).
type ThreadSettings interface {
	ThreadsOn(ctx context.Context, teamID, channelID string) (bool, error)
	SetThreads(ctx context.Context, teamID, channelID string, on bool) error
}

// threadsConfig is /soe config threads [on|off] (a ConfigSetting).
type threadsConfig struct {
	n *Feature
	s ThreadSettings
}

func (c *threadsConfig) ConfigName() string  { return "threads" }
func (c *threadsConfig) ConfigUsage() string { return "threads on|off" }
func (c *threadsConfig) ConfigSummary() string {
	return "keep one card per question with its answers in the card's thread (on), or post one message per event (off)"
}

// RunConfig shows or sets the channel's threads setting.
func (c *threadsConfig) RunConfig(ctx context.Context, r *router.Request, args []string) {
	n := c.n
	cmd := n.router.Command()
	usage := blockkit.Warning(fmt.Sprintf("Usage: %s or %s in a channel (%s alone says which is on).",
		mrkdwn.Code(cmd+" config threads on"), mrkdwn.Code(cmd+" config threads off"), mrkdwn.Code(cmd+" config threads")))
	if !chat.ValidID(r.ChannelID) || strings.HasPrefix(r.ChannelID, "D") || len(args) > 1 {
		n.router.Reply(ctx, r.Env, usage)
		return
	}
	if len(args) == 0 {
		on, err := c.s.ThreadsOn(ctx, r.TeamID, r.ChannelID)
		if err != nil {
			n.log.ErrorContext(ctx, "reading the threads setting failed", "err", err)
			n.router.Reply(ctx, r.Env, blockkit.Warning("I could not read this channel's settings. Please try again."))
			return
		}
		n.router.Reply(ctx, r.Env, threadsShowMessage(on, cmd))
		return
	}
	var on bool
	switch strings.ToLower(args[0]) {
	case "on", "yes", "true":
		on = true
	case "off", "no", "false":
	default:
		n.router.Reply(ctx, r.Env, usage)
		return
	}
	if err := c.s.SetThreads(ctx, r.TeamID, r.ChannelID, on); err != nil {
		n.log.ErrorContext(ctx, "saving the threads setting failed", "err", err)
		n.router.Reply(ctx, r.Env, blockkit.Warning("I could not save this channel's settings. Please try again."))
		return
	}
	n.router.Reply(ctx, r.Env, threadsSetMessage(r.UserID, on, cmd))
}

func threadsShowMessage(on bool, cmd string) chat.Message {
	if on {
		return blockkit.Text(fmt.Sprintf("Notifications here are *question cards*: one card per question, kept up to date, with its answers in the card's thread. %s posts one message per event instead.",
			mrkdwn.Code(cmd+" config threads off")))
	}
	return blockkit.Text(fmt.Sprintf("Notifications here are *one message per event*. %s keeps one card per question with its answers in the card's thread.",
		mrkdwn.Code(cmd+" config threads on")))
}

func threadsSetMessage(user string, on bool, cmd string) chat.Message {
	text := fmt.Sprintf(":gear: %s set notifications in this channel to *one message per event*. %s goes back to question cards.",
		mrkdwn.Mention(user), mrkdwn.Code(cmd+" config threads on"))
	if on {
		text = fmt.Sprintf(":gear: %s set notifications in this channel to *question cards*: one card per new question, kept up to date, with its answers and accepted answer in the card's thread. %s posts one message per event instead.",
			mrkdwn.Mention(user), mrkdwn.Code(cmd+" config threads off"))
	}
	m := blockkit.Text(text)
	m.InChannel = true
	return m
}
