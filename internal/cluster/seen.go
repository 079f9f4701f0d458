package cluster

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/soebot/soebot/internal/store"
)

// Seen is a cluster-wide "seen lately" set kept in the store: the Slack
// event ids already handled (Slack may give a retry to another replica's
// connection: the first replica to record an id handles it), or who got an
// answer suggestion or a connect hint lately. Each entry keeps its own
// expiry, so sets of different lengths share one bucket (their keys carry a
// prefix of their own) and one Sweep clears them all.
type Seen struct {
	db     store.Store
	prefix string
	keep   time.Duration
	now    func() time.Time
}

// NewSeen is the set of keys under prefix, each kept for keep.
func NewSeen(db store.Store, prefix string, keep time.Duration, now func() time.Time) *Seen {
	if keep <= 0 {
		keep = time.Hour
	}
	if now == nil {
		now = time.Now
	}
	return &Seen{db: db, prefix: prefix, keep: keep, now: now}
}

// First records id and reports whether no replica had recorded it within
// keep. On an error it reports true (callers would rather act twice than
// never).
func (s *Seen) First(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return true, nil
	}
	now := s.now()
	first := false
	err := s.db.Update(ctx, func(tx store.Tx) error {
		b, err := seenBucket(tx)
		if err != nil {
			return err
		}
		key := []byte(s.prefix + id)
		if until, ok := parseUnix(b.Get(key)); ok && now.Before(until) {
			return nil
		}
		first = true
		return b.Put(key, strconv.AppendInt(nil, now.Add(s.keep).Unix(), 10))
	})
	if err != nil {
		return true, fmt.Errorf("cluster: seen: %w", err)
	}
	return first, nil
}

// Recent reports, without recording anything, whether id was recorded
// within keep (a cheap check before work that First then claims).
func (s *Seen) Recent(ctx context.Context, id string) (bool, error) {
	now := s.now()
	recent := false
	err := s.db.View(ctx, func(tx store.Tx) error {
		b, err := seenBucket(tx)
		if err != nil {
			return err
		}
		until, ok := parseUnix(b.Get([]byte(s.prefix + id)))
		recent = ok && now.Before(until)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("cluster: seen: %w", err)
	}
	return recent, nil
}

func seenBucket(tx store.Tx) (store.Bucket, error) {
	b := tx.Bucket(bucketSeen)
	if b == nil {
		return nil, fmt.Errorf("bucket %q: %w", bucketSeen, store.ErrBucketNotFound)
	}
	return b, nil
}

// SweepSeen forgets every expired entry of every set.
func SweepSeen(ctx context.Context, db store.Store, now time.Time) (int, error) {
	return db.Sweep(ctx, bucketSeen, func(_, v []byte) bool {
		until, ok := parseUnix(v)
		return !ok || !now.Before(until)
	})
}

// RunSweeper calls SweepSeen every ten minutes until ctx is done.
func RunSweeper(ctx context.Context, db store.Store) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			_, _ = SweepSeen(ctx, db, now)
		}
	}
}

// parseUnix reads an entry's expiry: decimal Unix seconds, alone (Seen) or
// before a newline and the entry's text (Stash).
func parseUnix(v []byte) (time.Time, bool) {
	if v == nil {
		return time.Time{}, false
	}
	if i := bytes.IndexByte(v, '\n'); i >= 0 {
		v = v[:i]
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}
