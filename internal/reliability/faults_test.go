package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

// The SOE limits the client must stay under (per token): 50 calls per 2 s.
const (
	burstLimit  = 50
	burstWindow = 2 * time.Second
	// commandDeadline is how long a user may wait for a command's answer:
	// the product's SOE timeout (8 s) plus Slack round trips.
	commandDeadline = 10 * time.Second
)

// --- notifications helpers ------------------------------------------------------

// cards returns the notification posts in channel.
func (r *rig) cards(channel string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range r.Slack.Messages(channel) {
		if m.MetadataType == "soe_event" {
			out = append(out, m)
		}
	}
	return out
}

// cycle runs one poll cycle of the running bot (errors are expected while
// faults are on).
func (r *rig) cycle(ctx context.Context) error {
	_, err := r.App.Parts.Notify.RunOnce(ctx)
	return err
}

// drain runs poll cycles without faults until the outbox is empty.
func (r *rig) drain(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		// A cycle may first wait for the bot's own (slow, faulty) one.
		err := r.cycle(waitCtx(t, within))
		n, perr := r.App.Parts.Notify.Pending(context.Background())
		if perr != nil {
			t.Fatal(perr)
		}
		if n == 0 && err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox not drained after %v: %d pending (last cycle: %v)", within, n, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkCards checks that every question in want reached channel exactly
// once, and that no delivery was posted twice.
func (r *rig) checkCards(t testing.TB, channel string, want []int) {
	t.Helper()
	cs := r.cards(channel)
	ids := map[string]int{}
	for _, m := range cs {
		id, _ := m.MetadataPayload["delivery_id"].(string)
		ids[id]++
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("%s: delivery %s posted %d times", channel, id, n)
		}
	}
	for _, q := range want {
		n := 0
		for _, m := range cs {
			if strings.Contains(string(m.Blocks)+m.Text, fmt.Sprintf("/questions/%d/", q)) && m.Matches("New question") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: question %d announced %d times, want once", channel, q, n)
		}
	}
}

// throttleReport checks every token's SOE calls against the burst limit and
// returns the peak per 2 s window.
func throttleReport(t testing.TB, reqs []soefake.RecordedRequest) (peak int, tokens int) {
	t.Helper()
	byTok := map[string][]time.Time{}
	for _, r := range reqs {
		if r.TokenHash == "" || !strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		byTok[r.TokenHash] = append(byTok[r.TokenHash], r.Time)
	}
	for tok, ts := range byTok {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		lo := 0
		for hi := range ts {
			for ts[hi].Sub(ts[lo]) >= burstWindow {
				lo++
			}
			if n := hi - lo + 1; n > peak {
				peak = n
			}
			if n := hi - lo + 1; n > burstLimit {
				t.Errorf("token %s made %d calls within 2 s (limit %d)", tok, n, burstLimit)
				break
			}
		}
	}
	return peak, len(byTok)
}

// --- commands -------------------------------------------------------------------

// outcome is what one command's user saw.
type outcome struct {
	text    string
	took    time.Duration
	replies int
}

var tryAgain = []string{"try again", "did not answer", "busy right now"}

func isTryAgain(s string) bool {
	l := strings.ToLower(s)
	for _, w := range tryAgain {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// command sends one slash command and waits for its first reply (on the
// response_url, or the ephemeral/DM fallback naming unique).
func (r *rig) command(t testing.TB, user, channel, text, unique string) outcome {
	t.Helper()
	s, err := r.Slack.SlashCommand(user, channel, "/soe", text)
	if err != nil {
		t.Errorf("/soe %s: %v", text, err)
		return outcome{}
	}
	ack, err := r.Slack.WaitAck(waitCtx(t, 10*time.Second), s.EnvelopeID)
	if err != nil {
		t.Errorf("/soe %s: no ack: %v", text, err)
		return outcome{}
	}
	if d := ack.At.Sub(s.SentAt); d > 3*time.Second {
		t.Errorf("/soe %s: acked after %v", text, d)
	}
	deadline := time.Now().Add(commandDeadline + 5*time.Second)
	for time.Now().Before(deadline) {
		if rs := r.Slack.Responses(s.ResponseURL); len(rs) > 0 {
			return outcome{text: rs[0].Flat(), took: rs[0].At.Sub(s.SentAt), replies: len(rs)}
		}
		if unique != "" {
			for _, m := range append(r.Slack.Ephemerals(user), r.Slack.DMs(user)...) {
				if m.Matches(unique) && m.At.After(s.SentAt) {
					return outcome{text: m.Flat(), took: m.At.Sub(s.SentAt), replies: 1}
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("/soe %s: no answer within %v", text, commandDeadline+5*time.Second)
	return outcome{}
}

// faultPhases switches the SOE faults of the issue on in turn until stop.
func faultPhases(s *soefake.Server, stop <-chan struct{}, every time.Duration) *sync.WaitGroup {
	phases := []soefake.Faults{
		{ErrorRate: 0.2},
		{ErrorRate: 0.2, Force429: 8},
		{ErrorRate: 0.2, Latency: 3 * time.Second},
		{ErrorRate: 0.2, DropRate: 0.1},
		{Force429: 4, DropRate: 0.05},
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for i := 0; ; i++ {
			s.SetFaults(phases[i%len(phases)])
			select {
			case <-stop:
				s.SetFaults(soefake.Faults{})
				return
			case <-t.C:
			}
		}
	}()
	return &wg
}

// TestSOEFaultsDuringCommandsAndNotifications sends a burst of commands
// and runs notification cycles while SOE fails in every way of the issue:
// 20% 5xx, 429 bursts with throttle headers, 3 s latency spikes, dropped
// connections.
func TestSOEFaultsDuringCommandsAndNotifications(t *testing.T) {
	r := start(t)
	users := []string{"alice", "bob", "carol", "erin"}
	for _, u := range users {
		r.link(u)
	}
	r.sees(r.slash("UALICE", e2e.General, "subscribe go kubernetes"), "subscribed this channel")
	r.sees(r.slash("UBOB", e2e.Random, "subscribe go"), "subscribed this channel")
	if err := r.cycle(waitCtx(t, 10*time.Second)); err != nil { // starts the scope at "now"
		t.Fatal(err)
	}

	stop := make(chan struct{})
	phases := faultPhases(r.SOE, stop, 700*time.Millisecond)
	began := time.Now()

	// SOE activity and notification cycles, while the commands run.
	var goQs, kubeQs []int
	var actMu sync.Mutex
	var bg sync.WaitGroup
	var burstDone atomic.Bool
	bg.Add(1)
	go func() {
		defer bg.Done()
		for i := 0; i < 8 && !burstDone.Load(); i++ {
			time.Sleep(5 * time.Millisecond)
			g := r.SOE.AddQuestion(soe.MainSite(), 10, fmt.Sprintf("Faulty go question %d", i), "Body of a go question.", "go")
			k := r.SOE.AddQuestion(soe.MainSite(), 9, fmt.Sprintf("Faulty kubernetes question %d", i), "Body.", "kubernetes")
			actMu.Lock()
			goQs, kubeQs = append(goQs, g), append(kubeQs, k)
			actMu.Unlock()
			_ = r.cycle(waitCtx(t, 6*time.Second))
		}
	}()

	cmds := []struct{ text, answer string }{
		{"experts kubernetes", "Experts on kubernetes"},
		{"experts go", "Experts on go"},
		{"search kubernetes %d", "kubernetes"},
		{"search terraform state %d", "erraform"},
		{"whoami", "Your Stack Overflow connections"},
		{"subscriptions", "Subscriptions in this channel"},
	}
	const burst = 30
	outs := make([]outcome, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 120 * time.Millisecond)
			u := users[i%len(users)]
			text := cmds[i%len(cmds)].text
			if strings.Contains(text, "%d") {
				text = fmt.Sprintf(text, i) // a new query each time: no cache hits
			}
			outs[i] = r.command(t, e2e.SlackUser(u), e2e.General, text, "")
		}()
	}
	wg.Wait()
	burstDone.Store(true)
	bg.Wait()
	close(stop)
	phases.Wait()
	faultTime := time.Since(began)

	answered, retry := 0, 0
	var slowest time.Duration
	for i, o := range outs {
		c := cmds[i%len(cmds)]
		switch {
		case o.text == "":
			continue // reported by command
		case strings.Contains(o.text, c.answer):
			answered++
		case isTryAgain(o.text):
			retry++
		default:
			t.Errorf("/soe %s: neither its answer nor a clear try again:\n%s", c.text, o.text)
		}
		if o.took > commandDeadline {
			t.Errorf("/soe %s answered after %v (deadline %v)", c.text, o.took, commandDeadline)
		}
		slowest = max(slowest, o.took)
	}

	// Nothing lost or doubled once SOE recovers.
	r.drain(t, 30*time.Second)
	r.checkCards(t, e2e.General, append(append([]int{}, goQs...), kubeQs...))
	r.checkCards(t, e2e.Random, goQs)

	peak, tokens := throttleReport(t, r.SOE.Requests())
	var failed, dropped int
	reqs := r.SOE.Requests()
	for _, q := range reqs {
		switch {
		case q.Status == 0:
			dropped++
		case q.Status >= 429:
			failed++
		}
	}
	t.Logf("%d commands under SOE faults for %v: %d answered, %d told to try again, slowest %v; %d SOE calls, %d answered with errors, %d dropped; %d cards; peak %d calls/2 s over %d tokens",
		burst, faultTime.Round(time.Millisecond), answered, retry, slowest.Round(time.Millisecond), len(reqs), failed, dropped,
		len(r.cards(e2e.General))+len(r.cards(e2e.Random)), peak, tokens)
	if answered == 0 {
		t.Error("no command got its answer: the faults are too strong to prove anything")
	}
}

// TestClientStaysUnderThrottleLimits hammers SOE with one user's commands
// (no cache hits: each search is different) and checks the per-token pace.
func TestClientStaysUnderThrottleLimits(t *testing.T) {
	r := start(t)
	r.link("alice")
	var wg sync.WaitGroup
	var answered atomic.Int32
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := r.command(t, "UALICE", e2e.General, fmt.Sprintf("search kubernetes deploy %d", i), "")
			if o.text != "" {
				answered.Add(1)
			}
		}()
	}
	wg.Wait()
	peak, _ := throttleReport(t, r.SOE.Requests())
	for _, q := range r.SOE.Requests() {
		if q.Status == 429 {
			t.Errorf("SOE throttled the bot: %s %s", q.Method, q.Path)
		}
	}
	t.Logf("40 concurrent searches by one user: %d answered, peak %d SOE calls per 2 s (limit %d)", answered.Load(), peak, burstLimit)
}

// --- Slack faults ------------------------------------------------------------------

// TestSlackFaultsNothingLost drops the socket and sends disconnect
// envelopes every few hundred milliseconds, rate-limits chat.postMessage
// and expires response_urls, while commands and notifications flow. Every
// command sent while connected is acked once and answered once; every
// notification is posted once.
func TestSlackFaultsNothingLost(t *testing.T) {
	r := start(t)
	r.link("alice")
	r.sees(r.slash("UALICE", e2e.General, "subscribe go"), "subscribed this channel")
	if err := r.cycle(waitCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	// Searches take a while, so some are in flight when response_urls expire.
	r.SOE.SetFaults(soefake.Faults{Latency: 400 * time.Millisecond})

	// Commands hold the read side from send to ack; socket faults take the
	// write side, so every command is sent while connected and the faults
	// land between them, while earlier commands are still being handled.
	var sock sync.RWMutex
	stop := make(chan struct{})
	var faults sync.WaitGroup
	var drops, disconnects atomic.Int32
	faults.Add(1)
	go func() {
		defer faults.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(300+rng.IntN(400)) * time.Millisecond):
			}
			sock.Lock()
			var err error
			if i%2 == 0 {
				err = r.Slack.DropConnection()
				drops.Add(1)
			} else {
				err = r.Slack.Disconnect("refresh_requested")
				disconnects.Add(1)
			}
			if err == nil {
				err = r.Slack.WaitConnected(waitCtx(t, 10*time.Second))
			}
			sock.Unlock()
			if err != nil {
				t.Errorf("socket fault %d: %v", i, err)
				return
			}
		}
	}()

	var qs []int
	var wg sync.WaitGroup
	const n = 40
	outs := make([]outcome, n)
	sent := make([]string, n)
	for i := range n {
		if i%10 == 9 {
			r.Slack.ExpireResponseURLs() // the answers of in-flight searches fall back
		}
		if i == n/2 {
			r.Slack.RateLimit("chat.postMessage", 3, time.Second)
		}
		if i%8 == 0 {
			qs = append(qs, r.SOE.AddQuestion(soe.MainSite(), 5, fmt.Sprintf("Go question during Slack faults %d", i), "Body.", "go"))
			wg.Add(1)
			go func() { defer wg.Done(); _ = r.cycle(waitCtx(t, 30*time.Second)) }()
		}
		word := fmt.Sprintf("frob%03d", i)
		sent[i] = word
		text := word + " now"
		if i%3 == 0 {
			text = "search " + word
		}
		wg.Add(1)
		sock.RLock()
		go func() {
			defer wg.Done()
			unlocked := false
			unlock := func() {
				if !unlocked {
					unlocked = true
					sock.RUnlock()
				}
			}
			defer unlock()
			s, err := r.Slack.SlashCommand("UALICE", e2e.General, "/soe", text)
			if err != nil {
				t.Errorf("/soe %s: %v", text, err)
				return
			}
			if _, err := r.Slack.WaitAck(waitCtx(t, 10*time.Second), s.EnvelopeID); err != nil {
				t.Errorf("/soe %s: no ack: %v", text, err)
				return
			}
			unlock()
			outs[i] = r.awaitAnswer(t, "UALICE", s, word)
		}()
		time.Sleep(60 * time.Millisecond)
	}
	wg.Wait()
	close(stop)
	faults.Wait()

	// Acked exactly once each.
	acks := map[string]int{}
	for _, a := range r.Slack.Acks() {
		acks[a.EnvelopeID]++
	}
	for id, c := range acks {
		if c != 1 {
			t.Errorf("envelope %s acked %d times", id, c)
		}
	}
	// Answered exactly once each: on the response_url or, once it expired,
	// by its fallback (Ephemerals holds both kinds of ephemeral posts).
	time.Sleep(300 * time.Millisecond) // a late duplicate would show up by now
	fallbacks := 0
	for i, o := range outs {
		if o.text == "" {
			continue
		}
		total := 0
		for _, m := range append(r.Slack.Ephemerals("UALICE"), r.Slack.DMs("UALICE")...) {
			if m.Matches(sent[i]) {
				total++
				if m.Kind != "response" {
					fallbacks++
				}
			}
		}
		if total != 1 {
			t.Errorf("command %d (%s) answered %d times", i, sent[i], total)
		}
	}
	r.drain(t, 30*time.Second)
	r.checkCards(t, e2e.General, qs)
	t.Logf("%d commands across %d socket drops and %d disconnect envelopes (%d connections opened), response_urls expired 4 times (%d answers by fallback), 429s on chat.postMessage: all acked once and answered once; %d notifications posted once",
		n, drops.Load(), disconnects.Load(), r.Slack.Opens(), fallbacks, len(r.cards(e2e.General)))
}

// awaitAnswer waits for the answer to s: on its response_url, or (when the
// response_url is dead) as an ephemeral or DM naming unique.
func (r *rig) awaitAnswer(t testing.TB, user string, s *slackfake.Sent, unique string) outcome {
	deadline := time.Now().Add(commandDeadline + 5*time.Second)
	for time.Now().Before(deadline) {
		if rs := r.Slack.Responses(s.ResponseURL); len(rs) > 0 {
			return outcome{text: rs[0].Flat(), took: rs[0].At.Sub(s.SentAt), replies: len(rs)}
		}
		for _, m := range append(r.Slack.Ephemerals(user), r.Slack.DMs(user)...) {
			if m.Matches(unique) {
				return outcome{text: m.Flat(), took: m.At.Sub(s.SentAt)}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("%s: no answer within %v", unique, commandDeadline+5*time.Second)
	return outcome{}
}

// TestClientPaceNever50In2s makes 80 concurrent calls with one token
// through the product's SOE client and counts them per sliding 2 s window
// at the fake: never more than SOE's 50.
func TestClientPaceNever50In2s(t *testing.T) {
	fake := soefake.New(soefake.Options{Seed: true})
	defer fake.Close()
	svc := soe.NewService(soe.Config{APIURL: fake.APIURL()})
	tok := fake.MintToken(1)
	c := svc.Client(soe.MainSite(), tok)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				if _, err := c.User(context.Background(), 1+(w+i)%10); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	peak, _ := throttleReport(t, fake.Requests())
	t.Logf("80 calls with one token: peak %d per 2 s window (SOE allows %d)", peak, burstLimit)
}
