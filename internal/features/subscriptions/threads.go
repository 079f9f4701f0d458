package subscriptions

import (
	"context"
	"fmt"

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
	cmd := c.n.router.Command()
	router.RunSwitch(ctx, c.n.router, c.n.log, r, args, router.Switch{
		Name: "threads", Alone: "says which is on", Get: c.s.ThreadsOn, Set: c.s.SetThreads,
		Shown:   func(on bool) chat.Message { return threadsShowMessage(on, cmd) },
		Changed: func(user string, on bool) chat.Message { return threadsSetMessage(user, on, cmd) },
	})
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
