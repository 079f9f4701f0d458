package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/soebot/soebot/internal/store"
)

var bucketLatest = []byte("cluster_latest")

// Latest keeps, per key, an older attempt from replacing a newer one when
// both end in a network call (a user's App Home: views.publish). Attempts are
// numbered cluster-wide when they start (Begin); Publish runs the call only
// while no newer attempt of that key has been published, and one attempt of
// a key at a time across replicas (a lock row with an expiry, never a
// transaction held over the call).
type Latest struct {
	db       store.Store
	hold     time.Duration // how long a lock row holds if its holder dies
	retry    time.Duration
	now      func() time.Time
	newToken func() string
}

// latestRecord is one key's state.
type latestRecord struct {
	Published uint64    `json:"published"`           // number of the attempt last published
	Lock      string    `json:"lock,omitempty"`      // token of the attempt publishing now
	LockUntil time.Time `json:"lock_until,omitzero"` // when that lock lapses
}

// NewLatest keeps its state in db. hold bounds how long a publish may take
// before another attempt may go ahead (default 15s).
func NewLatest(db store.Store, hold time.Duration) *Latest {
	if hold <= 0 {
		hold = 15 * time.Second
	}
	return &Latest{db: db, hold: hold, retry: 10 * time.Millisecond, now: time.Now, newToken: token}
}

func token() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Begin numbers an attempt; later calls (on any replica) get larger numbers.
func (l *Latest) Begin(ctx context.Context) (uint64, error) {
	var n uint64
	err := l.db.Update(ctx, func(tx store.Tx) error {
		b := tx.Bucket(bucketLatest)
		if b == nil {
			return fmt.Errorf("bucket %q: %w", bucketLatest, store.ErrBucketNotFound)
		}
		var err error
		n, err = b.NextSequence()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("cluster: begin: %w", err)
	}
	return n, nil
}

// Publish runs pub for attempt n of key unless a newer attempt was
// published already (stale). Attempts of one key never overlap: Publish
// waits for the one in progress (at most hold). A failed pub does not count
// as published.
func (l *Latest) Publish(ctx context.Context, key string, n uint64, pub func() error) (stale bool, err error) {
	tok := l.newToken()
	for {
		got, stale, err := l.lock(ctx, key, n, tok)
		if err != nil || stale {
			return stale, err
		}
		if got {
			break
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(l.retry):
		}
	}
	perr := pub()
	if err := l.unlock(context.WithoutCancel(ctx), key, n, tok, perr == nil); err != nil {
		return false, fmt.Errorf("cluster: publish %s: %w", key, err)
	}
	return false, perr
}

// lock takes key's lock row for tok, unless a newer attempt was published
// (stale) or another attempt holds it (got false).
func (l *Latest) lock(ctx context.Context, key string, n uint64, tok string) (got, stale bool, err error) {
	now := l.now()
	err = l.update(ctx, key, func(r *latestRecord) bool {
		switch {
		case r.Published > n:
			stale = true
			return false
		case r.Lock != "" && now.Before(r.LockUntil):
			return false
		}
		r.Lock, r.LockUntil, got = tok, now.Add(l.hold), true
		return true
	})
	return got, stale, err
}

// unlock frees key's lock row (if still tok's) and, when the call worked,
// records n as published.
func (l *Latest) unlock(ctx context.Context, key string, n uint64, tok string, ok bool) error {
	return l.update(ctx, key, func(r *latestRecord) bool {
		if r.Lock == tok {
			r.Lock, r.LockUntil = "", time.Time{}
		}
		if ok && n > r.Published {
			r.Published = n
		}
		return true
	})
}

// update applies change to key's record in one write transaction; change
// reports whether to write it back.
func (l *Latest) update(ctx context.Context, key string, change func(r *latestRecord) bool) error {
	return l.db.Update(ctx, func(tx store.Tx) error {
		var r latestRecord
		if _, err := store.GetJSON(tx, bucketLatest, key, &r); err != nil {
			return err
		}
		if !change(&r) {
			return nil
		}
		return store.PutJSON(tx, bucketLatest, key, &r)
	})
}
