package bench

import (
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	)
}

// TestBenchmarksRun runs every benchmark's code once at toy sizes, so the
// normal test suite keeps them working. It checks what they count, never
// how fast anything was (timing belongs to the benchmarks).
func TestBenchmarksRun(t *testing.T) {
	t.Run("ack", func(t *testing.T) {
		for _, n := range []int{1, 10} {
			r := ackLatency(t, n, 2, 50*time.Millisecond, 20*time.Millisecond, 0, 0)
			if r.slack.n != 2*n || r.total != 2*n {
				t.Errorf("n=%d: %d acks measured of %d", n, r.slack.n, r.total)
			}
		}
		// Spread over 20 ms, with a pool of 8, while each SOE call takes
		// 300 ms: all ten overlap, so two are told to retry.
		if r := ackLatency(t, 10, 1, 300*time.Millisecond, 0, 20*time.Millisecond, 8); r.slack.n != 10 || r.busy != 2 {
			t.Errorf("spread: %d acks measured of 10, %d busy (want 2)", r.slack.n, r.busy)
		}
	})
	t.Run("adaptive", adaptiveCheck)
	t.Run("floor", func(t *testing.T) {
		if r := socketFloor(t, 10, 2); r.slack.n != 20 || r.ackedPerSec <= 0 {
			t.Errorf("%+v", r)
		}
	})
	t.Run("slash", func(t *testing.T) {
		res, labels := slashLoads(t, 20, 5, 1)
		for _, l := range labels {
			if r := res[l]; len(r.replies) != 20 || r.repliesPerSec() <= 0 {
				t.Errorf("%s: %d replies", l, len(r.replies))
			}
		}
	})
	t.Run("hold", func(t *testing.T) {
		res, labels := holdBursts(t, 20, 1, 0)
		for _, l := range labels {
			if r := res[l]; len(r.acks) != 20 || r.n != 20 {
				t.Errorf("%s: %d acks of %d", l, len(r.acks), r.n)
			}
		}
	})
	t.Run("slow-soe", func(t *testing.T) {
		if s, calls := slowExperts(t, "1ns", 5*time.Millisecond, 3); s.n != 3 || calls < 1 {
			t.Errorf("%v, %.1f SOE calls per command", s, calls)
		}
	})
	t.Run("experts", func(t *testing.T) {
		for _, viaProxy := range []bool{false, true} {
			r := expertsLatency(t, "1ns", viaProxy, 6, 12)
			if r.e2e.n != 6 || r.soeCalls < 1 || r.perSecond <= 0 || r.soeTime.p50 <= 0 {
				t.Errorf("proxy %v: %+v", viaProxy, r)
			}
		}
	})
	t.Run("throttle", func(t *testing.T) {
		r := throttle(t, 30, 0)
		if r.got429 != 0 || r.results+r.slow+r.busy != 30 || r.other != 0 {
			t.Errorf("%s", r)
		}
	})
	t.Run("memory", func(t *testing.T) {
		r := memory(t, 30, 30, 1, 1)
		if len(r.rss) != 1 || r.rss[0] <= 0 || r.heap[0] <= 0 || r.startup.n != 1 {
			t.Errorf("%+v", r)
		}
	})
	t.Run("poll", func(t *testing.T) {
		r := pollCost(t, 3, 3, 1)
		if r.cpuPerCycle <= 0 || r.postsPerCycle != 3 || r.soeCallsPerCyc < 1 {
			t.Errorf("%+v", r)
		}
	})
}
