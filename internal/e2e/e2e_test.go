package e2e

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/soebot/soebot/internal/reference"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe/soefake"
	"github.com/soebot/soebot/internal/store/pgstore/pgtest"
)

var verbose = flag.Bool("e2e.log", false, "print the bot's logs")

// replicaMode runs every scenario on PostgreSQL with this many replicas
// (SOEBOT_E2E_REPLICAS, set by .ci/run for a second run of this package);
// pg is then the throwaway PostgreSQL they share.
var (
	replicaMode, _ = strconv.Atoi(os.Getenv("SOEBOT_E2E_REPLICAS"))
	pg             *pgtest.Cluster
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

// runTests runs the tests (on a shared throwaway PostgreSQL in replica
// mode, removed before the leak check) and then checks for leaked goroutines.
func runTests(m *testing.M) int {
	stop := func() {}
	if replicaMode > 1 {
		c, stopPG, err := pgtest.StartShared()
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: SOEBOT_E2E_REPLICAS needs PostgreSQL:", err)
			return 1
		}
		pg, stop = c, stopPG
	}
	code := m.Run()
	stop()
	if code != 0 {
		return code
	}
	if err := goleak.Find(
		// httptest servers' idle keep-alive conns can linger briefly.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	); err != nil {
		fmt.Fprintln(os.Stderr, "goleak:", err)
		return 1
	}
	return 0
}

// bot starts a fresh environment for t.
func bot(t *testing.T, mods ...func(*Options)) *Env {
	t.Helper()
	o := Options{Dir: t.TempDir()}
	if replicaMode > 1 {
		o.DatabaseURL, o.Replicas = pg.NewDatabase(t), replicaMode
	}
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, m := range mods {
		m(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	e, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	// Every request the bot sends to SOE and every answer the fake gives is
	// held to the official OpenAPI document.
	if v := contract(t, e.SOE); v != nil {
		e.SOE.SetValidator(v.Validate)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("bot stopped with error: %v", err)
		}
		for _, err := range e.SOE.ValidationErrors() {
			t.Errorf("SOE contract: %v", err)
		}
	})
	return e
}

// contract loads the SOE OpenAPI document of fake's mode (Enterprise, or
// Basic/Business) once per test binary; it is required in CI; elsewhere,
// without ../shared, tests run unvalidated.
func contract(t *testing.T, fake *soefake.Server) *soefake.OpenAPIValidator {
	t.Helper()
	contractVal, contractErr := soefake.ValidatorFor(fake)
	if contractErr != nil {
		if reference.Required() {
			t.Fatalf("OpenAPI document required in CI: %v", contractErr)
		}
		t.Logf("OpenAPI document unavailable, SOE traffic not validated: %v", contractErr)
		return nil
	}
	return contractVal
}

func wait(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// slash types "/soe text" as user in channel and waits for the ack.
func (e *Env) slash(t *testing.T, user, channel, text string) *slackfake.Sent {
	t.Helper()
	s, err := e.Slack.SlashCommand(user, channel, "/soe", text)
	if err != nil {
		t.Fatalf("/soe %s: %v", text, err)
	}
	ack, err := e.Slack.WaitAck(wait(t), s.EnvelopeID)
	if err != nil {
		t.Fatalf("/soe %s: no ack: %v", text, err)
	}
	if d := ack.At.Sub(s.SentAt); d > 3*time.Second {
		t.Fatalf("/soe %s: ack after %v (Slack gives up after 3s)", text, d)
	}
	return s
}

// sees waits until the response_url of s got a message containing every match.
func (e *Env) sees(t *testing.T, s *slackfake.Sent, match ...string) slackfake.Message {
	t.Helper()
	m, err := e.Slack.WaitResponse(wait(t), s.ResponseURL, match[0])
	if err != nil {
		t.Fatalf("waiting for %q: %v\nresponses: %s", match[0], err, dump(e.Slack.Responses(s.ResponseURL)))
	}
	text := m.Text + "\n" + slackfake.Flatten(m.Blocks)
	for _, want := range match[1:] {
		if !strings.Contains(text, want) {
			t.Fatalf("reply lacks %q:\n%s", want, text)
		}
	}
	return m
}

func dump(ms []slackfake.Message) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString("\n---\n" + m.Text + "\n" + slackfake.Flatten(m.Blocks))
	}
	return b.String()
}

func TestHelp(t *testing.T) {
	e := bot(t)
	alice := SlackUser("alice")
	for _, text := range []string{"help", "", "HELP"} {
		s := e.slash(t, alice, General, text)
		m := e.sees(t, s, "/soe help")
		if m.InChannel {
			t.Errorf("/soe %q: help must be ephemeral", text)
		}
	}
}

func TestUnknownSubcommand(t *testing.T) {
	e := bot(t)
	s := e.slash(t, SlackUser("bob"), General, "frobnicate the <!channel>")
	m := e.sees(t, s, "did not understand", "frobnicate", "/soe help")
	if strings.Contains(m.Text+string(m.Blocks), "<!channel>") {
		t.Fatalf("user text echoed unescaped: %s", m.Blocks)
	}
}

// link connects the Slack user of SOE login to their SOE account through the
// real flow (/soe link → link page → consent → callback), for the main site
// or, when team is given, that private team.
func (e *Env) link(t *testing.T, login string, team ...string) {
	t.Helper()
	text := "link"
	if len(team) > 0 {
		text += " team " + team[0]
	}
	m := e.sees(t, e.slash(t, SlackUser(login), General, text), "Connect your Stack Overflow account")
	e.connect(t, buttonURL(t, m, "Connect"), login)
	if _, err := e.Slack.WaitDM(wait(t), SlackUser(login), "Connected as"); err != nil {
		t.Fatalf("%s not connected: %v", login, err)
	}
	// Linking republishes the App Home (which calls SOE); let that settle so
	// tests that count SOE calls count only their own.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, _ = e.Slack.WaitHome(ctx, SlackUser(login), "Stack Overflow")
}

// oneProcess skips t in replica mode: what it checks lives in one process
// by design (why), so several replicas legitimately differ.
func oneProcess(t *testing.T, why string) {
	t.Helper()
	if replicaMode > 1 {
		t.Skipf("with %d replicas: %s", replicaMode, why)
	}
}
