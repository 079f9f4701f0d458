package reliability

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

// TestShutdownUnderLoadLeavesNothingRunning stops the bot while commands
// are being handled and the notification poller is busy, then checks that
// shutdown is bounded, no goroutine is left behind, and a restart on the same
// database delivers every notification exactly once.
func TestShutdownUnderLoadLeavesNothingRunning(t *testing.T) {
	// Registered first, so it runs after the bot and the fakes are closed.
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		if err := goleak.Find(
			goleak.IgnoreCurrent(),
			goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		); err != nil {
			t.Errorf("goroutines left after shutdown: %v", err)
		}
	})
	r := start(t, func(o *e2e.Options) {
		o.PollInterval = time.Second
		o.ShutdownWait = 3 * time.Second
	})
	r.link("alice")
	r.sees(r.slash("UALICE", e2e.General, "subscribe go"), "subscribed this channel")
	if err := r.cycle(waitCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	r.SOE.SetFaults(soefake.Faults{Latency: 300 * time.Millisecond})
	var qs []int
	for i := range 5 {
		qs = append(qs, r.SOE.AddQuestion(soe.MainSite(), 5, fmt.Sprintf("Go question at shutdown %d", i), "Body.", "go"))
	}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := r.Slack.SlashCommand("UALICE", e2e.General, "/soe", fmt.Sprintf("search shutdown %d", i))
			if err == nil {
				_, err = r.Slack.WaitAck(waitCtx(t, 10*time.Second), s.EnvelopeID)
			}
			if err != nil {
				t.Errorf("command %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	began := time.Now()
	if err := r.Stop(); err != nil {
		t.Errorf("shutdown under load returned %v", err)
	}
	took := time.Since(began)
	if took > 10*time.Second {
		t.Errorf("shutdown took %v", took)
	}
	if r.App.Ready() {
		t.Error("the stopped bot still says it is ready")
	}
	answered := 0
	for _, m := range r.Slack.Ephemerals("UALICE") {
		if m.Matches("shutdown") {
			answered++
		}
	}

	// A new process on the same file finishes the outbox: each question
	// reaches the channel exactly once.
	r.SOE.SetFaults(soefake.Faults{})
	if err := r.Restart(waitCtx(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	r.drain(t, 30*time.Second)
	r.checkCards(t, e2e.General, qs)
	t.Logf("stopped with 30 commands in flight (%d answered before the stop) and the poller busy in %v; restart delivered %d cards, each once",
		answered, took.Round(time.Millisecond), len(r.cards(e2e.General)))
}
