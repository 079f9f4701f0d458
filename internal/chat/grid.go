package chat

import "context"

// Tenant is the key every stored, Slack-scoped thing of a workspace is
// filed under: on an org-wide Enterprise Grid install the enterprise id
// (user and channel ids are unique across the organization, and a person is
// one user in all its workspaces), otherwise the workspace's team id, exactly
// as before Grid support, so single-workspace data keeps its keys.
func Tenant(enterprise, team string, orgInstall bool) string {
	if orgInstall && enterprise != "" {
		return enterprise
	}
	return team
}

// WorkspaceID is the workspace the envelope came from (its team id).
func (e *Envelope) WorkspaceID() string {
	if e.Workspace != "" {
		return e.Workspace
	}
	return e.TeamID
}

type workspaceKey struct{}

// WithWorkspace returns ctx naming the workspace Web API calls act in: an
// org-level token needs team_id on the methods that are workspace-scoped.
func WithWorkspace(ctx context.Context, team string) context.Context {
	if team == "" {
		return ctx
	}
	return context.WithValue(ctx, workspaceKey{}, team)
}

// WorkspaceFrom is the workspace WithWorkspace put in ctx ("" when none).
func WorkspaceFrom(ctx context.Context) string {
	s, _ := ctx.Value(workspaceKey{}).(string)
	return s
}
