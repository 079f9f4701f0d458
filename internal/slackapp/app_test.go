package slackapp

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
)

// countingHandler acks with nothing and counts the envelopes it handles.
type countingHandler struct {
	mu      sync.Mutex
	handled map[string]int
	started chan struct{}
}

func (h *countingHandler) Ack(context.Context, *chat.Envelope) any { return nil }

func (h *countingHandler) Handle(_ context.Context, env *chat.Envelope) {
	h.mu.Lock()
	h.handled[env.ID]++
	h.mu.Unlock()
	h.started <- struct{}{}
}

func (h *countingHandler) count(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.handled[id]
}

// startApp runs the transport against f until the returned stop is called.
func startApp(t *testing.T, f *slackfake.Fake, h chat.Handler, mods ...func(*Config)) (stop func()) {
	t.Helper()
	cfg := Config{AppToken: f.AppToken(), BotToken: f.BotToken(), APIURL: f.APIURL()}
	for _, m := range mods {
		m(&cfg)
	}
	a := New(cfg)
	a.SetHandler(h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := f.WaitConnected(wctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("Run did not return after shutdown: a handler never finished (or never started)")
			}
		})
	}
}

// burstOf sends n slash commands back to back and waits for their acks.
func burstOf(t *testing.T, f *slackfake.Fake, n int) []*slackfake.Sent {
	t.Helper()
	sent := make([]*slackfake.Sent, n)
	for i := range sent {
		s, err := f.SlashCommand("U1", "C1", "/soe", fmt.Sprintf("search %d", i))
		if err != nil {
			t.Fatal(err)
		}
		sent[i] = s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range sent {
		if _, err := f.WaitAck(ctx, s.EnvelopeID); err != nil {
			t.Fatal(err)
		}
	}
	return sent
}

func newFake(t *testing.T) *slackfake.Fake {
	f := slackfake.New(slackfake.Options{})
	t.Cleanup(f.Close)
	f.AddUser(slackfake.User{ID: "U1", Name: "alice", Email: "alice@example.com"})
	f.AddChannel(slackfake.Channel{ID: "C1", Name: "general", Members: []string{"U1", f.BotUserID()}})
	return f
}

// A burst is acked first and its handlers held until the socket is quiet
// (or, with NoBurstHold, started at once): every envelope is still handled
// exactly once.
func TestBurstHandledOnceEach(t *testing.T) {
	for _, noHold := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoBurstHold=%v", noHold), func(t *testing.T) {
			f := newFake(t)
			const n = 300
			h := &countingHandler{handled: map[string]int{}, started: make(chan struct{}, n)}
			stop := startApp(t, f, h, func(c *Config) { c.NoBurstHold = noHold })
			defer stop()

			sent := burstOf(t, f, n)
			for range n {
				select {
				case <-h.started:
				case <-time.After(10 * time.Second):
					t.Fatal("not every envelope of the burst was handled")
				}
			}
			for i, s := range sent {
				if c := h.count(s.EnvelopeID); c != 1 {
					t.Errorf("envelope %d handled %d times, want once", i, c)
				}
			}
		})
	}
}

// Shutting down in the middle of a burst, while handlers are held, still
// runs every one of them: an acked envelope is never dropped, and nothing
// is handled twice.
func TestShutdownRunsHeldHandlers(t *testing.T) {
	f := newFake(t)
	const n = 200
	h := &countingHandler{handled: map[string]int{}, started: make(chan struct{}, n)}
	stop := startApp(t, f, h)
	var sent []*slackfake.Sent
	for i := range n {
		s, err := f.SlashCommand("U1", "C1", "/soe", fmt.Sprintf("search %d", i))
		if err != nil {
			break // the socket is closing
		}
		sent = append(sent, s)
		if i == n/2 {
			// Stop once the first half is being acked, with the rest of
			// the burst still on its way.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := f.WaitAck(ctx, sent[0].EnvelopeID)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			go stop()
		}
	}
	time.Sleep(100 * time.Millisecond)
	stop() // Run returns only after the handlers it started have finished
	acked := map[string]bool{}
	for _, a := range f.Acks() {
		acked[a.EnvelopeID] = true
	}
	if len(acked) == 0 {
		t.Fatal("nothing was acked before the shutdown")
	}
	for i, s := range sent {
		c := h.count(s.EnvelopeID)
		if c > 1 || (acked[s.EnvelopeID] && c != 1) {
			t.Errorf("envelope %d (acked %v) handled %d times", i, acked[s.EnvelopeID], c)
		}
	}
}

// blockingHandler holds every handler until release is closed.
type blockingHandler struct{ release chan struct{} }

func (h *blockingHandler) Ack(context.Context, *chat.Envelope) any { return nil }
func (h *blockingHandler) Handle(ctx context.Context, _ *chat.Envelope) {
	select {
	case <-h.release:
	case <-ctx.Done():
	}
}

// A burst refused by a full pool is acked "busy" envelope by envelope but
// logged once, with a count, not once per envelope.
func TestFullPoolLogsOncePerSecond(t *testing.T) {
	f := newFake(t)
	var logged atomic.Int32
	h := &blockingHandler{release: make(chan struct{})}
	stop := startApp(t, f, h, func(c *Config) {
		c.Workers = 1
		c.Logger = slog.New(poolFullLogs{&logged})
	})
	defer stop()
	defer close(h.release)
	sent := burstOf(t, f, 50)
	busy := 0
	for _, s := range sent {
		a, err := f.WaitAck(context.Background(), s.EnvelopeID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(a.Payload), "very busy") {
			busy++
		}
	}
	if busy != 49 {
		t.Errorf("%d envelopes acked busy, want 49", busy)
	}
	if n := logged.Load(); n < 1 || n > 2 {
		t.Errorf("%d pool-full log lines for one burst of 49 refusals", n)
	}
}

// poolFullLogs counts the "worker pool full" log records.
type poolFullLogs struct{ n *atomic.Int32 }

func (h poolFullLogs) Enabled(context.Context, slog.Level) bool { return true }
func (h poolFullLogs) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h poolFullLogs) WithGroup(string) slog.Handler            { return h }
func (h poolFullLogs) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "worker pool full") {
		h.n.Add(1)
	}
	return nil
}

func TestMain(m *testing.M) {
	// After every test's shutdown no handler, worker or socket goroutine
	// of the transport is left behind.
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	)
}
