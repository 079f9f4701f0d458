package slackfake

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// replica is one socketmode app (one connection) that records the
// events_api envelopes it got and acks those ack says to.
type replica struct {
	mu  sync.Mutex
	got []socketmode.Request
}

func (r *replica) requests() []socketmode.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func startReplica(t *testing.T, f *Fake, ack func(*socketmode.Request) bool) (*replica, func()) {
	t.Helper()
	r := &replica{}
	_, stop := startApp(t, f, func(h *socketmode.SocketmodeHandler, _ *slack.Client) {
		h.Handle(socketmode.EventTypeEventsAPI, func(e *socketmode.Event, c *socketmode.Client) {
			r.mu.Lock()
			r.got = append(r.got, *e.Request)
			r.mu.Unlock()
			if ack == nil || ack(e.Request) {
				_ = c.Ack(*e.Request)
			}
		})
	}, socketmode.OptionPingInterval(time.Second))
	return r, stop
}

// startReplicas starts n replicas and waits until all n are connected.
func startReplicas(t *testing.T, f *Fake, n int, ack func(*socketmode.Request) bool) []*replica {
	t.Helper()
	rs := make([]*replica, n)
	for i := range rs {
		rs[i], _ = startReplica(t, f, ack)
	}
	if err := f.WaitConnections(ctx5(t), n); err != nil {
		t.Fatal(err)
	}
	return rs
}

func mention(t *testing.T, f *Fake) *Sent {
	t.Helper()
	s, err := f.Event("app_mention", map[string]any{"user": "U1", "channel": "C1", "text": "<@UBOT> hi"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEnvelopesSpreadAtRandomOverConnections(t *testing.T) {
	f := newFake(t, Options{Seed: 7})
	rs := startReplicas(t, f, 3, nil)
	const n = 300
	sent := make([]*Sent, n)
	for i := range sent {
		sent[i] = mention(t, f)
	}
	for _, s := range sent {
		if _, err := s.WaitAck(ctx5(t)); err != nil {
			t.Fatal(err)
		}
	}
	// Every envelope reached exactly one replica, the one its Sent.Conn names.
	byEnvelope := map[string]int{} // envelope id -> replica index
	replicaOfConn := map[int]int{}
	for i, r := range rs {
		for _, req := range r.requests() {
			if j, dup := byEnvelope[req.EnvelopeID]; dup {
				t.Fatalf("envelope %s delivered to replicas %d and %d", req.EnvelopeID, j, i)
			}
			byEnvelope[req.EnvelopeID] = i
		}
	}
	perConn := map[int]int{}
	for _, s := range sent {
		i, ok := byEnvelope[s.EnvelopeID]
		if !ok {
			t.Fatalf("envelope %s delivered to no replica", s.EnvelopeID)
		}
		if j, seen := replicaOfConn[s.Conn]; seen && j != i {
			t.Fatalf("connection %d reached replicas %d and %d", s.Conn, j, i)
		}
		replicaOfConn[s.Conn] = i
		perConn[s.Conn]++
	}
	if len(byEnvelope) != n || len(perConn) != 3 {
		t.Fatalf("delivered %d envelopes over connections %v", len(byEnvelope), perConn)
	}
	for id, k := range perConn {
		if k < 50 { // 100 expected; 50 is > 6 standard deviations away
			t.Errorf("connection %d got %d of %d envelopes: %v", id, k, n, perConn)
		}
	}
	for _, a := range f.Acks() {
		if s := sent[slices.IndexFunc(sent, func(s *Sent) bool { return s.EnvelopeID == a.EnvelopeID })]; a.Conn != s.Conn {
			t.Errorf("ack of %s on connection %d, sent on %d", a.EnvelopeID, a.Conn, s.Conn)
		}
	}
	f.T(t).ExpectNoErrors()
}

func TestSeedRepeatsTheChoice(t *testing.T) {
	run := func(seed uint64) []int {
		f := newFake(t, Options{Seed: seed})
		startReplicas(t, f, 3, nil)
		var conns []int
		for range 30 {
			conns = append(conns, mention(t, f).Conn)
		}
		return conns
	}
	a, b, c := run(42), run(42), run(43)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different choices:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("different seeds, same choices: %v", a)
	}
}

func TestDropRetriesUnackedEventOnAnotherConnection(t *testing.T) {
	f := newFake(t, Options{EventRetries: 3, EventRetryAfter: time.Minute})
	// The replicas leave first deliveries unacked and ack retries.
	rs := startReplicas(t, f, 3, func(r *socketmode.Request) bool { return r.RetryAttempt > 0 })
	s := mention(t, f)
	received := func() []socketmode.Request {
		var got []socketmode.Request
		for _, x := range rs {
			got = append(got, x.requests()...)
		}
		return got
	}
	for deadline := time.Now().Add(5 * time.Second); len(received()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no replica got the event")
		}
	}
	if err := f.DropOne(s.Conn); err != nil {
		t.Fatal(err)
	}
	r, err := f.WaitRetry(ctx5(t), s.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Conn == s.Conn || r.EventID != s.EventID || r.EnvelopeID == s.EnvelopeID ||
		r.RetryAttempt != 1 || r.RetryReason != "timeout" {
		t.Fatalf("first %+v, retry %+v", s, r)
	}
	a, err := f.WaitAck(ctx5(t), r.EnvelopeID)
	if err != nil || a.Conn != r.Conn {
		t.Fatalf("ack of the retry: %+v, %v", a, err)
	}
	got := received()
	slices.SortFunc(got, func(a, b socketmode.Request) int { return a.RetryAttempt - b.RetryAttempt })
	if len(got) != 2 || got[0].RetryAttempt != 0 || got[1].RetryAttempt != 1 || got[1].RetryReason != "timeout" {
		t.Fatalf("replicas got %d deliveries", len(got))
	}
	// Acked: no further retry.
	time.Sleep(200 * time.Millisecond)
	if n := len(f.Envelopes()); n != 2 {
		t.Errorf("envelopes = %d, want 2", n)
	}
}

func TestRetryAfterAckTimeout(t *testing.T) {
	tests := []struct {
		name      string
		retries   int
		ackFrom   int // first retry_attempt the app acks; -1 never
		wantSends int
	}{
		{"acked at once", 3, 0, 1},
		{"acked on the first retry", 3, 1, 2},
		{"never acked: retries used up", 2, -1, 3},
		{"retries off", 0, -1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, Options{EventRetries: tc.retries, EventRetryAfter: 100 * time.Millisecond})
			rs := startReplicas(t, f, 1, func(r *socketmode.Request) bool {
				return tc.ackFrom >= 0 && r.RetryAttempt >= tc.ackFrom
			})
			first := mention(t, f)
			time.Sleep(time.Duration(tc.retries+3) * 100 * time.Millisecond)
			env := f.Envelopes()
			if len(env) != tc.wantSends || len(rs[0].requests()) != tc.wantSends {
				t.Fatalf("sent %d envelopes (%d received), want %d: %+v", len(env), len(rs[0].requests()), tc.wantSends, env)
			}
			for i, e := range env {
				wantReason := ""
				if i > 0 {
					wantReason = "timeout"
				}
				if e.EventID != first.EventID || e.RetryAttempt != i || e.RetryReason != wantReason {
					t.Errorf("delivery %d = %+v", i, e)
				}
			}
		})
	}
}

func TestConnectionsBeyondTheLimitAreRefused(t *testing.T) {
	tests := []struct {
		name string
		max  int
		want int // connections that fit
	}{
		{"Slack's limit of 10", 0, 10},
		{"limit of 2", 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, Options{MaxConnections: tc.max})
			rs := startReplicas(t, f, tc.want, nil)
			_, stop := startReplica(t, f, nil)
			if err := f.WaitRefusals(ctx5(t), 1); err != nil {
				t.Fatal(err)
			}
			stop()
			if n := f.Connections(); n != tc.want {
				t.Fatalf("connections = %d, want %d", n, tc.want)
			}
			// The refused app got no envelope; the others still do.
			for range 20 {
				if _, err := mention(t, f).WaitAck(ctx5(t)); err != nil {
					t.Fatal(err)
				}
			}
			total := 0
			for _, r := range rs {
				total += len(r.requests())
			}
			if total != 20 {
				t.Errorf("replicas got %d envelopes, want 20", total)
			}
		})
	}
}

func TestDisconnectOrDropOneConnection(t *testing.T) {
	tests := []struct {
		name string
		do   func(f *Fake, id int) error
	}{
		{"refresh_requested", func(f *Fake, id int) error { return f.DisconnectOne(id, "refresh_requested") }},
		{"link_disabled", func(f *Fake, id int) error { return f.DisconnectOne(id, "link_disabled") }},
		{"warning", func(f *Fake, id int) error { return f.DisconnectOne(id, "warning") }},
		{"drop", func(f *Fake, id int) error { return f.DropOne(id) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, Options{})
			startReplicas(t, f, 3, nil)
			ids := f.ConnIDs()
			if err := tc.do(f, ids[1]); err != nil {
				t.Fatal(err)
			}
			if err := f.WaitOpens(ctx5(t), 4); err != nil {
				t.Fatal(err)
			}
			if err := f.WaitConnections(ctx5(t), 3); err != nil {
				t.Fatal(err)
			}
			now := f.ConnIDs()
			if slices.Contains(now, ids[1]) || !slices.Contains(now, ids[0]) || !slices.Contains(now, ids[2]) || f.Opens() != 4 {
				t.Fatalf("connections %v -> %v after %s on %d (opens %d)", ids, now, tc.name, ids[1], f.Opens())
			}
			for range 30 {
				if s := mention(t, f); s.Conn == ids[1] {
					t.Fatalf("envelope sent to gone connection %d", s.Conn)
				}
			}
			if err := tc.do(f, ids[1]); err == nil {
				t.Errorf("%s on a gone connection: no error", tc.name)
			}
		})
	}
}

// An ack counts only on the connection the envelope went to.
func TestAckOnAnotherConnectionDoesNotCount(t *testing.T) {
	f := newFake(t, Options{})
	api := apiClient(t, f)
	var raw []*websocket.Conn
	for range 2 {
		_, url, err := api.StartSocketModeContext(ctx5(t))
		if err != nil {
			t.Fatal(err)
		}
		c, resp, err := websocket.DefaultDialer.DialContext(ctx5(t), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		t.Cleanup(func() { _ = c.Close() })
		var hello map[string]any
		if err := c.ReadJSON(&hello); err != nil || hello["type"] != "hello" {
			t.Fatalf("hello = %v, %v", hello, err)
		}
		raw = append(raw, c)
	}
	if err := f.WaitConnections(ctx5(t), 2); err != nil { // hello is written before the connection goes live
		t.Fatal(err)
	}
	if ids := f.ConnIDs(); !slices.Equal(ids, []int{1, 2}) {
		t.Fatalf("conn ids = %v", ids)
	}
	s := mention(t, f)
	right, wrong := raw[s.Conn-1], raw[2-s.Conn]
	ack := func(c *websocket.Conn) {
		t.Helper()
		if err := c.WriteJSON(map[string]string{"envelope_id": s.EnvelopeID}); err != nil {
			t.Fatal(err)
		}
	}
	ack(wrong)
	_, err := waitUntil(ctx5(t), f, func() (struct{}, bool) {
		return struct{}{}, slices.ContainsFunc(f.calls, func(c Call) bool { return c.Err == "ack_on_other_connection" })
	})
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if a, err := s.WaitAck(short); err == nil {
		t.Fatalf("ack on the other connection counted: %+v", a)
	}
	if u := f.Unacked(); len(u) != 1 || u[0].EnvelopeID != s.EnvelopeID {
		t.Fatalf("unacked = %+v", u)
	}
	ack(right)
	a, err := s.WaitAck(ctx5(t))
	if err != nil || a.Conn != s.Conn {
		t.Fatalf("ack = %+v, %v", a, err)
	}
	errs := f.Errors()
	if len(errs) != 1 || errs[0].JSON["sent_on"] != s.Conn {
		b, _ := json.Marshal(errs)
		t.Errorf("errors = %s", b)
	}
}
