package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/soebot/soebot/internal/store"
)

// ErrNotLeader is returned by CheckTx when this replica does not hold the
// lease (any more): the write it guards must not happen.
var ErrNotLeader = errors.New("cluster: this replica does not hold the lease")

// record is a lease as stored.
type record struct {
	Holder string    `json:"holder"`
	Until  time.Time `json:"until"`
	Since  time.Time `json:"since"`
}

// LeaseConfig configures a Lease.
type LeaseConfig struct {
	Name   string        // what is leased ("notify")
	Holder string        // this replica (ReplicaID)
	TTL    time.Duration // how long a renewal holds; renewed every TTL/4
	Now    func() time.Time
	Logger *slog.Logger
	// OnChange, when set, is called (from Run's goroutine) whenever this
	// replica gains (true) or loses (false) the lease.
	OnChange func(leading bool)
}

// Lease is a named lease with expiry, kept in the store. One replica holds
// it at a time; when the holder dies without releasing it, another takes it
// once it expires (at most TTL + TTL/4 later).
type Lease struct {
	cfg LeaseConfig
	db  store.Store

	mu      sync.Mutex
	leading bool
	until   time.Time
}

// NewLease builds a lease; nothing happens until Run (or TryAcquire).
func NewLease(db store.Store, cfg LeaseConfig) *Lease {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Minute
	}
	return &Lease{cfg: cfg, db: db}
}

// Holder is this replica's name in the lease.
func (l *Lease) Holder() string { return l.cfg.Holder }

// Leading reports whether this replica holds the lease now (from memory:
// the last renewal, and not expired since).
func (l *Lease) Leading() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leading && l.cfg.Now().Before(l.until)
}

// Run acquires or renews the lease every TTL/4 until ctx is done, then
// releases it so another replica takes over at once.
func (l *Lease) Run(ctx context.Context) {
	l.step(ctx)
	t := time.NewTicker(max(l.cfg.TTL/4, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			l.release()
			return
		case <-t.C:
			l.step(ctx)
		}
	}
}

func (l *Lease) step(ctx context.Context) {
	held, err := l.TryAcquire(ctx)
	if err != nil && ctx.Err() == nil {
		l.cfg.Logger.WarnContext(ctx, "lease renewal failed", "lease", l.cfg.Name, "err", err)
	}
	l.set(held)
}

func (l *Lease) set(held bool) {
	l.mu.Lock()
	changed := held != l.leading
	l.leading = held
	l.mu.Unlock()
	if changed {
		l.cfg.Logger.Info("lease changed hands", "lease", l.cfg.Name, "holder", l.cfg.Holder, "leading", held)
		if l.cfg.OnChange != nil {
			l.cfg.OnChange(held)
		}
	}
}

// TryAcquire takes the lease if it is free, expired or already ours, and
// reports whether this replica holds it now.
func (l *Lease) TryAcquire(ctx context.Context) (bool, error) {
	now := l.cfg.Now()
	until := now.Add(l.cfg.TTL)
	held := false
	err := l.db.Update(ctx, func(tx store.Tx) error {
		cur, err := read(tx, l.cfg.Name)
		if err != nil {
			return err
		}
		if cur.Holder != "" && cur.Holder != l.cfg.Holder && now.Before(cur.Until) {
			return nil // someone else's, still valid
		}
		since := cur.Since
		if cur.Holder != l.cfg.Holder {
			since = now
		}
		held = true
		return store.PutJSON(tx, bucketLeases, l.cfg.Name, record{Holder: l.cfg.Holder, Until: until, Since: since})
	})
	if err != nil {
		return false, fmt.Errorf("cluster: lease %s: %w", l.cfg.Name, err)
	}
	if held {
		l.mu.Lock()
		l.until = until
		l.mu.Unlock()
	}
	return held, nil
}

// release gives the lease up (on shutdown) if this replica holds it.
func (l *Lease) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := l.db.Update(ctx, func(tx store.Tx) error {
		cur, err := read(tx, l.cfg.Name)
		if err != nil || cur.Holder != l.cfg.Holder {
			return err
		}
		return tx.Bucket(bucketLeases).Delete([]byte(l.cfg.Name))
	})
	if err != nil {
		l.cfg.Logger.Warn("lease release failed; it expires by itself", "lease", l.cfg.Name, "err", err)
	}
	l.set(false)
}

// CheckTx is the fence for a write that only the holder may make: inside
// the same write transaction, it returns ErrNotLeader unless the stored
// lease is this replica's and unexpired. Writers are serialized, so no other
// replica can take the lease between this check and the commit.
func (l *Lease) CheckTx(tx store.Tx) error {
	cur, err := read(tx, l.cfg.Name)
	if err != nil {
		return err
	}
	if cur.Holder != l.cfg.Holder || !l.cfg.Now().Before(cur.Until) {
		return ErrNotLeader
	}
	return nil
}

// Current is the stored lease: its holder and expiry ("" when free).
func Current(ctx context.Context, db store.Store, name string) (holder string, until time.Time, err error) {
	err = db.View(ctx, func(tx store.Tx) error {
		cur, err := read(tx, name)
		holder, until = cur.Holder, cur.Until
		return err
	})
	return holder, until, err
}

func read(tx store.Tx, name string) (record, error) {
	var r record
	b := tx.Bucket(bucketLeases)
	if b == nil {
		return r, fmt.Errorf("bucket %q: %w", bucketLeases, store.ErrBucketNotFound)
	}
	raw := b.Get([]byte(name))
	if raw == nil {
		return r, nil
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return record{}, fmt.Errorf("lease %s: %w", name, err)
	}
	return r, nil
}
