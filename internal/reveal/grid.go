package reveal

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/soe"
)

// sharedChecker says whether a channel is a Slack Connect channel
// (channels.Audience).
type sharedChecker interface {
	ExtShared(ctx context.Context, channelID string) (bool, error)
}

// SlackConnect reports whether scope is a private team and channel is
// shared with another organization (Slack Connect), where its content is
// never shown, not even when the sharer says yes. When it cannot tell, it
// says yes.
func SlackConnect(ctx context.Context, seer Seer, log *slog.Logger, channel string, scope soe.Scope) bool {
	if !scope.IsTeam() {
		return false
	}
	sc, ok := seer.(sharedChecker)
	if !ok {
		return false
	}
	ext, err := sc.ExtShared(ctx, channel)
	if err != nil {
		if log != nil {
			log.WarnContext(ctx, "could not tell whether the channel is shared with another organization; not showing", "channel", channel, "err", err)
		}
		return true
	}
	return ext
}

// SlackConnectMessage tells the sharer that a private team's content is
// not shown in a channel shared with another organization.
func SlackConnectMessage(scope soe.Scope, channel string) chat.Message {
	text := fmt.Sprintf(":lock: %s is shared with another organization (Slack Connect), so I never show posts of the private *%s* there. Share it in a channel of your own organization instead.",
		mrkdwn.ChannelMention(channel), mrkdwn.Escape(scope.String()))
	return chat.Message{Text: text}
}
