package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/slackapp"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
)

// load is the outcome of closed-loop loads: slash commands sent with a
// fixed number in flight (each sender sends a command, waits for its ack and
// its visible reply, and sends the next).
type load struct {
	acks, replies []time.Duration // envelope sent -> ack read; envelope sent -> reply stored by the fake
	wall          time.Duration   // first sent -> last reply, summed over loads
}

func (l *load) add(o load) {
	l.acks = append(l.acks, o.acks...)
	l.replies = append(l.replies, o.replies...)
	l.wall += o.wall
}

func (l load) repliesPerSec() float64 { return float64(len(l.replies)) / l.wall.Seconds() }

// target is one Slack app under load: its fake Slack and its users.
type target struct {
	name  string
	f     *slackfake.Fake
	users []string
}

// closedLoop sends n "/soe <text>" commands from t's users, conc in flight,
// and waits for each one's ack and a reply containing want.
func closedLoop(tb testing.TB, t target, text, want string, n, conc int) load {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	acks := make([]time.Duration, n)
	replies := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for range conc {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				a, r, err := roundTrip(ctx, t, t.users[i%len(t.users)], text, want)
				if err != nil {
					tb.Errorf("%s: command %d: %v", t.name, i, err)
					return
				}
				acks[i], replies[i] = a, r
			}
		})
	}
	wg.Wait()
	return load{acks: acks, replies: replies, wall: time.Since(t0)}
}

// roundTrip sends one command and returns its ack and reply latencies.
func roundTrip(ctx context.Context, t target, user, text, want string) (time.Duration, time.Duration, error) {
	s, err := t.f.SlashCommand(user, e2e.General, "/soe", text)
	if err != nil {
		return 0, 0, err
	}
	a, err := t.f.WaitAck(ctx, s.EnvelopeID)
	if err != nil {
		return 0, 0, err
	}
	m, err := t.f.WaitResponse(ctx, s.ResponseURL, want)
	if err != nil {
		return 0, 0, err
	}
	return a.At.Sub(s.SentAt), m.At.Sub(s.SentAt), nil
}

// helpPayload is the ack payload r gives "/soe help" (the floor posts the
// bot's message to response_url).
func helpPayload(tb testing.TB, r *router.Router) []byte {
	tb.Helper()
	p := r.Ack(context.Background(), &chat.Envelope{Slash: &slack.SlashCommand{Command: "/soe", Text: "help"}})
	b, err := json.Marshal(p)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// replyFloor is a bare slack-go Socket Mode client that acks every envelope
// and answers each slash command by posting body to its response_url, from
// a goroutine per command, over a pool of kept-alive connections: the floor
// under a one-reply slash command on this machine.
func replyFloor(tb testing.TB, body []byte) target {
	tb.Helper()
	f, users := fakeSlack(tb)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	tb.Cleanup(hc.CloseIdleConnections)
	var posts sync.WaitGroup
	tb.Cleanup(posts.Wait) // runs before the client and the fake stop
	bareClient(tb, f, func(cmd slack.SlashCommand) {
		posts.Go(func() {
			if err := post(hc, cmd.ResponseURL, body); err != nil {
				tb.Errorf("floor reply: %v", err)
			}
		})
	})
	return target{name: "floor", f: f, users: users}
}

func post(hc *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("response_url post: %s", resp.Status)
	}
	return nil
}

// botTarget is the whole soebot (internal/e2e, as cmd/bot wires it).
func botTarget(tb testing.TB) (target, *router.Router) {
	tb.Helper()
	e := start(tb, envOpts{})
	users := make([]string, len(seedLogins))
	for i, l := range seedLogins {
		users[i] = e2e.SlackUser(l)
	}
	return target{name: "bot", f: e.Slack, users: users}, e.App.Parts.Router
}

// transportTarget is soebot's transport (slackapp) with a router that knows
// /soe help and "/soe echo <text>" (a handler that posts one response_url
// reply after the ack, like the floor), with or without the burst hold.
// workers is the pool size (0: the production default, 512).
func transportTarget(tb testing.TB, hold bool, workers int) target {
	tb.Helper()
	f, users := fakeSlack(tb)
	app := slackapp.New(slackapp.Config{AppToken: f.AppToken(), BotToken: f.BotToken(), APIURL: f.APIURL(), NoBurstHold: !hold, Workers: workers})
	r := router.New(router.Config{}, router.Deps{Slack: app.Slack()})
	r.Subcommand(&router.Subcommand{Name: "echo", Usage: "echo <text>", Summary: "Echo.", Run: func(ctx context.Context, req *router.Request) {
		r.Reply(ctx, req.Env, chat.Message{Text: "echo " + req.Rest})
	}})
	app.SetHandler(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("transport: %v", err)
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := f.WaitConnected(wctx); err != nil {
		tb.Fatal(err)
	}
	name := "transport"
	if !hold {
		name += "-nohold"
	}
	return target{name: name, f: f, users: users}
}

// helpWant is in soebot's /soe help reply (and so in the floor's).
const helpWant = "Stack Overflow in Slack"

// loadCase is one closed-loop load on one target.
type loadCase struct {
	label      string
	t          target
	text, want string
}

// slashLoads runs rounds of closed-loop loads (n commands, conc in flight)
// on the floor, the whole bot and the transport with and without its burst
// hold, all in this process, the cases rotated each round so that none
// always runs first. It returns each case's samples over all rounds.
func slashLoads(tb testing.TB, n, conc, rounds int) (map[string]load, []string) {
	tb.Helper()
	bot, r := botTarget(tb)
	floor := replyFloor(tb, helpPayload(tb, r))
	hold, nohold := transportTarget(tb, true, 0), transportTarget(tb, false, 0)
	cases := []loadCase{
		{"floor", floor, "help", helpWant},
		{"bot-help", bot, "help", helpWant},
		{"transport-help", hold, "help", helpWant},
		{"transport-nohold-help", nohold, "help", helpWant},
		{"transport-echo", hold, "echo hello", "echo hello"},
		{"transport-nohold-echo", nohold, "echo hello", "echo hello"},
	}
	out := map[string]load{}
	var labels []string
	for _, c := range cases {
		labels = append(labels, c.label)
	}
	for r := range rounds {
		for i := range cases {
			c := cases[(i+r)%len(cases)]
			l := out[c.label]
			l.add(closedLoop(tb, c.t, c.text, c.want, n, conc))
			out[c.label] = l
			time.Sleep(50 * time.Millisecond)
		}
	}
	return out, labels
}

// BenchmarkSlashVsFloor (issue 21): 2,000 slash commands per round with 50
// in flight, each waiting for its ack and its visible reply, against a bare
// slack-go client that acks and posts one response_url reply (the floor),
// in the same run:
//
//   - floor: the bare client, "/soe help" answered by a response_url post;
//   - bot-help: the whole soebot, whose /soe help rides in the ack;
//   - transport-help, transport-nohold-help: soebot's transport and router
//     alone (no features), with and without the burst hold;
//   - transport-echo, transport-nohold-echo: a command whose handler posts
//     one response_url reply after the ack, as the floor does.
func BenchmarkSlashVsFloor(b *testing.B) {
	var res map[string]load
	var labels []string
	for range b.N {
		res, labels = slashLoads(b, 2000, 50, *rounds)
	}
	floor := res["floor"]
	fs := summarize(floor.acks)
	for _, l := range labels {
		r := res[l]
		a, rep := summarize(r.acks), summarize(r.replies)
		b.ReportMetric(r.repliesPerSec(), l+"-replies/s")
		b.ReportMetric(ms(a.p99), l+"-ack-p99-ms")
		b.Logf("%-22s %6.0f replies/s (%.2fx floor); ack %s (p99 %.2fx floor); reply %s",
			l, r.repliesPerSec(), r.repliesPerSec()/floor.repliesPerSec(), a, ms(a.p99)/ms(fs.p99), rep)
	}
	bot := res["bot-help"]
	b.ReportMetric(bot.repliesPerSec()/floor.repliesPerSec(), "bot/floor-replies")
	b.ReportMetric(ms(summarize(bot.acks).p99)/ms(fs.p99), "bot/floor-ack-p99")
}

// BenchmarkSlashLoad runs one target of BenchmarkSlashVsFloor alone (2,000
// commands, 50 in flight, per iteration): for profiling a path, e.g.
//
//	go test -run '^$' -bench 'SlashLoad/bot-help' -benchtime=5x -cpuprofile cpu.out ./internal/bench/
func BenchmarkSlashLoad(b *testing.B) {
	mk := map[string]func(testing.TB) loadCase{
		"floor": func(tb testing.TB) loadCase {
			_, r := botTarget(tb)
			return loadCase{"floor", replyFloor(tb, helpPayload(tb, r)), "help", helpWant}
		},
		"bot-help": func(tb testing.TB) loadCase {
			t, _ := botTarget(tb)
			return loadCase{"bot-help", t, "help", helpWant}
		},
		"transport-echo": func(tb testing.TB) loadCase {
			return loadCase{"transport-echo", transportTarget(tb, true, 0), "echo hello", "echo hello"}
		},
	}
	for _, name := range []string{"floor", "bot-help", "transport-echo"} {
		b.Run(name, func(b *testing.B) {
			c := mk[name](b)
			var l load
			b.ResetTimer()
			for range b.N {
				l.add(closedLoop(b, c.t, c.text, c.want, 2000, 50))
			}
			b.ReportMetric(l.repliesPerSec(), "replies/s")
			b.ReportMetric(ms(summarize(l.acks).p99), "ack-p99-ms")
		})
	}
}

// holdRun is the outcome of back-to-back bursts on one target.
type holdRun struct {
	acks    []time.Duration
	replied time.Duration // first envelope sent -> last reply, summed over bursts
	n, busy int           // envelopes sent; acked "very busy" (pool full)
}

// holdBursts sends rounds bursts of n "/soe echo <i>" envelopes back to back
// to the transport with and without the burst hold (and to the floor, which
// answers every command with a response_url post), the targets alternating,
// and waits for every reply after each burst. workers is the transport's
// pool size (0: the production default, 512).
func holdBursts(tb testing.TB, n, rounds, workers int) (map[string]holdRun, []string) {
	tb.Helper()
	targets := []target{replyFloor(tb, []byte(`{"text":"echo"}`)), transportTarget(tb, true, workers), transportTarget(tb, false, workers)}
	out := map[string]holdRun{}
	for r := range rounds {
		for i := range targets {
			t := targets[(i+r)%len(targets)]
			run := burstOf(tb, t.f, t.users, n, 0, func(i int) string { return fmt.Sprintf("echo %d", i) })
			last := waitReplies(tb, t.f, run.pending)
			h := out[t.name]
			h.acks = append(h.acks, run.latencies...)
			h.replied += last.Sub(run.pending[0].SentAt)
			h.n += n
			h.busy += run.busy
			out[t.name] = h
			time.Sleep(50 * time.Millisecond)
		}
	}
	return out, []string{targets[0].name, targets[1].name, targets[2].name}
}

// waitReplies waits for a response_url post for each of sent and returns
// when the last one was stored.
func waitReplies(tb testing.TB, f *slackfake.Fake, sent []*slackfake.Sent) time.Time {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var last time.Time
	for _, s := range sent {
		m, err := f.WaitResponse(ctx, s.ResponseURL, "echo")
		if err != nil {
			tb.Fatalf("no reply: %v", err)
		}
		if m.At.After(last) {
			last = m.At
		}
	}
	return last
}

// BenchmarkBurstHold (issue 21): is the transport's burst hold worth
// keeping? Bursts of 1,000 commands written back to back, each answered by
// a handler that posts one response_url reply, to the transport with and
// without the hold, in the same run; the floor (a bare slack-go client that
// acks and posts from a goroutine per command) beside them. "workers=512"
// is the production pool, which refuses what does not fit ("very busy");
// "workers=2048" takes every command.
func BenchmarkBurstHold(b *testing.B) {
	for _, w := range []int{512, 2048} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			var res map[string]holdRun
			var labels []string
			for range b.N {
				res, labels = holdBursts(b, 1000, *rounds, w)
			}
			reportHold(b, res, labels)
		})
	}
}

func reportHold(b *testing.B, res map[string]holdRun, labels []string) {
	for _, l := range labels {
		h := res[l]
		s := summarize(h.acks)
		rate := float64(h.n-h.busy) / h.replied.Seconds()
		b.ReportMetric(ms(s.p99), l+"-ack-p99-ms")
		b.ReportMetric(rate, l+"-replies/s")
		b.ReportMetric(float64(h.busy)/float64(h.n), l+"-busy-fraction")
		b.Logf("%-17s ack %s; %.0f replies/s (first sent -> last reply); %d of %d acked busy", l, s, rate, h.busy, h.n)
	}
}
