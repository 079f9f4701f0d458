package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/vault"
)

// The unlinked entry point is /soe whoami: /soe experts (the example)
// is built by another engineer and uses the same SOE() helper.

// buttonURL returns the URL of the button labelled label in m.
func buttonURL(t *testing.T, m slackfake.Message, label string) string {
	t.Helper()
	u := slackfake.ButtonURL(m.Blocks, label)
	if u == "" {
		t.Fatalf("no %q URL button in:\n%s", label, m.Flat())
	}
	return u
}

// browser is a user's web browser: a cookie jar, logged in at the fake SOE
// as login.
func (e *Env) browser(t *testing.T, login string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.SOE.URL())
	jar.SetCookies(u, []*http.Cookie{{Name: "login", Value: login, Path: "/"}})
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func fetch(t *testing.T, c *http.Client, method, u string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// connect walks the browser part: link page → Continue → SOE (auto-approve)
// → callback. It returns the final page.
func (e *Env) connect(t *testing.T, linkURL, login string, wantOnPage ...string) string {
	t.Helper()
	if !strings.HasPrefix(linkURL, e.Config.PublicURL+"/link/") {
		t.Fatalf("button URL %q is not under PUBLIC_URL", linkURL)
	}
	c := e.browser(t, login)
	status, body := fetch(t, c, http.MethodGet, linkURL)
	if status != 200 {
		t.Fatalf("link page: %d\n%s", status, body)
	}
	workspace := "Acme"
	if e.opts.Grid != nil { // an org-wide install: the page does not know the workspace
		workspace = "your Slack workspace"
	}
	for _, w := range append([]string{workspace, "Continue"}, wantOnPage...) {
		if !strings.Contains(body, w) {
			t.Fatalf("link page lacks %q:\n%s", w, body)
		}
	}
	status, body = fetch(t, c, http.MethodPost, linkURL)
	if status != 200 || !strings.Contains(body, "Connected") || !strings.Contains(body, "close this tab") {
		t.Fatalf("after consent: %d\n%s", status, body)
	}
	return body
}

// storedToken stops the bot and reads the user's SOE token from the database
// the way an operator holding TOKEN_KEY could (the fake SOE has no "revoke
// every token of a user" control), then restarts the bot on the same file.
func (e *Env) storedToken(t *testing.T, user, scopeKey string) string {
	t.Helper()
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	db, err := app.OpenStorage(wait(t), e.opts.DatabaseURL, e.DBPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := vault.ParseKeys(e.Config.TokenKey)
	if err != nil {
		t.Fatal(err)
	}
	team := e.Slack.TeamID()
	var tok []byte
	err = db.View(context.Background(), func(tx store.Tx) error {
		var rec struct {
			Token []byte `json:"token"`
		}
		if err := json.Unmarshal(tx.Bucket([]byte("links")).Get([]byte(team+"/"+user+"/"+scopeKey)), &rec); err != nil {
			return err
		}
		tok, err = keys.Open(rec.Token, []byte("soebot/link/v1|"+team+"|"+user+"|"+scopeKey))
		return err
	})
	_ = db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Restart(wait(t)); err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

func TestLinkEndToEnd(t *testing.T) {
	e := bot(t)
	alice := SlackUser("alice")

	// Unlinked: a command that needs a token answers with the Connect button.
	first := e.slash(t, alice, General, "whoami")
	m := e.sees(t, first, "Connect your Stack Overflow account", "Connect")
	if m.InChannel {
		t.Fatal("the connect prompt must be ephemeral")
	}
	e.connect(t, buttonURL(t, m, "Connect"), "alice", "@alice", "main site")

	if _, err := e.Slack.WaitDM(wait(t), alice, "Connected as Alice Anderson (read-write requested, main site)"); err != nil {
		t.Fatalf("no DM: %v\nDMs: %s", err, dump(e.Slack.DMs(alice)))
	}
	// The pending command is answered automatically.
	if _, err := e.Slack.WaitResponse(wait(t), first.ResponseURL, "Your Stack Overflow connections"); err != nil {
		t.Fatalf("whoami not replayed: %v%s", err, dump(e.Slack.Responses(first.ResponseURL)))
	}

	e.sees(t, e.slash(t, alice, General, "whoami"), "Your Stack Overflow connections", "main site", "Alice Anderson", "read-write requested", "never expires")

	// The token is revoked at SOE: the next command offers Reconnect, and
	// the link is kept (marked invalid) until the user acts.
	tok := e.storedToken(t, alice, "main")
	e.SOE.RevokeToken(tok)
	m = e.sees(t, e.slash(t, alice, General, "whoami"), "needs reconnecting", "Reconnect")
	reconnect := buttonURL(t, m, "Reconnect")
	if !strings.HasPrefix(reconnect, e.Config.PublicURL+"/link/") {
		t.Fatalf("reconnect URL %q", reconnect)
	}

	// Unlink removes it; whoami then says so.
	e.sees(t, e.slash(t, alice, General, "unlink"), "Disconnected your Stack Overflow account (main site)")
	e.sees(t, e.slash(t, alice, General, "whoami"), "not connected a Stack Overflow account", "Connect")
	e.sees(t, e.slash(t, alice, General, "unlink"), "nothing to unlink")

	// Reconnecting through the old Reconnect button works like a new link.
	e.connect(t, reconnect, "alice")
	e.sees(t, e.slash(t, alice, General, "whoami"), "read-write", "Alice Anderson")
}

func TestLinkTeamEndToEnd(t *testing.T) {
	e := bot(t)
	carol := SlackUser("carol")
	m := e.sees(t, e.slash(t, carol, General, "link team platform"), "Connect your Stack Overflow account", "team platform")
	e.connect(t, buttonURL(t, m, "Connect"), "carol", "@carol", "platform")
	if _, err := e.Slack.WaitDM(wait(t), carol, "Connected as Carol Chen (read-write requested, team platform)"); err != nil {
		t.Fatalf("no DM: %v\nDMs: %s", err, dump(e.Slack.DMs(carol)))
	}
	e.sees(t, e.slash(t, carol, General, "whoami"), "team platform", "Carol Chen")
	// Also the main site, then unlink both at once.
	m = e.sees(t, e.slash(t, carol, General, "link"), "Connect your Stack Overflow account")
	e.connect(t, buttonURL(t, m, "Connect"), "carol")
	e.sees(t, e.slash(t, carol, General, "whoami"), "main site", "team platform")
	e.sees(t, e.slash(t, carol, General, "unlink team platform"), "Disconnected", "team platform")
	e.sees(t, e.slash(t, carol, General, "unlink all"), "Disconnected all 1")
	e.sees(t, e.slash(t, carol, General, "unlink all"), "nothing to unlink")
}

func TestLinkRefusesSomeoneElsesAccount(t *testing.T) {
	e := bot(t)
	alice := SlackUser("alice")
	m := e.sees(t, e.slash(t, alice, General, "link"), "Connect your Stack Overflow account")
	// Bob opens alice's link in his browser (logged in at SOE as bob).
	c := e.browser(t, "bob")
	u := buttonURL(t, m, "Connect")
	if status, body := fetch(t, c, http.MethodGet, u); status != 200 || !strings.Contains(body, "@alice") {
		t.Fatalf("%d %s", status, body)
	}
	status, body := fetch(t, c, http.MethodPost, u)
	if status != http.StatusForbidden || !strings.Contains(body, "same email") {
		t.Fatalf("%d %s", status, body)
	}
	if _, err := e.Slack.WaitDM(wait(t), alice, "did not work"); err != nil {
		t.Fatal(err)
	}
	e.sees(t, e.slash(t, alice, General, "whoami"), "not connected a Stack Overflow account")
	// The link was used up.
	if status, _ := fetch(t, c, http.MethodGet, u); status != http.StatusNotFound {
		t.Fatalf("used link page: %d", status)
	}
}
