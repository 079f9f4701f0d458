package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Ack is an acknowledgement the app sent over the socket.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // nil when the app acked without payload
	At         time.Time

	// Additions.
	Type    string        // envelope type: slash_commands, interactive, events_api
	Latency time.Duration // At - the time the envelope was written
	Conn    int           // id of the connection the ack came on
}

// Decode unmarshals the ack payload into v (e.g. a slack.ViewSubmissionResponse,
// or a struct{Options []slack.OptionBlockObject} for block_suggestion).
func (a Ack) Decode(v any) error {
	if len(a.Payload) == 0 {
		return errors.New("slackfake: ack has no payload")
	}
	return json.Unmarshal(a.Payload, v)
}

// Sent describes one envelope written to the socket.
type Sent struct {
	EnvelopeID, TriggerID, ResponseURL string
	SentAt                             time.Time

	// Additions.
	Type    string // envelope type
	EventID string // events_api only
	// Conn is the id of the connection the envelope was written to (see
	// Fake.ConnIDs); ids count from 1 in the order connections said hello.
	Conn int
	// RetryAttempt and RetryReason are what an events_api envelope carried:
	// 0 and "" for a first delivery.
	RetryAttempt int
	RetryReason  string
	f            *Fake
}

// WaitAck waits for the ack of this envelope.
func (s *Sent) WaitAck(ctx context.Context) (Ack, error) {
	return s.f.WaitAck(ctx, s.EnvelopeID)
}

// envelope is what the fake remembers about an envelope it sent, to apply the ack.
type envelope struct {
	id      string
	typ     string // slash_commands, interactive, events_api
	kind    string // slash_commands, block_actions, view_submission, ...
	user    string
	channel string
	hookID  string
	viewID  string
	sentAt  time.Time
	acked   bool
	sent    Sent

	conn     *wsConn   // the connection it was written to
	writing  bool      // being written; the sender deals with a failed write
	payload  any       // kept for retries
	first    *envelope // the first attempt of a retried event; nil for a first attempt
	prev     string    // envelope id of the attempt this one retries
	anyAcked bool      // on the first attempt: some attempt was acked
	retried  bool      // a retry of this attempt was scheduled
}

// origin is the first attempt of env's event.
func (env *envelope) origin() *envelope {
	if env.first != nil {
		return env.first
	}
	return env
}

type wsConn struct {
	c      *websocket.Conn
	wmu    sync.Mutex
	ticket string
	id     int
	once   sync.Once
	done   chan struct{}
}

func (c *wsConn) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.c.WriteMessage(websocket.TextMessage, b)
}

func (c *wsConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.c.Close() // abrupt: no close frame
	})
}

var upgrader = websocket.Upgrader{
	// slack-go dials with "Origin: https://api.slack.com"; the default
	// same-origin check would reject it.
	CheckOrigin: func(*http.Request) bool { return true },
}

// serveLink is the WebSocket endpoint handed out by apps.connections.open.
func (f *Fake) serveLink(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	f.mu.Lock()
	valid, known := f.tickets[ticket]
	if known && valid {
		f.tickets[ticket] = false // single use
	}
	done := f.isDone
	f.mu.Unlock()
	if done {
		http.Error(w, "closed", http.StatusServiceUnavailable)
		return
	}
	if !known || !valid {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		f.log.Warn("slackfake: upgrade failed", "err", err)
		return
	}
	conn := &wsConn{c: c, ticket: ticket, done: make(chan struct{})}
	f.mu.Lock()
	if f.isDone {
		f.mu.Unlock()
		conn.close()
		return
	}
	f.wg.Add(1) // this (hijacked) handler; httptest.Server.Close does not wait for it
	f.sockets[conn] = true
	f.mu.Unlock()
	defer f.wg.Done()
	defer func() {
		f.mu.Lock()
		delete(f.sockets, conn)
		f.mu.Unlock()
	}()
	if !f.admit(conn) {
		return
	}
	f.log.Debug("slackfake: socket connected", "ticket", ticket, "conn", conn.id)
	f.runConn(conn)
}

// admit writes hello and makes conn live, or refuses it (too_many_websockets)
// when the app already holds MaxConnections connections.
func (f *Fake) admit(conn *wsConn) bool {
	f.mu.Lock()
	if len(f.conns)+f.joining >= f.opts.MaxConnections {
		f.refused++
		f.notifyLocked()
		f.mu.Unlock()
		f.log.Debug("slackfake: socket refused", "reason", "too_many_websockets")
		_ = conn.writeJSON(map[string]any{
			"type": "disconnect", "reason": "too_many_websockets",
			"debug_info": map[string]any{"host": "applink-slackfake"},
		})
		conn.close()
		return false
	}
	f.joining++
	f.connSeq++
	conn.id = f.connSeq
	nconn := len(f.conns) + f.joining
	f.mu.Unlock()
	err := conn.writeJSON(map[string]any{
		"type":            "hello",
		"num_connections": nconn,
		"debug_info": map[string]any{
			"host": "applink-slackfake", "build_number": 10, "approximate_connection_time": 18060,
		},
		"connection_info": map[string]any{"app_id": f.opts.AppID},
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	f.joining--
	if err != nil || f.isDone {
		f.notifyLocked()
		conn.close()
		return false
	}
	// Kept in id order (newest last), whichever hello was written first, so a
	// Seed gives the same choices for the same connections.
	i, _ := slices.BinarySearchFunc(f.conns, conn.id, func(c *wsConn, id int) int { return c.id - id })
	f.conns = slices.Insert(f.conns, i, conn)
	f.wg.Add(1) // ping loop
	f.notifyLocked()
	return true
}

// runConn pings conn and reads its acks until it closes; then the events it
// did not ack are retried elsewhere (with EventRetries).
func (f *Fake) runConn(conn *wsConn) {
	go func() {
		defer f.wg.Done()
		t := time.NewTicker(f.opts.PingEvery)
		defer t.Stop()
		for {
			select {
			case <-conn.done:
				return
			case <-t.C:
				conn.wmu.Lock()
				err := conn.c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(2*time.Second))
				conn.wmu.Unlock()
				if err != nil {
					return
				}
			}
		}
	}()

	defer func() {
		f.removeConn(conn)
		conn.close()
		f.retryUnackedOn(conn)
		f.log.Debug("slackfake: socket closed", "ticket", conn.ticket, "conn", conn.id)
	}()
	for {
		_, msg, err := conn.c.ReadMessage()
		if err != nil {
			return
		}
		f.handleAck(conn, msg)
	}
}

func (f *Fake) removeConn(conn *wsConn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := slices.Index(f.conns, conn); i >= 0 {
		f.conns = slices.Delete(f.conns, i, i+1)
		f.notifyLocked()
	}
}

// handleAck records an ack the app sent on conn. Slack takes an ack only on
// the connection the envelope went to: an ack of an envelope that went to
// another connection is not an ack (the envelope stays unacked and is retried
// like any other); the fake records it as a failed "ack" call
// (ack_on_other_connection), so ExpectNoErrors reports it.
func (f *Fake) handleAck(conn *wsConn, msg []byte) {
	var a struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(msg, &a); err != nil || a.EnvelopeID == "" {
		f.log.Warn("slackfake: unexpected frame from app", "frame", string(msg))
		f.recordCall(Call{Method: "ack", Status: 400, Err: "invalid_ack", JSON: map[string]any{"frame": string(msg)}, At: time.Now()})
		return
	}
	payload := a.Payload
	if len(payload) == 0 || string(payload) == "null" {
		payload = nil
	}
	at := time.Now()
	f.mu.Lock()
	env := f.envelopes[a.EnvelopeID]
	if env != nil && env.conn != nil && env.conn != conn {
		c := Call{Method: "ack", Status: 200, Err: "ack_on_other_connection", At: at,
			JSON: map[string]any{"envelope_id": env.id, "kind": env.kind, "sent_on": env.conn.id, "acked_on": conn.id}}
		obs := f.recordCallLocked(c)
		f.mu.Unlock()
		f.afterCall(c, obs)
		return
	}
	ack := Ack{EnvelopeID: a.EnvelopeID, Payload: payload, At: at, Conn: conn.id}
	if env != nil {
		ack.Type = env.typ
		ack.Latency = at.Sub(env.sentAt)
		env.acked = true
		env.origin().anyAcked = true
	}
	if _, dup := f.firstAck[a.EnvelopeID]; !dup {
		f.firstAck[a.EnvelopeID] = len(f.acks)
	}
	f.acks = append(f.acks, ack)
	var errs []Call
	if env != nil {
		errs = f.applyAckLocked(env, payload, at)
	}
	// Record rejections together with the ack, so a WaitAck caller sees them.
	var obs func(Call)
	for _, c := range errs {
		obs = f.recordCallLocked(c)
	}
	f.notifyLocked()
	f.mu.Unlock()
	for _, c := range errs {
		f.afterCall(c, obs)
	}
}

// applyAckLocked gives an ack payload its Slack meaning. It returns error
// records for payloads Slack would reject.
func (f *Fake) applyAckLocked(env *envelope, payload json.RawMessage, at time.Time) []Call {
	fail := func(code string, detail ...string) []Call {
		c := Call{Method: "ack", Status: 200, Err: code, At: at,
			JSON: map[string]any{"envelope_id": env.id, "kind": env.kind}}
		if len(detail) > 0 {
			c.JSON["errors"] = detail
		}
		if payload != nil {
			var m any
			_ = json.Unmarshal(payload, &m)
			c.JSON["payload"] = m
		}
		return []Call{c}
	}
	switch env.kind {
	case "slash_commands":
		if payload == nil {
			return nil
		}
		var m map[string]any
		if err := json.Unmarshal(payload, &m); err != nil {
			return fail("invalid_ack_payload")
		}
		if len(m) == 0 {
			return nil
		}
		h := f.hooks[env.hookID]
		if h == nil {
			return nil
		}
		if code, detail := f.applyResponseLocked(h, m, true); code != "" {
			return fail(code, detail...)
		}
	case "view_submission":
		return f.applyViewSubmissionAckLocked(env, payload, fail)
	}
	return nil
}

// Opens returns how many apps.connections.open calls succeeded.
func (f *Fake) Opens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opens
}

// WaitOpens waits until at least n apps.connections.open calls succeeded.
func (f *Fake) WaitOpens(ctx context.Context, n int) error {
	_, err := waitUntil(ctx, f, func() (struct{}, bool) { return struct{}{}, f.opens >= n })
	return err
}

// Connected reports whether an app socket is connected.
func (f *Fake) Connected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns) > 0
}

// WaitConnected waits until an app socket is connected (hello sent).
func (f *Fake) WaitConnected(ctx context.Context) error {
	_, err := waitUntil(ctx, f, func() (struct{}, bool) { return struct{}{}, len(f.conns) > 0 })
	return err
}

// liveConn waits (up to SendWait) for a connected socket. The newest wins.
func (f *Fake) liveConn() (*wsConn, error) {
	return f.waitConn(func() *wsConn { return f.conns[len(f.conns)-1] })
}

// pickConn waits (up to SendWait) for a connected socket and picks one at
// random, as Slack does for each envelope.
func (f *Fake) pickConn() (*wsConn, error) {
	return f.waitConn(func() *wsConn { return f.conns[f.rng.IntN(len(f.conns))] })
}

// waitConn waits (up to SendWait) for a connected socket; choose (called with
// f.mu held and at least one connection) picks one.
func (f *Fake) waitConn(choose func() *wsConn) (*wsConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), f.opts.SendWait)
	defer cancel()
	c, err := waitUntil(ctx, f, func() (*wsConn, bool) {
		if len(f.conns) == 0 {
			return nil, false
		}
		return choose(), true
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("slackfake: no app connected to the socket within %s", f.opts.SendWait)
		}
		return nil, err
	}
	return c, nil
}

// Disconnect asks the app to reconnect ({"type":"disconnect","reason":reason}).
// The connection stops receiving envelopes at once; the next send waits for
// the new connection. With several connections it targets the newest; see
// DisconnectOne.
func (f *Fake) Disconnect(reason string) error {
	c, err := f.liveConn()
	if err != nil {
		return err
	}
	return f.disconnect(c, reason)
}

func (f *Fake) disconnect(c *wsConn, reason string) error {
	f.removeConn(c)
	return c.writeJSON(map[string]any{
		"type": "disconnect", "reason": reason,
		"debug_info": map[string]any{"host": "applink-slackfake"},
	})
}

// DropConnection closes the app's socket abruptly (no close frame). With
// several connections it drops the newest; see DropOne.
func (f *Fake) DropConnection() error {
	c, err := f.liveConn()
	if err != nil {
		return err
	}
	f.removeConn(c)
	c.close()
	return nil
}

// sendEnvelope writes an envelope to a live socket chosen at random and
// remembers it. If the write fails (the socket just died) it retries once on
// another connection.
func (f *Fake) sendEnvelope(env *envelope, payload any, acceptsResponse bool, retryAttempt int, retryReason string) (*Sent, error) {
	f.gridPayload(env, payload)
	frame := map[string]any{
		"envelope_id":              env.id,
		"type":                     env.typ,
		"accepts_response_payload": acceptsResponse,
		"payload":                  payload,
	}
	if env.typ == "events_api" {
		frame["retry_attempt"] = retryAttempt
		frame["retry_reason"] = retryReason
	}
	env.payload = payload
	env.sent.RetryAttempt, env.sent.RetryReason = retryAttempt, retryReason
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		c, err := f.pickConn()
		if err != nil {
			return nil, err
		}
		f.prepareSend(env, c)
		if err := c.writeJSON(frame); err != nil {
			// env stays "writing": the next attempt (not the closing
			// connection's retries) delivers it.
			lastErr = err
			f.removeConn(c)
			c.close()
			continue
		}
		f.log.Debug("slackfake: envelope sent", "type", env.typ, "kind", env.kind, "envelope_id", env.id, "conn", c.id)
		f.mu.Lock()
		env.writing = false
		s := env.sent
		f.notifyLocked()
		f.mu.Unlock()
		f.scheduleRetry(env)
		return &s, nil
	}
	return nil, fmt.Errorf("slackfake: writing envelope: %w", lastErr)
}

// prepareSend records (under f.mu) that env is being written to c.
func (f *Fake) prepareSend(env *envelope, c *wsConn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	env.sentAt = time.Now()
	// Lifetimes start when Slack sends the payload.
	if t := f.triggers[env.sent.TriggerID]; t != nil {
		t.issued = f.now()
	}
	if h := f.hooks[env.hookID]; h != nil {
		h.issued = f.now()
	}
	env.sent.SentAt = env.sentAt
	env.sent.Type = env.typ
	env.sent.Conn = c.id
	env.sent.f = f
	env.conn, env.writing = c, true
	if f.envelopes[env.id] == nil {
		f.sentOrder = append(f.sentOrder, env.id)
	}
	f.envelopes[env.id] = env
}

// WaitAck waits for the ack of envelopeID.
func (f *Fake) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	a, err := waitUntil(ctx, f, func() (Ack, bool) {
		if i, ok := f.firstAck[envelopeID]; ok {
			return f.acks[i], true
		}
		return Ack{}, false
	})
	if err != nil {
		return a, fmt.Errorf("slackfake: no ack for envelope %s: %w", envelopeID, err)
	}
	return a, nil
}

// Acks returns every ack received, in order.
func (f *Fake) Acks() []Ack {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.acks)
}

// Unacked returns the envelopes sent that were not acked (yet).
func (f *Fake) Unacked() []Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Sent
	for _, id := range f.sentOrder {
		if e := f.envelopes[id]; e != nil && !e.acked {
			out = append(out, e.sent)
		}
	}
	return out
}

func (f *Fake) newEnvelopeLocked(typ, kind string) *envelope {
	n := f.nextIDLocked()
	id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", n, n%0xffff, n%0xfff, n%0xfff, n)
	return &envelope{id: id, typ: typ, kind: kind, sent: Sent{EnvelopeID: id}}
}

// connectionsOpenURLLocked issues a single-use socket ticket. f.mu must be held.
func (f *Fake) connectionsOpenURLLocked() string {
	n := f.nextIDLocked()
	ticket := strconv.FormatUint(n, 10)
	f.tickets[ticket] = true
	f.opens++
	return "ws://" + strings.TrimPrefix(f.srv.URL, "http://") + "/link?ticket=" + ticket + "&app_id=" + f.opts.AppID
}
