// Package slackfake is a faithful, stateful fake of the parts of Slack that the
// soebot app talks to: Socket Mode (apps.connections.open + a WebSocket that
// sends hello, pings and envelopes and records acks), a small Web API
// (chat.*, conversations.*, users.*, views.*, auth.test, team.info) and
// response_url hooks.
//
// The real slack-go client connects to it:
//
//	f := slackfake.New(slackfake.Options{})
//	defer f.Close()
//	api := slack.New(f.BotToken(), slack.OptionAppLevelToken(f.AppToken()), slack.OptionAPIURL(f.APIURL()))
//	sm := socketmode.New(api)
//
// Several socketmode clients (replicas of one app) may connect at once, up to
// Options.MaxConnections (10, as on Slack; one more gets a
// too_many_websockets disconnect). Each envelope goes to one live connection
// chosen at random (Options.Seed), Sent.Conn names it, an ack counts only on
// that connection, and with Options.EventRetries an unacked event is retried
// (new envelope, same event_id, retry_attempt+1) after EventRetryAfter or at
// once when its connection closes. See conns.go.
//
// Everything works without a *testing.T (methods return values and errors);
// thin helpers that take a testing.TB live in testing.go (see Fake.T).
package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Fake. The zero value is usable.
type Options struct {
	AppToken, BotToken           string // defaults "xapp-1-test", "xoxb-test"
	TeamID, TeamName, TeamDomain string // defaults "T0ACME", "Acme", "acme"
	PingEvery                    time.Duration
	TriggerTTL                   time.Duration // default 3s
	ResponseURLTTL               time.Duration // default 30m; 5 uses
	Now                          func() time.Time
	// PostRatePerChannel, if >0, answers chat.postMessage calls that come faster
	// than this many per second in one channel with HTTP 429 + Retry-After.
	PostRatePerChannel float64
	Logger             *slog.Logger

	// Additions.

	AppID     string // default "A0SOEBOT"
	BotID     string // default "B0SOEBOT"
	BotUserID string // default "UBOT"
	BotName   string // default "soebot"
	// ResponseURLErrorStatus is the HTTP status used for response_url posts that
	// are refused (used_url, expired_url, invalid_url). Default 404, as Slack does;
	// the body is always {"ok":false,"error":...}. Set 200 to make slack-go
	// surface a slack.SlackErrorResponse carrying the error name instead of a
	// slack.StatusCodeError.
	ResponseURLErrorStatus int
	// ResponseURLMaxUses defaults to 5.
	ResponseURLMaxUses int
	// Addr is the listen address; default "127.0.0.1:0" (a free port).
	Addr string
	// SendWait is how long the driving methods (SlashCommand, Event, ...) wait
	// for a connected socket. Default 5s.
	SendWait time.Duration

	// Several Socket Mode connections (replicas of one app).

	// MaxConnections is how many Socket Mode connections the app may hold at
	// once; default 10, Slack's limit. A connection beyond it is refused the
	// way Slack does: the WebSocket opens, gets {"type":"disconnect",
	// "reason":"too_many_websockets"} instead of hello, and is closed.
	MaxConnections int
	// Seed seeds the random choice of the connection each envelope goes to
	// (0: a seed from the clock). Two fakes with the same non-zero Seed and the
	// same sequence of connections and sends choose alike.
	Seed uint64
	// EventRetries, if > 0, makes the fake retry an events_api envelope that
	// is not acked, as Slack does, up to this many times (Slack: 3). A retry is
	// a new envelope (new envelope_id, same event_id) with retry_attempt 1, 2,
	// … and retry_reason "timeout", sent to a connection chosen at random.
	// It is sent EventRetryAfter after the previous attempt, or at once when
	// the connection the attempt went to closes before acking it.
	// Default 0: no automatic retries (EventWithID sends retries by hand).
	EventRetries int
	// EventRetryAfter is how long an events_api envelope waits for its ack
	// before it is retried (with EventRetries > 0). Default 3s.
	EventRetryAfter time.Duration
}

// Fake is a fake Slack workspace + Socket Mode endpoint. Create it with New.
type Fake struct {
	opts Options
	log  *slog.Logger
	srv  *httptest.Server

	closeOnce sync.Once
	closed    chan struct{}
	wg        sync.WaitGroup // socket handler goroutines

	mu      sync.Mutex
	changed chan struct{}    // closed and replaced on every state change
	files   map[string]*File // uploads by file id (files.go)
	isDone  bool

	seq    uint64 // id counters
	lastTS int64  // last message ts in microseconds

	users    map[string]*User
	channels map[string]*Channel

	history    map[string][]*msgRec // channel -> messages in post order
	ephemerals []*msgRec
	responses  map[string][]Message // response_url -> posts
	hooks      map[string]*hook     // hook id -> hook
	triggers   map[string]*trigger
	unfurls    map[string]map[string]json.RawMessage // channel+"/"+ts -> url -> attachment
	unfurlIDs  map[string][2]string                  // unfurl_id -> channel, ts

	views      map[string]*viewRec
	stacks     map[string][]string // user -> modal view ids, root first
	homes      map[string]string   // user -> home view id
	viewErrors map[string]map[string]string

	calls    []Call
	observer func(Call)
	acks     []Ack
	firstAck map[string]int // envelope id -> index in acks of its first ack

	envelopes map[string]*envelope
	sentOrder []string
	conns     []*wsConn        // live connections (newest last)
	sockets   map[*wsConn]bool // every open socket, live or not
	tickets   map[string]bool
	opens     int
	rng       *rand.Rand // connection choice; f.mu guards it
	connSeq   int        // last connection id
	joining   int        // sockets admitted, hello not yet written
	refused   int        // sockets refused with too_many_websockets

	rateLimits map[string]*fault
	fails      map[string]*fault
	latency    map[string]time.Duration
	lastPost   map[string]time.Time
}

// User is a workspace member.
type User struct {
	ID, Name, RealName, Email string
	IsBot                     bool
	TZ                        string
	// IsAdmin and IsOwner are the workspace roles users.info reports (an
	// owner is an admin too, as in Slack).
	IsAdmin, IsOwner bool
	// Deleted: deactivated (users.info says deleted; conversations.open
	// fails with user_disabled). DMsClosed: the user turned off the app's
	// messages (conversations.open fails with messages_tab_disabled).
	Deleted, DMsClosed bool
}

// Channel is a conversation. Members includes the bot user id when the bot is a member.
type Channel struct {
	ID, Name          string
	Private, Archived bool
	Members           []string
	// ExtShared: a Slack Connect channel (shared with another organization);
	// its events say is_ext_shared_channel.
	ExtShared bool
}

type fault struct {
	times      int
	retryAfter time.Duration
	slackErr   string
}

// New starts a fake Slack on 127.0.0.1 (an httptest.Server). It panics if it
// cannot listen on Options.Addr; use Start to get an error instead.
func New(opts Options) *Fake {
	f, err := Start(opts)
	if err != nil {
		panic(err)
	}
	return f
}

// Start is New returning an error instead of panicking.
func Start(opts Options) (*Fake, error) {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&opts.AppToken, "xapp-1-test")
	def(&opts.BotToken, "xoxb-test")
	def(&opts.TeamID, "T0ACME")
	def(&opts.TeamName, "Acme")
	def(&opts.TeamDomain, "acme")
	def(&opts.AppID, "A0SOEBOT")
	def(&opts.BotID, "B0SOEBOT")
	def(&opts.BotUserID, "UBOT")
	def(&opts.BotName, "soebot")
	if opts.PingEvery <= 0 {
		opts.PingEvery = 5 * time.Second
	}
	if opts.TriggerTTL <= 0 {
		opts.TriggerTTL = 3 * time.Second
	}
	if opts.ResponseURLTTL <= 0 {
		opts.ResponseURLTTL = 30 * time.Minute
	}
	if opts.ResponseURLMaxUses <= 0 {
		opts.ResponseURLMaxUses = 5
	}
	if opts.ResponseURLErrorStatus == 0 {
		opts.ResponseURLErrorStatus = http.StatusNotFound
	}
	if opts.SendWait <= 0 {
		opts.SendWait = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = 10
	}
	if opts.EventRetryAfter <= 0 {
		opts.EventRetryAfter = 3 * time.Second
	}
	seed := opts.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	f := &Fake{
		opts:       opts,
		log:        lg,
		closed:     make(chan struct{}),
		changed:    make(chan struct{}),
		users:      map[string]*User{},
		channels:   map[string]*Channel{},
		history:    map[string][]*msgRec{},
		responses:  map[string][]Message{},
		hooks:      map[string]*hook{},
		triggers:   map[string]*trigger{},
		unfurls:    map[string]map[string]json.RawMessage{},
		unfurlIDs:  map[string][2]string{},
		views:      map[string]*viewRec{},
		stacks:     map[string][]string{},
		homes:      map[string]string{},
		viewErrors: map[string]map[string]string{},
		envelopes:  map[string]*envelope{},
		firstAck:   map[string]int{},
		tickets:    map[string]bool{},
		sockets:    map[*wsConn]bool{},
		rateLimits: map[string]*fault{},
		fails:      map[string]*fault{},
		latency:    map[string]time.Duration{},
		lastPost:   map[string]time.Time{},
		rng:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), //nolint:gosec // G404: picks a socket, not a secret
	}
	f.users[opts.BotUserID] = &User{ID: opts.BotUserID, Name: opts.BotName, RealName: opts.BotName, IsBot: true}

	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", f.serveAPI)
	mux.HandleFunc("GET /link", f.serveLink)
	mux.HandleFunc("/hooks/{id}", f.serveHook)
	mux.HandleFunc("/upload/{id}", f.serveUpload)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Catch-all: a request that lost the /api/ prefix (e.g. an API URL without
		// the trailing slash) ends up here.
		f.log.Warn("slackfake: unexpected request", "method", r.Method, "path", r.URL.Path)
		http.Error(w, "slackfake: no such endpoint "+r.URL.Path+" (is the API URL missing its trailing slash?)", http.StatusNotFound)
	})
	srv := httptest.NewUnstartedServer(mux)
	if opts.Addr != "" {
		l, err := new(net.ListenConfig).Listen(context.Background(), "tcp", opts.Addr)
		if err != nil {
			_ = srv.Listener.Close()
			return nil, fmt.Errorf("slackfake: listen %s: %w", opts.Addr, err)
		}
		_ = srv.Listener.Close()
		srv.Listener = l
	}
	srv.Start()
	f.srv = srv
	return f, nil
}

// Close stops the server and closes every socket. It is safe to call twice.
func (f *Fake) Close() {
	f.closeOnce.Do(func() {
		f.mu.Lock()
		f.isDone = true
		var conns []*wsConn
		for c := range f.sockets {
			conns = append(conns, c)
		}
		f.conns = nil
		f.notifyLocked()
		f.mu.Unlock()
		close(f.closed)
		for _, c := range conns {
			c.close()
		}
		f.srv.CloseClientConnections()
		f.srv.Close()
		f.wg.Wait()
	})
}

// URL is the base URL of the fake server (http://127.0.0.1:PORT).
func (f *Fake) URL() string { return f.srv.URL }

// APIURL is the Web API base URL with its trailing slash, for slack.OptionAPIURL.
func (f *Fake) APIURL() string { return f.srv.URL + "/api/" }

// AppToken returns the app-level token (xapp-…).
func (f *Fake) AppToken() string { return f.opts.AppToken }

// BotToken returns the bot token (xoxb-…).
func (f *Fake) BotToken() string { return f.opts.BotToken }

// TeamID returns the workspace id.
func (f *Fake) TeamID() string { return f.opts.TeamID }

// BotUserID returns the bot's user id (also returned by auth.test).
func (f *Fake) BotUserID() string { return f.opts.BotUserID }

// AppID returns the app id used in payloads.
func (f *Fake) AppID() string { return f.opts.AppID }

// AddUser adds or replaces a workspace member.
func (f *Fake) AddUser(u User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := u
	f.users[u.ID] = &cp
	f.notifyLocked()
}

// AddChannel adds or replaces a channel.
func (f *Fake) AddChannel(c Channel) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := c
	cp.Members = slices.Clone(c.Members)
	f.channels[c.ID] = &cp
	f.notifyLocked()
}

// SetCallObserver registers fn to be called (synchronously, without locks held)
// after every Web API call, response_url post and ack check is recorded.
func (f *Fake) SetCallObserver(fn func(Call)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.observer = fn
}

// RateLimit makes the next `times` calls of method answer HTTP 429 with a
// Retry-After header (whole seconds, rounded up). method may also be
// "response_url" for posts to response URLs.
func (f *Fake) RateLimit(method string, times int, retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rateLimits[method] = &fault{times: times, retryAfter: retryAfter}
}

// FailMethod makes the next `times` calls of method answer {"ok":false,"error":slackError}.
func (f *Fake) FailMethod(method, slackError string, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails[method] = &fault{times: times, slackErr: slackError}
}

// SetLatency delays every answer of method by d (0 removes it).
func (f *Fake) SetLatency(method string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d <= 0 {
		delete(f.latency, method)
		return
	}
	f.latency[method] = d
}

func (f *Fake) now() time.Time { return f.opts.Now() }

// notifyLocked wakes every waiter. f.mu must be held.
func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// nextID returns a fresh sequence number. f.mu must be held.
func (f *Fake) nextIDLocked() uint64 {
	f.seq++
	return f.seq
}

// nextTSLocked returns a new, strictly increasing message timestamp derived
// from the clock ("1700000000.000100" style). f.mu must be held.
func (f *Fake) nextTSLocked() string {
	us := f.now().UnixMicro()
	if us <= f.lastTS {
		us = f.lastTS + 1
	}
	f.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1_000_000, us%1_000_000)
}

// observeTSLocked keeps later timestamps above a ts supplied from outside.
func (f *Fake) observeTSLocked(ts string) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err1 := strconv.ParseInt(sec, 10, 64)
	us, err2 := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	if err1 == nil && err2 == nil && s*1_000_000+us > f.lastTS {
		f.lastTS = s*1_000_000 + us
	}
}

// waitUntil calls check (with f.mu held) every time the state changes until it
// reports done, ctx ends or the fake is closed.
func waitUntil[T any](ctx context.Context, f *Fake, check func() (T, bool)) (T, error) {
	for {
		f.mu.Lock()
		v, ok := check()
		ch := f.changed
		done := f.isDone
		f.mu.Unlock()
		if ok {
			return v, nil
		}
		if done {
			var zero T
			return zero, errClosed
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-ch:
		}
	}
}

var errClosed = fmt.Errorf("slackfake: closed")

func maskToken(tok string) string {
	if tok == "" {
		return ""
	}
	if i := strings.IndexByte(tok, '-'); i > 0 {
		return tok[:i+1] + "…"
	}
	return "…"
}
