package slackfake

import (
	"context"
	"slices"
	"testing"
	"time"
)

// Default timeouts of the Tester helpers.
const (
	DefaultAckTimeout    = 3 * time.Second // Slack's ack deadline
	DefaultExpectTimeout = 5 * time.Second
)

// Tester wraps a Fake with helpers that fail the test instead of returning
// errors. Get one with Fake.T.
type Tester struct {
	F       *Fake
	t       testing.TB
	Command string        // slash command used by Slash; default "/soe"
	Timeout time.Duration // Expect* timeout; default DefaultExpectTimeout
	AckWait time.Duration // ack timeout; default DefaultAckTimeout
}

// T returns test helpers bound to t.
func (f *Fake) T(t testing.TB) *Tester {
	return &Tester{F: f, t: t, Command: "/soe", Timeout: DefaultExpectTimeout, AckWait: DefaultAckTimeout}
}

func (x *Tester) ctx(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func (x *Tester) sent(s *Sent, err error) *Sent {
	x.t.Helper()
	if err != nil {
		x.t.Fatalf("slackfake: send: %v", err)
	}
	return s
}

// Ack waits for the ack of s (fails t after AckWait).
func (x *Tester) Ack(s *Sent) Ack {
	x.t.Helper()
	ctx, cancel := x.ctx(x.AckWait)
	defer cancel()
	a, err := x.F.WaitAck(ctx, s.EnvelopeID)
	if err != nil {
		x.t.Fatalf("slackfake: %s envelope %s not acked within %s: %v", s.Type, s.EnvelopeID, x.AckWait, err)
	}
	return a
}

func (x *Tester) acked(s *Sent, err error) *Sent {
	x.t.Helper()
	s = x.sent(s, err)
	x.Ack(s)
	return s
}

// Slash runs the default command ("/soe") with text and waits for the ack.
func (x *Tester) Slash(user, channel, text string) *Sent {
	x.t.Helper()
	return x.acked(x.F.SlashCommand(user, channel, x.Command, text))
}

// SlashCommand runs command with text and waits for the ack.
func (x *Tester) SlashCommand(user, channel, command, text string) *Sent {
	x.t.Helper()
	return x.acked(x.F.SlashCommand(user, channel, command, text))
}

// Click sends a block action on msg and waits for the ack.
func (x *Tester) Click(user string, msg Message, actionID, value string) *Sent {
	x.t.Helper()
	return x.acked(x.F.BlockAction(user, msg.Channel, &msg, actionID, "", value))
}

// ClickInView sends a block action in a view and waits for the ack.
func (x *Tester) ClickInView(user string, v *View, actionID, value string) *Sent {
	x.t.Helper()
	return x.acked(x.F.BlockActionInView(user, v, actionID, "", value))
}

// Submit submits the view and returns the ack.
func (x *Tester) Submit(user string, v *View, values map[string]map[string]any) Ack {
	x.t.Helper()
	return x.Ack(x.sent(x.F.ViewSubmission(user, v, values)))
}

// Shortcut runs a global shortcut and waits for the ack.
func (x *Tester) Shortcut(user, callbackID string) *Sent {
	x.t.Helper()
	return x.acked(x.F.GlobalShortcut(user, callbackID))
}

// MessageShortcut runs a message shortcut and waits for the ack.
func (x *Tester) MessageShortcut(user, channel, callbackID string, msg Message) *Sent {
	x.t.Helper()
	return x.acked(x.F.MessageShortcut(user, channel, callbackID, msg))
}

// Event sends an Events API event and waits for the ack.
func (x *Tester) Event(eventType string, event map[string]any) *Sent {
	x.t.Helper()
	return x.acked(x.F.Event(eventType, event))
}

// ExpectResponse waits for a response_url post of s containing match.
func (x *Tester) ExpectResponse(s *Sent, match string) Message {
	x.t.Helper()
	ctx, cancel := x.ctx(x.Timeout)
	defer cancel()
	m, err := x.F.WaitResponse(ctx, s.ResponseURL, match)
	if err != nil {
		x.t.Fatal(err)
	}
	return m
}

// ExpectMessage waits for a message in channel containing match.
func (x *Tester) ExpectMessage(channel, match string) Message {
	x.t.Helper()
	ctx, cancel := x.ctx(x.Timeout)
	defer cancel()
	m, err := x.F.WaitMessage(ctx, channel, match)
	if err != nil {
		x.t.Fatal(err)
	}
	return m
}

// ExpectEphemeral waits for an ephemeral message to user containing match.
func (x *Tester) ExpectEphemeral(user, match string) Message {
	x.t.Helper()
	ctx, cancel := x.ctx(x.Timeout)
	defer cancel()
	m, err := x.F.WaitEphemeral(ctx, user, match)
	if err != nil {
		x.t.Fatal(err)
	}
	return m
}

// ExpectDM waits for a DM to user containing match.
func (x *Tester) ExpectDM(user, match string) Message {
	x.t.Helper()
	ctx, cancel := x.ctx(x.Timeout)
	defer cancel()
	m, err := x.F.WaitDM(ctx, user, match)
	if err != nil {
		x.t.Fatal(err)
	}
	return m
}

// ExpectView waits for an open modal with callbackID for user.
func (x *Tester) ExpectView(user, callbackID string) *View {
	x.t.Helper()
	ctx, cancel := x.ctx(x.Timeout)
	defer cancel()
	v, err := x.F.WaitView(ctx, user, callbackID)
	if err != nil {
		x.t.Fatal(err)
	}
	return v
}

// ExpectHome waits for user's Home tab to contain match.
func (x *Tester) ExpectHome(user, match string) *View {
	x.t.Helper()
	ctx, cancel := x.ctx(x.Timeout)
	defer cancel()
	v, err := x.F.WaitHome(ctx, user, match)
	if err != nil {
		x.t.Fatal(err)
	}
	return v
}

// ExpectNoErrors fails t if the fake answered any call with an error.
func (x *Tester) ExpectNoErrors() {
	x.t.Helper()
	for _, c := range x.F.Errors() {
		x.t.Errorf("slackfake: %s answered %d %q %v", c.Method, c.Status, c.Err, c.Errors)
	}
}

// ExpectNoErrorsBut fails t if the fake answered any call with an error
// other than the codes given (e.g. "hash_conflict": an update the app sent
// with a stale hash on purpose, and Slack refused as it should).
func (x *Tester) ExpectNoErrorsBut(codes ...string) {
	x.t.Helper()
	for _, c := range x.F.Errors() {
		if !slices.Contains(codes, c.Err) {
			x.t.Errorf("slackfake: %s answered %d %q %v", c.Method, c.Status, c.Err, c.Errors)
		}
	}
}
