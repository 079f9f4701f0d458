package subscriptions

import "github.com/soebot/soebot/internal/chat"

// gridWorkspace is the workspace a subscription made through env belongs
// to on an org-wide Enterprise Grid install ("" elsewhere, so
// single-workspace subscriptions are stored exactly as before).
func gridWorkspace(env *chat.Envelope) string {
	if !env.OrgInstall {
		return ""
	}
	return env.WorkspaceID()
}
