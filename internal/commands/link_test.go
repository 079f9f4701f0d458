package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/vault"
)

// replySlack records what the bot shows; other chat.Slack methods panic.
type replySlack struct {
	chat.Slack
	mu   sync.Mutex
	sent []sentMsg
}

type sentMsg struct {
	Via, To string
	Msg     chat.Message
}

func (s *replySlack) add(via, to string, m chat.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, sentMsg{via, to, m})
}

func (s *replySlack) Respond(_ context.Context, u string, m chat.Message) error {
	if strings.Contains(u, "expired") {
		return &chat.Error{Method: "response_url", Code: "expired_url"}
	}
	s.add("respond", u, m)
	return nil
}

func (s *replySlack) PostEphemeral(_ context.Context, ch, user string, m chat.Message) error {
	s.add("ephemeral", ch+"/"+user, m)
	return nil
}

func (s *replySlack) DM(_ context.Context, user string, m chat.Message) (string, string, error) {
	s.add("dm", user, m)
	return "D" + user, "1", nil
}

func (s *replySlack) last(t *testing.T) sentMsg {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sent) == 0 {
		t.Fatal("nothing sent")
	}
	return s.sent[len(s.sent)-1]
}

// text flattens a message's blocks (JSON) with its text.
func text(m chat.Message) string {
	b, _ := json.Marshal(m.Blocks)
	return m.Text + "\n" + string(b)
}

const public = "https://bot.example.com"

func linkBot(t *testing.T) (*Bot, *replySlack, *linking.Service) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{Buckets: linking.Buckets(), Migrations: linking.Migrations()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	keys, _ := vault.NewKeyring(make([]byte, 32))
	rs := &replySlack{}
	links, err := linking.New(linking.Config{PublicURL: public, SOEURL: "https://acme.stackenterprise.co", WriteAccess: true, NoExpiry: true},
		db, keys, soe.OAuthConfig{SiteURL: "https://acme.stackenterprise.co", ClientID: "1"}, soe.NewService(soe.Config{APIURL: "http://127.0.0.1:1"}), rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := New(Config{}, Deps{Slack: rs, Links: links})
	b.AddLinking()
	return b, rs, links
}

func slashEnv(text, responseURL string) *chat.Envelope {
	return &chat.Envelope{Type: chat.TypeSlashCommand, TeamID: "T1", UserID: "U1",
		Slash: &slack.SlashCommand{TeamID: "T1", UserID: "U1", ChannelID: "C1", Command: "/soe", Text: text, ResponseURL: responseURL}}
}

func TestSOEPromptsToConnectAndRemembersCommand(t *testing.T) {
	b, rs, _ := linkBot(t)
	env := slashEnv("experts go", "https://hooks.slack.test/1")
	c, l, ok := b.Client(context.Background(), env, soe.TeamScope("platform"), nil)
	if ok || c != nil || l != nil {
		t.Fatal("unlinked user got a client")
	}
	got := rs.last(t)
	s := text(got.Msg)
	for _, want := range []string{"Connect your Stack Overflow account", `"url":"` + public + `/link/`, "team platform", "finish your command", router.ActionConnect} {
		if !strings.Contains(s, want) {
			t.Errorf("prompt lacks %q:\n%s", want, s)
		}
	}
	if got.Via != "respond" || got.Msg.InChannel {
		t.Errorf("prompt sent via %s (in channel %v)", got.Via, got.Msg.InChannel)
	}
}

func TestSOEWithoutLinkingService(t *testing.T) {
	rs := &replySlack{}
	b := New(Config{}, Deps{Slack: rs})
	b.AddLinking()
	if _, _, ok := b.Client(context.Background(), slashEnv("whoami", "https://h/1"), soe.MainSite(), nil); ok {
		t.Fatal("ok without a service")
	}
	if s := text(rs.last(t).Msg); !strings.Contains(s, "not connected to Stack Overflow") {
		t.Fatal(s)
	}
}

func TestSOEFailed(t *testing.T) {
	l := &linking.Link{TeamID: "T1", UserID: "U1", Scope: soe.MainSite()}
	pe := &soe.ProblemError{Status: 400, Title: "Bad tag", Detail: "Tag <b>x</b> is invalid"}
	cases := []struct {
		err  error
		want []string
	}{
		{fmt.Errorf("wrapped: %w", &soe.StatusError{Status: 401}), []string{"Reconnect your Stack Overflow account", "Reconnect", public + "/link/"}},
		{soe.ErrWriteAccess, []string{"read-only; reconnect with write access", "Reconnect"}},
		{&soe.RateLimitError{RetryAfter: 30 * time.Second}, []string{"rate limit", "30s"}},
		{&soe.StatusError{Status: 503}, []string{"did not answer"}},
		{context.DeadlineExceeded, []string{"did not answer"}},
		{&soe.StatusError{Status: 403}, []string{"not allowed"}},
		{&soe.StatusError{Status: 404}, []string{"could not find"}},
		{pe, []string{"Stack Overflow said", "Tag &lt;b&gt;x&lt;/b&gt; is invalid"}},
		{errors.New("weird"), []string{"Something went wrong"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v", c.err), func(t *testing.T) {
			b, rs, _ := linkBot(t)
			m := b.Failed(context.Background(), slashEnv("ask x", "https://h/1"), l, c.err)
			s := text(m)
			for _, w := range c.want {
				if !strings.Contains(s, w) {
					t.Errorf("lacks %q:\n%s", w, s)
				}
			}
			if text(rs.last(t).Msg) != s {
				t.Error("returned message differs from the one sent")
			}
		})
	}
}

func TestLinkCommands(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"link", []string{"Connect your Stack Overflow account", "main site", public + "/link/"}},
		{"link team platform", []string{"Connect your Stack Overflow account", "team platform"}},
		{"link team", []string{"Usage"}},
		{"link now", []string{"Usage"}},
		{"whoami", []string{"not connected a Stack Overflow account", "Connect", "finish your command"}},
		{"unlink", []string{"nothing to unlink", "main site"}},
		{"unlink team platform", []string{"nothing to unlink", "team platform"}},
		{"unlink all", []string{"no Stack Overflow connections"}},
		{"unlink everything", []string{"Usage"}},
		{"disconnect", []string{"nothing to unlink"}},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			b, rs, _ := linkBot(t)
			b.Handle(context.Background(), slashEnv(c.text, "https://h/1"))
			s := text(rs.last(t).Msg)
			for _, w := range c.want {
				if !strings.Contains(s, w) {
					t.Errorf("lacks %q:\n%s", w, s)
				}
			}
		})
	}
}

func TestReplayAfterLinking(t *testing.T) {
	b, rs, _ := linkBot(t)
	l := linking.Link{TeamID: "T1", UserID: "U1", Scope: soe.MainSite()}
	// The response_url is used up: the answer falls back to an ephemeral message.
	b.replay(context.Background(), l, &linking.Resume{Text: "help", ChannelID: "C1", ResponseURL: "https://h/expired"})
	got := rs.last(t)
	if got.Via != "ephemeral" || got.To != "C1/U1" || !strings.Contains(text(got.Msg), "/soe help") {
		t.Fatalf("%+v", got)
	}
	// link/unlink are never replayed; nil resume does nothing.
	n := len(rs.sent)
	b.replay(context.Background(), l, &linking.Resume{Text: "link", ChannelID: "C1"})
	b.replay(context.Background(), l, nil)
	if len(rs.sent) != n {
		t.Fatal("replayed link or nil")
	}
}
