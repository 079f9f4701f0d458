package chat_test

import (
	"context"
	"testing"

	"github.com/soebot/soebot/internal/chat"
)

func TestTenant(t *testing.T) {
	for _, c := range []struct {
		name, ent, team string
		org             bool
		want            string
	}{
		{"single workspace: exactly as before", "", "T1", false, "T1"},
		{"a Grid workspace's own install keeps its team key", "E1", "T1", false, "T1"},
		{"org-wide install: the organization", "E1", "T1", true, "E1"},
		{"org-wide flag without enterprise: the team", "", "T1", true, "T1"},
	} {
		if got := chat.Tenant(c.ent, c.team, c.org); got != c.want {
			t.Errorf("%s: Tenant(%q, %q, %v) = %q, want %q", c.name, c.ent, c.team, c.org, got, c.want)
		}
	}
}

func TestWorkspace(t *testing.T) {
	if got := (&chat.Envelope{TeamID: "T1"}).WorkspaceID(); got != "T1" {
		t.Errorf("WorkspaceID without Workspace = %q", got)
	}
	if got := (&chat.Envelope{TeamID: "E1", Workspace: "T2"}).WorkspaceID(); got != "T2" {
		t.Errorf("WorkspaceID = %q", got)
	}
	ctx := context.Background()
	if chat.WorkspaceFrom(ctx) != "" || chat.WorkspaceFrom(chat.WithWorkspace(ctx, "")) != "" {
		t.Error("no workspace expected")
	}
	if got := chat.WorkspaceFrom(chat.WithWorkspace(ctx, "T2")); got != "T2" {
		t.Errorf("WorkspaceFrom = %q", got)
	}
}
