// Package e2e starts the real bot, wired exactly as in production, against
// the in-repo fake Slack and fake SOE on loopback. The end-to-end tests, the
// demo (cmd/demo) and the benchmarks all use it.
package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe/soefake"
)

// Options tune the environment.
type Options struct {
	Dir          string // working folder for the database (required)
	Logger       *slog.Logger
	PollInterval time.Duration // default 60s (tests that poll set it low)
	PingEvery    time.Duration // fake Slack ping period (default 100ms)
	Workers      int
	ShutdownWait time.Duration
	// Env overrides configuration variables (e.g. LINK_REQUIRE_EMAIL_MATCH).
	Env map[string]string
	// Slack and SOE, when set, are reused instead of starting new fakes.
	Slack *slackfake.Fake
	SOE   *soefake.Server
	// Prepare runs after each app (every replica) is built and before it runs (register test-only handlers).
	Prepare func(*app.App)
	// LinkBurst overrides the per-client burst of the link pages' rate
	// limit (default: production's), for tests that flood them on purpose.
	LinkBurst int
	// BasicBusiness, when set, makes the fake SOE a Stack Overflow for Teams
	// Basic/Business site for this team (SOE_URL …/c/<team>; people connect
	// with personal access tokens).
	BasicBusiness string
	// DatabaseURL puts the bot on PostgreSQL; with Replicas > 1 that many
	// bots run on it and on the same fakes (each with its own Socket Mode
	// connection; the fake Slack gives each envelope to one at random). App
	// is the first, which holds the poller lease.
	DatabaseURL string
	Replicas    int
	// Clock, when set, is the clock of the bot and of the fakes it starts
	// (NewClock; tests move it with Advance). Nil: the wall clock.
	Clock *Clock
	// SlackPostRate overrides the bot's posts per second per channel
	// (default Slack's 1; a fake-clock simulation of many cards raises it).
	SlackPostRate float64
	// Grid, when set, makes the fake Slack an Enterprise Grid organization
	// with the app installed org-wide (slackfake.Grid).
	Grid *slackfake.Grid
}

// Env is one running bot with its fakes.
type Env struct {
	Slack  *slackfake.Fake
	SOE    *soefake.Server
	App    *app.App
	Config app.Config
	opts   Options
	owned  bool

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
	extras []*replica // Replicas beyond App
}

// replica is one more running bot of a multi-replica Env.
type replica struct {
	cancel context.CancelFunc
	done   chan error
}

// SlackUser maps an SOE seed user name to the Slack user id the fake uses.
func SlackUser(name string) string { return "U" + strings.ToUpper(name) }

// Channels seeded in the fake Slack.
const (
	General  = "CGENERAL"  // public, bot is a member
	Random   = "CRANDOM"   // public, bot is not a member
	Private  = "CPRIVATE"  // private, bot is a member
	Secret   = "CSECRET"   // private, bot is not a member
	Archived = "CARCHIVED" // archived
)

// Start builds the fakes (unless given) and the bot, and runs the bot until
// Stop. It returns when the bot is connected to the fake Slack.
func Start(ctx context.Context, o Options) (*Env, error) {
	if o.Dir == "" {
		return nil, errors.New("e2e: Options.Dir is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PingEvery == 0 {
		o.PingEvery = 100 * time.Millisecond
	}
	if o.PollInterval == 0 {
		o.PollInterval = time.Minute
	}
	e := &Env{opts: o, Slack: o.Slack, SOE: o.SOE}
	if e.Slack == nil {
		e.owned = true
		e.Slack = slackfake.New(slackfake.Options{PingEvery: o.PingEvery, Logger: o.Logger.With("component", "slackfake"), Now: o.now(), Grid: o.Grid})
		e.SOE = soefake.New(soefake.Options{AutoApprove: true, Seed: true, BasicBusiness: o.BasicBusiness, Now: o.now()})
		seedSlack(e.Slack, e.SOE)
	}
	if err := e.start(ctx); err != nil {
		e.closeFakes()
		return nil, err
	}
	return e, nil
}

// SeedSlack adds the fake SOE's people and the test channels (General,
// Random, …) to the fake Slack, as Start does.
func SeedSlack(f *slackfake.Fake, s *soefake.Server) { seedSlack(f, s) }

func seedSlack(f *slackfake.Fake, s *soefake.Server) {
	for _, u := range s.Users() {
		// heidi, SOE's admin, administers the Slack workspace too.
		f.AddUser(slackfake.User{ID: SlackUser(u.Login), Name: u.Login, RealName: u.Name, Email: u.Email, IsAdmin: u.Login == "heidi"})
	}
	// A Slack user with no SOE account.
	f.AddUser(slackfake.User{ID: "UMALLORY", Name: "mallory", RealName: "Mallory", Email: "mallory@acme.example"})
	var everyone []string
	for _, u := range s.Users() {
		everyone = append(everyone, SlackUser(u.Login))
	}
	everyone = append(everyone, "UMALLORY")
	f.AddChannel(slackfake.Channel{ID: General, Name: "general", Members: append([]string{f.BotUserID()}, everyone...)})
	f.AddChannel(slackfake.Channel{ID: Random, Name: "random", Members: everyone})
	f.AddChannel(slackfake.Channel{ID: Private, Name: "platform-private", Private: true, Members: append([]string{f.BotUserID()}, everyone...)})
	f.AddChannel(slackfake.Channel{ID: Secret, Name: "secret", Private: true, Members: everyone})
	f.AddChannel(slackfake.Channel{ID: Archived, Name: "old", Archived: true, Members: append([]string{f.BotUserID()}, everyone...)})
}

func (e *Env) start(ctx context.Context) error {
	a, cfg, cancel, done, err := e.run(ctx, "")
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.App, e.Config, e.cancel, e.done = a, cfg, cancel, done
	e.mu.Unlock()
	if e.opts.Replicas <= 1 {
		return nil
	}
	if err := waitFor(ctx, done, a.Parts.Lease.Leading, "the first replica to hold the poller lease"); err != nil {
		cancel()
		return err
	}
	for i := 2; i <= e.opts.Replicas; i++ {
		_, _, rcancel, rdone, err := e.run(ctx, fmt.Sprintf("e2e-r%d", i))
		if err != nil {
			return err
		}
		e.mu.Lock()
		e.extras = append(e.extras, &replica{cancel: rcancel, done: rdone})
		e.mu.Unlock()
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	return e.Slack.WaitConnections(wctx, e.opts.Replicas)
}

// run builds one bot on the Env's fakes and runs it until its cancel, once
// it is ready. replicaID "" is the first (App).
func (e *Env) run(ctx context.Context, replicaID string) (*app.App, app.Config, context.CancelFunc, chan error, error) {
	o := e.opts
	env := map[string]string{
		"SLACK_APP_TOKEN": e.Slack.AppToken(), "SLACK_BOT_TOKEN": e.Slack.BotToken(), "SLACK_API_URL": e.Slack.APIURL(),
		"SOE_URL": e.SOE.SiteURL(), "SOE_API_URL": e.SOE.APIURL(),
		"HTTP_ADDR": "127.0.0.1:0", "DB_PATH": filepath.Join(o.Dir, "soebot.db"), "DATABASE_URL": o.DatabaseURL,
		"TOKEN_KEY":     base64.StdEncoding.EncodeToString([]byte("e2e-test-key-0123456789abcdefghi")),
		"POLL_INTERVAL": o.PollInterval.String(), "LOG_LEVEL": "debug",
	}
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, app.Config{}, nil, nil, err
	}
	adminLn, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		_ = ln.Close()
		return nil, app.Config{}, nil, nil, err
	}
	if !e.SOE.BasicBusiness() {
		env["SOE_CLIENT_ID"] = e.SOE.ClientID()
	}
	env["PUBLIC_URL"] = "http://" + ln.Addr().String()
	if replicaID != "" {
		env["PUBLIC_URL"] = e.Config.PublicURL // one public address; any replica serves the link pages
	}
	env["ADMIN_ADDR"] = adminLn.Addr().String()
	for k, v := range o.Env {
		env[k] = v
	}
	cfg, err := app.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		_ = ln.Close()
		_ = adminLn.Close()
		return nil, cfg, nil, nil, err
	}
	a, err := app.New(ctx, cfg, app.Options{
		Logger: o.Logger, Listener: ln, AdminListener: adminLn, PingInterval: 2 * time.Second,
		Workers: o.Workers, ShutdownWait: o.ShutdownWait, LinkBurst: o.LinkBurst, ReplicaID: replicaID,
		Now: o.now(), SlackPostRate: o.SlackPostRate,
	})
	if err != nil {
		_ = ln.Close()
		_ = adminLn.Close()
		return nil, cfg, nil, nil, err
	}
	if o.Prepare != nil {
		o.Prepare(a) // on every replica: each may get any envelope
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	if err := waitFor(ctx, done, a.Ready, "the bot to become ready"); err != nil {
		cancel()
		return nil, cfg, nil, nil, err
	}
	return a, cfg, cancel, done, nil
}

// waitFor waits up to 10s for ok, or until the bot stops (done).
func waitFor(ctx context.Context, done chan error, ok func() bool, what string) error {
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	for !ok() {
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("bot stopped while waiting for %s: %w", what, err)
		case <-wctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, wctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// Stop shuts the bot down (like SIGTERM) and returns what Run returned. The
// fakes stay up; Close stops them.
func (e *Env) Stop() error {
	e.mu.Lock()
	cancel, done, extras := e.cancel, e.done, e.extras
	e.cancel, e.done, e.extras = nil, nil, nil
	e.mu.Unlock()
	var errs []error
	for _, r := range extras { // the other replicas first: App takes the poller lease again on Restart
		r.cancel()
		errs = append(errs, <-r.done)
	}
	if cancel != nil {
		cancel()
		errs = append(errs, <-done)
	}
	return errors.Join(errs...)
}

// Restart stops the bot and starts a new one on the same database and fakes.
func (e *Env) Restart(ctx context.Context) error {
	if err := e.Stop(); err != nil {
		return err
	}
	return e.start(ctx)
}

// Close stops the bot and the fakes it started.
func (e *Env) Close() error {
	err := e.Stop()
	e.closeFakes()
	return err
}

func (e *Env) closeFakes() {
	if e.owned {
		e.Slack.Close()
		e.SOE.Close()
	}
}

// DBPath is the bot's database file.
func (e *Env) DBPath() string { return e.Config.DBPath }
