package reliability

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

// secret is a value that must never leave the bot's memory in clear.
type secret struct {
	name, value string
}

// forms are the spellings of a secret a leak could take: itself, its
// head and tail (a "partially masked" log), base64 and hex.
func (s secret) forms() []string {
	v := s.value
	out := []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)), hex.EncodeToString([]byte(v))}
	if len(v) >= 24 {
		out = append(out, v[:12], v[len(v)-12:])
	}
	return out
}

// leaks reports where any form of any secret occurs in text.
func leaks(where, text string, secrets []secret) []string {
	var out []string
	for _, s := range secrets {
		for _, f := range s.forms() {
			if f != "" && strings.Contains(text, f) {
				i := strings.Index(text, f)
				ctx := text[max(0, i-80):min(len(text), i+len(f)+40)]
				out = append(out, fmt.Sprintf("%s contains %s (%q…): …%s…", where, s.name, f[:min(6, len(f))], ctx))
				break
			}
		}
	}
	return out
}

// TestSecretsNeverLeave runs a whole scenario — linking, commands, a modal,
// an unfurl, the App Home, SOE failures, a revoked token, a handler panic
// holding a client — and then looks for the user's SOE token (and the OAuth
// code, state, Slack tokens and TOKEN_KEY) in the bot's logs at debug level,
// in everything sent to Slack, in the bot's HTTP answers and in the raw
// database file.
func TestSecretsNeverLeave(t *testing.T) {
	r := start(t, func(o *e2e.Options) {
		o.Prepare = func(a *app.App) {
			b := a.Parts.Router
			b.Subcommand(&router.Subcommand{Name: "leak-panic", Hidden: true, Run: func(ctx context.Context, req *router.Request) {
				c, l, ok := b.Client(ctx, req.Env, soe.MainSite(), nil)
				if !ok {
					return
				}
				_, err := c.Me(ctx) // fails: the route is forced to 500 below
				panic(fmt.Sprintf("holding %v %+v %#v %v %+v err=%v %+v", c, c, c, l, *l, err, err))
			}})
		}
	})
	alice := e2e.SlackUser("alice")
	var httpBodies []string

	// Link through the real flow, keeping the OAuth code and state.
	u := r.linkPrompt("alice")
	c := r.browser("alice", false)
	p := fetch(t, c, http.MethodGet, u)
	httpBodies = append(httpBodies, p.Body)
	cb := r.callbackURL(t, c, u)
	cbu, _ := url.Parse(cb)
	code, state := cbu.Query().Get("code"), cbu.Query().Get("state")
	p = fetch(t, c, http.MethodGet, cb)
	if p.Status != 200 {
		t.Fatalf("callback: %d %s", p.Status, p.Body)
	}
	httpBodies = append(httpBodies, p.Body, fmt.Sprint(p.Header))
	if _, err := r.Slack.WaitDM(waitCtx(t, 10*time.Second), alice, "Connected as"); err != nil {
		t.Fatal(err)
	}
	r.link("alice", "platform")
	token := r.token(alice, "main")
	teamToken := r.token(alice, "team:platform")
	if token == "" || teamToken == "" || token == teamToken {
		t.Fatalf("tokens %q %q", token, teamToken)
	}

	// Use the connection everywhere.
	r.sees(r.slash(alice, e2e.General, "whoami"), "Alice Anderson")
	r.sees(r.slash(alice, e2e.General, "experts kubernetes"), "Experts on kubernetes")
	r.sees(r.slash(alice, e2e.General, "experts kubernetes team platform"), "kubernetes")
	r.sees(r.slash(alice, e2e.General, "search kubernetes"), "kubernetes")
	qid := r.SOE.AddQuestion(soe.MainSite(), 1, "Secret scenario question", "Body", "kubernetes")
	msg := r.Slack.PostAsUser(alice, e2e.General, "see", "")
	qurl := fmt.Sprintf("%s/questions/%d", r.SOE.URL(), qid)
	if _, err := r.Slack.LinkShared(alice, e2e.General, msg.TS, []string{qurl}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Slack.WaitUnfurl(waitCtx(t, 10*time.Second), e2e.General, msg.TS, qurl); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Slack.AppHomeOpened(alice); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Slack.WaitHome(waitCtx(t, 10*time.Second), alice, "Stack Overflow"); err != nil {
		t.Fatal(err)
	}
	askOnce(t, r, alice, "How do secrets stay secret in soebot?")

	// Failures: SOE down, a dropped connection, a panic holding the client.
	r.SOE.SetFaults(soefake.Faults{ErrorRate: 1})
	r.sees(r.slash(alice, e2e.General, "search vault"), "try again")
	r.SOE.SetFaults(soefake.Faults{DropRate: 1})
	r.sees(r.slash(alice, e2e.General, "search terraform"), "try again")
	r.SOE.SetFaults(soefake.Faults{Status: map[string]int{"GET /users/me": 500}})
	r.sees(r.slash(alice, e2e.General, "leak-panic"), "Sorry, something went wrong")
	r.SOE.SetFaults(soefake.Faults{})
	if !strings.Contains(r.logs.String(), "holding soe.Client(main)") {
		t.Fatal("the panic holding the client was not logged")
	}
	// The token is revoked: Reconnect, then unlink.
	r.SOE.RevokeToken(token)
	r.sees(r.slash(alice, e2e.General, "whoami"), "needs reconnecting")
	r.sees(r.slash(alice, e2e.General, "experts go"), "Reconnect")

	// HTTP answers of the bot's own server.
	plain := &http.Client{Timeout: 10 * time.Second}
	admin := "http://" + r.App.AdminAddr()
	for _, u := range []string{admin + "/metrics", admin + "/admin/backup", r.Config.PublicURL + "/healthz", r.Config.PublicURL + "/readyz",
		r.Config.PublicURL + "/metrics", r.Config.PublicURL + "/oauth/callback?state=" + state + "&code=" + code} {
		p := fetch(t, plain, http.MethodGet, u)
		httpBodies = append(httpBodies, p.Body, fmt.Sprint(p.Header))
	}
	r.sees(r.slash(alice, e2e.General, "unlink all"), "Disconnected")

	secrets := []secret{
		{"the SOE token", token}, {"the team SOE token", teamToken},
		{"the OAuth code", code}, {"the OAuth state", state},
		{"the Slack bot token", r.Slack.BotToken()}, {"the Slack app token", r.Slack.AppToken()},
		{"TOKEN_KEY", r.Config.TokenKey},
	}
	raw, err := os.ReadFile(r.DBPath())
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	found = append(found, leaks("the logs", r.logs.String(), secrets)...)
	found = append(found, leaks("the database file", string(raw), secrets)...)
	found = append(found, leaks("the HTTP answers", strings.Join(httpBodies, "\n"), secrets)...)
	calls, _ := json.Marshal(r.Slack.Calls(""))
	found = append(found, leaks("the calls to Slack", string(calls), secrets[:4])...)
	var shown []string
	for _, ch := range []string{e2e.General, "D" + alice} {
		for _, m := range r.Slack.AllMessages(ch) {
			shown = append(shown, m.Text, string(m.Blocks), string(m.Attachments))
		}
	}
	for _, m := range r.Slack.Ephemerals(alice) {
		shown = append(shown, m.Text, string(m.Blocks))
	}
	found = append(found, leaks("Slack messages", strings.Join(shown, "\n"), secrets)...)
	for _, f := range found {
		t.Error(f)
	}
	// The scanner itself finds a planted leak.
	if len(leaks("self-test", "x"+token[:12]+"…", secrets)) != 1 {
		t.Fatal("the leak scanner misses a partial token")
	}
	if n := strings.Count(r.logs.String(), "\n"); n < 50 {
		t.Errorf("only %d log lines: the scan proves little", n)
	}
	t.Logf("scanned %d log lines (debug), %d Slack calls, %d HTTP answers, a %d-byte database", strings.Count(r.logs.String(), "\n"), len(r.Slack.Calls("")), len(httpBodies)/2, len(raw))
}

// askOnce asks a question through the /soe ask modal and waits for the
// confirmation.
func askOnce(t *testing.T, r *rig, user, title string) slackfake.Message {
	t.Helper()
	s := r.slash(user, e2e.General, "ask "+title)
	v, err := r.Slack.WaitViewMatch(waitCtx(t, 10*time.Second), user, "soe_ask_modal", "Notify the subject-matter experts")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := r.Slack.ViewSubmission(user, v, map[string]map[string]any{
		"ask_title":  {"ask_title": slackfake.TextValue(title)},
		"ask_body":   {"body": slackfake.TextValue("I would like to know how this works, in detail, please.")},
		"ask_tags":   {"ask_tags": slackfake.OptionsValue("kubernetes")},
		"ask_notify": {"notify": slackfake.CheckboxValue(true, "notify")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Slack.WaitAck(waitCtx(t, 10*time.Second), sub.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	return r.sees(s, "Posted:")
}
