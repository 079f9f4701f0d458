package bench

import (
	"context"
	"testing"
	"time"
)

// slowExperts runs n sequential "/soe experts <tag>" commands (10 ms apart)
// while the fake SOE takes latency to answer every API call, and returns
// their command -> visible reply times (envelope sent -> the answer stored
// by the fake Slack) and the SOE calls per command. The caches are warmed
// once per tag first (so with a long CACHE_TTL every command is served from
// them).
func slowExperts(tb testing.TB, cacheTTL string, latency time.Duration, n int) (stats, float64) {
	tb.Helper()
	e := start(tb, envOpts{soeLatency: latency, env: map[string]string{"CACHE_TTL": cacheTTL}})
	users := e.link(tb, seedLogins...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i, tag := range expertTags {
		run(tb, ctx, e, users[i%len(users)], tag, nil)
	}
	before := e.apiCalls("")
	ds := make([]time.Duration, 0, n)
	for i := range n {
		time.Sleep(10 * time.Millisecond)
		s, replied := run(tb, ctx, e, users[i%len(users)], expertTags[i%len(expertTags)], nil)
		ds = append(ds, replied.Sub(s))
	}
	return summarize(ds), float64(e.apiCalls("")-before) / float64(n)
}

// BenchmarkExpertsSlowSOE (issue 21): /soe experts <tag> with the fake SOE
// answering every call in 100 ms, from the envelope to the visible reply,
// one command at a time. "uncached" sets CACHE_TTL=1ns (every command makes
// its SOE calls); "cached" is the default (5 min).
func BenchmarkExpertsSlowSOE(b *testing.B) {
	for _, v := range []struct{ name, ttl string }{{"uncached", "1ns"}, {"cached", "5m"}} {
		b.Run(v.name, func(b *testing.B) {
			var s stats
			var calls float64
			for range b.N {
				s, calls = slowExperts(b, v.ttl, 100*time.Millisecond, 20**rounds)
			}
			report(b, "reply-", s)
			b.ReportMetric(calls, "soe-calls/cmd")
			b.Logf("%s, SOE answering in 100 ms: command -> visible reply %s; %.1f SOE calls per command", v.name, s, calls)
		})
	}
}
