package subscriptions

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/notify"
)

// maxListed bounds the subscriptions /soe subscriptions shows (one block
// each, within Slack's 50 blocks).
const maxListed = 40

// renderListing is /soe subscriptions (mine: across channels): each
// subscription in the /soe subscribe grammar, so that it can be copied
// back, with its owners, mode, state, last delivery and last error (the
// audit's, notify.AuditEntry).
func renderListing(entries []notify.AuditEntry, mine bool, cmd string, now time.Time) chat.Message {
	if len(entries) == 0 {
		text := fmt.Sprintf("This channel has no subscriptions. Start one with %s, for example %s.",
			mrkdwn.Code(cmd+" subscribe <tag>"), mrkdwn.Code(cmd+" subscribe go kubernetes"))
		if mine {
			text = fmt.Sprintf("You keep no subscriptions running. Run %s in a channel to start one.", mrkdwn.Code(cmd+" subscribe <tag>"))
		}
		return blockkit.Text(text)
	}
	title := fmt.Sprintf("*Subscriptions in this channel* (%d)", len(entries))
	if mine {
		title = fmt.Sprintf("*Subscriptions you keep running* (%d)", len(entries))
	}
	blocks := []slack.Block{blockkit.Section(title)}
	for i, e := range entries {
		if i == maxListed {
			blocks = append(blocks, blockkit.Section(fmt.Sprintf("…and %d more.", len(entries)-maxListed)))
			break
		}
		blocks = append(blocks, blockkit.Section(listingEntry(e, mine, cmd, now)))
	}
	blocks = append(blocks, blockkit.Context(fmt.Sprintf("Copy a line to change it (subscribing the same tags again replaces it) · stop with %s · try filters with %s",
		mrkdwn.Code(cmd+" unsubscribe <tag>|all"), mrkdwn.Code(cmd+" subscribe go -legacy preview"))))
	return chat.Message{Text: fmt.Sprintf("%d subscriptions", len(entries)), Blocks: blocks}
}

// listingEntry is one subscription: what it selects, how it posts, where
// from, who keeps it running and its state; then the command that makes it,
// its last delivery and last error.
func listingEntry(e notify.AuditEntry, withChannel bool, cmd string, now time.Time) string {
	first := "• "
	if withChannel {
		first += mrkdwn.ChannelMention(e.ChannelID) + ": "
	}
	var owners []string
	for _, o := range e.OwnerIDs() {
		owners = append(owners, mrkdwn.Mention(o))
	}
	first += fmt.Sprintf("%s — mode: %s, one post each as it happens%s · %s · kept running by %s", what(e.Subscription), e.Kinds.String(),
		timersSuffix(e.Timers), mrkdwn.Escape(e.Scope.String()), strings.Join(owners, ", "))
	switch {
	case e.Disabled:
		first += fmt.Sprintf(" · :no_entry: *off* (I cannot post there: %s)", mrkdwn.Escape(e.DisabledReason))
	case e.Paused:
		first += " · :double_vertical_bar: *paused* (none of its owners can read it on Stack Overflow any more)"
	}
	second := "   " + mrkdwn.Code(mrkdwn.Truncate(cmd+" subscribe "+expression(e.Subscription), 400)) + " · last delivery: " + ago(e.LastDelivery, now)
	if e.LastError != "" {
		second += fmt.Sprintf(" · last error %s: %s", ago(e.LastErrorAt, now), mrkdwn.Code(mrkdwn.Truncate(e.LastError, 200)))
	} else {
		second += " · no errors"
	}
	if c := e.Community; c != nil {
		second += fmt.Sprintf(" · community %s: %s", mrkdwn.Escape(c.Name), communityTagCount(c))
	}
	return first + "\n" + second
}
