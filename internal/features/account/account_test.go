package account

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

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

// linkFeature is the feature on a router, with a real linking service
// (nobody linked).
func linkFeature(t *testing.T) (*Feature, *router.Router, *chattest.Recorder) {
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
	r := router.New(router.Config{}, router.Deps{Slack: rs, Links: links})
	f := New(Config{}, Deps{Router: r, Links: links})
	f.Register(r)
	return f, r, rs
}

func slashEnv(text, responseURL string) *chat.Envelope {
	return &chat.Envelope{Type: chat.TypeSlashCommand, TeamID: "T1", UserID: "U1",
		Slash: &slack.SlashCommand{TeamID: "T1", UserID: "U1", ChannelID: "C1", Command: "/soe", Text: text, ResponseURL: responseURL}}
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
			_, r, rs := linkFeature(t)
			r.Handle(context.Background(), slashEnv(c.text, "https://h/1"))
			s := chattest.Text(rs.Last(t).Msg)
			for _, w := range c.want {
				if !strings.Contains(s, w) {
					t.Errorf("lacks %q:\n%s", w, s)
				}
			}
		})
	}
}

func TestReplayAfterLinking(t *testing.T) {
	f, _, rs := linkFeature(t)
	l := linking.Link{TeamID: "T1", UserID: "U1", Scope: soe.MainSite()}
	// The response_url is used up: the answer falls back to an ephemeral message.
	f.replay(context.Background(), l, &linking.Resume{Text: "help", ChannelID: "C1", ResponseURL: "https://h/expired"})
	got := rs.Last(t)
	if got.Via != "ephemeral" || got.To != "C1/U1" || !strings.Contains(chattest.Text(got.Msg), "/soe help") {
		t.Fatalf("%+v", got)
	}
	// link/unlink are never replayed; nil resume does nothing.
	n := rs.Len()
	f.replay(context.Background(), l, &linking.Resume{Text: "link", ChannelID: "C1"})
	f.replay(context.Background(), l, nil)
	if rs.Len() != n {
		t.Fatal("replayed link or nil")
	}
}

// homeCalls records Home refreshes.
type homeCalls struct{ users []string }

func (h *homeCalls) PublishHome(_ context.Context, teamID, userID string) {
	h.users = append(h.users, teamID+"/"+userID)
}

func TestUnlinkRefreshesHome(t *testing.T) {
	f, r, _ := linkFeature(t)
	h := &homeCalls{}
	f.home = h
	r.Handle(context.Background(), slashEnv("unlink", "https://h/1")) // nothing to unlink
	if len(h.users) != 0 {
		t.Fatalf("Home refreshed although nothing changed: %v", h.users)
	}
	seed := linking.Imported{Link: linking.Link{TeamID: "T1", UserID: "U1", Scope: soe.MainSite(), SOEUserID: 1}, Token: "tok"}
	if err := f.links.(*linking.Service).Import(context.Background(), []linking.Imported{seed}); err != nil {
		t.Fatal(err)
	}
	r.Handle(context.Background(), slashEnv("unlink", "https://h/1"))
	if len(h.users) != 1 || h.users[0] != "T1/U1" {
		t.Fatalf("Home refreshes after unlink: %v", h.users)
	}
}
