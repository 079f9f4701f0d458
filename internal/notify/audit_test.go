package notify

import (
	"context"
	"encoding/csv"
	"strings"
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

func TestWriteAuditCSV(t *testing.T) {
	e := newEnv(t)
	e.subscribe("alice", chGeneral, mainSite, KindQuestions, "go", "rust")
	e.subscribe("carol", chOps, mainSite, 0)
	all, err := AuditDB(context.Background(), e.db, "")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteAuditCSV(&b, all); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("%d rows, %v:\n%s", len(rows), err, b.String())
	}
	got := map[string][]string{}
	for _, r := range rows[1:] {
		got[r[1]] = r
	}
	if r := got[chGeneral]; r[3] != "go rust" || r[4] != "questions" || r[5] != "active" || r[6] != "UALICE" || r[7] == "" || r[8] != "" {
		t.Errorf("general row %q", r)
	}
	if r := got[chOps]; r[3] != "*" || r[6] != "UCAROL" {
		t.Errorf("ops row %q", r)
	}
}
