package channels

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"
)

// conversationInfo is what ExtShared asks Slack (chat.Slack).
type conversationInfo interface {
	ConversationInfo(ctx context.Context, channel string) (*slack.Channel, error)
}

// ExtShared reports whether channelID is a Slack Connect channel (shared
// with another organization), where private-team content is never shown:
// its other organization's people are not ours to vouch for. A direct
// message is not. When Slack cannot say, it reports an error.
func (a *Audience) ExtShared(ctx context.Context, channelID string) (bool, error) {
	if strings.HasPrefix(channelID, "D") {
		return false, nil
	}
	ci, ok := a.slack.(conversationInfo)
	if !ok {
		return false, nil
	}
	ch, err := ci.ConversationInfo(ctx, channelID)
	if err != nil {
		return false, fmt.Errorf("channels: conversations.info: %w", err)
	}
	return ch.IsExtShared, nil
}
