package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/soe"
)

// seedLinks stores n links of Slack users UB00000… to the seed SOE users
// (round robin; tokens minted by the fake SOE) through the linking
// service, in batches of 1,000 per transaction. It returns the user ids.
func (e *env) seedLinks(tb testing.TB, n int) []string {
	tb.Helper()
	var tokens []string
	for _, login := range seedLogins {
		tokens = append(tokens, e.SOE.MintToken(e.SOE.UserByName(login).ID, soe.ScopeWriteAccess, soe.ScopeNoExpiry))
	}
	ids := make([]string, 0, n)
	var batch []linking.Imported
	flush := func() {
		if err := e.App.Parts.Links.Import(context.Background(), batch); err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range n {
		u := e.SOE.UserByName(seedLogins[i%len(seedLogins)])
		id := fmt.Sprintf("UB%05d", i)
		ids = append(ids, id)
		batch = append(batch, linking.Imported{Link: linking.Link{
			TeamID: e.Slack.TeamID(), UserID: id, Scope: soe.MainSite(), SOEUserID: u.ID, SOEName: u.Name,
			SOEEmail: u.Email, SOEProfileURL: e.SOE.URL() + "/users/" + fmt.Sprint(u.ID), WriteAccess: true,
			Scopes: []string{soe.ScopeWriteAccess, soe.ScopeNoExpiry},
		}, Token: tokens[i%len(tokens)]})
		if len(batch) == 1000 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return ids
}

// seedSubs stores n channel subscriptions through the notifications service
// (one transaction each, as /soe subscribe does): channel prefix+index,
// created by creators (round robin), following tag(i).
func (e *env) seedSubs(tb testing.TB, n int, prefix string, creators []string, tag func(int) string) {
	tb.Helper()
	ctx := context.Background()
	for i := range n {
		_, err := e.App.Parts.Notify.Subscribe(ctx, notify.SubscribeRequest{
			TeamID: e.Slack.TeamID(), ChannelID: fmt.Sprintf("%s%05d", prefix, i), CreatorID: creators[i%len(creators)],
			Scope: soe.MainSite(), Tags: []string{tag(i)},
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

type memResult struct {
	startup               stats
	rss, peak, anon, file []int64 // per run, bytes
	heap, sys             []int64
	dbSize                int64
	links, subs, seedTime int
}

func medianInt(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func maxInt(v []int64) int64 { return slices.Max(v) }

// memory seeds users links and subs subscriptions, then starts the bot in
// a child process runs times: start-up time to Socket Mode connected, and
// RSS and heap after cycles poll cycles.
func memory(tb testing.TB, users, subs, runs, cycles int) memResult {
	tb.Helper()
	e := start(tb, envOpts{poll: time.Hour})
	t0 := time.Now()
	ids := []string{"UNOBODY"}
	if users > 0 {
		ids = e.seedLinks(tb, users)
	}
	e.seedSubs(tb, subs, "CM", ids, func(i int) string { return fmt.Sprintf("cold%d", i%50) })
	res := memResult{links: users, subs: subs, seedTime: int(time.Since(t0).Milliseconds())}
	var starts []time.Duration
	for range runs {
		before := e.feedReads()
		c := startChild(tb, e, time.Second)
		starts = append(starts, c.startup)
		if subs > 0 {
			e.waitFeedReads(tb, before+cycles, time.Duration(cycles+5)*2*time.Second)
		} else {
			time.Sleep(time.Duration(cycles) * time.Second)
		}
		m := c.metrics(tb)
		mi := c.rss(tb)
		res.rss = append(res.rss, mi.rss)
		res.peak = append(res.peak, mi.peak)
		res.anon = append(res.anon, mi.anon)
		res.file = append(res.file, mi.file)
		res.heap = append(res.heap, int64(m["go_memstats_heap_inuse_bytes"]))
		res.sys = append(res.sys, int64(m["go_memstats_sys_bytes"]))
		c.stop(tb)
		// The next run starts the child again on the same file (a restart).
	}
	res.startup = summarize(starts)
	if fi, err := os.Stat(e.DBPath()); err == nil {
		res.dbSize = fi.Size()
	}
	return res
}

// BenchmarkMemory: RSS and heap of the bot process with 10,000 linked users
// and 10,000 channel subscriptions (seeded through the linking and notify
// services), after 3 poll cycles; start-up time from exec to Socket Mode
// connected. "empty" is the same bot with an empty database.
func BenchmarkMemory(b *testing.B) {
	for _, v := range []struct {
		name        string
		users, subs int
	}{{"empty", 0, 0}, {"users=10000/subs=10000", 10000, 10000}} {
		b.Run(v.name, func(b *testing.B) {
			var r memResult
			for range b.N {
				r = memory(b, v.users, v.subs, *rounds, 3)
			}
			b.ReportMetric(mb(medianInt(r.rss)), "rss-MB")
			b.ReportMetric(mb(maxInt(r.peak)), "peak-rss-MB")
			b.ReportMetric(mb(medianInt(r.heap)), "heap-inuse-MB")
			b.ReportMetric(ms(r.startup.p50), "startup-p50-ms")
			b.ReportMetric(ms(r.startup.max), "startup-max-ms")
			b.ReportMetric(mb(medianInt(r.anon)), "rss-anon-MB")
			b.Logf("%s: %d runs: RSS median %.1f MB (anonymous %.1f MB, file-backed %.1f MB incl. the mmapped %.1f MB database; peak %.1f MB), "+
				"heap in use %.1f MB, Go sys %.1f MB; start-up to Socket Mode connected %s; seeding took %d ms",
				v.name, len(r.rss), mb(medianInt(r.rss)), mb(medianInt(r.anon)), mb(medianInt(r.file)), mb(r.dbSize), mb(maxInt(r.peak)),
				mb(medianInt(r.heap)), mb(medianInt(r.sys)), r.startup, r.seedTime)
		})
	}
}
