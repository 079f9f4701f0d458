// Package slackapp is the Slack transport: it holds the Socket Mode
// connection, acknowledges every envelope at once, runs the product's handler
// on a bounded worker pool, and implements chat.Slack for replies.
package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/metrics"
	"github.com/soebot/soebot/internal/ttlcache"
)

// Config configures the transport.
type Config struct {
	AppToken string // xapp-…
	BotToken string // xoxb-…
	APIURL   string // Slack Web API base, ending in "/"

	Workers        int           // concurrent handlers (default 512; most of their time is spent waiting on SOE)
	HandlerTimeout time.Duration // per-envelope deadline after the ack (default 60s)
	ShutdownWait   time.Duration // how long in-flight handlers may run after shutdown starts (default 10s)
	PingInterval   time.Duration // Socket Mode ping watchdog (default: slack-go's 30s)
	PostRate       float64       // messages per second per channel (default 1)
	// NoBurstHold starts every handler at once, even during a burst of
	// envelopes (see burstGap): for benchmarks that compare the two.
	NoBurstHold bool

	// Seen, when set, is the cluster-wide set of handled event ids: a retry
	// Slack gave to another replica's connection is dropped there too. It is
	// asked on the worker, after the ack (it may touch the database).
	Seen Seen

	HTTPClient *http.Client
	Logger     *slog.Logger
	Metrics    *metrics.Metrics
}

// Seen records handled Slack event ids across replicas (cluster.Seen).
type Seen interface {
	// First records id and reports whether nobody handled it before; on an
	// error it reports true (handling twice beats dropping).
	First(ctx context.Context, id string) (bool, error)
}

// App is the running transport.
type App struct {
	cfg     Config
	log     *slog.Logger
	met     *metrics.Metrics
	api     *slack.Client
	sm      *socketmode.Client
	client  *Client
	handler chat.Handler

	sem       chan struct{}
	inflight  sync.WaitGroup
	connected atomic.Bool
	dedupe    *ttlcache.Recent        // recent event_ids (Slack retries)
	install   atomic.Pointer[install] // auth.test's answer (grid.go)

	handlerCtx    context.Context
	cancelHandler context.CancelFunc
	ackCtx        context.Context // Run's context: acks give up when it ends

	// Up to maxIdleWorkers idle workers wait on jobs (for workerIdle at
	// most) instead of exiting: a goroutine that has run a handler keeps its
	// grown stack, so the next handler does not pay for growing a fresh one.
	jobs        chan func()
	quitWorkers chan struct{}
	workers     sync.WaitGroup
	idle        atomic.Int32

	// Burst scheduling, owned by the Run loop (see schedule).
	lastEnvelope time.Time
	// Refusals since the last "pool full" log line (Run loop only).
	refused       int
	refusedLogged time.Time
	held          []func()
	heldSince     time.Time
}

// During a burst of envelopes, handlers are started only once the socket
// goes quiet, so that their CPU does not delay the acks of the envelopes
// still queued behind them (Go has no goroutine priorities, and a goroutine
// woken by the network queues behind every runnable handler).
const (
	burstGap   = 2 * time.Millisecond   // envelopes closer than this form a burst
	burstQuiet = 500 * time.Microsecond // release held handlers after this long without an envelope
	burstHold  = 50 * time.Millisecond  // never hold a handler longer than this

	workerIdle     = 30 * time.Second // an idle worker exits after this long
	maxIdleWorkers = 8
)

// New builds the transport. Call SetHandler before Run.
func New(cfg Config) *App {
	if cfg.Workers <= 0 {
		cfg.Workers = 512
	}
	if cfg.HandlerTimeout <= 0 {
		cfg.HandlerTimeout = 60 * time.Second
	}
	if cfg.ShutdownWait <= 0 {
		cfg.ShutdownWait = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	counted := *hc
	counted.Transport = cfg.Metrics.SlackTransport(hc.Transport)
	api := slack.New(cfg.BotToken,
		slack.OptionAppLevelToken(cfg.AppToken),
		slack.OptionAPIURL(cfg.APIURL),
		slack.OptionHTTPClient(&counted),
	)
	var smOpts []socketmode.Option
	if cfg.PingInterval > 0 {
		smOpts = append(smOpts, socketmode.OptionPingInterval(cfg.PingInterval))
	}
	hctx, cancel := context.WithCancel(context.Background())
	return &App{
		cfg: cfg, log: cfg.Logger, met: cfg.Metrics, api: api,
		sm:     socketmode.New(api, smOpts...),
		client: NewClient(api, cfg.Logger, rateOr(cfg.PostRate, 1)),
		sem:    make(chan struct{}, cfg.Workers),
		dedupe: ttlcache.NewRecent(10*time.Minute, 10000),

		handlerCtx: hctx, cancelHandler: cancel, ackCtx: context.Background(),
		jobs: make(chan func()), quitWorkers: make(chan struct{}),
	}
}

// spawn runs job on an idle worker, or on a new one.
func (a *App) spawn(job func()) {
	select {
	case a.jobs <- job:
	default:
		a.workers.Add(1)
		go a.worker(job)
	}
}

func (a *App) worker(job func()) {
	defer a.workers.Done()
	timeout := time.NewTimer(workerIdle)
	defer timeout.Stop()
	for job != nil {
		job()
		if a.idle.Add(1) > maxIdleWorkers {
			a.idle.Add(-1)
			return
		}
		timeout.Reset(workerIdle)
		select {
		case job = <-a.jobs:
		case <-timeout.C:
			job = nil
		case <-a.quitWorkers:
			job = nil
		}
		a.idle.Add(-1)
	}
}

func rateOr(r, def float64) slackRate {
	if r <= 0 {
		return slackRate(def)
	}
	return slackRate(r)
}

// Slack returns the chat.Slack implementation for handlers.
func (a *App) Slack() *Client { return a.client }

// SetHandler sets the product handler. It must be called before Run.
func (a *App) SetHandler(h chat.Handler) { a.handler = h }

// Connected reports whether the Socket Mode connection is up.
func (a *App) Connected() bool { return a.connected.Load() }

// Run connects and serves envelopes until ctx is done, then waits (up to
// ShutdownWait) for in-flight handlers. It returns nil on a clean shutdown and
// an error when Slack refuses the app token.
func (a *App) Run(ctx context.Context) error {
	if a.handler == nil {
		return errors.New("slackapp: no handler set")
	}
	runCtx, stop := context.WithCancel(ctx)
	a.ackCtx = runCtx
	defer stop()
	a.learnInstall(runCtx)
	runErr := make(chan error, 1)
	go func() { runErr <- a.sm.RunContext(runCtx) }()

	var fatal error
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	defer quiet.Stop()
loop:
	for {
		var quietC <-chan time.Time
		if len(a.held) > 0 {
			if time.Since(a.heldSince) >= burstHold {
				a.release()
				continue
			}
			quiet.Reset(burstQuiet)
			quietC = quiet.C
		}
		select {
		case <-runCtx.Done():
			break loop
		case err := <-runErr:
			if ctx.Err() == nil && err != nil && !errors.Is(err, context.Canceled) {
				fatal = fmt.Errorf("slack socket mode: %w", err)
			}
			runErr = nil
			break loop
		case evt := <-a.sm.Events:
			a.dispatch(evt)
		case <-quietC:
			a.release()
		}
	}
	a.release()
	a.connected.Store(false)
	stop()
	if runErr != nil {
		<-runErr //nolint:errcheck // the loop ended on ctx: this error is that cancellation
	}
	a.drain()
	close(a.quitWorkers)
	a.workers.Wait()
	return fatal
}

// drain waits for in-flight handlers, cancelling them after ShutdownWait.
func (a *App) drain() {
	done := make(chan struct{})
	go func() { a.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(a.cfg.ShutdownWait):
		a.log.Warn("shutdown: cancelling handlers still running", "wait", a.cfg.ShutdownWait)
		a.cancelHandler()
		<-done
	}
	a.cancelHandler()
}

// dispatch handles one Socket Mode event, on the loop that reads them: it
// must never wait on a handler.
func (a *App) dispatch(evt socketmode.Event) {
	if a.connectionEvent(evt) || evt.Request == nil {
		return
	}
	start := time.Now()
	env := envelopeOf(evt, start)
	if env == nil {
		a.ack(evt.Request, nil, start)
		a.log.Warn("slack envelope not understood", "type", evt.Request.Type, "event", string(evt.Type))
		return
	}
	orgFields(env, a.install.Load())
	a.met.Envelopes.WithLabelValues(env.Type).Inc()

	if env.EventID != "" && !a.dedupe.First(env.EventID, start) {
		a.ack(evt.Request, nil, start)
		a.log.Info("duplicate event delivery ignored", "event_id", env.EventID, "retry_attempt", env.RetryAttempt)
		return
	}
	a.handOff(evt.Request, env, start)
}

// connectionEvent handles the events about the connection itself (and
// envelopes slack-go could not decode). It reports whether evt was one.
func (a *App) connectionEvent(evt socketmode.Event) bool {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		a.connected.Store(true)
		a.log.Info("slack socket mode connected")
	case socketmode.EventTypeConnecting:
		a.connected.Store(false)
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		a.connected.Store(false)
		a.log.Warn("slack socket mode connection problem", "event", string(evt.Type))
	case socketmode.EventTypeInvalidAuth:
		a.connected.Store(false)
		a.log.Error("slack refused the app token (invalid_auth)")
	case socketmode.EventTypeHello, socketmode.EventTypeDisconnect:
	case socketmode.EventTypeErrorBadMessage:
		a.ackUndecodable(evt)
	default:
		return false
	}
	return true
}

// envelopeOf is the handler's view of a request envelope received at start,
// or nil for a kind of envelope the app does not understand.
func envelopeOf(evt socketmode.Event, start time.Time) *chat.Envelope {
	env := &chat.Envelope{ID: evt.Request.EnvelopeID, Type: evt.Request.Type, RetryAttempt: evt.Request.RetryAttempt, Raw: evt.Request.Payload, Received: start}
	switch d := evt.Data.(type) {
	case slack.SlashCommand:
		env.Slash, env.TeamID, env.UserID = &d, d.TeamID, d.UserID
	case slack.InteractionCallback:
		env.Interaction, env.TeamID, env.UserID = &d, d.Team.ID, d.User.ID
	case slackevents.EventsAPIEvent:
		env.Event, env.TeamID = &d, d.TeamID
		var outer struct {
			EventID string `json:"event_id"`
			Event   struct {
				User string `json:"user"`
			} `json:"event"`
		}
		_ = json.Unmarshal(evt.Request.Payload, &outer)
		env.EventID, env.UserID = outer.EventID, outer.Event.User
	default:
		return nil
	}
	return env
}

// handOff acks env and runs its handler on the pool, or refuses it when the
// pool is full.
func (a *App) handOff(req *socketmode.Request, env *chat.Envelope, start time.Time) {
	select {
	case a.sem <- struct{}{}:
	default:
		a.busy(req, env, start)
		return
	}
	if env.Interaction != nil && env.Interaction.Type == slack.InteractionTypeBlockSuggestion {
		// The ack carries options that may need an SOE lookup: compute it
		// on the worker so the socket reader never waits.
		a.inflight.Add(1)
		a.spawn(func() {
			defer a.inflight.Done()
			defer func() { <-a.sem }()
			a.ack(req, a.safeAck(env), start)
		})
		return
	}
	// Everything else acks right here, before any work: Ack does no I/O.
	a.ack(req, a.safeAck(env), start)
	a.inflight.Add(1)
	a.schedule(start, func() {
		defer a.inflight.Done()
		defer func() { <-a.sem }()
		if a.seenElsewhere(env) {
			return
		}
		a.run(env)
	})
}

// schedule starts a handler at once, or holds it while a burst of envelopes
// is being acked (see burstGap).
func (a *App) schedule(now time.Time, job func()) {
	if a.cfg.NoBurstHold {
		a.spawn(job)
		return
	}
	inBurst := now.Sub(a.lastEnvelope) < burstGap
	a.lastEnvelope = now
	if !inBurst && len(a.held) == 0 {
		a.spawn(job)
		return
	}
	if len(a.held) == 0 {
		a.heldSince = now
	}
	a.held = append(a.held, job)
}

// release starts every held handler.
func (a *App) release() {
	for _, job := range a.held {
		a.spawn(job)
	}
	clear(a.held)
	a.held = a.held[:0]
}

// ackUndecodable acks an envelope slack-go could not decode (so Slack does
// not retry it forever) and logs it without its payload.
func (a *App) ackUndecodable(evt socketmode.Event) {
	bad, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	var req struct {
		EnvelopeID string `json:"envelope_id"`
		Type       string `json:"type"`
	}
	_ = json.Unmarshal(bad.Message, &req)
	a.met.HandlerErrors.WithLabelValues(req.Type, "undecodable").Inc()
	a.log.Warn("slack envelope could not be decoded", "envelope_type", req.Type, "err", bad.Cause)
	if req.EnvelopeID == "" {
		return
	}
	if err := a.sm.AckCtx(a.ackCtx, req.EnvelopeID, nil); err != nil {
		a.log.Error("ack failed", "envelope_type", req.Type, "err", err)
	}
}

func (a *App) ack(req *socketmode.Request, payload any, start time.Time) {
	// slack-go queues the ack for its socket writer, which is gone once the
	// connection is shutting down: a plain Ack would then block the
	// dispatch loop for ever, and Run would never return.
	err := a.sm.AckCtx(a.ackCtx, req.EnvelopeID, payload)
	a.met.AckLatency.Observe(time.Since(start).Seconds())
	if err != nil {
		a.log.Error("ack failed", "envelope_type", req.Type, "err", err)
	}
}

// safeAck asks the handler for the ack payload, turning a panic into an
// apology (for slash commands) or an empty ack.
func (a *App) safeAck(env *chat.Envelope) (payload any) {
	defer func() {
		if r := recover(); r != nil {
			a.met.HandlerErrors.WithLabelValues(env.Type, "panic").Inc()
			a.log.Error("handler panic while acking", "envelope_type", env.Type, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			payload = nil
			if env.Slash != nil {
				payload = chat.SlashAck(apology())
			}
		}
	}()
	return a.handler.Ack(a.handlerCtx, env)
}

func (a *App) run(env *chat.Envelope) {
	ctx, cancel := context.WithTimeout(a.handlerCtx, a.cfg.HandlerTimeout)
	defer cancel()
	start := time.Now()
	defer func() {
		a.met.Handling.WithLabelValues(env.Type).Observe(time.Since(start).Seconds())
		if r := recover(); r != nil {
			a.met.HandlerErrors.WithLabelValues(env.Type, "panic").Inc()
			a.log.Error("handler panic", "envelope_type", env.Type, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			a.tell(ctx, env, apology())
		}
	}()
	a.handler.Handle(ctx, env)
}

// seenElsewhere reports whether another replica already handled env's
// event (a Slack retry that reached a different connection).
func (a *App) seenElsewhere(env *chat.Envelope) bool {
	if a.cfg.Seen == nil || env.EventID == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(a.handlerCtx, 5*time.Second)
	defer cancel()
	first, err := a.cfg.Seen.First(ctx, env.EventID)
	if err != nil {
		a.log.Warn("cannot check the cluster's seen events; handling the event", "event_id", env.EventID, "err", err)
	}
	if !first {
		a.log.Info("event already handled by another replica; ignored", "event_id", env.EventID, "retry_attempt", env.RetryAttempt)
	}
	return !first
}

// busy acks an envelope the pool has no room for and tells the user to retry.
func (a *App) busy(req *socketmode.Request, env *chat.Envelope, start time.Time) {
	a.met.HandlerErrors.WithLabelValues(env.Type, "busy").Inc()
	// One line a second at most: a burst refuses hundreds at once.
	a.refused++
	if start.Sub(a.refusedLogged) >= time.Second {
		a.log.Warn("worker pool full; envelopes refused", "envelope_type", env.Type, "refused_since_last_log", a.refused, "workers", cap(a.sem))
		a.refused, a.refusedLogged = 0, start
	}
	msg := busyMessage()
	switch {
	case env.Slash != nil:
		a.ack(req, chat.SlashAck(msg), start)
	case env.Interaction != nil && env.Interaction.Type == slack.InteractionTypeViewSubmission:
		// Keep the user's modal (and what they typed) and push a notice on top.
		a.ack(req, slack.NewPushViewSubmissionResponse(&slack.ModalViewRequest{
			Type:   slack.VTModal,
			Title:  slack.NewTextBlockObject(slack.PlainTextType, "Busy", false, false),
			Close:  slack.NewTextBlockObject(slack.PlainTextType, "Back", false, false),
			Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, msg.Text, false, true), nil, nil)}},
		}), start)
	default:
		a.ack(req, nil, start)
		if env.ResponseURL() != "" || (env.UserID != "" && env.ChannelID() != "") {
			a.inflight.Add(1)
			go func() {
				defer a.inflight.Done()
				ctx, cancel := context.WithTimeout(a.handlerCtx, 5*time.Second)
				defer cancel()
				a.tell(ctx, env, msg)
			}()
		}
	}
}

// tell shows m to the user behind env, by whatever channel is available.
func (a *App) tell(ctx context.Context, env *chat.Envelope, m chat.Message) {
	if err := chat.Reply(ctx, a.client, a.log, env, m); err != nil {
		a.log.Warn("could not tell the user", "envelope_type", env.Type, "err", err)
	}
}

func apology() chat.Message {
	return chat.Message{Text: ":warning: Sorry, something went wrong on our side while handling that. It has been logged; please try again."}
}

func busyMessage() chat.Message {
	return chat.Message{Text: ":hourglass: soebot is very busy right now and could not take that. Please try again in a moment."}
}
