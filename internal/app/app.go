package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/soebot/soebot/internal/channels"
	"github.com/soebot/soebot/internal/cluster"
	"github.com/soebot/soebot/internal/router"
	"golang.org/x/time/rate"

	"github.com/soebot/soebot/internal/features/ask"
	"github.com/soebot/soebot/internal/features/home"
	"github.com/soebot/soebot/internal/features/suggest"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/metrics"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/ratelimit"
	"github.com/soebot/soebot/internal/slackapp"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/vault"
)

// Options are the knobs tests, the demo and benchmarks turn; production uses
// the zero values.
type Options struct {
	Logger     *slog.Logger
	HTTPClient *http.Client // for Slack and SOE calls
	Listener   net.Listener // pre-bound public HTTP listener (default: listen on Config.HTTPAddr)
	// AdminListener is a pre-bound listener for /metrics and /admin/*
	// (default: listen on Config.AdminAddr).
	AdminListener net.Listener
	// LinkRate and LinkBurst override the per-client rate limit of the link
	// pages and the OAuth callback (default ratelimit.DefaultRate and
	// DefaultBurst).
	LinkRate     rate.Limit
	LinkBurst    int
	PingInterval time.Duration // Socket Mode ping watchdog
	Workers      int           // handler pool size (overrides HANDLER_WORKERS)
	ShutdownWait time.Duration // bound on draining handlers at shutdown
	Now          func() time.Time
	// ReplicaID names this replica in the cluster's leases (default: host
	// name and a random suffix).
	ReplicaID string
	// SlackPostRate overrides the posts per second per channel (default 1,
	// Slack's pace; simulations under a fake clock raise it).
	SlackPostRate float64
}

// Parts are the services an App is built from, for the demo and the tests
// that drive or inspect them; the bot itself never reads them.
type Parts struct {
	Router  *router.Router
	Links   *linking.Service
	Store   store.Store
	Notify  *notify.Service
	Metrics *metrics.Metrics
	// Lease says whether this replica polls and delivers (tests with
	// several replicas wait for it).
	Lease *cluster.Lease
}

// App is one running soebot.
type App struct {
	// Parts is set by New.
	Parts Parts

	cfg  Config
	opts Options
	log  *slog.Logger
	met  *metrics.Metrics

	slack  *slackapp.App
	router *router.Router
	fc     featureConfig
	home   *home.Feature
	ask    *ask.Feature
	sugg   *suggest.Feature
	db     store.Store // rawDB, metered
	// replica names this process; lease decides whether it polls; seen
	// drops Slack retries another replica handled (PostgreSQL only).
	replica string
	lease   *cluster.Lease
	seen    *cluster.Seen
	rawDB   store.Store
	keys    *vault.Keyring
	soe     *soe.Service
	links   *linking.Service
	notify  *notify.Service
	chans   *channels.Settings
	aud     *channels.Audience
	// dbOpen is true between opening and closing the store (readiness).
	dbOpen atomic.Bool
	// mux is the public server (HTTP_ADDR): link pages, the OAuth callback,
	// /healthz and /readyz. adminMux (ADMIN_ADDR) has /metrics and /admin/*.
	mux      *http.ServeMux
	adminMux *http.ServeMux
	ln       net.Listener
	adminLn  net.Listener
	srv      *http.Server
	adminSrv *http.Server

	closers []func() error
	ready   []func() bool
}

// New builds the bot from cfg. Nothing runs until Run.
func New(ctx context.Context, cfg Config, opts Options) (a *App, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a = &App{cfg: cfg, opts: opts, log: opts.Logger, met: metrics.New(), mux: http.NewServeMux(), adminMux: http.NewServeMux()}
	built := a // a is nil when New fails
	defer func() {
		if err != nil {
			_ = built.close()
		}
	}()
	// The store: opened with a lock timeout, never recreated when unreadable.
	if a.rawDB, err = OpenStorage(ctx, cfg.DatabaseURL, cfg.DBPath, a.log.With("component", "store")); err != nil {
		return nil, err
	}
	a.db = meteredStore{Store: a.rawDB, met: a.met}
	a.replica = cmp.Or(opts.ReplicaID, cluster.ReplicaID())
	var seen slackapp.Seen
	if a.rawDB.Engine() != "bbolt" { // one process on bbolt: the in-memory dedupe is enough
		a.seen = cluster.NewSeen(a.db, "slack-event/", time.Hour, nil)
		seen = a.seen
	}
	a.dbOpen.Store(true)
	db := a.db
	a.closers = append(a.closers, func() error { built.dbOpen.Store(false); return db.Close() })
	a.ready = append(a.ready, a.storeReady) // store open (and, on PostgreSQL, reachable)
	if a.keys, err = LoadKeys(cfg.TokenKey, cfg.DBPath, true, a.log); err != nil {
		return nil, err
	}
	a.soe = soe.NewService(soe.Config{
		APIURL: cfg.SOEAPIURL, UserAgent: "soebot/dev (+" + cfg.PublicURL + ")",
		HTTPClient: opts.HTTPClient, Logger: a.log.With("component", "soe"),
		OnResponse: func(method, _ string, status int, d time.Duration) {
			a.met.SOECalls.WithLabelValues(method, strconv.Itoa(status)).Inc()
			a.met.SOETime.WithLabelValues(method).Observe(d.Seconds())
		},
	})

	a.slack = slackapp.New(slackapp.Config{
		AppToken: cfg.SlackAppToken, BotToken: cfg.SlackBotToken, APIURL: cfg.SlackAPIURL,
		Workers: cmp.Or(opts.Workers, cfg.HandlerWorkers), PingInterval: opts.PingInterval, ShutdownWait: opts.ShutdownWait,
		HTTPClient: opts.HTTPClient, Logger: a.log.With("component", "slack"), Metrics: a.met, Seen: seen,
		PostRate: opts.SlackPostRate,
	})
	a.links, err = linking.New(linking.Config{
		PublicURL: cfg.PublicURL, SOEURL: cfg.SOEURL,
		WriteAccess: cfg.LinkWriteAccess, NoExpiry: cfg.LinkNoExpiry, RequireEmailMatch: cfg.LinkRequireEmailMatch,
		Now:            opts.Now,
		Limiter:        ratelimit.New(ratelimit.Config{Rate: opts.LinkRate, Burst: opts.LinkBurst, TrustedProxies: cfg.TrustedProxies, Now: opts.Now}),
		PersonalTokens: cfg.SOETeam != "",
	}, a.db, a.keys, soe.OAuthConfig{
		SiteURL: cfg.SOEURL, ClientID: cfg.SOEClientID, RedirectURL: cfg.PublicURL + "/oauth/callback", HTTPClient: opts.HTTPClient,
	}, a.soe, a.slack.Slack(), a.log.With("component", "linking"))
	if err != nil {
		return nil, err
	}
	links := a.links
	a.closers = append(a.closers, func() error { // runs before the store closes
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return links.Close(ctx)
	})
	a.chans = channels.New(a.db)
	a.aud = channels.NewAudience(a.chans, a.slack.Slack(), a.links, opts.Now)
	a.fc = featureConfig{Command: "/soe", SiteURL: cfg.SOEURL, SOETimeout: soeTimeout}
	a.router = router.New(router.Config{Command: a.fc.Command, BasicBusiness: cfg.SOETeam != ""}, router.Deps{
		Slack: a.slack.Slack(), Links: a.links, Channels: a.chans, Logger: a.log.With("component", "router"),
	})
	if err = a.addFeatures(cfg); err != nil {
		return nil, err
	}
	a.slack.SetHandler(a.router)
	a.ready = append(a.ready, a.slack.Connected)

	a.Parts = Parts{Router: a.router, Links: a.links, Store: a.db, Notify: a.notify, Metrics: a.met, Lease: a.lease}
	a.routes()
	if err = a.listen(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// routes fills the public and the admin mux. Only what browsers and probes
// need is public; metrics and admin endpoints are on ADMIN_ADDR alone.
func (a *App) routes() {
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	a.mux.HandleFunc("GET /readyz", a.readyz)
	lh := a.links.Handler()
	a.mux.Handle("/link/", lh)
	a.mux.Handle("/oauth/callback", lh)

	a.adminMux.Handle("GET /metrics", a.met.Handler())
	a.adminMux.HandleFunc("GET /admin/backup", a.serveBackup)
}

// listen binds the public and the admin listener (unless Options gave them)
// and builds both servers.
func (a *App) listen(ctx context.Context) error {
	var err error
	if a.ln = a.opts.Listener; a.ln == nil {
		if a.ln, err = new(net.ListenConfig).Listen(ctx, "tcp", a.cfg.HTTPAddr); err != nil {
			return fmt.Errorf("http server: %w", err)
		}
		a.closers = append(a.closers, closeListener(a.ln))
	}
	if a.adminLn = a.opts.AdminListener; a.adminLn == nil {
		if a.adminLn, err = new(net.ListenConfig).Listen(ctx, "tcp", a.cfg.AdminAddr); err != nil {
			return fmt.Errorf("admin server (ADMIN_ADDR): %w", err)
		}
		a.closers = append(a.closers, closeListener(a.adminLn))
	}
	errLog := slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)
	a.srv = &http.Server{Handler: a.mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}
	a.adminSrv = &http.Server{Handler: a.adminMux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}
	return nil
}

// closeListener closes a listener New opened (when Run never served it);
// after Run's shutdown it is already closed, which is fine.
func closeListener(ln net.Listener) func() error {
	return func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	}
}

func (a *App) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !a.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// storeReady is false once the store is closed and, on PostgreSQL, while
// the database does not answer a ping within a second.
func (a *App) storeReady() bool {
	if !a.dbOpen.Load() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return a.db.Ping(ctx) == nil
}

// HTTPAddr is the address the HTTP server listens on.
func (a *App) HTTPAddr() string { return a.ln.Addr().String() }

// AdminAddr is the address the admin server (/metrics, /admin/*) listens on.
func (a *App) AdminAddr() string { return a.adminLn.Addr().String() }

// Ready reports what /readyz reports.
func (a *App) Ready() bool {
	for _, ok := range a.ready {
		if !ok() {
			return false
		}
	}
	return true
}

// Run serves until ctx is done, then shuts down in order: stop taking
// envelopes, let in-flight handlers finish (bounded), stop HTTP, close the
// store. It returns nil after a clean shutdown.
func (a *App) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 5)

	servers := []struct {
		name string
		srv  *http.Server
		ln   net.Listener
	}{{"http server", a.srv, a.ln}, {"admin server", a.adminSrv, a.adminLn}}
	for _, sv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sv.srv.Serve(sv.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("%s: %w", sv.name, err)
				cancel()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.links.RunSweeper(ctx, time.Minute)
	}()
	wg.Add(1)
	go func() { defer wg.Done(); a.runNotify(ctx) }()
	wg.Go(func() { cluster.RunSweeper(ctx, a.db) }) // expired "seen lately" entries
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.slack.Run(ctx); err != nil {
			errs <- err
			cancel()
		}
	}()
	a.log.Info("soebot running", "http", a.HTTPAddr(), "admin", a.AdminAddr())
	<-ctx.Done()
	a.log.Info("soebot shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = a.srv.Shutdown(sctx)
	_ = a.adminSrv.Shutdown(sctx)
	wg.Wait()
	cerr := a.close()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if cerr != nil {
		all = append(all, cerr)
	}
	a.log.Info("soebot stopped")
	return errors.Join(all...)
}

func (a *App) close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}
