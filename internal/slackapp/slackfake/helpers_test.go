package slackfake

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clock is an injectable clock for TTL tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newFake(t *testing.T, opts Options) *Fake {
	t.Helper()
	if opts.PingEvery == 0 {
		opts.PingEvery = 100 * time.Millisecond
	}
	f := New(opts)
	t.Cleanup(f.Close)
	f.AddUser(User{ID: "U1", Name: "alice", RealName: "Alice A", Email: "alice@example.com"})
	f.AddUser(User{ID: "U2", Name: "bob", RealName: "Bob B", Email: "bob@example.com"})
	f.AddChannel(Channel{ID: "C1", Name: "general", Members: []string{"U1", "U2", f.BotUserID()}})
	f.AddChannel(Channel{ID: "C2", Name: "secret", Private: true, Members: []string{"U1"}})
	f.AddChannel(Channel{ID: "C3", Name: "old", Archived: true})
	f.AddChannel(Channel{ID: "C4", Name: "random"}) // public, bot not a member
	return f
}

// apiClient is a slack-go client pointed at the fake, with its own transport
// (closed at cleanup so no keep-alive goroutines leak).
func apiClient(t *testing.T, f *Fake, opts ...slack.Option) *slack.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	all := append([]slack.Option{
		slack.OptionHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}),
		slack.OptionAppLevelToken(f.AppToken()),
		slack.OptionAPIURL(f.APIURL()),
	}, opts...)
	return slack.New(f.BotToken(), all...)
}

// runApp starts a socketmode app against f; register adds handlers. It waits
// until the socket is connected and stops the app at cleanup.
func runApp(t *testing.T, f *Fake, register func(h *socketmode.SocketmodeHandler, api *slack.Client), smOpts ...socketmode.Option) *slack.Client {
	t.Helper()
	api, _ := startApp(t, f, register, smOpts...)
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if err := f.WaitConnected(wctx); err != nil {
		t.Fatalf("app did not connect: %v", err)
	}
	return api
}

// startApp starts a socketmode app against f without waiting for it to
// connect. stop ends it (at most once; cleanup calls it too).
func startApp(t *testing.T, f *Fake, register func(h *socketmode.SocketmodeHandler, api *slack.Client), smOpts ...socketmode.Option) (api *slack.Client, stop func()) {
	t.Helper()
	api = apiClient(t, f)
	sm := socketmode.New(api, smOpts...)
	h := socketmode.NewSocketmodeHandler(sm)
	h.HandleDefault(func(*socketmode.Event, *socketmode.Client) {})
	if register != nil {
		register(h, api)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.RunEventLoopContext(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("RunEventLoopContext: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("socketmode app did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return api, stop
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func slackErr(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func txt(s string) *slack.TextBlockObject { return slack.NewTextBlockObject("mrkdwn", s, false, false) }
func ptxt(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject("plain_text", s, false, false)
}

func modal(callbackID, title string, blocks ...slack.Block) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: callbackID, Title: ptxt(title),
		Submit: ptxt("Send"), Close: ptxt("Cancel"),
		Blocks: slack.Blocks{BlockSet: blocks},
	}
}
