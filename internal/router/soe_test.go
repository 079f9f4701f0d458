package router_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/chat/chattest"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/vault"
)

const public = "https://bot.example.com"

// linkRouter is a router with a real linking service (nobody linked).
func linkRouter(t *testing.T) (*router.Router, *chattest.Recorder) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{Buckets: linking.Buckets(), Migrations: linking.Migrations()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	keys, _ := vault.NewKeyring(make([]byte, 32))
	rs := &chattest.Recorder{}
	links, err := linking.New(linking.Config{PublicURL: public, SOEURL: "https://acme.stackenterprise.co", WriteAccess: true, NoExpiry: true},
		db, keys, soe.OAuthConfig{SiteURL: "https://acme.stackenterprise.co", ClientID: "1"}, soe.NewService(soe.Config{APIURL: "http://127.0.0.1:1"}), rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return router.New(router.Config{}, router.Deps{Slack: rs, Links: links}), rs
}

func slashEnv(text, responseURL string) *chat.Envelope {
	return &chat.Envelope{Type: chat.TypeSlashCommand, TeamID: "T1", UserID: "U1",
		Slash: &slack.SlashCommand{TeamID: "T1", UserID: "U1", ChannelID: "C1", Command: "/soe", Text: text, ResponseURL: responseURL}}
}

func TestSOEPromptsToConnectAndRemembersCommand(t *testing.T) {
	b, rs := linkRouter(t)
	env := slashEnv("experts go", "https://hooks.slack.test/1")
	c, l, ok := b.Client(context.Background(), env, soe.TeamScope("platform"), nil)
	if ok || c != nil || l != nil {
		t.Fatal("unlinked user got a client")
	}
	got := rs.Last(t)
	s := chattest.Text(got.Msg)
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
	rs := &chattest.Recorder{}
	b := router.New(router.Config{}, router.Deps{Slack: rs})
	if _, _, ok := b.Client(context.Background(), slashEnv("whoami", "https://h/1"), soe.MainSite(), nil); ok {
		t.Fatal("ok without a service")
	}
	if s := chattest.Text(rs.Last(t).Msg); !strings.Contains(s, "not connected to Stack Overflow") {
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
		{fmt.Errorf("soe: %w", &soe.PacedError{RetryAfter: 2500 * time.Millisecond}), []string{"busy for your account right now; try again in 3 seconds"}},
		{&soe.StatusError{Status: 503}, []string{"did not answer"}},
		{context.DeadlineExceeded, []string{"did not answer"}},
		{&soe.StatusError{Status: 403}, []string{"not allowed"}},
		{&soe.StatusError{Status: 404}, []string{"could not find"}},
		{pe, []string{"Stack Overflow said", "Tag &lt;b&gt;x&lt;/b&gt; is invalid"}},
		{errors.New("weird"), []string{"Something went wrong"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v", c.err), func(t *testing.T) {
			b, rs := linkRouter(t)
			m := b.Failed(context.Background(), slashEnv("ask x", "https://h/1"), l, c.err)
			s := chattest.Text(m)
			for _, w := range c.want {
				if !strings.Contains(s, w) {
					t.Errorf("lacks %q:\n%s", w, s)
				}
			}
			if chattest.Text(rs.Last(t).Msg) != s {
				t.Error("returned message differs from the one sent")
			}
		})
	}
}
