package suggest

import (
	"context"
	"errors"
	"fmt"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/router"
)

// ConfigName is the word after /soe config (subscriptions.ConfigSetting).
func (f *Feature) ConfigName() string { return "suggest" }

// ConfigUsage is its usage.
func (f *Feature) ConfigUsage() string { return "suggest on|off" }

// ConfigSummary is its part of /soe config's help line.
func (f *Feature) ConfigSummary() string { return "turn answer suggestions on or off" }

// RunConfig is /soe config suggest [on|off] in a channel. Turning it on
// needs the bot in the channel (it sees only the messages of its channels).
func (f *Feature) RunConfig(ctx context.Context, r *router.Request, args []string) {
	if f.settings == nil {
		f.r.Reply(ctx, r.Env, blockkit.Warning("Answer suggestions are not available here."))
		return
	}
	cmd := f.r.Command()
	router.RunSwitch(ctx, f.r, f.log, r, args, router.Switch{
		Name: "suggest", Alone: "says whether they are on",
		Get: func(ctx context.Context, team, channel string) (bool, error) {
			set, err := f.settings.SuggestSetting(ctx, team, channel)
			return set.On, err
		},
		Set:     f.settings.SetSuggest,
		Shown:   func(on bool) chat.Message { return showMessage(on, cmd) },
		Changed: func(user string, on bool) chat.Message { return setMessage(user, on, cmd) },
		Refuse: func(ctx context.Context, r *router.Request, on bool) *chat.Message {
			if !on || f.inChannel(ctx, r.ChannelID) {
				return nil
			}
			m := blockkit.Warning("I only see the messages of channels I am in. Invite me with `/invite @soebot`, then turn suggestions on.")
			return &m
		},
	})
}

// inChannel reports whether the bot is a member of channel.
func (f *Feature) inChannel(ctx context.Context, channel string) bool {
	ch, err := f.slack.ConversationInfo(ctx, channel)
	if err != nil {
		if !errors.Is(err, chat.ErrChannelGone) {
			f.log.WarnContext(ctx, "suggest: conversations.info failed", "channel", channel, "err", err)
		}
		return false
	}
	return ch.IsMember
}

func showMessage(on bool, cmd string) chat.Message {
	if on {
		return blockkit.Text(fmt.Sprintf("Answer suggestions are *on* in this channel: when someone asks a question here, I show only them Stack Overflow posts that may answer it. Turn them off with %s.",
			mrkdwn.Code(cmd+" config suggest off")))
	}
	return blockkit.Text(fmt.Sprintf("Answer suggestions are *off* in this channel. Turn them on with %s.", mrkdwn.Code(cmd+" config suggest on")))
}

func setMessage(user string, on bool, cmd string) chat.Message {
	text := fmt.Sprintf(":gear: %s turned answer suggestions *off* in this channel.", mrkdwn.Mention(user))
	if on {
		text = fmt.Sprintf(":gear: %s turned answer suggestions *on* in this channel: when you ask a question here, I search Stack Overflow with your own account and, when I find a strong answer, show it to you alone. Turn them off with %s.",
			mrkdwn.Mention(user), mrkdwn.Code(cmd+" config suggest off"))
	}
	m := blockkit.Text(text)
	m.InChannel = true
	return m
}
