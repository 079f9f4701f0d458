package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
)

// throttleResult counts what n commands from one user led to.
type throttleResult struct {
	sent, busy, results, slow, other int
	searchCalls, got429              int
	elapsed                          time.Duration
}

func (r throttleResult) String() string {
	return fmt.Sprintf("%d commands in %v: %d answered with results, %d \"did not answer in time / busy\" replies, %d acked busy, %d other; %d SOE search calls, %d answered 429",
		r.sent, r.elapsed.Round(time.Millisecond), r.results, r.slow, r.busy, r.other, r.searchCalls, r.got429)
}

// throttle sends n "/soe search" commands from alice (each a distinct query,
// so no cache helps and each costs one SOE call with her token), every
// gap (0: all at once), waits for every reply and counts SOE 429 answers
// (the fake enforces SOE's real per-token limits: 50 per 2 s, bucket 5000).
func throttle(tb testing.TB, n int, gap time.Duration) throttleResult {
	tb.Helper()
	e := start(tb, envOpts{})
	alice := e.link(tb, "alice")[0]
	t0 := time.Now()
	var sent []*slackfake.Sent
	for i := range n {
		if gap > 0 && i > 0 {
			time.Sleep(gap)
		}
		s, err := e.Slack.SlashCommand(alice, e2e.General, "/soe", fmt.Sprintf("search kubernetes %d", i))
		if err != nil {
			tb.Fatal(err)
		}
		sent = append(sent, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := throttleResult{sent: n}
	for _, s := range sent {
		m, err := e.Slack.WaitResponse(ctx, s.ResponseURL, "")
		switch {
		case err != nil:
			tb.Fatalf("a command got no reply: %v", err)
		case m.Matches("very busy"):
			r.busy++
		case m.Matches("Results") || m.Matches("No results") || m.Matches("Nothing"):
			r.results++
		case m.Matches("did not answer") || m.Matches("busy right now") || m.Matches("try again"):
			r.slow++
		default:
			r.other++
			tb.Logf("unexpected reply: %s", m.Flat())
		}
	}
	r.elapsed = time.Since(t0)
	r.searchCalls = e.apiCalls("/search")
	r.got429 = e.count429()
	return r
}

// BenchmarkThrottle: bursts of commands from one user never make SOE answer
// 429. "burst" sends 500 commands at once (all fit in the worker pool of
// 512 and queue on the client's per-token pacer; those it cannot serve
// within the handler's bound are told to try again);
// "sustained" sends them at 40 per second, faster than SOE allows one
// token (25/s), so the pacer must hold calls back.
func BenchmarkThrottle(b *testing.B) {
	for _, v := range []struct {
		name string
		gap  time.Duration
	}{{"burst", 0}, {"sustained-40-per-s", 25 * time.Millisecond}} {
		b.Run(v.name, func(b *testing.B) {
			var r throttleResult
			for range b.N {
				r = throttle(b, 500, v.gap)
			}
			b.ReportMetric(float64(r.got429), "soe-429s")
			b.ReportMetric(float64(r.searchCalls), "soe-calls")
			b.ReportMetric(float64(r.results), "answered")
			b.Logf("%s: %s", v.name, r)
			if r.got429 > 0 {
				b.Errorf("SOE answered 429 %d times", r.got429)
			}
		})
	}
}
