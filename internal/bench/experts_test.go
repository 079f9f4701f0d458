package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/e2e"
)

// expertsResult is the outcome of a series of /soe experts commands.
type expertsResult struct {
	e2e, soeTime, overhead stats // per command
	help                   stats // /soe help round trip (no SOE call)
	soeCalls               float64
	perSecond              float64 // throughput run
	throughputN, retried   int
}

// expertsLatency runs n sequential "/soe experts <tag>" commands (one in
// flight), from envelope sent to the response_url reply, and splits each
// into time spent in SOE calls and the rest: the bot's own overhead (with
// the fake Slack's share of the round trip). The bot talks to the fake SOE
// directly and SOE time is what its client measured per call (request sent
// -> last byte of the answer, soebot_soe_call_seconds); viaProxy instead
// routes SOE calls through a timing proxy and takes the proxy's clock (an
// outside check that also adds a hop the proxy cannot see).
// Then it runs tput commands with 32 in flight for commands per second.
func expertsLatency(tb testing.TB, cacheTTL string, viaProxy bool, n, tput int) expertsResult {
	tb.Helper()
	e := start(tb, envOpts{proxy: viaProxy, env: map[string]string{"CACHE_TTL": cacheTTL}})
	users := e.link(tb, seedLogins...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Warm up connections (and, with caching, the caches) once per tag.
	for i, tag := range expertTags {
		run(tb, ctx, e, users[i%len(users)], tag, nil)
	}
	var total, inSOE, over []time.Duration
	calls := 0
	for i := range n {
		before, beforeN := e.soeSeconds(tb)
		// 10 ms apart, each user's token stays under SOE's sustained rate
		// (the client paces itself to 22.5 calls/s per token; waiting
		// there would count as overhead).
		time.Sleep(10 * time.Millisecond)
		s, replied := run(tb, ctx, e, users[i%len(users)], expertTags[i%len(expertTags)], nil)
		d := replied.Sub(s)
		var soeT time.Duration
		if viaProxy {
			var c int
			soeT, c = e.proxy.within(s, replied)
			calls += c
		} else {
			after, afterN := e.soeSeconds(tb)
			soeT = time.Duration((after - before) * float64(time.Second))
			calls += int(afterN - beforeN)
		}
		total = append(total, d)
		inSOE = append(inSOE, soeT)
		over = append(over, d-soeT)
	}
	res := expertsResult{e2e: summarize(total), soeTime: summarize(inSOE), overhead: summarize(over), soeCalls: float64(calls) / float64(n)}

	// Baseline: /soe help makes no SOE call and renders a fixed message; its
	// round trip is what the loopback transport and the fake Slack cost
	// (envelope out, ack, response_url post validated and stored).
	var help []time.Duration
	for range n {
		time.Sleep(10 * time.Millisecond)
		s, err := e.Slack.SlashCommand(users[0], e2e.General, "/soe", "help")
		if err != nil {
			tb.Fatal(err)
		}
		m, err := e.Slack.WaitResponse(ctx, s.ResponseURL, "/soe help")
		if err != nil {
			tb.Fatal(err)
		}
		help = append(help, m.At.Sub(s.SentAt))
	}
	res.help = summarize(help)

	// Throughput: tput commands, 32 in flight (the worker pool size; a
	// command arriving while its predecessor's handler is still finishing
	// is acked "busy" and sent again).
	t0 := time.Now()
	var wg sync.WaitGroup
	var busy atomic.Int64
	next := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				run(tb, ctx, e, users[i%len(users)], expertTags[i%len(expertTags)], &busy)
			}
		}()
	}
	for i := range tput {
		next <- i
	}
	close(next)
	wg.Wait()
	res.perSecond = float64(tput) / time.Since(t0).Seconds()
	res.throughputN = tput
	res.retried = int(busy.Load())
	return res
}

// run sends one /soe experts and waits for its answer; it returns when the
// envelope was sent and when the answer was posted. A "very busy" ack (the
// worker pool was full) is retried, and counted in busy.
func run(tb testing.TB, ctx context.Context, e *env, user, tag string, busy *atomic.Int64) (time.Time, time.Time) {
	for {
		s, err := e.Slack.SlashCommand(user, e2e.General, "/soe", "experts "+tag)
		if err != nil {
			tb.Error(err)
			return time.Time{}, time.Time{}
		}
		m, err := e.Slack.WaitResponse(ctx, s.ResponseURL, "")
		if err != nil {
			tb.Errorf("no answer to /soe experts %s: %v", tag, err)
			return s.SentAt, s.SentAt
		}
		switch {
		case m.Matches("very busy") && busy != nil:
			busy.Add(1)
			time.Sleep(time.Millisecond)
			continue
		case !m.Matches("Experts on " + tag):
			tb.Errorf("/soe experts %s answered: %s", tag, m.Flat())
		}
		return s.SentAt, m.At
	}
}

// BenchmarkExpertsEndToEnd: /soe experts <tag> from the envelope to the
// response_url reply, SOE answering at once. "cached" is the default
// configuration (tags, SMEs and people cached for CACHE_TTL=5m, so repeated
// questions need no SOE call); "uncached" sets CACHE_TTL=1ns so that every
// command makes its SOE calls (tag, SMEs, groups, people);
// "uncached-via-timing-proxy" is uncached with SOE time taken by a proxy.
func BenchmarkExpertsEndToEnd(b *testing.B) {
	for _, v := range []struct {
		name, ttl string
		viaProxy  bool
	}{{"cached", "5m", false}, {"uncached", "1ns", false}, {"uncached-via-timing-proxy", "1ns", true}} {
		b.Run(v.name, func(b *testing.B) {
			var res expertsResult
			for range b.N {
				res = expertsLatency(b, v.ttl, v.viaProxy, 100**rounds, 100**rounds)
			}
			report(b, "e2e-", res.e2e)
			b.ReportMetric(ms(res.overhead.p50), "overhead-p50-ms")
			b.ReportMetric(ms(res.overhead.p99), "overhead-p99-ms")
			b.ReportMetric(ms(res.soeTime.p50), "soe-p50-ms")
			b.ReportMetric(res.soeCalls, "soe-calls/cmd")
			b.ReportMetric(res.perSecond, "cmds/s")
			b.ReportMetric(ms(res.help.p50), "help-e2e-p50-ms")
			b.Logf("%s: end to end %s; in SOE %s; overhead %s; %.1f SOE calls per command; %.0f commands/s (%d commands, 32 in flight, %d busy acks resent); /soe help round trip %s",
				v.name, res.e2e, res.soeTime, res.overhead, res.soeCalls, res.perSecond, res.throughputN, res.retried, res.help)
		})
	}
}
