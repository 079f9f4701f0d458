package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

// pollResult is the poller's cost in the bot's own process.
type pollResult struct {
	cycles         int
	cpuPerCycle    time.Duration
	cpuPerSecond   time.Duration // n == 0: the idle process (Socket Mode pings, timers)
	soeCallsPerCyc float64
	postsPerCycle  float64
}

// hotTag is followed by subscription i < 100, in channel CHOT0000i.
func hotTag(i int) string { return fmt.Sprintf("hot%d", i) }

// pollCost measures CPU per poll cycle of a bot (child process, POLL_INTERVAL
// 1s) with n channel subscriptions on the main site, created by alice: the
// first min(n,100) in real channels following hot0…hot99, the rest in
// channels Slack does not have following cold0…cold49 (never active). With
// answers > 0 each measured cycle sees that many new answers, one on each of
// the questions tagged hot0…; it waits for every delivery before adding the
// next batch.
func pollCost(tb testing.TB, n, answers, cycles int) pollResult {
	tb.Helper()
	e := start(tb, envOpts{poll: time.Hour})
	alice := e.link(tb, "alice")[0]
	hot := min(n, 100)
	for i := range hot {
		e.Slack.AddChannel(slackfake.Channel{ID: fmt.Sprintf("CHOT%05d", i), Name: fmt.Sprintf("hot-%d", i),
			Members: []string{e.Slack.BotUserID(), alice}})
	}
	judy, erin := e.SOE.UserByName("judy").ID, e.SOE.UserByName("erin").ID
	var qids []int
	for i := range max(answers, 1) {
		qids = append(qids, e.SOE.AddQuestion(soe.MainSite(), judy, fmt.Sprintf("Benchmark question number %d about %s", i, hotTag(i%100)), "Body.", hotTag(i%100)))
	}
	e.seedSubs(tb, hot, "CHOT", []string{alice}, hotTag)
	e.seedSubs(tb, n-hot, "CCOLD", []string{alice}, func(i int) string { return fmt.Sprintf("cold%d", i%50) })
	reads := e.feedReads()
	c := startChild(tb, e, time.Second)
	if n > 0 {
		e.waitFeedReads(tb, reads+2, 20*time.Second) // the first cycles start the scope at "now"
	}
	posted := func() int { // deliveries: with living cards, a question's card is not one of them
		k := 0
		for i := range hot {
			for _, m := range e.Slack.Messages(fmt.Sprintf("CHOT%05d", i)) {
				if m.MetadataType == notify.MetadataType {
					k++
				}
			}
		}
		return k
	}
	var res pollResult
	apiBefore, postsBefore, readsBefore := e.apiCalls(""), posted(), e.feedReads()
	cpu0, t0 := c.cpu(tb), time.Now()
	switch {
	case n == 0:
		time.Sleep(time.Duration(cycles) * time.Second)
	case answers == 0:
		e.waitFeedReads(tb, readsBefore+cycles, time.Duration(cycles+5)*2*time.Second)
	default:
		want := postsBefore
		for k := range cycles {
			for i := range answers {
				e.SOE.AddAnswer(soe.MainSite(), qids[i], erin, fmt.Sprintf("Answer %d of round %d.", i, k))
			}
			r := e.feedReads()
			want += min(answers, hot) // one post per followed question with new answers
			deadline := time.Now().Add(60 * time.Second)
			for posted() < want || e.feedReads() <= r {
				if time.Now().After(deadline) {
					tb.Fatalf("round %d: %d of %d posts after 60s", k, posted(), want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	cpu, elapsed := c.cpu(tb)-cpu0, time.Since(t0)
	res.cycles = e.feedReads() - readsBefore
	if n == 0 {
		res.cpuPerSecond = time.Duration(float64(cpu) / elapsed.Seconds())
		return res
	}
	div := res.cycles
	if answers > 0 {
		div = cycles // cycles that had answers (the window also holds the idle waits between them)
	}
	res.cpuPerCycle = cpu / time.Duration(div)
	res.soeCallsPerCyc = float64(e.apiCalls("")-apiBefore) / float64(div)
	res.postsPerCycle = float64(posted()-postsBefore) / float64(div)
	return res
}

// BenchmarkPollCPU: CPU time of the bot process per notification poll
// cycle, for 0 (process idle, per second), 1, 100 and 10,000 subscriptions,
// idle and with 100 new answers per cycle. The SOE calls per cycle are
// also measured by the notify package's own BenchmarkPollCycle.
func BenchmarkPollCPU(b *testing.B) {
	for _, answers := range []int{0, 100} {
		for _, n := range []int{0, 1, 100, 10000} {
			if n == 0 && answers > 0 {
				continue
			}
			name := fmt.Sprintf("subs=%d/idle", n)
			if answers > 0 {
				name = fmt.Sprintf("subs=%d/answers=%d", n, answers)
			}
			b.Run(name, func(b *testing.B) {
				var r pollResult
				for range b.N {
					r = pollCost(b, n, answers, *rounds)
				}
				if n == 0 {
					b.ReportMetric(ms(r.cpuPerSecond), "cpu-ms/s")
					b.Logf("%s: idle bot process, no subscriptions: %.2f ms CPU per second", name, ms(r.cpuPerSecond))
					return
				}
				b.ReportMetric(ms(r.cpuPerCycle), "cpu-ms/cycle")
				b.ReportMetric(r.soeCallsPerCyc, "soe-calls/cycle")
				b.ReportMetric(r.postsPerCycle, "posts/cycle")
				b.Logf("%s: %.2f ms CPU per cycle, %.1f SOE calls per cycle, %.1f posts per cycle (%d cycles)",
					name, ms(r.cpuPerCycle), r.soeCallsPerCyc, r.postsPerCycle, r.cycles)
			})
		}
	}
}
