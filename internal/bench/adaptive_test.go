package bench

import (
	"context"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/soe"
)

// adaptiveResult is one simulated stretch of an active site.
type adaptiveResult struct {
	events, posted   int
	median, p90, max time.Duration // SOE creation → Slack post, on the bot's clock
	callsPerHour     float64       // every SOE call of the poller
	maxShare         float64       // largest share of one token's hourly budget (soe.TokenCallsPerHour)
	polls            int
}

// adaptiveLatency runs the real bot under a fake clock for d of simulated
// time with POLL_INTERVAL=60s and POLL_INTERVAL_MIN=minInterval (60s: the
// fixed interval): owners subscription owners (alice, bob, …, each
// following one tag in #general) and a new question or answer in one of
// their tags every `every`. The fake Slack's post pace is raised, so the
// latency is the poller's: the time from SOE's creation stamp to the card's
// post stamp, both on the shared clock (which stands still while the bot
// works).
func adaptiveLatency(tb testing.TB, minInterval time.Duration, owners int, every, d time.Duration) adaptiveResult {
	tb.Helper()
	clock := e2e.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	eo := e2e.Options{Dir: tb.TempDir(), PollInterval: time.Minute, Clock: clock, SlackPostRate: 1000,
		Env: map[string]string{"POLL_INTERVAL_MIN": minInterval.String()}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	ee, err := e2e.Start(ctx, eo)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := ee.Close(); err != nil {
			tb.Errorf("bot stopped with error: %v", err)
		}
	})
	e := &env{Env: ee}
	logins := seedLogins[:owners]
	ids := e.link(tb, logins...)
	tags := make([]string, owners)
	for i, id := range ids {
		tags[i] = expertTags[i%len(expertTags)]
		if _, err := e.App.Parts.Notify.Subscribe(ctx, notify.SubscribeRequest{TeamID: e.Slack.TeamID(),
			ChannelID: e2e.General, CreatorID: id, Scope: soe.MainSite(), Tags: []string{tags[i]}}); err != nil {
			tb.Fatal(err)
		}
	}
	// Warm up: the scope starts, then a few minutes of activity set the pace.
	if _, err := e.Drive(ctx, clock, 5*time.Minute, e2e.Activity{Every: every, Tags: tags}); err != nil {
		tb.Fatal(err)
	}
	r, err := e.Drive(ctx, clock, d, e2e.Activity{Every: every, Tags: tags})
	if err != nil {
		tb.Fatal(err)
	}
	lat := r.Latencies()
	res := adaptiveResult{events: len(r.Events), posted: len(lat), polls: r.Polls}
	if len(lat) > 0 {
		res.median, res.p90, res.max = lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)-1]
	}
	hours := r.Took.Hours()
	res.callsPerHour = float64(r.TotalCalls()) / hours
	res.maxShare = float64(r.MaxTokenCalls()) / hours / float64(soe.TokenCallsPerHour)
	return res
}

// BenchmarkAdaptiveLatency: median event-to-card latency on an active site
// (a new question or answer every 15 s) for an hour of the bot's clock,
// with the adaptive interval (POLL_INTERVAL_MIN=5s, one and three owners)
// and the fixed 60 s interval, with SOE calls per hour and the largest
// share of one token's hourly budget.
func BenchmarkAdaptiveLatency(b *testing.B) {
	for _, c := range []struct {
		name   string
		min    time.Duration
		owners int
	}{
		{"fixed-60s/owners=1", time.Minute, 1},
		{"adaptive-5s/owners=1", 5 * time.Second, 1},
		{"fixed-60s/owners=3", time.Minute, 3},
		{"adaptive-5s/owners=3", 5 * time.Second, 3},
	} {
		b.Run(c.name, func(b *testing.B) {
			var r adaptiveResult
			for range b.N {
				r = adaptiveLatency(b, c.min, c.owners, 15*time.Second, time.Hour)
			}
			b.ReportMetric(r.median.Seconds(), "median-latency-s")
			b.ReportMetric(r.p90.Seconds(), "p90-latency-s")
			b.ReportMetric(r.callsPerHour, "soe-calls/h")
			b.ReportMetric(100*r.maxShare, "max-token-budget-%")
			b.Logf("%s: %d events, %d cards; latency median %s, p90 %s, max %s; %d polls, %.0f SOE calls/h, largest token share %.1f%% of %d/h",
				c.name, r.events, r.posted, r.median, r.p90, r.max, r.polls, r.callsPerHour, 100*r.maxShare, soe.TokenCallsPerHour)
		})
	}
}

// adaptiveCheck is the toy-size run of TestBenchmarksRun.
func adaptiveCheck(t *testing.T) {
	r := adaptiveLatency(t, 5*time.Second, 2, 30*time.Second, 5*time.Minute)
	if r.events < 5 || r.posted < r.events-2 || r.maxShare > 0.1 {
		t.Errorf("adaptive: %+v", r)
	}
}
