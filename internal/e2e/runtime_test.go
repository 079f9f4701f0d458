package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/router"
)

func TestReconnectAfterDroppedSocket(t *testing.T) {
	e := bot(t)
	e.sees(t, e.slash(t, SlackUser("alice"), General, "help"), "/soe help")
	opens := e.Slack.Opens()
	if err := e.Slack.DropConnection(); err != nil {
		t.Fatal(err)
	}
	// The next command typed after the reconnect is answered.
	if err := e.Slack.WaitConnected(wait(t)); err != nil {
		t.Fatal(err)
	}
	e.sees(t, e.slash(t, SlackUser("alice"), General, "help"), "/soe help")
	if e.Slack.Opens() <= opens {
		t.Fatalf("no new apps.connections.open after the drop (%d)", e.Slack.Opens())
	}
}

func TestReconnectOnDisconnectEnvelope(t *testing.T) {
	e := bot(t)
	opens := e.Slack.Opens()
	if err := e.Slack.Disconnect("refresh_requested"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.Slack.Opens() == opens && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := e.Slack.WaitConnected(wait(t)); err != nil {
		t.Fatal(err)
	}
	e.sees(t, e.slash(t, SlackUser("bob"), General, "help"), "/soe help")
}

func TestHandlerPanicApologisesAndKeepsServing(t *testing.T) {
	e := bot(t, func(o *Options) {
		o.Prepare = func(a *app.App) {
			a.Parts.Router.Subcommand(&router.Subcommand{Name: "boom", Hidden: true, Run: func(context.Context, *router.Request) { panic("boom") }})
		}
	})
	e.sees(t, e.slash(t, SlackUser("alice"), General, "boom"), "Sorry, something went wrong")
	e.sees(t, e.slash(t, SlackUser("alice"), General, "help"), "/soe help")
}

func TestFullPoolStillAcksAndSaysRetry(t *testing.T) {
	oneProcess(t, "the worker pool is per replica")
	release := make(chan struct{})
	e := bot(t, func(o *Options) {
		o.Workers = 1
		o.Prepare = func(a *app.App) {
			a.Parts.Router.Subcommand(&router.Subcommand{Name: "slow", Hidden: true, Run: func(context.Context, *router.Request) {
				<-release
			}})
		}
	})
	defer close(release)
	e.slash(t, SlackUser("alice"), General, "slow")
	time.Sleep(50 * time.Millisecond) // the slow handler now holds the only worker
	s := e.slash(t, SlackUser("bob"), General, "help")
	ack, err := e.Slack.WaitAck(wait(t), s.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ack.Payload), "try again") {
		t.Fatalf("busy ack payload = %s", ack.Payload)
	}
}

func TestEventsDeduplicatedByEventID(t *testing.T) {
	var n atomic.Int32
	e := bot(t, func(o *Options) {
		o.Prepare = func(a *app.App) {
			a.Parts.Router.Event("reaction_added", func(context.Context, *chat.Envelope) { n.Add(1) })
		}
	})
	for i := range 3 {
		s, err := e.Slack.EventWithID("Ev123", "reaction_added", map[string]any{"type": "reaction_added", "user": "UALICE", "reaction": "tada", "item": map[string]any{"type": "message", "channel": General, "ts": "1.2"}}, i)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Slack.WaitAck(wait(t), s.EnvelopeID); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if got := n.Load(); got != 1 {
		t.Fatalf("event handled %d times, want 1", got)
	}
}

func TestShutdownLetsInFlightHandlerFinish(t *testing.T) {
	started := make(chan struct{})
	e := bot(t, func(o *Options) {
		o.ShutdownWait = 5 * time.Second
		o.Prepare = func(a *app.App) {
			a.Parts.Router.Subcommand(&router.Subcommand{Name: "slow", Hidden: true, Run: func(ctx context.Context, r *router.Request) {
				close(started)
				time.Sleep(500 * time.Millisecond)
				a.Parts.Router.Reply(ctx, r.Env, blockkit.Text("slow work finished"))
			}})
		}
	})
	s := e.slash(t, SlackUser("alice"), General, "slow")
	<-started
	if err := e.Stop(); err != nil {
		t.Fatalf("shutdown returned %v", err)
	}
	if _, err := e.Slack.WaitResponse(wait(t), s.ResponseURL, "slow work finished"); err != nil {
		t.Fatalf("in-flight handler did not finish: %v", err)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := bot(t)
	public, admin := "http://"+e.App.HTTPAddr(), "http://"+e.App.AdminAddr()
	// The public listener has the probes; /metrics and /admin/* are only on
	// ADMIN_ADDR.
	for u, want := range map[string]int{
		public + "/healthz": http.StatusOK, public + "/readyz": http.StatusOK, public + "/metrics": http.StatusNotFound, public + "/admin/backup": http.StatusNotFound,
		admin + "/metrics": http.StatusOK, admin + "/admin/backup": http.StatusForbidden, admin + "/healthz": http.StatusNotFound,
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s = %d, want %d", u, resp.StatusCode, want)
		}
	}
}

func TestUndecodableEnvelopeIsStillAcked(t *testing.T) {
	e := bot(t)
	s, err := e.Slack.Event("no_such_event_type", map[string]any{"type": "no_such_event_type"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitAck(wait(t), s.EnvelopeID); err != nil {
		t.Fatalf("undecodable envelope not acked: %v", err)
	}
	e.sees(t, e.slash(t, SlackUser("alice"), General, "help"), "/soe help")
}
