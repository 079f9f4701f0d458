package unfurl

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/reveal"
	"github.com/soebot/soebot/internal/soe"
)

// Action ids of the question asked before a private team's preview is shown
// (security #4); their value is a revealValue.
const (
	actionReveal       = "unfurl_reveal"
	actionRevealAlways = "unfurl_reveal_always"
	maxValue           = 2000 // Slack's limit on a button value
)

// revealValue names the message and links to preview once the sharer agrees.
type revealValue struct {
	Channel string   `json:"c"`
	TS      string   `json:"ts"`
	URLs    []string `json:"u"`
}

// mayShow reports whether scope's links may be previewed where ev was
// shared: the main site always; a private team only where everyone is known
// to be on it (or someone chose Always). A link still in the message box
// has no channel yet: its preview comes when the message is sent.
func (u *Feature) mayShow(ctx context.Context, teamID string, ev linkSharedEvent, scope soe.Scope) bool {
	if scope.IsTeam() && ev.inComposer() {
		return false
	}
	return reveal.MayShow(ctx, u.aud, u.log, teamID, ev.Channel, scope)
}

// askFirst asks the sharer (only them) whether the team's previews may be
// shown to everyone in the channel. Someone not connected to the team is
// not asked: there would be nothing to show.
func (u *Feature) askFirst(ctx context.Context, teamID string, ev linkSharedEvent, scope soe.Scope, sl sharedLinks) {
	if ev.inComposer() || u.aud == nil {
		return
	}
	if _, _, err := u.links.Client(ctx, teamID, ev.User, scope); err != nil {
		return
	}
	if reveal.SlackConnect(ctx, u.aud, u.log, ev.Channel, scope) {
		_ = u.slack.PostEphemeral(ctx, ev.Channel, ev.User, reveal.SlackConnectMessage(scope, ev.Channel))
		return
	}
	v := revealValue{Channel: ev.Channel, TS: ev.MessageTS}
	for _, raw := range sl.byScope[scope] {
		next := append(v.URLs, raw)
		if b, _ := json.Marshal(revealValue{Channel: v.Channel, TS: v.TS, URLs: next}); len(b) > maxValue {
			break
		}
		v.URLs = next
	}
	if len(v.URLs) == 0 {
		return
	}
	val, _ := json.Marshal(v)
	q := reveal.Question(scope, ev.Channel, "the preview", reveal.Buttons{Show: actionReveal, Always: actionRevealAlways, ShowLabel: "Preview", Value: string(val)})
	if err := u.slack.PostEphemeral(ctx, ev.Channel, ev.User, q); err != nil {
		u.log.InfoContext(ctx, "link_shared: could not ask before a team preview", "channel", ev.Channel, "err", err)
	}
}

// revealed shows the previews the sharer agreed to (Preview, or Always in
// this channel, which is remembered first), fetched with their connection.
func (u *Feature) revealed(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	var v revealValue
	_ = json.Unmarshal([]byte(a.Value), &v)
	sl := u.parse(linkSharedEvent{Links: linksOf(v.URLs)})
	if len(sl.scopes) != 1 || !sl.scopes[0].IsTeam() || v.Channel == "" || v.Channel != env.ChannelID() || v.TS == "" {
		u.reply(ctx, env, blockkit.Warning("That button is out of date."))
		return
	}
	scope := sl.scopes[0]
	if reveal.SlackConnect(ctx, u.aud, u.log, v.Channel, scope) {
		u.reply(ctx, env, reveal.SlackConnectMessage(scope, v.Channel))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, u.cfg.SOETimeout)
	defer cancel()
	if a.ActionID == actionRevealAlways {
		if err := u.aud.Allow(ctx, env.TeamID, v.Channel, scope); err != nil {
			u.log.WarnContext(ctx, "could not remember Always in this channel", "err", err)
		}
	}
	unfurls := map[string]slack.Attachment{}
	if !u.unfurlScope(ctx, env.TeamID, env.UserID, scope, sl, unfurls) || len(unfurls) == 0 {
		u.reply(ctx, env, blockkit.Warning("I could not fetch that preview with your Stack Overflow connection."))
		return
	}
	if err := u.slack.Unfurl(ctx, v.Channel, v.TS, unfurls); err != nil {
		u.log.WarnContext(ctx, "chat.unfurl failed", "channel", v.Channel, "err", err)
		u.reply(ctx, env, blockkit.Warning("Slack did not take the preview (the message may be too old or deleted)."))
		return
	}
	u.reply(ctx, env, chat.Message{DeleteOriginal: true})
}

func (u *Feature) reply(ctx context.Context, env *chat.Envelope, m chat.Message) {
	if url := env.ResponseURL(); url != "" {
		if m.Blocks != nil {
			m.ReplaceOriginal = true
		}
		if err := u.slack.Respond(ctx, url, m); err != nil && !errors.Is(err, context.Canceled) {
			u.log.InfoContext(ctx, "unfurl: could not answer the button", "err", err)
		}
	}
}

func linksOf(urls []string) []struct {
	URL string `json:"url"`
} {
	out := make([]struct {
		URL string `json:"url"`
	}, len(urls))
	for i, x := range urls {
		out[i].URL = x
	}
	return out
}
