package suggest

import (
	"context"
	"errors"
	"fmt"
	"strings"

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

// RunConfig is /soe config suggest [on|off] in a channel.
func (f *Feature) RunConfig(ctx context.Context, r *router.Request, args []string) {
	cmd := f.r.Command()
	usage := blockkit.Warning(fmt.Sprintf("Usage: %s or %s in a channel (%s alone says whether they are on).",
		mrkdwn.Code(cmd+" config suggest on"), mrkdwn.Code(cmd+" config suggest off"), mrkdwn.Code(cmd+" config suggest")))
	if !chat.ValidID(r.ChannelID) || strings.HasPrefix(r.ChannelID, "D") || len(args) > 1 || f.settings == nil {
		f.r.Reply(ctx, r.Env, usage)
		return
	}
	if len(args) == 0 {
		set, err := f.settings.SuggestSetting(ctx, r.TeamID, r.ChannelID)
		if err != nil {
			f.log.ErrorContext(ctx, "suggest: reading the setting failed", "err", err)
			f.r.Reply(ctx, r.Env, blockkit.Warning("I could not read this channel's settings. Please try again."))
			return
		}
		f.r.Reply(ctx, r.Env, showMessage(set.On, cmd))
		return
	}
	var on bool
	switch strings.ToLower(args[0]) {
	case "on", "yes", "true":
		on = true
	case "off", "no", "false":
	default:
		f.r.Reply(ctx, r.Env, usage)
		return
	}
	if on && !f.inChannel(ctx, r.ChannelID) {
		f.r.Reply(ctx, r.Env, blockkit.Warning("I only see the messages of channels I am in. Invite me with `/invite @soebot`, then turn suggestions on."))
		return
	}
	if err := f.settings.SetSuggest(ctx, r.TeamID, r.ChannelID, on); err != nil {
		f.log.ErrorContext(ctx, "suggest: saving the setting failed", "err", err)
		f.r.Reply(ctx, r.Env, blockkit.Warning("I could not save this channel's settings. Please try again."))
		return
	}
	f.r.Reply(ctx, r.Env, setMessage(r.UserID, on, cmd))
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
