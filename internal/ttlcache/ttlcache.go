// Package ttlcache is a bounded, expiring map whose loads are shared:
// concurrent GetOrLoad calls for one key run the load once, so a burst of the
// same question costs one SOE call. Errors are never cached.
package ttlcache

import (
	"context"
	"sync"
	"time"
)

// Cache maps K to V for a while. The zero value is not usable; call New.
type Cache[K comparable, V any] struct {
	mu       sync.Mutex
	ttl      time.Duration
	max      int
	now      func() time.Time
	entries  map[K]entry[V]
	inflight map[K]*call[V]
}

type entry[V any] struct {
	v       V
	expires time.Time
}

type call[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// New returns a cache keeping each value for ttl (0: loads are shared but
// nothing is kept) and at most about limit entries; now may be nil (time.Now).
func New[K comparable, V any](ttl time.Duration, limit int, now func() time.Time) *Cache[K, V] {
	if now == nil {
		now = time.Now
	}
	if limit < 1 {
		limit = 1
	}
	return &Cache[K, V]{ttl: ttl, max: limit, now: now, entries: map[K]entry[V]{}, inflight: map[K]*call[V]{}}
}

// GetOrLoad returns the cached value for k or loads it.
func (c *Cache[K, V]) GetOrLoad(ctx context.Context, k K, load func(context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	if e, ok := c.entries[k]; ok && c.now().Before(e.expires) {
		c.mu.Unlock()
		return e.v, nil
	}
	if cl, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.v, cl.err
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
	}
	cl := &call[V]{done: make(chan struct{})}
	c.inflight[k] = cl
	c.mu.Unlock()

	cl.v, cl.err = load(ctx)

	c.mu.Lock()
	delete(c.inflight, k)
	if cl.err == nil && c.ttl > 0 {
		if len(c.entries) >= c.max {
			c.evictLocked()
		}
		c.entries[k] = entry[V]{v: cl.v, expires: c.now().Add(c.ttl)}
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.v, cl.err
}

// Get returns the cached value for k, if it has not expired.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok && c.now().Before(e.expires) {
		return e.v, true
	}
	var zero V
	return zero, false
}

// Put caches v for k (a value learnt on the way, without a load).
func (c *Cache[K, V]) Put(k K, v V) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		c.evictLocked()
	}
	c.entries[k] = entry[V]{v: v, expires: c.now().Add(c.ttl)}
}

// Delete forgets k (a value known to have changed). A load in flight for k
// still stores what it read.
func (c *Cache[K, V]) Delete(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, k)
}

// evictLocked makes room (see evict).
func (c *Cache[K, V]) evictLocked() {
	now := c.now()
	evict(c.entries, c.max, func(e entry[V]) bool { return !now.Before(e.expires) })
}

// evict drops the entries of m that expired, and then as many others as it
// takes to bring m under three quarters of limit (map order is random
// enough for a cache).
func evict[K comparable, V any](m map[K]V, limit int, expired func(V) bool) {
	for k, v := range m {
		if expired(v) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < limit*3/4 || len(m) == 0 {
			break
		}
		delete(m, k)
	}
}

// Len is the number of cached entries.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Recent remembers keys for a while, bounded: the "told them already today"
// and "saw this event already" sets. It is safe for concurrent use.
type Recent struct {
	mu   sync.Mutex
	ttl  time.Duration
	max  int
	seen map[string]time.Time
}

// NewRecent remembers each key for ttl, and about limit keys at most.
func NewRecent(ttl time.Duration, limit int) *Recent {
	return &Recent{ttl: ttl, max: max(limit, 1), seen: map[string]time.Time{}}
}

// First reports whether key was not seen within ttl before now, and
// remembers it as seen now when so.
func (r *Recent) First(key string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.seen[key]; ok && now.Sub(t) < r.ttl {
		return false
	}
	if len(r.seen) >= r.max {
		evict(r.seen, r.max, func(t time.Time) bool { return now.Sub(t) >= r.ttl })
	}
	r.seen[key] = now
	return true
}
