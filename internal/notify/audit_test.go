package notify

import (
	"context"
	"testing"
)

func TestAuditLastDeliveryAndError(t *testing.T) {
	e := newEnv(t)
	goSub := e.subscribe("alice", chGeneral, mainSite, 0, "go")
	k8sSub := e.subscribe("carol", chGeneral, mainSite, 0, "kubernetes")
	gone := e.subscribe("dave", chArchived, mainSite, 0, "go")
	e.subscribe("erin", chOps, mainSite, 0, "go") // another team's: never listed
	ctx := context.Background()
	other, err := e.svc.Subscribe(ctx, SubscribeRequest{TeamID: "T2", ChannelID: chOps, CreatorID: "UX", Scope: mainSite, Tags: []string{"go"}})
	if err != nil {
		t.Fatal(err)
	}
	tick()
	e.question(mainSite, "erin", "Go: how do we vendor private modules?", "go")
	e.cycle()

	all, err := e.svc.TeamSubscriptions(ctx, team)
	if err != nil || len(all) != 4 {
		t.Fatalf("team subscriptions: %d %v", len(all), err)
	}
	got, err := e.svc.Audit(ctx, team)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]AuditEntry{}
	for _, a := range got {
		byID[a.ID] = a
	}
	if _, ok := byID[other.ID]; ok || len(got) != 4 {
		t.Fatalf("audit lists %d entries (another workspace's included: %v)", len(got), ok)
	}
	tests := []struct {
		name      string
		id        string
		delivered bool
		err       string
	}{
		{"go card posted", goSub.ID, true, ""},
		{"same channel, another tag", k8sSub.ID, false, ""},
		{"archived channel", gone.ID, false, "is_archived"},
	}
	for _, tt := range tests {
		a := byID[tt.id]
		if a.LastDelivery.IsZero() == tt.delivered || a.LastError != tt.err {
			t.Errorf("%s: last delivery %v, last error %q; want delivered=%v error %q", tt.name, a.LastDelivery, a.LastError, tt.delivered, tt.err)
		}
	}
}
