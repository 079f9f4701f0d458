package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/vault"
)

var (
	soakFor  = flag.Duration("soak", 0, "run the long variants: the soak test for this long (e.g. 10m), 500 crash kills")
	killsN   = flag.Int("kills", 0, "SIGKILLs in the crash durability test (default 20, or 500 with -soak)")
	showLogs = flag.Bool("rel.log", false, "print the bot's logs of failing tests")
)

// childEnv switches the test binary into one of the child processes of
// crash_test.go instead of running tests.
const childEnv = "SOEBOT_RELIABILITY_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	goleak.VerifyTestMain(m,
		// httptest servers' idle keep-alive conns can linger briefly.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	)
}

// soakDuration is -soak, or SOEBOT_SOAK (a duration) when the flag is unset.
func soakDuration() time.Duration {
	if *soakFor > 0 {
		return *soakFor
	}
	if v := os.Getenv("SOEBOT_SOAK"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return 0
}

// --- logs ---------------------------------------------------------------------

// logBuffer collects the bot's JSON logs (every level) for secret scans.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// --- the bot -------------------------------------------------------------------

// rig is one running bot with its fakes and its captured logs.
type rig struct {
	*e2e.Env
	logs *logBuffer
	t    testing.TB
}

// start runs the real bot (internal/app, as in production) against fresh
// fakes; mods adjust the options. It stops everything when t ends.
func start(t testing.TB, mods ...func(*e2e.Options)) *rig {
	t.Helper()
	logs := &logBuffer{}
	o := e2e.Options{
		Dir:    t.TempDir(),
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mods {
		m(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e, err := e2e.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{Env: e, logs: logs, t: t}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("bot stopped with error: %v", err)
		}
		if t.Failed() && *showLogs {
			t.Logf("bot logs:\n%s", logs.String())
		}
	})
	return r
}

func waitCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// slash types "/soe text" as user in channel and checks the ack comes
// within Slack's 3 s.
func (r *rig) slash(user, channel, text string) *slackfake.Sent {
	r.t.Helper()
	s, err := r.Slack.SlashCommand(user, channel, "/soe", text)
	if err != nil {
		r.t.Fatalf("/soe %s: %v", text, err)
	}
	ack, err := r.Slack.WaitAck(waitCtx(r.t, 10*time.Second), s.EnvelopeID)
	if err != nil {
		r.t.Fatalf("/soe %s: no ack: %v", text, err)
	}
	if d := ack.At.Sub(s.SentAt); d > 3*time.Second {
		r.t.Fatalf("/soe %s: ack after %v (Slack gives up after 3s)", text, d)
	}
	return s
}

// sees waits for a response_url post to s containing every match.
func (r *rig) sees(s *slackfake.Sent, match ...string) slackfake.Message {
	r.t.Helper()
	m, err := r.Slack.WaitResponse(waitCtx(r.t, 10*time.Second), s.ResponseURL, match[0])
	if err != nil {
		r.t.Fatalf("waiting for %q: %v", match[0], err)
	}
	text := m.Flat()
	for _, want := range match[1:] {
		if !strings.Contains(text, want) {
			r.t.Fatalf("reply lacks %q:\n%s", want, text)
		}
	}
	return m
}

// buttonURL returns the URL of the button labelled label in m.
func buttonURL(t testing.TB, m slackfake.Message, label string) string {
	t.Helper()
	u := slackfake.ButtonURL(m.Blocks, label)
	if u == "" {
		t.Fatalf("no %q URL button in:\n%s", label, m.Flat())
	}
	return u
}

// browser is a web browser logged in at the fake SOE as login. With
// follow=false it stops at the redirect to the bot's callback.
func (r *rig) browser(login string, follow bool) *http.Client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(r.SOE.URL())
	jar.SetCookies(u, []*http.Cookie{{Name: "login", Value: login, Path: "/"}})
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if !follow {
		c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if req.URL.Path == "/oauth/callback" {
				return http.ErrUseLastResponse
			}
			return nil
		}
	}
	return c
}

type page struct {
	Status int
	Body   string
	Header http.Header
}

func fetch(t testing.TB, c *http.Client, method, u string, hdr ...string) page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(b), resp.Header}
}

// linkPrompt runs /soe link [team slug] as the Slack user of login and
// returns the Connect URL.
func (r *rig) linkPrompt(login string, team ...string) string {
	r.t.Helper()
	text := "link"
	if len(team) > 0 && team[0] != "" {
		text += " team " + team[0]
	}
	m := r.sees(r.slash(e2e.SlackUser(login), e2e.General, text), "Connect your Stack Overflow account")
	u := buttonURL(r.t, m, "Connect")
	if !strings.HasPrefix(u, r.Config.PublicURL+"/link/") {
		r.t.Fatalf("Connect URL %q is not under PUBLIC_URL", u)
	}
	return u
}

// link connects login's Slack user to their SOE account through the real
// flow (/soe link → link page → Continue → SOE consent → callback).
func (r *rig) link(login string, team ...string) {
	r.t.Helper()
	u := r.linkPrompt(login, team...)
	c := r.browser(login, true)
	if p := fetch(r.t, c, http.MethodGet, u); p.Status != 200 {
		r.t.Fatalf("link page: %d\n%s", p.Status, p.Body)
	}
	if p := fetch(r.t, c, http.MethodPost, u); p.Status != 200 || !strings.Contains(p.Body, "Connected") {
		r.t.Fatalf("after consent: %d\n%s", p.Status, p.Body)
	}
	if _, err := r.Slack.WaitDM(waitCtx(r.t, 10*time.Second), e2e.SlackUser(login), "Connected as"); err != nil {
		r.t.Fatalf("%s not connected: %v", login, err)
	}
	// Linking republishes the App Home; let it settle.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, _ = r.Slack.WaitHome(ctx, e2e.SlackUser(login), "Stack Overflow")
}

// token reads the SOE token stored for (user, scopeKey) from the running
// bot's database, the way an operator holding TOKEN_KEY could.
func (r *rig) token(user, scopeKey string) string {
	r.t.Helper()
	keys, err := vault.ParseKeys(r.Config.TokenKey)
	if err != nil {
		r.t.Fatal(err)
	}
	team := r.Slack.TeamID()
	var tok []byte
	err = r.App.Parts.Store.View(context.Background(), func(tx store.Tx) error {
		var rec struct {
			Token []byte `json:"token"`
		}
		raw := tx.Bucket([]byte("links")).Get([]byte(team + "/" + user + "/" + scopeKey))
		if raw == nil {
			return fmt.Errorf("no link %s/%s", user, scopeKey)
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return err
		}
		tok, err = keys.Open(rec.Token, []byte("soebot/link/v1|"+team+"|"+user+"|"+scopeKey))
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return string(tok)
}

// countKeys counts the keys of a top-level bucket of the running bot's store.
func (r *rig) countKeys(bucket string) int {
	n := 0
	_ = r.App.Parts.Store.View(context.Background(), func(tx store.Tx) error {
		if b := tx.Bucket([]byte(bucket)); b != nil {
			n = b.Len()
		}
		return nil
	})
	return n
}

// eventually polls cond until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
