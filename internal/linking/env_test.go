package linking

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/vault"
)

// fakeSlack implements the few chat.Slack methods linking uses; any other
// call panics through the nil embedded interface.
type fakeSlack struct {
	chat.Slack
	mu       sync.Mutex
	team     string
	users    map[string]*slack.User
	dms      []sentDM
	infoErr  error
	infoCall atomic.Int32
}

type sentDM struct {
	User string
	Msg  chat.Message
}

func newFakeSlack() *fakeSlack {
	f := &fakeSlack{team: "Acme", users: map[string]*slack.User{}}
	for _, n := range []string{"alice", "bob", "carol"} {
		u := &slack.User{ID: "U" + strings.ToUpper(n), Name: n, RealName: strings.ToUpper(n[:1]) + n[1:]}
		u.Profile.Email = n + "@acme.example"
		f.users[u.ID] = u
	}
	return f
}

// set changes the fake under its lock.
func (f *fakeSlack) set(fn func(f *fakeSlack)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeSlack) TeamName(context.Context) string { return f.team }

func (f *fakeSlack) UserInfo(_ context.Context, id string) (*slack.User, error) {
	f.infoCall.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.infoErr != nil {
		return nil, f.infoErr
	}
	u, ok := f.users[id]
	if !ok {
		return nil, &chat.Error{Method: "users.info", Code: "user_not_found"}
	}
	c := *u
	return &c, nil
}

func (f *fakeSlack) DM(_ context.Context, user string, m chat.Message) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dms = append(f.dms, sentDM{user, m})
	return "D" + user, "1.0", nil
}

func (f *fakeSlack) DMs(user string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, d := range f.dms {
		if d.User == user {
			out = append(out, d.Msg.Text)
		}
	}
	return out
}

func (f *fakeSlack) allDMText() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for _, d := range f.dms {
		b.WriteString(d.Msg.Text + "\n")
	}
	return b.String()
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type tenv struct {
	t      *testing.T
	soe    *soefake.Server
	slack  *fakeSlack
	db     *store.DB
	dbPath string
	keys   *vault.Keyring
	api    *soe.Service
	svc    *Service
	srv    *httptest.Server
	public string
	offset atomic.Int64 // clock offset, ns
	logs   *syncBuffer
	log    *slog.Logger
	cfg    Config

	writes int // questions posted by write (access_test.go)

	hookMu sync.Mutex
	hooked []Link
	resume []*Resume
}

const team = "T0ACME"

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, vault.KeySize) }

func newEnv(t *testing.T, mods ...func(*Config, *soefake.Options)) *tenv {
	t.Helper()
	e := &tenv{t: t, slack: newFakeSlack(), logs: &syncBuffer{}}
	e.log = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fo := soefake.Options{AutoApprove: true, Seed: true}
	e.cfg = Config{WriteAccess: true, NoExpiry: true, RequireEmailMatch: true,
		Now: func() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }}
	for _, m := range mods {
		m(&e.cfg, &fo)
	}
	e.soe = soefake.New(fo)
	t.Cleanup(e.soe.Close)

	var h atomic.Value
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.public = e.srv.URL
	e.cfg.PublicURL = e.public
	e.cfg.SOEURL = e.soe.SiteURL()

	e.dbPath = filepath.Join(t.TempDir(), "soebot.db")
	db, err := store.Open(e.dbPath, store.Options{Timeout: time.Second, Buckets: Buckets(), Migrations: Migrations(), Logger: e.log})
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	t.Cleanup(func() { _ = db.Close() })
	e.keys, err = vault.NewKeyring(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	e.api = soe.NewService(soe.Config{APIURL: e.soe.APIURL(), Logger: e.log, MaxRetries: 1})
	e.svc = e.newService(e.keys)
	e.svc.OnLinked(func(_ context.Context, l Link, r *Resume) {
		e.hookMu.Lock()
		defer e.hookMu.Unlock()
		e.hooked = append(e.hooked, l)
		e.resume = append(e.resume, r)
	})
	h.Store(e.svc.Handler())
	t.Cleanup(func() { _ = e.svc.Close(context.Background()) })
	return e
}

func (e *tenv) newService(keys *vault.Keyring) *Service {
	e.t.Helper()
	svc, err := New(e.cfg, e.db, keys, soe.OAuthConfig{SiteURL: e.soe.URL(), ClientID: e.soe.ClientID(), RedirectURL: e.public + "/oauth/callback"},
		e.api, e.slack, e.log)
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

func (e *tenv) advance(d time.Duration) { e.offset.Add(int64(d)) }

// browser is an http.Client with its own cookie jar, logged in at the fake
// SOE as login. It stops before following the redirect to the callback.
func (e *tenv) browser(login string) *http.Client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.soe.URL())
	jar.SetCookies(u, []*http.Cookie{{Name: "login", Value: login, Path: "/"}})
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/oauth/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

func (e *tenv) begin(user string, scope soe.Scope, r *Resume) string {
	e.t.Helper()
	u, err := e.svc.Begin(context.Background(), team, user, scope, r)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

type page struct {
	Status int
	Body   string
	Header http.Header
}

func do(t *testing.T, c *http.Client, req *http.Request) page {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(b), resp.Header}
}

func get(t *testing.T, c *http.Client, u string) page {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	return do(t, c, req)
}

// continueFlow presses Continue on linkURL and follows the redirects to the
// fake SOE; it returns the callback URL SOE sent the browser to.
func (e *tenv) continueFlow(c *http.Client, linkURL string) string {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(e.t.Context(), http.MethodPost, linkURL, nil)
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, e.public+"/oauth/callback?") {
		e.t.Fatalf("continue: status %d location %q", resp.StatusCode, loc)
	}
	return loc
}

// link runs the whole flow for user as SOE login and returns the final page.
func (e *tenv) link(user, login string, scope soe.Scope) page {
	e.t.Helper()
	c := e.browser(login)
	u := e.begin(user, scope, nil)
	if p := get(e.t, c, u); p.Status != 200 {
		e.t.Fatalf("link page: %d %s", p.Status, p.Body)
	}
	return get(e.t, c, e.continueFlow(c, u))
}

func (e *tenv) links(user string) []Link {
	e.t.Helper()
	ls, err := e.svc.Links(context.Background(), team, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return ls
}

func (e *tenv) countLinks() int {
	n := 0
	_ = e.db.View(context.Background(), func(txn store.Tx) error {
		n = txn.Bucket(bucketLinks).Len()
		return nil
	})
	return n
}

func (e *tenv) waitHooks(n int) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.hookMu.Lock()
		got := len(e.hooked)
		e.hookMu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("OnLinked ran %d times, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newRecorder serves one request with svc's handler in this goroutine.
func newRecorder(t testing.TB, svc *Service, method, target string, cookies []*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(t.Context(), method, target, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	svc.Handler().ServeHTTP(rec, req)
	return rec
}
