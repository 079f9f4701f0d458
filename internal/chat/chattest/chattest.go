// Package chattest is a chat.Slack for unit tests of the router and the
// features: it records what the bot shows people (response_url, ephemeral
// messages, DMs). Its other Slack methods are not implemented (they panic).
package chattest

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/soebot/soebot/internal/chat"
)

// Recorder records replies. A response_url containing "expired" fails as
// Slack's expired_url does.
type Recorder struct {
	chat.Slack
	mu   sync.Mutex
	sent []Sent
}

// Sent is one recorded message: Via is "respond", "ephemeral" or "dm"; To is
// the response_url, "<channel>/<user>" or the user.
type Sent struct {
	Via, To string
	Msg     chat.Message
}

func (s *Recorder) add(via, to string, m chat.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, Sent{via, to, m})
}

// Respond records a response_url message.
func (s *Recorder) Respond(_ context.Context, u string, m chat.Message) error {
	if strings.Contains(u, "expired") {
		return &chat.Error{Method: "response_url", Code: "expired_url"}
	}
	s.add("respond", u, m)
	return nil
}

// PostEphemeral records an ephemeral message.
func (s *Recorder) PostEphemeral(_ context.Context, ch, user string, m chat.Message) error {
	s.add("ephemeral", ch+"/"+user, m)
	return nil
}

// DM records a direct message.
func (s *Recorder) DM(_ context.Context, user string, m chat.Message) (string, string, error) {
	s.add("dm", user, m)
	return "D" + user, "1", nil
}

// Len is how many messages were recorded.
func (s *Recorder) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent)
}

// Last is the last message recorded (the test fails when there is none).
func (s *Recorder) Last(t testing.TB) Sent {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sent) == 0 {
		t.Fatal("nothing sent")
	}
	return s.sent[len(s.sent)-1]
}

// Text flattens a message: its text, then its blocks as JSON.
func Text(m chat.Message) string {
	b, _ := json.Marshal(m.Blocks)
	return m.Text + "\n" + string(b)
}
