package slackfake

import (
	"context"
	"fmt"
	"time"
)

// Several Socket Mode connections of one app (replicas). Slack lets an app
// hold up to 10 at once and writes each envelope to one of them, chosen at
// random; the fake does the same (Options.MaxConnections, Options.Seed).

// Connections returns how many Socket Mode connections are live (hello
// written, not disconnected or dropped).
func (f *Fake) Connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

// ConnIDs returns the ids of the live connections, oldest first. Ids count
// from 1 in the order connections said hello and are never reused.
func (f *Fake) ConnIDs() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]int, len(f.conns))
	for i, c := range f.conns {
		ids[i] = c.id
	}
	return ids
}

// WaitConnections waits until at least n connections are live.
func (f *Fake) WaitConnections(ctx context.Context, n int) error {
	_, err := waitUntil(ctx, f, func() (struct{}, bool) { return struct{}{}, len(f.conns) >= n })
	if err != nil {
		return fmt.Errorf("slackfake: waiting for %d connections: %w", n, err)
	}
	return nil
}

// Refusals returns how many sockets were refused with a too_many_websockets
// disconnect because the app already held MaxConnections connections.
func (f *Fake) Refusals() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refused
}

// WaitRefusals waits until at least n sockets were refused.
func (f *Fake) WaitRefusals(ctx context.Context, n int) error {
	_, err := waitUntil(ctx, f, func() (struct{}, bool) { return struct{}{}, f.refused >= n })
	return err
}

// connByIDLocked returns the live connection with id, or an error.
func (f *Fake) connByIDLocked(id int) (*wsConn, error) {
	for _, c := range f.conns {
		if c.id == id {
			return c, nil
		}
	}
	return nil, fmt.Errorf("slackfake: no live connection %d", id)
}

// DisconnectOne sends {"type":"disconnect","reason":reason} on connection id
// only (refresh_requested, link_disabled, warning, …). It stops receiving
// envelopes at once; acks it still sends for envelopes it got count.
func (f *Fake) DisconnectOne(id int, reason string) error {
	f.mu.Lock()
	c, err := f.connByIDLocked(id)
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.disconnect(c, reason)
}

// DropOne closes connection id abruptly (no close frame). With EventRetries,
// the events it had not acked are retried on another connection at once.
func (f *Fake) DropOne(id int) error {
	f.mu.Lock()
	c, err := f.connByIDLocked(id)
	f.mu.Unlock()
	if err != nil {
		return err
	}
	f.removeConn(c)
	c.close()
	return nil
}

// Envelopes returns every envelope sent, in the order first sent, retries
// included (each retry is an envelope of its own).
func (f *Fake) Envelopes() []Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Sent, 0, len(f.sentOrder))
	for _, id := range f.sentOrder {
		out = append(out, f.envelopes[id].sent)
	}
	return out
}

// WaitRetry waits until the retry of envelope envelopeID (an automatic one,
// see Options.EventRetries) has been written, and returns it.
func (f *Fake) WaitRetry(ctx context.Context, envelopeID string) (Sent, error) {
	s, err := waitUntil(ctx, f, func() (Sent, bool) {
		for _, id := range f.sentOrder {
			e := f.envelopes[id]
			if e.first != nil && e.prev == envelopeID && !e.writing {
				return e.sent, true
			}
		}
		return Sent{}, false
	})
	if err != nil {
		return s, fmt.Errorf("slackfake: no retry of envelope %s: %w", envelopeID, err)
	}
	return s, nil
}

// scheduleRetry retries env after EventRetryAfter if it is still unacked.
func (f *Fake) scheduleRetry(env *envelope) {
	if env.typ != "events_api" || f.opts.EventRetries <= 0 {
		return
	}
	f.goTracked(func() {
		t := time.NewTimer(f.opts.EventRetryAfter)
		defer t.Stop()
		select {
		case <-t.C:
			f.retry(env)
		case <-f.closed:
		}
	})
}

// retryUnackedOn retries, at once, the events conn was sent and did not ack.
func (f *Fake) retryUnackedOn(conn *wsConn) {
	if f.opts.EventRetries <= 0 {
		return
	}
	f.mu.Lock()
	var todo []*envelope
	for _, id := range f.sentOrder {
		if e := f.envelopes[id]; e.conn == conn && !e.writing && e.typ == "events_api" && !e.acked {
			todo = append(todo, e)
		}
	}
	f.mu.Unlock()
	for _, e := range todo {
		f.goTracked(func() { f.retry(e) })
	}
}

// goTracked runs fn in a goroutine Close waits for (unless already closed).
func (f *Fake) goTracked(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.isDone {
		return
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		fn()
	}()
}

// retry sends the next attempt of env's event, unless some attempt was acked,
// env was retried already or the attempts are used up.
func (f *Fake) retry(env *envelope) {
	f.mu.Lock()
	first := env.origin()
	attempt := env.sent.RetryAttempt + 1
	if f.isDone || env.retried || first.anyAcked || attempt > f.opts.EventRetries {
		f.mu.Unlock()
		return
	}
	env.retried = true
	next := f.newEnvelopeLocked(env.typ, env.kind)
	next.user, next.channel, next.first, next.prev = env.user, env.channel, first, env.id
	next.sent.EventID = env.sent.EventID
	f.mu.Unlock()
	if _, err := f.sendEnvelope(next, env.payload, false, attempt, "timeout"); err != nil {
		f.log.Warn("slackfake: retrying event", "event_id", env.sent.EventID, "attempt", attempt, "err", err)
	}
}
