package e2e

import (
	"sync"
	"time"
)

// Clock is a settable clock shared by the bot and the fakes of a test
// (Options.Clock): digests, escalation windows and expiries are tested by
// moving it instead of waiting. It never moves by itself.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// now is the clock the options ask for (nil: the caller's default).
func (o Options) now() func() time.Time {
	if o.Clock == nil {
		return nil
	}
	return o.Clock.Now
}
