package notify

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/soe"
)

func TestAccessChange(t *testing.T) {
	for _, c := range []struct {
		name       string
		sub        Subscription
		granted    bool
		changed    bool
		disabled   bool
		wantReason string
	}{
		{"revoked: an active one is switched off", Subscription{}, false, true, true, ReasonWorkspaceRemoved},
		{"revoked: a paused one is switched off too", Subscription{Paused: true}, false, true, true, ReasonWorkspaceRemoved},
		{"revoked: already off stays as it is", Subscription{Disabled: true, DisabledReason: "channel_not_found"}, false, false, true, "channel_not_found"},
		{"granted: the workspace's own comes back", Subscription{Disabled: true, DisabledReason: ReasonWorkspaceRemoved}, true, true, false, ""},
		{"granted: off for another reason stays off", Subscription{Disabled: true, DisabledReason: "is_archived"}, true, false, true, "is_archived"},
		{"granted: an active one is untouched", Subscription{}, true, false, false, ""},
	} {
		got, changed := accessChange(c.sub, c.granted)
		if changed != c.changed || got.Disabled != c.disabled || got.DisabledReason != c.wantReason {
			t.Errorf("%s: got %+v changed=%v", c.name, got, changed)
		}
	}
}

func TestInWorkspace(t *testing.T) {
	for _, c := range []struct {
		sub  Subscription
		ws   string
		want bool
	}{
		{Subscription{TeamID: "E1", Workspace: "T2"}, "T2", true},
		{Subscription{TeamID: "E1", Workspace: "T2"}, "T3", false},
		{Subscription{TeamID: "E1", Workspace: "T2"}, "E1", false},
		{Subscription{TeamID: "T2"}, "T2", true}, // stored before Grid support
	} {
		if got := inWorkspace(c.sub, c.ws); got != c.want {
			t.Errorf("inWorkspace(%+v, %s) = %v", c.sub, c.ws, got)
		}
	}
}

func TestWorkspaceAccessKeepsAndResumes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	main := soe.MainSite()
	e.link("alice", main)
	since, err := e.svc.Prime(ctx, e.client("alice", main))
	if err != nil {
		t.Fatal(err)
	}
	sub := func(channel, ws string) Subscription {
		s, err := e.svc.Subscribe(ctx, SubscribeRequest{TeamID: team, Workspace: ws, ChannelID: channel, CreatorID: slackID("alice"),
			Scope: main, Tags: []string{"go"}, Since: since})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := sub(chGeneral, "T0A"), sub(chOps, "T0B")
	if b.Workspace != "T0B" {
		t.Fatalf("workspace not stored: %+v", b)
	}
	for _, step := range []struct {
		granted bool
		n       int
		bActive bool
	}{{false, 1, false}, {false, 0, false}, {true, 1, true}, {true, 0, true}} {
		n, err := e.svc.WorkspaceAccess(ctx, "T0B", step.granted)
		if err != nil || n != step.n {
			t.Fatalf("WorkspaceAccess(T0B, %v) = %d, %v; want %d", step.granted, n, err, step.n)
		}
		gotA, _, _ := e.svc.Subscription(ctx, a.ID)
		gotB, ok, _ := e.svc.Subscription(ctx, b.ID)
		if !ok || gotB.Active() != step.bActive || !gotA.Active() {
			t.Fatalf("after granted=%v: A %+v, B %+v", step.granted, gotA, gotB)
		}
		if len(gotB.Tags) != 1 || gotB.Owners[0] != slackID("alice") {
			t.Fatalf("the subscription lost something: %+v", gotB)
		}
	}
	if _, err := e.svc.WorkspaceAccess(ctx, "bad id!", false); !errors.Is(err, ErrBadInput) {
		t.Fatalf("bad id: %v", err)
	}
}

// Posts already queued for a workspace's channels when the app is removed
// from it are held, not attempted and not dropped, and go out once access
// is granted again.
func TestWorkspaceRemovedHoldsQueuedPosts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	main := soe.MainSite()
	e.link("alice", main)
	since, err := e.svc.Prime(ctx, e.client("alice", main))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Subscribe(ctx, SubscribeRequest{TeamID: team, Workspace: "T0B", ChannelID: chOps, CreatorID: slackID("alice"),
		Scope: main, Tags: []string{"go"}, Since: since}); err != nil {
		t.Fatal(err)
	}
	e.cycle()
	tick()
	e.question(main, "judy", "Queued while the workspace goes away", "go")
	if _, err := e.svc.pollCycle(ctx); err != nil { // polls and queues, without delivering
		t.Fatal(err)
	}
	if n, err := e.svc.WorkspaceAccess(ctx, "T0B", false); err != nil || n != 1 {
		t.Fatalf("revoke: %d, %v", n, err)
	}
	if _, err := e.svc.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if ps := e.posts(chOps); len(ps) != 0 {
		t.Fatalf("posted to a removed workspace:%s", flat(ps))
	}
	ds, err := e.svc.Deliveries(ctx)
	if err != nil || len(ds) == 0 || ds[len(ds)-1].Status != StatusHeld {
		t.Fatalf("deliveries %+v, %v; want the last one held", ds, err)
	}
	if _, err := e.svc.WorkspaceAccess(ctx, "T0B", true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if ps := e.posts(chOps); len(ps) != 1 || !strings.Contains(ps[0].Flat(), "Queued while the workspace goes away") {
		t.Fatalf("want the held post once:%s", flat(ps))
	}
}
