package bench

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe/soefake"
)

func soeFaults(latency time.Duration) soefake.Faults { return soefake.Faults{Latency: latency} }

// ackRun is the outcome of one burst of slash commands.
type ackRun struct {
	latencies []time.Duration // Ack.At - Sent.SentAt
	busy      int             // acked with "very busy, try again" (worker pool full)
	pending   []*slackfake.Sent
	sending   time.Duration // first envelope sent -> last envelope sent
	acking    time.Duration // first envelope sent -> last ack received
}

// burst sends n "/soe experts <tag>" envelopes from linked users (so that
// each handler calls SOE) without waiting for acks, then waits for every
// ack. With spread 0 they are written back to back, as fast as the fake
// Slack can write them; otherwise envelope i is sent at i*spread/n.
func burst(tb testing.TB, f *slackfake.Fake, users []string, n int, spread time.Duration) ackRun {
	tb.Helper()
	return burstOf(tb, f, users, n, spread, func(i int) string { return "experts " + expertTags[i%len(expertTags)] })
}

// burstOf is burst with "/soe <text(i)>" as envelope i.
func burstOf(tb testing.TB, f *slackfake.Fake, users []string, n int, spread time.Duration, text func(int) string) ackRun {
	tb.Helper()
	sent := make([]*slackfake.Sent, n)
	t0 := time.Now()
	for i := range n {
		if spread > 0 {
			time.Sleep(time.Until(t0.Add(spread * time.Duration(i) / time.Duration(n))))
		}
		s, err := f.SlashCommand(users[i%len(users)], e2e.General, "/soe", text(i))
		if err != nil {
			tb.Fatalf("sending envelope %d: %v", i, err)
		}
		sent[i] = s
	}
	r := ackRun{sending: sent[n-1].SentAt.Sub(sent[0].SentAt)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i, s := range sent {
		ack, err := f.WaitAck(ctx, s.EnvelopeID)
		if err != nil {
			tb.Fatalf("envelope %d not acked: %v", i, err)
		}
		r.latencies = append(r.latencies, ack.At.Sub(s.SentAt))
		r.acking = max(r.acking, ack.At.Sub(sent[0].SentAt))
		if strings.Contains(string(ack.Payload), "very busy") {
			r.busy++
		} else {
			r.pending = append(r.pending, s)
		}
	}
	return r
}

// drain waits until every handled command of r has replied (so the next
// burst starts with an idle worker pool).
func drain(tb testing.TB, e *env, r ackRun) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, s := range r.pending {
		if _, err := e.Slack.WaitResponse(ctx, s.ResponseURL, ""); err != nil {
			tb.Fatalf("a command never replied: %v", err)
		}
	}
}

// ackLatency measures acks of bursts of n envelopes (sent over spread, see
// burst) while SOE takes latency to answer each call. With n == 1 it sends
// rounds single envelopes, gap apart, without waiting for replies (each
// handler is busy for seconds); with n > 1 it waits for every reply after
// each burst.
func ackLatency(tb testing.TB, n, rounds int, latency, gap, spread time.Duration, workers int) ackResult {
	env := map[string]string{"CACHE_TTL": "1ns"}
	if workers > 0 {
		env["HANDLER_WORKERS"] = strconv.Itoa(workers)
	}
	e := start(tb, envOpts{soeLatency: latency, env: env})
	users := e.link(tb, seedLogins...)
	before, bounds := e.ackBuckets(tb)
	var all []time.Duration
	var runs []ackRun
	busy, total := 0, 0
	var sending, acking time.Duration
	for i := range rounds {
		if n == 1 && i > 0 {
			time.Sleep(gap)
		}
		r := burst(tb, e.Slack, users[i%len(users):], n, spread)
		all = append(all, r.latencies...)
		busy += r.busy
		total += n
		sending += r.sending
		acking += r.acking
		if n > 1 {
			drain(tb, e, r)
		} else {
			runs = append(runs, r)
		}
	}
	for _, r := range runs {
		drain(tb, e, r)
	}
	after, _ := e.ackBuckets(tb)
	res := ackResult{slack: summarize(all), busy: busy, total: total,
		botP50: histQuantile(before, after, bounds, 0.5), botP99: histQuantile(before, after, bounds, 0.99)}
	if n > 1 {
		res.sentPerSec = float64(total-rounds) / sending.Seconds()
		res.ackedPerSec = float64(total) / acking.Seconds()
	}
	return res
}

// ackResult: acks as Slack sees them (slack), and as the bot measures them
// from reading the envelope to writing the ack (bucket upper bounds).
type ackResult struct {
	slack          stats
	busy, total    int
	botP50, botP99 time.Duration
	// For bursts: the rate at which the fake Slack wrote the envelopes, and
	// the rate at which the acks came back (envelopes / first sent -> last
	// ack). When the first exceeds what the two cores can ack, the
	// envelopes queue and the latency grows with the length of the burst.
	sentPerSec, ackedPerSec float64
}

// BenchmarkAckLatency: the ack of a slash command never waits for SOE.
// Linked users run /soe experts (CACHE_TTL=1ns, so every handler calls SOE)
// while the fake SOE answers every call after 2 s. Each round sends the
// envelopes and waits for the acks, then for every reply. The worker pool has
// its production size (512): envelopes beyond it are acked at once with
// "very busy, try again" (counted as busy-fraction).
//
//   - concurrent=1: one envelope per round, 100 ms apart.
//   - concurrent=N/back-to-back: N envelopes written as fast as the fake
//     Slack can write them (tens of thousands per second): a saturation
//     test of the socket.
//   - concurrent=N/over=1s: N envelopes spread evenly over one second, so
//     that all N are in flight together at its end (SOE takes 2 s).
func BenchmarkAckLatency(b *testing.B) {
	cases := []struct {
		name    string
		n       int
		spread  time.Duration
		workers int // HANDLER_WORKERS; 0 = the default (512)
	}{
		{"concurrent=1", 1, 0, 0},
		{"concurrent=100/back-to-back", 100, 0, 0},
		{"concurrent=1000/back-to-back", 1000, 0, 0},
		{"concurrent=100/over=1s", 100, time.Second, 0},
		{"concurrent=1000/over=1s", 1000, time.Second, 0},
		// The same with a pool big enough that nobody is told to retry.
		{"concurrent=1000/over=1s/workers=1024", 1000, time.Second, 1024},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := *rounds
			if c.n == 1 {
				r = *rounds * 40 // one envelope per round: more rounds for a p99
			}
			var res ackResult
			for range b.N {
				// Single envelopes 100 ms apart: about 20 handlers wait on
				// SOE at any time.
				res = ackLatency(b, c.n, r, 2*time.Second, 100*time.Millisecond, c.spread, c.workers)
			}
			report(b, "ack-", res.slack)
			b.ReportMetric(ms(res.botP50), "bot-read-to-ack-p50-le-ms")
			b.ReportMetric(ms(res.botP99), "bot-read-to-ack-p99-le-ms")
			b.ReportMetric(float64(res.busy)/float64(res.total), "busy-fraction")
			if c.n > 1 {
				b.ReportMetric(res.sentPerSec, "sent/s")
				b.ReportMetric(res.ackedPerSec, "acked/s")
			}
			b.Logf("ack latency, %s x %d rounds: Slack side %s; inside the bot p50 <= %v, p99 <= %v; %d of %d acked as busy; sent %.0f/s, acked %.0f/s",
				c.name, r, res.slack, res.botP50, res.botP99, res.busy, res.total, res.sentPerSec, res.ackedPerSec)
		})
	}
}
