// Package reveal asks before a private team's content is shown where not
// everyone is known to be on the team: a link preview, or a post shared from
// search, experts or ask. The sharer alone sees the question (Preview or
// Share, Not now, Always in this channel); nothing is shown until they say
// yes. channels.Audience decides when to ask.
package reveal

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

// ActionNotNow is the "Not now" button: it removes the question.
const ActionNotNow = "reveal_not_now"

// Seer says whether scope's content may be shown in a channel without
// asking (channels.Audience).
type Seer interface {
	MaySee(ctx context.Context, teamID, channelID string, scope soe.Scope) (bool, error)
}

// Audience is a Seer that also remembers "Always in this channel"
// (channels.Audience).
type Audience interface {
	Seer
	Allow(ctx context.Context, teamID, channelID string, scope soe.Scope) error
}

// MayShow reports whether scope's content may be shown in the channel now:
// the main site always; a private team only when seer (nil: never) says
// everyone there is known to be on it. When it cannot tell, the answer is
// no, so the sharer is asked.
func MayShow(ctx context.Context, seer Seer, log *slog.Logger, teamID, channelID string, scope soe.Scope) bool {
	if !scope.IsTeam() {
		return true
	}
	if seer == nil {
		return false
	}
	ok, err := seer.MaySee(ctx, teamID, channelID, scope)
	if err != nil {
		if log != nil {
			log.WarnContext(ctx, "could not tell who is in the channel; asking first", "channel", channelID, "err", err)
		}
		return false
	}
	return ok
}

// Responder answers through a response_url (chat.Slack).
type Responder interface {
	Respond(ctx context.Context, responseURL string, m chat.Message) error
}

// Buttons are the action ids and value of the feature's own "show it" and
// "always" buttons; the value comes back unchanged on the click.
type Buttons struct {
	Show, Always string
	ShowLabel    string // "Preview", "Share"
	Value        string
}

// Question asks the sharer whether a private team's post (what: "this
// preview", "this post") may be shown to everyone in channel.
func Question(scope soe.Scope, channel, what string, b Buttons) chat.Message {
	text := fmt.Sprintf(":lock: Show %s from *%s* to everyone in %s? Not everyone there is known to be on the team, so I have shown nothing yet.",
		what, mrkdwn.Escape(scope.String()), mrkdwn.ChannelMention(channel))
	return chat.Message{
		Text: "Show this private-team post to everyone in this channel?",
		Blocks: []slack.Block{
			blockkit.Section(text),
			blockkit.Actions("reveal",
				blockkit.PrimaryButton(b.Show, b.ShowLabel, b.Value),
				blockkit.Button(ActionNotNow, "Not now", "no"),
				blockkit.Button(b.Always, "Always in this channel", b.Value)),
		},
	}
}

// Register registers the "Not now" button.
func Register(r *router.Router, s Responder) {
	r.Action(ActionNotNow, func(ctx context.Context, env *chat.Envelope, _ *slack.BlockAction) {
		if u := env.ResponseURL(); u != "" {
			_ = s.Respond(ctx, u, chat.Message{DeleteOriginal: true})
		}
	})
}

// Gate is the check a Share button makes before it posts a private team's
// content: the feature registers its Share handler for b.Show and b.Always
// too, and calls Pass first on every click.
type Gate struct {
	Audience Audience // nil: always ask
	Log      *slog.Logger
}

// Pass reports whether the click (actionID, in env's channel) may show
// scope's content now: the main site always; a private team where everyone
// is known to be on it, after "Always in this channel" (remembered here), or
// on the question's own Share button. Otherwise it sends the question (with
// reply) and reports false.
func (g Gate) Pass(ctx context.Context, env *chat.Envelope, actionID string, scope soe.Scope, what string, b Buttons,
	reply func(chat.Message)) bool {
	channel := env.ChannelID()
	if g.Audience != nil && SlackConnect(ctx, g.Audience, g.log(), channel, scope) {
		reply(SlackConnectMessage(scope, channel))
		return false
	}
	switch {
	case actionID == b.Show:
		return true
	case actionID == b.Always && g.Audience != nil && scope.IsTeam():
		if err := g.Audience.Allow(ctx, env.TeamID, channel, scope); err != nil {
			g.log().WarnContext(ctx, "could not remember Always in this channel", "err", err)
		}
		return true
	}
	if MayShow(ctx, g.Audience, g.log(), env.TeamID, channel, scope) {
		return true
	}
	reply(Question(scope, channel, what, b))
	return false
}

func (g Gate) log() *slog.Logger {
	if g.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.Log
}
