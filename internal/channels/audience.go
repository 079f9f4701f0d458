package channels

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// maxAudience is the largest channel whose members are checked one by one;
// a larger one is never taken to be all on a private team.
const maxAudience = 500

// bucketAllowed maps "team/channel/scope key" to the time someone chose
// "Always in this channel" for that private team.
var bucketAllowed = []byte("channel_team_allowed")

// Members is what Audience asks Slack (chat.Slack).
type Members interface {
	ChannelMembers(ctx context.Context, channel string, limit int) ([]string, bool, error)
	UserInfo(ctx context.Context, user string) (*slack.User, error)
}

// TeamLinks lists who is connected to a scope (linking.Service).
type TeamLinks interface {
	ScopeLinks(ctx context.Context, scope soe.Scope) ([]linking.Link, error)
}

// Audience answers whether everyone who can read a channel may see a
// private team's content: only then is it shown there without asking.
type Audience struct {
	settings *Settings
	slack    Members
	links    TeamLinks
	now      func() time.Time
}

// NewAudience returns the audience check over settings (for "Always in this
// channel"), Slack's member lists and the links people made.
func NewAudience(settings *Settings, sl Members, links TeamLinks, now func() time.Time) *Audience {
	if now == nil {
		now = time.Now
	}
	return &Audience{settings: settings, slack: sl, links: links, now: now}
}

// MaySee reports whether private-team content of scope may be shown in the
// channel without asking: the main site always may; a team may when someone
// chose "Always in this channel", or when every person in the channel is
// known to be on the team (connected to it here; bots do not count). A
// direct message with the bot is seen by its person alone.
func (a *Audience) MaySee(ctx context.Context, teamID, channelID string, scope soe.Scope) (bool, error) {
	if !scope.IsTeam() || strings.HasPrefix(channelID, "D") {
		return true, nil
	}
	if ext, err := a.ExtShared(ctx, channelID); err != nil || ext {
		return false, err // Slack Connect: never (grid.go)
	}
	if ok, err := a.settings.allowed(ctx, teamID, channelID, scope); err != nil || ok {
		return ok, err
	}
	members, complete, err := a.slack.ChannelMembers(ctx, channelID, maxAudience)
	if err != nil {
		return false, fmt.Errorf("channels: list members: %w", err)
	}
	if !complete {
		return false, nil
	}
	onTeam, err := a.onTeam(ctx, teamID, scope)
	if err != nil {
		return false, err
	}
	for _, m := range members {
		if onTeam[m] {
			continue
		}
		u, err := a.slack.UserInfo(ctx, m)
		if err != nil {
			return false, fmt.Errorf("channels: users.info: %w", err)
		}
		if !u.IsBot && !u.Deleted {
			return false, nil
		}
	}
	return true, nil
}

// onTeam is the set of Slack users of teamID with a working link to scope.
func (a *Audience) onTeam(ctx context.Context, teamID string, scope soe.Scope) (map[string]bool, error) {
	ls, err := a.links.ScopeLinks(ctx, scope)
	if err != nil {
		return nil, fmt.Errorf("channels: list links: %w", err)
	}
	now := a.now()
	out := map[string]bool{}
	for _, l := range ls {
		if l.TeamID == teamID && l.Scope == scope && !l.Invalid && (l.Expiry.IsZero() || now.Before(l.Expiry)) {
			out[l.UserID] = true
		}
	}
	return out, nil
}

// Allow remembers "Always in this channel" for scope.
func (a *Audience) Allow(ctx context.Context, teamID, channelID string, scope soe.Scope) error {
	k, err := key(teamID, channelID)
	if err != nil {
		return err
	}
	err = a.settings.db.Update(ctx, func(tx store.Tx) error {
		return tx.Bucket(bucketAllowed).Put(allowedKey(k, scope), []byte(a.now().UTC().Format(time.RFC3339)))
	})
	if err != nil {
		return fmt.Errorf("channels: save allowed team: %w", err)
	}
	return nil
}

func (s *Settings) allowed(ctx context.Context, teamID, channelID string, scope soe.Scope) (bool, error) {
	k, valid := lookupKey(teamID, channelID)
	if !valid {
		return false, nil // not a channel: nothing was allowed there
	}
	var ok bool
	err := s.db.View(ctx, func(tx store.Tx) error {
		ok = tx.Bucket(bucketAllowed).Get(allowedKey(k, scope)) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("channels: read allowed team: %w", err)
	}
	return ok, nil
}

func allowedKey(channelKey []byte, scope soe.Scope) []byte {
	return []byte(string(channelKey) + "/" + scope.Key())
}
