package router_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/chat/chattest"
	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/vault"
)

// bbRouter is a router for Stack Overflow for Teams Basic/Business with a
// real linking service in personal-access-token mode (nobody linked).
func bbRouter(t *testing.T) *router.Router {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{Buckets: linking.Buckets(), Migrations: linking.Migrations()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	keys, _ := vault.NewKeyring(make([]byte, 32))
	rs := &chattest.Recorder{}
	links, err := linking.New(linking.Config{PublicURL: public, SOEURL: "https://stackoverflowteams.com/c/acme", PersonalTokens: true},
		db, keys, soe.OAuthConfig{}, soe.NewService(soe.Config{APIURL: "http://127.0.0.1:1"}), rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := router.New(router.Config{BasicBusiness: true}, router.Deps{Slack: rs, Links: links})
	r.Subcommand(&router.Subcommand{Name: "experts", Usage: "experts <tag> [tag…] [team <slug>]", Summary: "Who are the experts?",
		NamesTeam: router.TeamOption, Run: func(context.Context, *router.Request) {}})
	return r
}

var linkID = regexp.MustCompile(`/link/[A-Za-z0-9_-]{43}`)

// withoutLinkID replaces the random link id so the message can be compared.
func withoutLinkID(t *testing.T, m chat.Message) any {
	t.Helper()
	return readable(t, map[string]any{"text": m.Text, "blocks": m.Blocks})
}

// readable is v as generic JSON, with the random link id replaced.
func readable(t *testing.T, v any) any {
	t.Helper()
	raw := linkID.ReplaceAll(golden.Marshal(t, v), []byte("/link/LINK-ID"))
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBasicBusinessMessages(t *testing.T) {
	r := bbRouter(t)
	ctx := context.Background()
	env := slashEnv("whoami", "https://h/1")
	golden.JSON(t, "bb_connect", withoutLinkID(t, r.LinkPrompt(ctx, "T1", "U1", soe.MainSite(), &linking.Resume{Text: "whoami"}, false, "")))
	golden.JSON(t, "bb_read_only", withoutLinkID(t, r.Failed(ctx, env, &linking.Link{TeamID: "T1", UserID: "U1"}, soe.ErrWriteAccess)))
	golden.Message(t, "bb_no_teams", router.NoTeamsMessage())
	golden.JSON(t, "bb_help", readable(t, r.Ack(ctx, slashEnv("help", "https://h/1"))))
	for _, text := range []string{"experts go team platform", "experts team platform go", "EXPERTS go TEAM x"} {
		got := string(golden.Marshal(t, r.Ack(ctx, slashEnv(text, "https://h/1"))))
		if !strings.Contains(got, "not available on Stack Overflow for Teams Basic/Business") {
			t.Errorf("%q: ack %s", text, got)
		}
	}
	if got := r.Ack(ctx, slashEnv("experts go", "https://h/1")); got != nil {
		t.Errorf("experts go answered in the ack: %v", got)
	}
}
