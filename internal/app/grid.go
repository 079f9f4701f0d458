package app

import (
	"github.com/soebot/soebot/internal/features/workspaces"
	"github.com/soebot/soebot/internal/notify"
)

// addWorkspaces registers the Enterprise Grid workspace events
// (team_access_granted / team_access_revoked) over the subscriptions.
func (a *App) addWorkspaces(svc *notify.Service) {
	workspaces.New(workspaces.Config{}, workspaces.Deps{
		Subscriptions: svc, Logger: a.log.With("component", "workspaces"),
	}).Register(a.router)
}
