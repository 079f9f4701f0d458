package commands

import (
	"context"
	"sync"
	"time"
)

// cache is a bounded, expiring map whose loads are shared: concurrent
// GetOrLoad calls for one key run load once (so a burst of the same question
// costs one SOE call).
type cache[K comparable, V any] struct {
	mu       sync.Mutex
	ttl      time.Duration
	max      int
	now      func() time.Time
	entries  map[K]cacheEntry[V]
	inflight map[K]*cacheCall[V]
}

type cacheEntry[V any] struct {
	v       V
	expires time.Time
}

type cacheCall[V any] struct {
	done chan struct{}
	v    V
	err  error
}

func newCache[K comparable, V any](ttl time.Duration, max int, now func() time.Time) *cache[K, V] {
	if now == nil {
		now = time.Now
	}
	return &cache[K, V]{ttl: ttl, max: max, now: now, entries: map[K]cacheEntry[V]{}, inflight: map[K]*cacheCall[V]{}}
}

// GetOrLoad returns the cached value for k or loads it. Errors are not cached.
func (c *cache[K, V]) GetOrLoad(ctx context.Context, k K, load func(context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	if e, ok := c.entries[k]; ok && c.now().Before(e.expires) {
		c.mu.Unlock()
		return e.v, nil
	}
	if call, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.v, call.err
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
	}
	call := &cacheCall[V]{done: make(chan struct{})}
	c.inflight[k] = call
	c.mu.Unlock()

	call.v, call.err = load(ctx)

	c.mu.Lock()
	delete(c.inflight, k)
	if call.err == nil && c.ttl > 0 {
		if len(c.entries) >= c.max {
			c.evictLocked()
		}
		c.entries[k] = cacheEntry[V]{v: call.v, expires: c.now().Add(c.ttl)}
	}
	c.mu.Unlock()
	close(call.done)
	return call.v, call.err
}

// evictLocked drops expired entries, and if still full, about a quarter of
// the rest (map order is random enough for a cache).
func (c *cache[K, V]) evictLocked() {
	now := c.now()
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	drop := len(c.entries) - c.max*3/4
	for k := range c.entries {
		if drop <= 0 {
			break
		}
		delete(c.entries, k)
		drop--
	}
}

// Len is the number of cached entries.
func (c *cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
