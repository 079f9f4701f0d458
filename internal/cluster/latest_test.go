package cluster_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/cluster"
	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/store/pgstore"
	"github.com/soebot/soebot/internal/store/pgstore/pgtest"
)

// engines opens a fresh store with the cluster's buckets on bbolt and on
// PostgreSQL.
func engines() map[string]func(t *testing.T) store.Store {
	opts := store.Options{Buckets: cluster.Buckets()}
	return map[string]func(t *testing.T) store.Store{
		"bbolt": func(t *testing.T) store.Store {
			db, err := store.Open(filepath.Join(t.TempDir(), "soebot.db"), opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		},
		"postgres": func(t *testing.T) store.Store {
			pg := pgtest.Start(t)
			db, err := pgstore.Open(context.Background(), pg.NewDatabase(t), opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		},
	}
}

// An attempt that started before another, but finishes after it, is not
// published over it; attempts of one key never overlap, even from two
// Latest values on one database (two replicas).
func TestLatestDropsOlderAttempt(t *testing.T) {
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			a, b := cluster.NewLatest(db, 0), cluster.NewLatest(db, 0) // two replicas
			older, _ := a.Begin(ctx)
			newer, _ := b.Begin(ctx)
			var published []uint64
			pub := func(n uint64) func() error {
				return func() error { published = append(published, n); return nil }
			}
			if stale, err := b.Publish(ctx, "T1/U1", newer, pub(newer)); stale || err != nil {
				t.Fatalf("newer: stale %v, err %v", stale, err)
			}
			if stale, err := a.Publish(ctx, "T1/U1", older, pub(older)); !stale || err != nil {
				t.Fatalf("older after newer (other replica): stale %v, err %v", stale, err)
			}
			if stale, _ := a.Publish(ctx, "T1/U2", older, pub(older)); stale {
				t.Fatal("another user's attempt dropped")
			}
			if !slices.Equal(published, []uint64{newer, older}) {
				t.Fatalf("published %v", published)
			}
			third, _ := a.Begin(ctx)
			if _, err := a.Publish(ctx, "T1/U1", third, func() error { return errors.New("slack down") }); err == nil {
				t.Fatal("error lost")
			}
			if stale, _ := b.Publish(ctx, "T1/U1", third, pub(third)); stale {
				t.Fatal("retry of a failed publish dropped")
			}
			noOverlap(t, a, b)
		})
	}
}

func noOverlap(t *testing.T, replicas ...*cluster.Latest) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	var inFlight, overlaps atomic.Int32
	for i := range 20 {
		l := replicas[i%len(replicas)]
		n, err := l.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			_, _ = l.Publish(ctx, "T1/U3", n, func() error {
				if inFlight.Add(1) > 1 {
					overlaps.Add(1)
				}
				time.Sleep(2 * time.Millisecond)
				inFlight.Add(-1)
				return nil
			})
		})
	}
	wg.Wait()
	if overlaps.Load() != 0 {
		t.Fatalf("%d overlapping publishes for one key", overlaps.Load())
	}
}
