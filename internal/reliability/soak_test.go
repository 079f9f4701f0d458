package reliability

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

// sentCmd is one slash command of the soak.
type sentCmd struct {
	sent *slackfake.Sent
	text string
}

// goroutines counts goroutines once idle keep-alive connections are closed
// (each holds a reader and a writer goroutine on both ends, and their
// number depends on the pool, not on leaks).
func goroutines() int {
	if tr, ok := http.DefaultTransport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
	time.Sleep(100 * time.Millisecond)
	buf := make([]byte, 4<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "net/http.(*persistConn)") || strings.Contains(g, "net/http.(*conn).serve") {
			continue
		}
		n++
	}
	return n
}

// heapSplit returns the sampled in-use heap (after a full collection) of
// allocations made inside the fakes (slackfake, soefake, which keep every
// call, message and request they see), by the test itself (its captured
// logs, its contexts) and by everything else: the bot.
func heapSplit() (fakes, test, bot uint64) {
	runtime.GC()
	runtime.GC()
	var b strings.Builder
	_ = pprof.Lookup("heap").WriteTo(&b, 1)
	var cur uint64
	fake, tst := false, false
	flush := func() {
		switch {
		case fake:
			fakes += cur
		case tst:
			test += cur
		default:
			bot += cur
		}
		cur, fake, tst = 0, false, false
	}
	for _, line := range strings.Split(b.String(), "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
			if strings.Contains(line, "/slackfake.") || strings.Contains(line, "/soefake.") {
				fake = true
			}
			if strings.Contains(line, "/internal/reliability.") {
				tst = true // the test's own records: captured logs, contexts
			}
		case len(line) > 0 && line[0] >= '0' && line[0] <= '9':
			flush()
			// "objects: bytes [allocs: bytes] @ stack", raw samples: scale
			// them as pprof does (each sample stands for rate bytes).
			before, after, ok := strings.Cut(line, ": ")
			if !ok {
				continue
			}
			objs, _ := strconv.ParseFloat(before, 64)
			bytes, _ := strconv.ParseFloat(strings.Fields(after)[0], 64)
			if objs > 0 && bytes > 0 {
				rate := float64(runtime.MemProfileRate)
				cur = uint64(bytes / (1 - math.Exp(-(bytes/objs)/rate)))
			}
		case strings.HasPrefix(line, "# runtime.MemStats"):
			flush()
		}
	}
	flush()
	return fakes, test, bot
}

// heap returns the live heap after a full collection.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSoak runs mixed traffic — slash commands, modal submissions,
// subscriptions' notifications, SOE activity — with the SOE and Slack
// faults of the other tests switched on, then checks that no command was
// lost or answered twice, every notification was posted exactly once, and
// memory and goroutines stayed flat. CI runs it for 4 s; -soak=10m (or
// SOEBOT_SOAK=10m) runs it for real.
func TestSoak(t *testing.T) {
	// Sample the heap finely enough to tell the fakes' records from the bot.
	runtime.MemProfileRate = 4096
	defer func() { runtime.MemProfileRate = 512 * 1024 }()
	d := soakDuration()
	long := d > 0
	if !long {
		d = 4 * time.Second
	}
	r := start(t, func(o *e2e.Options) { o.PollInterval = time.Second })
	logins := []string{"alice", "bob", "carol", "erin", "frank"}
	for _, l := range logins {
		r.link(l)
	}
	r.sees(r.slash("UALICE", e2e.General, "subscribe go kubernetes"), "subscribed this channel")
	r.sees(r.slash("UBOB", e2e.Random, "subscribe go"), "subscribed this channel")
	r.sees(r.slash("UFRANK", e2e.Private, "subscribe postgresql all"), "subscribed this channel")
	if err := r.cycle(waitCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	// Warm up (caches, pools, first connections) before the baseline.
	r.sees(r.slash("UALICE", e2e.General, "experts kubernetes"), "Experts on kubernetes")
	heap0, gor0 := heap(), goroutines()
	fakes0, test0, bot0 := heapSplit()
	began := time.Now()
	deadline := began.Add(d)

	var sock sync.RWMutex // commands hold R from send to ack; socket faults take W
	stop := make(chan struct{})
	var faults sync.WaitGroup
	var drops, expiries, limits atomic.Int32
	soePhases := faultPhases(r.SOE, stop, time.Second)
	faults.Add(1)
	go func() { // Slack faults
		defer faults.Done()
		rng := rand.New(rand.NewPCG(3, 4))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(700+rng.IntN(1500)) * time.Millisecond):
			}
			switch i % 4 {
			case 0, 2:
				sock.Lock()
				var err error
				if i%8 == 0 {
					err = r.Slack.Disconnect("refresh_requested")
				} else {
					err = r.Slack.DropConnection()
				}
				if err == nil {
					err = r.Slack.WaitConnected(waitCtx(t, 15*time.Second))
				}
				sock.Unlock()
				if err != nil {
					t.Errorf("socket fault: %v", err)
					return
				}
				drops.Add(1)
			case 1:
				r.Slack.ExpireResponseURLs()
				expiries.Add(1)
			case 3:
				r.Slack.RateLimit("chat.postMessage", 2, time.Second)
				limits.Add(1)
			}
		}
	}()

	// Commands.
	var mu sync.Mutex
	var cmds []sentCmd
	var workers sync.WaitGroup
	texts := []string{"experts kubernetes %s", "search kubernetes %s", "search go %s", "frob%s", "whoami", "subscriptions", "help"}
	for w := range 3 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for i := 0; time.Now().Before(deadline); i++ {
				user := e2e.SlackUser(logins[rng.IntN(len(logins))])
				text := texts[rng.IntN(len(texts))]
				if strings.Contains(text, "%s") {
					text = fmt.Sprintf(text, fmt.Sprintf("w%dn%d", w, i))
				}
				sock.RLock()
				s, err := r.Slack.SlashCommand(user, e2e.General, "/soe", text)
				if err == nil {
					_, err = r.Slack.WaitAck(waitCtx(t, 10*time.Second), s.EnvelopeID)
				}
				sock.RUnlock()
				if err != nil {
					t.Errorf("/soe %s: %v", text, err)
					return
				}
				mu.Lock()
				cmds = append(cmds, sentCmd{s, text})
				mu.Unlock()
				time.Sleep(time.Duration(50+rng.IntN(200)) * time.Millisecond)
			}
		}()
	}
	// SOE activity.
	var qMu sync.Mutex
	qsByTag := map[string][]int{}
	var answers []int
	answersByTag := map[string][]int{}
	workers.Add(1)
	go func() {
		defer workers.Done()
		rng := rand.New(rand.NewPCG(5, 6))
		tags := []string{"go", "kubernetes", "postgresql", "python"}
		for i := 0; time.Now().Before(deadline); i++ {
			tag := tags[rng.IntN(len(tags))]
			qMu.Lock()
			if rng.IntN(3) > 0 || len(qsByTag[tag]) == 0 {
				id := r.SOE.AddQuestion(soe.MainSite(), 6+rng.IntN(5), fmt.Sprintf("Soak question %d about %s", i, tag), "Soak body.", tag)
				qsByTag[tag] = append(qsByTag[tag], id)
			} else {
				q := qsByTag[tag][rng.IntN(len(qsByTag[tag]))]
				a := r.SOE.AddAnswer(soe.MainSite(), q, 1+rng.IntN(5), fmt.Sprintf("Soak answer %d.", i))
				answers = append(answers, a)
				answersByTag[tag] = append(answersByTag[tag], a)
			}
			qMu.Unlock()
			if long {
				// Slack lets a channel take about one message a second: a
				// sustained faster stream only grows the outbox (it is
				// delivered, late). Long runs stay under that pace.
				time.Sleep(time.Duration(800+rng.IntN(800)) * time.Millisecond)
			} else {
				time.Sleep(time.Duration(150+rng.IntN(300)) * time.Millisecond)
			}
		}
	}()
	// Modal submissions: /soe ask.
	var asks, askAcked atomic.Int32
	workers.Add(1)
	go func() {
		defer workers.Done()
		for i := 0; time.Now().Before(deadline); i++ {
			user := e2e.SlackUser(logins[i%len(logins)])
			sock.RLock()
			s, err := r.Slack.SlashCommand(user, e2e.General, "/soe", fmt.Sprintf("ask Soak modal question number %d?", i))
			if err == nil {
				_, err = r.Slack.WaitAck(waitCtx(t, 10*time.Second), s.EnvelopeID)
			}
			sock.RUnlock()
			if err != nil {
				t.Errorf("ask %d: %v", i, err)
				return
			}
			v, err := r.Slack.WaitViewMatch(waitCtx(t, 12*time.Second), user, "soe_ask_modal", "Notify the subject-matter experts")
			if err == nil {
				sock.RLock()
				var sub *slackfake.Sent
				sub, err = r.Slack.ViewSubmission(user, v, map[string]map[string]any{
					"ask_title":  {"ask_title": slackfake.TextValue(fmt.Sprintf("Soak modal question number %d?", i))},
					"ask_body":   {"body": slackfake.TextValue("Asked by the soak test, with enough words to be valid.")},
					"ask_tags":   {"ask_tags": slackfake.OptionsValue("python")},
					"ask_notify": {"notify": slackfake.CheckboxValue(false, "notify")},
				})
				if err == nil {
					_, err = r.Slack.WaitAck(waitCtx(t, 10*time.Second), sub.EnvelopeID)
				}
				sock.RUnlock()
				if err == nil {
					askAcked.Add(1)
				}
			}
			asks.Add(1)
			_, _ = r.Slack.CloseView(user)
			time.Sleep(time.Second)
		}
	}()

	workers.Wait()
	close(stop)
	soePhases.Wait()
	faults.Wait()
	ran := time.Since(began)

	// The ask flow's own messages (its confirmation, or the text of a
	// question it could not post, handed back) are not command answers.
	askMsg := func(m slackfake.Message) bool {
		return m.Matches("Posted:") || m.Matches("Your question") || m.Matches("Connected as")
	}
	// fallbackAnswers counts answers sent by ephemeral or DM because the
	// response_url had expired.
	fallbackAnswers := func() int {
		n := 0
		for _, l := range logins {
			for _, m := range r.Slack.Ephemerals(e2e.SlackUser(l)) {
				if m.Kind == "ephemeral" && !askMsg(m) {
					n++
				}
			}
			for _, m := range r.Slack.DMs(e2e.SlackUser(l)) {
				if m.MetadataType == "" && !askMsg(m) {
					n++
				}
			}
		}
		return n
	}
	urlAnswers := func() int {
		n := 0
		for _, c := range cmds {
			n += min(1, len(r.Slack.Responses(c.sent.ResponseURL)))
		}
		return n
	}
	// Let the last answers land (a late duplicate would show up within the
	// grace period), then finish the outbox without faults.
	eventually(commandDeadline+time.Second, func() bool { return urlAnswers()+fallbackAnswers() >= len(cmds) })
	time.Sleep(500 * time.Millisecond)
	r.drain(t, 3*time.Minute)

	// Commands: acked once, answered once (response_url, or the ephemeral or
	// DM fallback when the response_url had expired), within the deadline.
	acks := map[string]int{}
	for _, a := range r.Slack.Acks() {
		acks[a.EnvelopeID]++
	}
	viaURL, tryLater, busy, late := 0, 0, 0, 0
	for _, c := range cmds {
		if acks[c.sent.EnvelopeID] != 1 {
			t.Errorf("/soe %s acked %d times", c.text, acks[c.sent.EnvelopeID])
		}
		rs := r.Slack.Responses(c.sent.ResponseURL)
		if len(rs) > 1 {
			t.Errorf("/soe %s answered %d times on its response_url", c.text, len(rs))
		}
		if len(rs) > 0 {
			viaURL++
			if rs[0].FromAck {
				busy++ // the worker pool was full: acked with "busy, try again"
			} else if isTryAgain(rs[0].Flat()) {
				tryLater++
			}
			if rs[0].At.Sub(c.sent.SentAt) > commandDeadline {
				late++
			}
		}
	}
	fallbacks := fallbackAnswers()
	answered := viaURL + fallbacks
	if answered != len(cmds) && *showLogs {
		for _, l := range logins {
			for _, m := range r.Slack.Ephemerals(e2e.SlackUser(l)) {
				if m.Kind == "ephemeral" {
					t.Logf("fallback to %s: %.200s", l, m.Flat())
				}
			}
		}
	}
	if answered != len(cmds) {
		t.Errorf("%d commands, %d answers (%d on the response_url, %d by fallback): lost or doubled answers", len(cmds), answered, viaURL, fallbacks)
	}
	if late > 0 {
		t.Errorf("%d answers came after the %v deadline", late, commandDeadline)
	}

	// Notifications: every question and answer exactly once where subscribed.
	qMu.Lock()
	r.checkCards(t, e2e.General, append(append([]int{}, qsByTag["go"]...), qsByTag["kubernetes"]...))
	r.checkCards(t, e2e.Random, qsByTag["go"])
	r.checkCards(t, e2e.Private, qsByTag["postgresql"])
	r.checkAnswerCards(t, e2e.General, append(append([]int{}, answersByTag["go"]...), answersByTag["kubernetes"]...))
	r.checkAnswerCards(t, e2e.Private, answersByTag["postgresql"])
	if t.Failed() {
		r.diagnose(t)
	}
	questions := 0
	for _, qs := range qsByTag {
		questions += len(qs)
	}
	nAnswers := len(answers)
	qMu.Unlock()
	cards := len(r.cards(e2e.General)) + len(r.cards(e2e.Random)) + len(r.cards(e2e.Private))

	// No double posting of modal questions.
	created := 0
	for _, q := range r.SOE.Requests() {
		if q.Method == http.MethodPost && strings.HasSuffix(q.Path, "/questions") && q.Status == http.StatusCreated {
			created++
		}
	}
	if created > int(askAcked.Load()) {
		t.Errorf("%d questions created from %d ask submissions", created, askAcked.Load())
	}

	// Flat memory and goroutines (the fakes keep every call and message in
	// this process too, so the heap may grow by what they record).
	time.Sleep(200 * time.Millisecond)
	heap1, gor1 := heap(), goroutines()
	fakes1, test1, bot1 := heapSplit()
	if gor1 > gor0+20 {
		t.Errorf("goroutines grew from %d to %d", gor0, gor1)
		if *showLogs {
			buf := make([]byte, 1<<20)
			t.Logf("%s", buf[:runtime.Stack(buf, true)])
		}
	}
	if heap1 > heap0+256<<20 {
		t.Errorf("heap grew from %d MiB to %d MiB", heap0>>20, heap1>>20)
	}
	reqs := r.SOE.Requests()
	failed := 0
	for _, q := range reqs {
		if q.Status == 0 || q.Status >= 429 {
			failed++
		}
	}
	peak, tokens := throttleReport(t, reqs)
	t.Logf("soak %v (long=%v): %d commands (answered once each: %d on the response_url, %d by fallback; %d told SOE did not answer, try again; %d told the bot is busy, try again); %d asks (%d submitted, %d questions created); %d SOE questions + %d answers → %d notification cards, each once; faults: %d socket drops/disconnects, %d response_url expiries, %d chat.postMessage 429 bursts, SOE 20%% 5xx/429 bursts/3 s latency/drops: %d of %d SOE calls failed; peak %d SOE calls per 2 s per token (%d tokens); heap %.1f → %.1f MiB (sampled: bot %.1f → %.1f MiB, the fakes' records %.1f → %.1f MiB, the test's logs and records %.1f → %.1f MiB); goroutines %d → %d",
		ran.Round(time.Second), long, len(cmds), viaURL, fallbacks, tryLater, busy, asks.Load(), askAcked.Load(), created,
		questions, nAnswers, cards, drops.Load(), expiries.Load(), limits.Load(), failed, len(reqs), peak, tokens,
		float64(heap0)/(1<<20), float64(heap1)/(1<<20), float64(bot0)/(1<<20), float64(bot1)/(1<<20),
		float64(fakes0)/(1<<20), float64(fakes1)/(1<<20), float64(test0)/(1<<20), float64(test1)/(1<<20), gor0, gor1)
}

// checkAnswerCards checks that every answer in want reached channel exactly once.
func (r *rig) checkAnswerCards(t testing.TB, channel string, want []int) {
	t.Helper()
	cs := r.cards(channel)
	for _, a := range want {
		n := 0
		for _, m := range cs {
			if strings.Contains(string(m.Blocks)+m.Text, fmt.Sprintf("/%d#%d", a, a)) && strings.Contains(strings.ToLower(m.Flat()), "new answer") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: answer %d announced %d times, want once", channel, a, n)
		}
	}
}

// diagnose logs the state behind missing notifications: subscriptions,
// links, undelivered outbox entries (and, with SOEBOT_REL_LOGS=file, the
// bot's logs).
func (r *rig) diagnose(t testing.TB) {
	ctx := context.Background()
	for _, ch := range []string{e2e.General, e2e.Random, e2e.Private} {
		subs, err := r.App.Parts.Notify.ChannelSubscriptions(ctx, r.Slack.TeamID(), ch)
		t.Logf("subscriptions of %s: %+v (%v)", ch, subs, err)
	}
	for _, l := range []string{"alice", "bob", "carol", "erin", "frank"} {
		ls, _ := r.App.Parts.Links.Links(ctx, r.Slack.TeamID(), e2e.SlackUser(l))
		for _, k := range ls {
			t.Logf("link %s %s invalid=%v %s", l, k.Scope.Key(), k.Invalid, k.InvalidReason)
		}
	}
	ds, _ := r.App.Parts.Notify.Deliveries(ctx)
	st := map[string]int{}
	for _, d := range ds {
		st[d.Status]++
		if d.Status != "done" {
			t.Logf("delivery %s: %s %s", d.ID, d.Status, d.LastError)
		}
	}
	t.Logf("deliveries by status: %v", st)
	if f := os.Getenv("SOEBOT_REL_LOGS"); f != "" {
		_ = os.WriteFile(f, []byte(r.logs.String()), 0o600)
	}
}
