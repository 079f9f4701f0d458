package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/cluster"
)

// Two replicas share a set; sets of other lengths share the bucket without
// touching each other; Recent records nothing; Sweep drops only the expired.
func TestSeenAcrossReplicasAndSets(t *testing.T) {
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			now := time.Unix(1_800_000_000, 0)
			clock := func() time.Time { return now }
			a := cluster.NewSeen(db, "ev/", time.Hour, clock)
			b := cluster.NewSeen(db, "ev/", time.Hour, clock) // another replica
			day := cluster.NewSeen(db, "hint/", 24*time.Hour, clock)
			if recent, err := a.Recent(ctx, "E1"); recent || err != nil {
				t.Fatalf("Recent before anything: %v, %v", recent, err)
			}
			if first, _ := a.First(ctx, "E1"); !first {
				t.Fatal("first sighting not first")
			}
			if first, _ := b.First(ctx, "E1"); first {
				t.Fatal("the other replica handled it again")
			}
			if recent, _ := b.Recent(ctx, "E1"); !recent {
				t.Fatal("Recent misses a recorded key")
			}
			if first, _ := day.First(ctx, "E1"); !first {
				t.Fatal("another set's key collided")
			}
			now = now.Add(2 * time.Hour) // the event id expired, the hint did not
			if n, err := cluster.SweepSeen(ctx, db, now); err != nil || n != 1 {
				t.Fatalf("SweepSeen = %d, %v; want 1", n, err)
			}
			if first, _ := b.First(ctx, "E1"); !first {
				t.Fatal("an expired key still counts")
			}
			if first, _ := day.First(ctx, "E1"); first {
				t.Fatal("the day-long key was forgotten")
			}
		})
	}
}

// What one replica stashes another reads until it expires; Delete forgets
// it; the sweeper drops expired texts and keeps live ones.
func TestStashAcrossReplicas(t *testing.T) {
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			now := time.Unix(1_800_000_000, 0)
			clock := func() time.Time { return now }
			a := cluster.NewStash(db, "draft/", time.Minute, clock)
			b := cluster.NewStash(db, "draft/", time.Minute, clock)
			for _, k := range []string{"x", "y", "z"} {
				if err := a.Put(ctx, k, "text of "+k+"\nwith a second line"); err != nil {
					t.Fatal(err)
				}
			}
			if v, ok, err := b.Get(ctx, "x"); !ok || err != nil || v != "text of x\nwith a second line" {
				t.Fatalf("Get on the other replica = %q, %v, %v", v, ok, err)
			}
			if err := b.Delete(ctx, "y"); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := a.Get(ctx, "y"); ok {
				t.Fatal("y not deleted")
			}
			now = now.Add(2 * time.Minute)
			if _, ok, _ := a.Get(ctx, "x"); ok {
				t.Fatal("x did not expire")
			}
			if err := a.Put(ctx, "w", "fresh"); err != nil {
				t.Fatal(err)
			}
			if n, err := cluster.SweepSeen(ctx, db, now); err != nil || n != 2 {
				t.Fatalf("SweepSeen = %d, %v; want 2 (x, z)", n, err)
			}
			if v, ok, _ := b.Get(ctx, "w"); !ok || v != "fresh" {
				t.Fatal("the sweeper dropped a live text")
			}
		})
	}
}
