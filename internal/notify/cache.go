package notify

import (
	"context"
	"sync"
	"time"
)

// smeCache keeps SME lists (SOE user ids) per scope and tag for a while, so
// a burst of questions in one tag costs one lookup. Errors are not cached.
type smeCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	now     func() time.Time
	entries map[string]smeEntry
}

type smeEntry struct {
	ids     []int
	expires time.Time
}

func newSMECache(ttl time.Duration, limit int, now func() time.Time) *smeCache {
	return &smeCache{ttl: ttl, max: limit, now: now, entries: map[string]smeEntry{}}
}

func (c *smeCache) get(ctx context.Context, key string, load func(context.Context) ([]int, error)) ([]int, error) {
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && c.now().Before(e.expires) {
		c.mu.Unlock()
		return e.ids, nil
	}
	c.mu.Unlock()
	ids, err := load(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		now := c.now()
		for k, e := range c.entries {
			if !now.Before(e.expires) || len(c.entries) >= c.max {
				delete(c.entries, k)
			}
		}
	}
	c.entries[key] = smeEntry{ids: ids, expires: c.now().Add(c.ttl)}
	return ids, nil
}
