package bench

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/soe"
)

var (
	rounds  = flag.Int("rounds", 5, "repetitions of each measurement (more samples for median and p99)")
	botLogs = flag.Bool("bench.log", false, "print the bot's logs")
)

// seedLogins are the fake SOE's users (internal/soe/soefake/seed.go).
var seedLogins = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}

// expertTags are main-site seed tags with subject-matter experts.
var expertTags = []string{"kubernetes", "go", "postgresql", "oncall", "python", "react"}

// env is a running bot with its fakes, optionally behind a timing proxy
// for SOE API calls.
type env struct {
	*e2e.Env
	proxy *timingProxy
}

type envOpts struct {
	env        map[string]string // configuration overrides
	proxy      bool              // route SOE API calls through a timing proxy
	poll       time.Duration
	soeLatency time.Duration
}

func start(tb testing.TB, o envOpts) *env {
	tb.Helper()
	eo := e2e.Options{Dir: tb.TempDir(), Env: map[string]string{}, PollInterval: o.poll}
	if *botLogs {
		eo.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	for k, v := range o.env {
		eo.Env[k] = v
	}
	var p *timingProxy
	if o.proxy {
		p = newTimingProxy()
		tb.Cleanup(p.close)
		eo.Env["SOE_API_URL"] = p.srv.URL + "/api/v3"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := e2e.Start(ctx, eo)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Errorf("bot stopped with error: %v", err)
		}
	})
	if p != nil {
		u, _ := url.Parse(e.SOE.URL())
		p.target.Store(u)
	}
	if o.soeLatency > 0 {
		e.SOE.SetFaults(soeFaults(o.soeLatency))
	}
	return &env{Env: e, proxy: p}
}

// link stores links for the seed users (main site, read-write, no expiry)
// with real tokens minted by the fake SOE, through the linking service.
func (e *env) link(tb testing.TB, logins ...string) []string {
	tb.Helper()
	var batch []linking.Imported
	var ids []string
	for _, login := range logins {
		u := e.SOE.UserByName(login)
		scopes := []string{soe.ScopeWriteAccess, soe.ScopeNoExpiry, soe.ScopeAccessTeam}
		acct := u.AccountID
		batch = append(batch, linking.Imported{Link: linking.Link{
			TeamID: e.Slack.TeamID(), UserID: e2e.SlackUser(login), Scope: soe.MainSite(),
			SOEUserID: u.ID, SOEAccountID: &acct, SOEName: u.Name, SOEEmail: u.Email, WriteAccess: true, Scopes: scopes,
		}, Token: e.SOE.MintToken(u.ID, scopes...)})
		ids = append(ids, e2e.SlackUser(login))
	}
	if err := e.App.Parts.Links.Import(context.Background(), batch); err != nil {
		tb.Fatal(err)
	}
	return ids
}

// count429 counts SOE API answers with status 429.
func (e *env) count429() int {
	n := 0
	for _, r := range e.SOE.Requests() {
		if r.Status == http.StatusTooManyRequests {
			n++
		}
	}
	return n
}

// apiCalls counts SOE API requests whose path ends with suffix ("" = all).
func (e *env) apiCalls(suffix string) int {
	n := 0
	for _, r := range e.SOE.Requests() {
		if strings.HasPrefix(r.Path, "/api/") && strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}

// timingProxy forwards SOE API calls to the fake and records how long each
// took as seen from the bot: from the request's arrival to the last byte of
// the answer (the fake's work plus loopback transfer).
type timingProxy struct {
	srv    *httptest.Server
	target atomic.Pointer[url.URL]
	rp     *httputil.ReverseProxy

	mu    sync.Mutex
	spans []span
}

type span struct {
	start time.Time
	dur   time.Duration
}

func newTimingProxy() *timingProxy {
	p := &timingProxy{}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 512
	p.rp = &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(p.target.Load()); r.Out.Host = r.In.Host },
		Transport: tr,
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		p.rp.ServeHTTP(w, r)
		d := time.Since(t0)
		p.mu.Lock()
		p.spans = append(p.spans, span{t0, d})
		p.mu.Unlock()
	}))
	return p
}

func (p *timingProxy) close() { p.srv.Close() }

// within sums the time of calls that started in [from, to].
func (p *timingProxy) within(from, to time.Time) (time.Duration, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var sum time.Duration
	n := 0
	for _, s := range p.spans {
		if !s.start.Before(from) && !s.start.After(to) {
			sum += s.dur
			n++
		}
	}
	return sum, n
}

// --- statistics ---------------------------------------------------------------

// stats summarises durations: median, p99 (nearest rank) and max.
type stats struct {
	n             int
	p50, p99, max time.Duration
	mean          time.Duration
}

func summarize(ds []time.Duration) stats {
	if len(ds) == 0 {
		return stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return stats{n: len(s), p50: pct(s, 50), p99: pct(s, 99), max: s[len(s)-1], mean: sum / time.Duration(len(s))}
}

// pct is the nearest-rank percentile of sorted s.
func pct(sorted []time.Duration, p int) time.Duration {
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (s stats) String() string {
	return fmt.Sprintf("n=%d p50=%.3fms p99=%.3fms max=%.3fms", s.n, ms(s.p50), ms(s.p99), ms(s.max))
}

// report puts s on b as metrics named prefix-p50-ms etc.
func report(b *testing.B, prefix string, s stats) {
	b.ReportMetric(ms(s.p50), prefix+"p50-ms")
	b.ReportMetric(ms(s.p99), prefix+"p99-ms")
	b.ReportMetric(ms(s.max), prefix+"max-ms")
}

// histQuantile reads the bot's soebot_ack_latency_seconds histogram (time
// from reading an envelope to writing its ack, inside the bot) and returns
// the upper bound of the bucket holding quantile q of the observations made
// since before (bucket counts as returned by ackBuckets).
func histQuantile(before, after []uint64, bounds []float64, q float64) time.Duration {
	if len(after) == 0 {
		return 0
	}
	total := after[len(after)-1] - before[len(before)-1]
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total) + 0.999999)
	for i, b := range bounds {
		if after[i]-before[i] >= rank {
			return time.Duration(b * float64(time.Second))
		}
	}
	return time.Duration(-1) // beyond the last bucket
}

// ackBuckets returns the cumulative bucket counts (and total as the last
// element) of the bot's ack latency histogram, with the bucket bounds.
// soeSeconds is the total time and number of the bot's SOE calls so far,
// as its client measured them (soebot_soe_call_seconds, every method).
func (e *env) soeSeconds(tb testing.TB) (float64, uint64) {
	tb.Helper()
	mfs, err := e.App.Parts.Metrics.Registry.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	sum, n := 0.0, uint64(0)
	for _, mf := range mfs {
		if mf.GetName() == "soebot_soe_call_seconds" {
			for _, m := range mf.GetMetric() {
				sum += m.GetHistogram().GetSampleSum()
				n += m.GetHistogram().GetSampleCount()
			}
		}
	}
	return sum, n
}

func (e *env) ackBuckets(tb testing.TB) ([]uint64, []float64) {
	tb.Helper()
	mfs, err := e.App.Parts.Metrics.Registry.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "soebot_ack_latency_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		var counts []uint64
		var bounds []float64
		for _, b := range h.GetBucket() {
			counts = append(counts, b.GetCumulativeCount())
			bounds = append(bounds, b.GetUpperBound())
		}
		return append(counts, h.GetSampleCount()), bounds
	}
	tb.Fatal("no soebot_ack_latency_seconds metric")
	return nil, nil
}
