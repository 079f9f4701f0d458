package subscriptions

import (
	"slices"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/notify"
)

// gridWorkspace is the workspace a subscription made through env belongs
// to on an org-wide Enterprise Grid install ("" elsewhere, so
// single-workspace subscriptions are stored exactly as before).
func gridWorkspace(env *chat.Envelope) string {
	if !env.OrgInstall {
		return ""
	}
	return env.WorkspaceID()
}

// workspaceEntries keeps, on an org-wide install, the audit entries of the
// workspace /soe subscriptions all was typed in: a workspace admin audits
// their workspace, not the whole organization. Elsewhere it keeps all.
func workspaceEntries(env *chat.Envelope, entries []notify.AuditEntry) []notify.AuditEntry {
	ws := gridWorkspace(env)
	if ws == "" {
		return entries
	}
	return slices.DeleteFunc(entries, func(e notify.AuditEntry) bool { return e.Workspace != ws })
}
