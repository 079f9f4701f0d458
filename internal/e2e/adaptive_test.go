package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/soe"
)

// Adaptive polling (issue 17, point 6) through the real bot under the
// shared fake clock: a quiet site is polled every POLL_INTERVAL; a stream
// of questions and answers brings the interval down to POLL_INTERVAL_MIN's
// neighbourhood; the feed reads rotate over the two subscription owners
// (never carol, who is connected but owns nothing), each under 10% of its
// hourly budget; quiet again, the interval backs off to the maximum. Every
// event is posted once. No assertion here is about wall-clock speed.
func TestAdaptivePollingSpeedsUpWithinBudget(t *testing.T) {
	clock := NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	e := bot(t, func(o *Options) { o.Clock, o.SlackPostRate = clock, 1000 })
	for _, login := range []string{"alice", "bob", "carol"} {
		e.notifyLink(t, login, "")
	}
	e.sees(t, e.slash(t, SlackUser("alice"), General, "subscribe go"), "subscribed this channel to")
	e.sees(t, e.slash(t, SlackUser("bob"), Private, "subscribe python"), "subscribed this channel to")
	svc, main := e.App.Parts.Notify, soe.MainSite()
	interval := func() (time.Duration, map[string]int) {
		t.Helper()
		d, calls, err := svc.Schedule(wait(t), main)
		if err != nil {
			t.Fatal(err)
		}
		return d, calls
	}

	// Quiet: the maximum.
	if _, err := e.Drive(wait(t), clock, 10*time.Minute, Activity{}); err != nil {
		t.Fatal(err)
	}
	if d, _ := interval(); d != time.Minute {
		t.Fatalf("quiet site polled every %s, want 1m0s", d)
	}

	// Active for 20 minutes (SOE's pacer is wall-clock: a longer drive
	// only takes longer): an event every 30 s, half of them in the owners'
	// tags (go in General, python in Private).
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	res, err := e.Drive(ctx, clock, 20*time.Minute, Activity{Every: 30 * time.Second,
		Tags: []string{"go", "rust", "python", "kotlin"}, Channels: []string{General, Private}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("20 active minutes: %d events, %d polls, SOE calls by token %v (%s)", len(res.Events), res.Polls, res.Calls, time.Since(began))
	d, calls := interval()
	if d > 10*time.Second {
		t.Errorf("active site polled every %s, want at most 10s", d)
	}
	if iv, share := pollGauge(t, e, "soebot_poll_interval_seconds"), pollGauge(t, e, "soebot_poll_token_budget_share"); iv != d.Seconds() || share <= 0 || share > 0.1 {
		t.Errorf("/metrics: interval %vs (schedule %s), token share %v", iv, d, share)
	}
	if len(calls) != 2 {
		t.Errorf("feed read with %d tokens (%v), want alice's and bob's", len(calls), calls)
	}
	for k, n := range calls {
		if !strings.HasSuffix(k, "/UALICE") && !strings.HasSuffix(k, "/UBOB") {
			t.Errorf("token of %s used; only the owners' may be", k)
		}
		if n > notify.TokenAllowance() || n == 0 {
			t.Errorf("%s: %d poller calls in the last hour, want 1..%d", k, n, notify.TokenAllowance())
		}
	}
	// What SOE saw in those 20 minutes: two tokens, each within 10% of its
	// budget (600 calls an hour, so 200).
	if len(res.Calls) != 2 || res.MaxTokenCalls() > notify.TokenAllowance()/3 {
		t.Errorf("SOE calls by token in the active hour: %v (allowance %d)", res.Calls, notify.TokenAllowance())
	}
	if res.Polls <= 20 {
		t.Errorf("%d polls in 20 active minutes: no faster than the fixed minute", res.Polls)
	}
	// Questions in go and python and their answers get cards (the last
	// event or two may still wait for the next poll); rust and kotlin none.
	posted, followed := 0, 0
	for i, ev := range res.Events {
		if tag := (i / 2) % 4; tag == 0 || tag == 2 {
			followed++
		}
		if !ev.Posted.IsZero() {
			posted++
		}
	}
	if len(res.Events) != 40 || posted > followed || posted < followed-2 {
		t.Errorf("%d events, %d of them followed, %d posted", len(res.Events), followed, posted)
	}
	assertOnce(t, e, General)
	assertOnce(t, e, Private)

	// Quiet again: back to the maximum.
	if _, err := e.Drive(wait(t), clock, 10*time.Minute, Activity{}); err != nil {
		t.Fatal(err)
	}
	if d, _ := interval(); d != time.Minute {
		t.Errorf("after 10 quiet minutes polled every %s, want 1m0s", d)
	}
}

// assertOnce fails if any notification card was posted twice.
func assertOnce(t *testing.T, e *Env, channel string) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range e.cards(channel) {
		id, _ := m.MetadataPayload["event_id"].(string)
		if seen[id] {
			t.Errorf("event %s posted twice", id)
		}
		seen[id] = true
	}
}

// pollGauge is the main site's value of an adaptive poller gauge on the
// leader's /metrics registry (-1: absent).
func pollGauge(t *testing.T, e *Env, name string) float64 {
	t.Helper()
	fams, err := e.App.Parts.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "scope" && l.GetValue() == soe.MainSite().Key() {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}
