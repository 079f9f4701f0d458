package cluster

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/soebot/soebot/internal/store"
)

// Seen is the cluster-wide set of Slack event ids already handled. Slack
// retries an event it thinks was not acked, and may give the retry to
// another replica's connection; the first replica to record an id handles
// it, the others drop it.
type Seen struct {
	db   store.Store
	keep time.Duration
	now  func() time.Time
}

// NewSeen keeps ids for keep (Slack's retries come within minutes; default
// one hour).
func NewSeen(db store.Store, keep time.Duration, now func() time.Time) *Seen {
	if keep <= 0 {
		keep = time.Hour
	}
	if now == nil {
		now = time.Now
	}
	return &Seen{db: db, keep: keep, now: now}
}

// First records id and reports whether no replica had recorded it before.
func (s *Seen) First(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return true, nil
	}
	now := s.now()
	first := false
	err := s.db.Update(ctx, func(tx store.Tx) error {
		b := tx.Bucket(bucketSeen)
		if b == nil {
			return fmt.Errorf("bucket %q: %w", bucketSeen, store.ErrBucketNotFound)
		}
		if at, ok := parseUnix(b.Get([]byte(id))); ok && now.Sub(at) < s.keep {
			return nil
		}
		first = true
		return b.Put([]byte(id), strconv.AppendInt(nil, now.Unix(), 10))
	})
	if err != nil {
		return true, fmt.Errorf("cluster: seen events: %w", err)
	}
	return first, nil
}

// Sweep forgets ids older than keep.
func (s *Seen) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	return s.db.Sweep(ctx, bucketSeen, func(_, v []byte) bool {
		at, ok := parseUnix(v)
		return !ok || now.Sub(at) >= s.keep
	})
}

// Run sweeps every ten minutes until ctx is done.
func (s *Seen) Run(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = s.Sweep(ctx)
		}
	}
}

func parseUnix(v []byte) (time.Time, bool) {
	if v == nil {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}
