// Package workspaces handles the Enterprise Grid events about the
// workspaces of an org-wide install: team_access_revoked (an org admin
// removed the app from workspaces: their subscriptions are switched off and
// kept) and team_access_granted (added, or added back: those subscriptions
// resume). People's connections are org-wide and are not touched.
package workspaces

import (
	"context"
	"log/slog"

	"github.com/slack-go/slack/slackevents"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/router"
)

// Subscriptions switches a workspace's subscriptions off and on (*notify.Service).
type Subscriptions interface {
	WorkspaceAccess(ctx context.Context, workspace string, granted bool) (int, error)
}

// Config is empty: the feature has no settings.
type Config struct{}

// Deps are what the feature uses.
type Deps struct {
	Subscriptions Subscriptions
	Logger        *slog.Logger
}

// Feature is the workspaces feature.
type Feature struct {
	subs Subscriptions
	log  *slog.Logger
}

// New returns the feature.
func New(_ Config, d Deps) *Feature {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Feature{subs: d.Subscriptions, log: d.Logger}
}

// Register routes team_access_granted and team_access_revoked.
func (f *Feature) Register(r *router.Router) {
	r.Event(string(slackevents.TeamAccessGranted), f.access)
	r.Event(string(slackevents.TeamAccessRevoked), f.access)
}

// Teams is the workspaces a team access event names and whether access was
// granted (false: revoked); ok is false for any other event.
func Teams(env *chat.Envelope) (teams []string, granted, ok bool) {
	if env.Event == nil {
		return nil, false, false
	}
	switch ev := env.Event.InnerEvent.Data.(type) {
	case *slackevents.TeamAccessGrantedEvent:
		return ev.TeamIDs, true, true
	case *slackevents.TeamAccessRevokedEvent:
		return ev.TeamIDs, false, true
	}
	return nil, false, false
}

func (f *Feature) access(ctx context.Context, env *chat.Envelope) {
	teams, granted, ok := Teams(env)
	if !ok || f.subs == nil {
		return
	}
	for _, t := range teams {
		if !chat.ValidID(t) {
			f.log.WarnContext(ctx, "team access event with a bad team id; ignored")
			continue
		}
		n, err := f.subs.WorkspaceAccess(ctx, t, granted)
		if err != nil {
			f.log.ErrorContext(ctx, "could not apply a workspace's access change", "workspace", t, "granted", granted, "err", err)
			continue
		}
		f.log.InfoContext(ctx, "workspace access", "workspace", t, "granted", granted, "subscriptions", n)
	}
}
