package bench

import (
	"context"
	"fmt"
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
}

// burst sends n "/soe experts <tag>" envelopes back to back, without
// waiting for acks (as Slack writes them on the socket), from linked users
// so that each handler calls SOE, then waits for every ack.
func burst(tb testing.TB, e *env, users []string, n int) ackRun {
	tb.Helper()
	sent := make([]*slackfake.Sent, n)
	for i := range n {
		s, err := e.Slack.SlashCommand(users[i%len(users)], e2e.General, "/soe", "experts "+expertTags[i%len(expertTags)])
		if err != nil {
			tb.Fatalf("sending envelope %d: %v", i, err)
		}
		sent[i] = s
	}
	var r ackRun
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i, s := range sent {
		ack, err := e.Slack.WaitAck(ctx, s.EnvelopeID)
		if err != nil {
			tb.Fatalf("envelope %d not acked: %v", i, err)
		}
		r.latencies = append(r.latencies, ack.At.Sub(s.SentAt))
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

// ackLatency measures acks of bursts of n envelopes while SOE takes latency
// to answer each call. With n == 1 it sends rounds single envelopes, gap
// apart, without waiting for replies (each handler is busy for seconds);
// with n > 1 it waits for every reply after each burst.
func ackLatency(tb testing.TB, n, rounds int, latency, gap time.Duration) ackResult {
	e := start(tb, envOpts{soeLatency: latency, env: map[string]string{"CACHE_TTL": "1ns"}})
	users := e.link(tb, seedLogins...)
	before, bounds := e.ackBuckets(tb)
	var all []time.Duration
	var runs []ackRun
	busy, total := 0, 0
	for i := range rounds {
		if n == 1 && i > 0 {
			time.Sleep(gap)
		}
		r := burst(tb, e, users[i%len(users):], n)
		all = append(all, r.latencies...)
		busy += r.busy
		total += n
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
	return ackResult{slack: summarize(all), busy: busy, total: total,
		botP50: histQuantile(before, after, bounds, 0.5), botP99: histQuantile(before, after, bounds, 0.99)}
}

// ackResult: acks as Slack sees them (slack), and as the bot measures them
// from reading the envelope to writing the ack (bucket upper bounds).
type ackResult struct {
	slack          stats
	busy, total    int
	botP50, botP99 time.Duration
}

// BenchmarkAckLatency: the ack of a slash command never waits for SOE.
// Linked users run /soe experts (CACHE_TTL=1ns, so every handler calls SOE)
// while the fake SOE answers every call after 2 s. Each round sends the
// envelopes at once and waits for the acks, then for every reply. The
// worker pool has its production size (32): envelopes beyond it are acked
// at once with "very busy, try again" (counted as busy-fraction).
func BenchmarkAckLatency(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("concurrent=%d", n), func(b *testing.B) {
			r := *rounds
			if n == 1 {
				r = *rounds * 12 // one envelope per round: more rounds for a p99
			}
			var res ackResult
			for range b.N {
				// 300 ms apart, about 27 handlers wait on SOE at any time
				// (each for up to the 8 s lookup bound): under the pool of 32.
				res = ackLatency(b, n, r, 2*time.Second, 300*time.Millisecond)
			}
			report(b, "ack-", res.slack)
			b.ReportMetric(ms(res.botP50), "bot-read-to-ack-p50-le-ms")
			b.ReportMetric(ms(res.botP99), "bot-read-to-ack-p99-le-ms")
			b.ReportMetric(float64(res.busy)/float64(res.total), "busy-fraction")
			b.Logf("ack latency, %d envelopes at once x %d rounds: Slack side %s; inside the bot p50 <= %v, p99 <= %v; %d of %d acked as busy",
				n, r, res.slack, res.botP50, res.botP99, res.busy, res.total)
		})
	}
}
