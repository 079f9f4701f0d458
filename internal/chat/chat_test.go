package chat

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// stubSlack records replies and refuses blocks when told to.
type stubSlack struct {
	Slack
	refuse   map[string]error // route → error for messages with blocks
	got      []string         // route: text
	gotPlain []bool
}

func (s *stubSlack) send(route string, m Message) error {
	if err := s.refuse[route]; err != nil && (len(m.Blocks) > 0 || route == "all") {
		return err
	}
	s.got = append(s.got, route+": "+m.Text)
	s.gotPlain = append(s.gotPlain, len(m.Blocks) == 0)
	return nil
}
func (s *stubSlack) Respond(_ context.Context, _ string, m Message) error {
	return s.send("respond", m)
}
func (s *stubSlack) PostEphemeral(_ context.Context, _, _ string, m Message) error {
	return s.send("ephemeral", m)
}
func (s *stubSlack) DM(_ context.Context, _ string, m Message) (string, string, error) {
	return "", "", s.send("dm", m)
}

func TestReply(t *testing.T) {
	invalid := &Error{Method: "response_url", Code: "invalid_blocks", Details: []string{"[ERROR] must be less than 3001 characters [json-pointer:/blocks/1/elements/0/url]"}}
	expired := &Error{Method: "response_url", Code: "expired_url"}
	env := &Envelope{UserID: "U1", Slash: &slack.SlashCommand{ChannelID: "C1", ResponseURL: "https://hooks/1"}}
	msg := Message{Text: "hello", Blocks: []slack.Block{slack.NewDividerBlock()}}
	tests := []struct {
		name      string
		refuse    map[string]error
		want      string
		wantPlain bool
		wantLog   string
	}{
		{"response_url", nil, "respond: hello", false, ""},
		{"expired response_url: ephemeral", map[string]error{"respond": expired}, "ephemeral: hello", false, ""},
		{"blocks refused everywhere: plain text", map[string]error{"respond": invalid, "ephemeral": invalid, "dm": invalid}, "respond: hello", true, "json-pointer:/blocks/1/elements/0/url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &stubSlack{refuse: tt.refuse}
			var logs strings.Builder
			if err := Reply(context.Background(), s, slog.New(slog.NewTextHandler(&logs, nil)), env, msg); err != nil {
				t.Fatal(err)
			}
			if len(s.got) != 1 || s.got[0] != tt.want || s.gotPlain[0] != tt.wantPlain {
				t.Fatalf("got %v (plain %v), want %q (plain %v)", s.got, s.gotPlain, tt.want, tt.wantPlain)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Fatalf("log lacks %q:\n%s", tt.wantLog, logs.String())
			}
		})
	}
}

func TestReplyAllRefused(t *testing.T) {
	boom := errors.New("slack down")
	s := &stubSlack{refuse: map[string]error{"respond": boom, "ephemeral": boom, "dm": boom}}
	env := &Envelope{UserID: "U1", Slash: &slack.SlashCommand{ChannelID: "C1", ResponseURL: "https://hooks/1"}}
	if err := Reply(context.Background(), s, slog.New(slog.DiscardHandler), env, Message{Text: "x", Blocks: []slack.Block{slack.NewDividerBlock()}}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

func TestPlainFallback(t *testing.T) {
	long := strings.Repeat("é", 4000)
	for _, tt := range []struct{ in, wantPrefix string }{
		{"", ":warning: Sorry"},
		{"hi", "hi"},
		{long, "éé"},
	} {
		got := PlainFallback(Message{Text: tt.in, Blocks: []slack.Block{slack.NewDividerBlock()}})
		if len(got.Blocks) != 0 || !strings.HasPrefix(got.Text, tt.wantPrefix) || len(got.Text) > 3000 {
			t.Errorf("PlainFallback(%.10q) = %.20q (%d bytes, %d blocks)", tt.in, got.Text, len(got.Text), len(got.Blocks))
		}
	}
}
