package e2e

import (
	"testing"
	"time"
)

// The shared clock drives the bot and the fakes: a person links and uses a
// command while the clock stands still, and SOE content is stamped with it.
func TestClockDrivesBotAndFakes(t *testing.T) {
	start := time.Date(2026, 3, 28, 7, 30, 0, 0, time.UTC)
	clock := NewClock(start)
	e := bot(t, func(o *Options) { o.Clock = clock })
	e.link(t, "alice")
	e.sees(t, e.slash(t, SlackUser("alice"), General, "experts kubernetes"), "Experts on kubernetes")
	if got := clock.Advance(2 * time.Hour); !got.Equal(start.Add(2 * time.Hour)) {
		t.Fatalf("Advance: %v", got)
	}
	if !e.SOE.Now().Equal(clock.Now()) {
		t.Fatalf("fake SOE's clock %v, want %v", e.SOE.Now(), clock.Now())
	}
}
