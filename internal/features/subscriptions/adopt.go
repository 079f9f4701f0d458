package subscriptions

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/soe"
)

// adopt answers "Keep it running as me" on a channel's "subscription
// paused" notice: any member connected to the subscription's scope may
// press it, and becomes one of its owners (after a confirmation when a
// private team's content would reach people not known to be on it).
func (n *Feature) adopt(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	n.keepRunning(ctx, env, a.Value, false)
}

// adoptConfirmed is "Keep it running anyway" of that confirmation.
func (n *Feature) adoptConfirmed(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	n.keepRunning(ctx, env, a.Value, true)
}

func (n *Feature) keepRunning(ctx context.Context, env *chat.Envelope, id string, confirmed bool) {
	sub, ok, err := n.svc.Subscription(ctx, id)
	switch {
	case err != nil:
		n.log.ErrorContext(ctx, "reading a subscription failed", "err", err)
		n.router.Reply(ctx, env, blockkit.Warning("I could not read that subscription just now. Please try again."))
		return
	case !ok || sub.TeamID != env.TeamID || sub.ChannelID != env.ChannelID():
		n.router.Reply(ctx, env, blockkit.Warning("That subscription no longer exists."))
		return
	}
	n.router.WithSOE(ctx, env, sub.Scope, nil, func(ctx context.Context, _ *soe.Client, _ *linking.Link) error {
		if !confirmed && !n.maySee(ctx, sub.TeamID, sub.ChannelID, sub.Scope) {
			n.router.Reply(ctx, env, adoptConfirmMessage(sub))
			return nil
		}
		n.adoptAs(ctx, env, sub)
		return nil
	})
}

func (n *Feature) adoptAs(ctx context.Context, env *chat.Envelope, sub notify.Subscription) {
	sub, err := n.svc.Adopt(ctx, env.TeamID, sub.ID, env.UserID)
	if err != nil {
		n.log.ErrorContext(ctx, "adopting a subscription failed", "err", err)
		n.router.Reply(ctx, env, blockkit.Warning("I could not save that. Please try again."))
		return
	}
	text := fmt.Sprintf(":arrow_forward: %s keeps this channel's subscription to %s on %s running with their own Stack Overflow connection. It resumes at the next check (within %s).",
		mrkdwn.Mention(env.UserID), notify.TagList(sub.Tags), mrkdwn.Escape(sub.Scope.String()), n.svc.Interval())
	m := chat.Message{Text: "This channel's Stack Overflow subscription is running again.", Blocks: []slack.Block{blockkit.Section(text)},
		InChannel: true, ReplaceOriginal: true}
	if u := env.ResponseURL(); u != "" && n.slack.Respond(ctx, u, m) == nil {
		n.refreshHome(ctx, env.TeamID, env.UserID)
		return
	}
	m.ReplaceOriginal = false
	n.router.Reply(ctx, env, m)
	n.refreshHome(ctx, env.TeamID, env.UserID)
}

func adoptConfirmMessage(sub notify.Subscription) chat.Message {
	text := fmt.Sprintf(":warning: *%s* is a private team, and not everyone in %s is known to be on it. If you keep this subscription running, "+
		"team content will be visible to everyone here. Keep it running anyway?", mrkdwn.Escape(sub.Scope.String()), mrkdwn.ChannelMention(sub.ChannelID))
	return chat.Message{
		Text: "Team content will be visible to everyone in this channel. Keep it running anyway?",
		Blocks: []slack.Block{
			blockkit.Section(text),
			blockkit.Actions("notify_adopt_confirm",
				blockkit.PrimaryButton(actionAdoptConfirm, "Keep it running anyway", sub.ID),
				blockkit.Button(actionSubCancel, "Cancel", "cancel")),
		},
	}
}
