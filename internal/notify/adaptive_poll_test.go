package notify

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// The schedule lives in the store: a new poller (another replica taking
// the lease, or a restart) keeps the interval and the token counts, and
// polls nothing before the scope is due. The feed reads rotate over the
// two owners, never carol (linked, owns nothing).
func TestAdaptiveScheduleSurvivesANewPoller(t *testing.T) {
	clock := &testClock{t: time.Now()}
	e := newEnv(t, func(o *Options) { o.Now, o.IntervalMin = clock.now, 5*time.Second })
	e.subscribe("alice", chGeneral, mainSite, 0, "go")
	e.subscribe("bob", chOps, mainSite, 0, "python")
	e.link("carol", mainSite)
	ctx := context.Background()
	poll := func() (CycleStats, time.Time) {
		t.Helper()
		st, next, err := e.svc.PollDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st, next
	}
	st, next := poll()
	if st.Scopes != 1 || len(st.Schedules) != 1 || st.Schedules[0].Interval != time.Minute || !next.Equal(clock.now().Add(time.Minute)) {
		t.Fatalf("first poll: %+v, next in %s", st, next.Sub(clock.now()))
	}
	e.open() // a new poller on the same store
	if st, again := poll(); st.Scopes != 0 || !again.Equal(next) {
		t.Fatalf("new poller: %+v, next %s, want nothing polled and %s", st, again, next)
	}
	// Activity, polled as it comes: the interval shortens, the reads rotate.
	for i := range 12 {
		clock.advance(next.Sub(clock.now()))
		if i%3 == 0 {
			tick()
			e.question(mainSite, "erin", "Which Go linter settings do we share?", "go")
		}
		if i == 6 {
			e.open() // and once more mid-stream
		}
		_, next = poll()
	}
	d, calls, err := e.svc.Schedule(ctx, mainSite)
	if err != nil {
		t.Fatal(err)
	}
	if d >= time.Minute {
		t.Errorf("interval %s after activity, want below the maximum", d)
	}
	if len(calls) != 2 || calls[team+"/"+slackID("alice")] == 0 || calls[team+"/"+slackID("bob")] == 0 {
		t.Errorf("poller calls by token %v, want alice's and bob's", calls)
	}
	for k := range calls {
		if strings.HasSuffix(k, slackID("carol")) {
			t.Errorf("carol's token read the feed")
		}
	}
}

// Without IntervalMin nothing adapts: every cycle polls every scope and no
// schedule is kept.
func TestFixedIntervalPollsEveryCycle(t *testing.T) {
	e := newEnv(t)
	e.subscribe("alice", chGeneral, mainSite, 0, "go")
	for range 3 {
		st, next, err := e.svc.PollDue(context.Background())
		if err != nil || st.Scopes != 1 || !next.IsZero() || len(st.Schedules) != 0 {
			t.Fatalf("%+v, next %v, err %v", st, next, err)
		}
	}
	if d, calls, err := e.svc.Schedule(context.Background(), mainSite); err != nil || d != 0 || len(calls) != 0 {
		t.Fatalf("schedule kept: %s %v %v", d, calls, err)
	}
}
