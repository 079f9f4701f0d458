package e2e

import (
	"strings"
	"testing"
)

// A long non-ASCII search once built blocks Slack refused everywhere, and the
// user saw nothing at all. Whatever Slack refuses, the user gets a reply.
func TestLongEmojiSearchIsAnswered(t *testing.T) {
	e := bot(t)
	bob := e.linkedAs(t, "bob", "")
	s := e.slash(t, bob, General, "search "+strings.Repeat("🦄", 500))
	m, err := e.Slack.WaitResponse(wait(t), s.ResponseURL, "")
	if err != nil {
		t.Fatalf("no reply: %v\nSlack errors: %v", err, e.Slack.Errors())
	}
	if !strings.Contains(m.Text, "Nothing on main site matches") {
		t.Fatalf("reply %q does not answer the search", m.Text)
	}
	// The reply itself fits Slack's limits now (its URL is built to fit), so
	// the plain-text fallback of chat.Reply is not even needed.
	if len(m.Blocks) == 0 {
		t.Fatalf("the reply came as plain text: Slack refused its blocks (%v)", e.Slack.Errors())
	}
	e.Slack.T(t).ExpectNoErrors()
}
