package cluster

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/soebot/soebot/internal/store"
)

// Stash keeps short-lived texts by key, cluster-wide, in the same bucket
// and under the same sweeper as Seen (an entry is its expiry, a newline and
// the text): what one replica put, any replica reads, until keep has passed.
type Stash struct {
	db     store.Store
	prefix string
	keep   time.Duration
	now    func() time.Time
}

// NewStash keeps texts under prefix for keep.
func NewStash(db store.Store, prefix string, keep time.Duration, now func() time.Time) *Stash {
	if now == nil {
		now = time.Now
	}
	return &Stash{db: db, prefix: prefix, keep: keep, now: now}
}

// Put stores text under key for keep.
func (s *Stash) Put(ctx context.Context, key, text string) error {
	v := strconv.AppendInt(nil, s.now().Add(s.keep).Unix(), 10)
	v = append(append(v, '\n'), text...)
	err := s.db.Update(ctx, func(tx store.Tx) error {
		b, err := seenBucket(tx)
		if err != nil {
			return err
		}
		return b.Put([]byte(s.prefix+key), v)
	})
	if err != nil {
		return fmt.Errorf("cluster: stash: %w", err)
	}
	return nil
}

// Get returns the text under key, unless it is missing or expired.
func (s *Stash) Get(ctx context.Context, key string) (string, bool, error) {
	var text string
	found := false
	err := s.db.View(ctx, func(tx store.Tx) error {
		b, err := seenBucket(tx)
		if err != nil {
			return err
		}
		v := b.Get([]byte(s.prefix + key))
		until, ok := parseUnix(v)
		if i := bytes.IndexByte(v, '\n'); ok && i >= 0 && s.now().Before(until) {
			text, found = string(v[i+1:]), true
		}
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("cluster: stash: %w", err)
	}
	return text, found, nil
}

// Delete forgets key.
func (s *Stash) Delete(ctx context.Context, key string) error {
	err := s.db.Update(ctx, func(tx store.Tx) error {
		b, err := seenBucket(tx)
		if err != nil {
			return err
		}
		return b.Delete([]byte(s.prefix + key))
	})
	if err != nil {
		return fmt.Errorf("cluster: stash: %w", err)
	}
	return nil
}
