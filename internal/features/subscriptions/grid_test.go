package subscriptions

import (
	"testing"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/notify"
)

func TestGridWorkspace(t *testing.T) {
	entries := func() []notify.AuditEntry {
		return []notify.AuditEntry{
			{Subscription: notify.Subscription{ID: "1", TeamID: "E1", Workspace: "TA"}},
			{Subscription: notify.Subscription{ID: "2", TeamID: "E1", Workspace: "TB"}},
		}
	}
	for _, c := range []struct {
		name string
		env  chat.Envelope
		ws   string
		ids  string
	}{
		{"single workspace: stored as before, all listed", chat.Envelope{TeamID: "T1"}, "", "12"},
		{"Grid workspace install: as before", chat.Envelope{TeamID: "T1", Workspace: "T1", EnterpriseID: "E1"}, "", "12"},
		{"org-wide install, workspace B", chat.Envelope{TeamID: "E1", Workspace: "TB", EnterpriseID: "E1", OrgInstall: true}, "TB", "2"},
	} {
		if got := gridWorkspace(&c.env); got != c.ws {
			t.Errorf("%s: gridWorkspace = %q, want %q", c.name, got, c.ws)
		}
		ids := ""
		for _, e := range workspaceEntries(&c.env, entries()) {
			ids += e.ID
		}
		if ids != c.ids {
			t.Errorf("%s: audit lists %q, want %q", c.name, ids, c.ids)
		}
	}
}
