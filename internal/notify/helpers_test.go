package notify

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/slackapp"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
	"github.com/soebot/soebot/internal/store"
)

const team = "T0ACME"

// Channels of the test workspace.
const (
	chGeneral  = "CGENERAL"  // public, bot member
	chRandom   = "CRANDOM"   // public, bot not member
	chPrivate  = "CPRIVATE"  // private, bot member
	chArchived = "CARCHIVED" // archived
	chOps      = "COPS"      // public, bot member
)

// fakeLinks is an in-memory linking service.
type fakeLinks struct {
	mu    sync.Mutex
	svc   *soe.Service
	links map[string]*fakeLink
}

type fakeLink struct {
	l     linking.Link
	token string
}

func (f *fakeLinks) key(team, user string, scope soe.Scope) string {
	return team + "/" + user + "/" + scope.Key()
}

func (f *fakeLinks) add(team, user string, scope soe.Scope, soeUser int, token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links[f.key(team, user, scope)] = &fakeLink{l: linking.Link{TeamID: team, UserID: user, Scope: scope, SOEUserID: soeUser, WriteAccess: true}, token: token}
}

func (f *fakeLinks) ScopeLinks(_ context.Context, scope soe.Scope) ([]linking.Link, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []linking.Link
	for _, fl := range f.links {
		if fl.l.Scope == scope && !fl.l.Invalid {
			out = append(out, fl.l)
		}
	}
	return out, nil
}

func (f *fakeLinks) Links(_ context.Context, team, user string) ([]linking.Link, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []linking.Link
	for _, fl := range f.links {
		if fl.l.TeamID == team && fl.l.UserID == user {
			out = append(out, fl.l)
		}
	}
	return out, nil
}

func (f *fakeLinks) ClientFor(_ context.Context, l linking.Link) (*soe.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.links[f.key(l.TeamID, l.UserID, l.Scope)]
	switch {
	case fl == nil:
		return nil, linking.ErrNotLinked
	case fl.l.Invalid:
		return nil, linking.ErrLinkInvalid
	}
	return f.svc.Client(l.Scope, fl.token), nil
}

func (f *fakeLinks) Invalidate(_ context.Context, team, user string, scope soe.Scope, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl := f.links[f.key(team, user, scope)]; fl != nil {
		fl.l.Invalid, fl.l.InvalidReason = true, reason
	}
	return nil
}

func (f *fakeLinks) valid(team, user string, scope soe.Scope) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.links[f.key(team, user, scope)]
	return fl != nil && !fl.l.Invalid
}

// env is one notify Service against the fake SOE and the fake Slack.
type env struct {
	t     testing.TB
	dir   string
	db    *store.DB
	soe   *soefake.Server
	slack *slackfake.Fake
	chat  *slackapp.Client
	links *fakeLinks
	svc   *Service
	opts  Options
}

func testLogger() *slog.Logger {
	if os.Getenv("NOTIFY_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newEnv(t testing.TB, mods ...func(*Options)) *env {
	t.Helper()
	return newEnvAt(t, nil, mods...)
}

// newEnvAt is newEnv with one clock for the fakes and the Service (nil:
// the wall clock).
func newEnvAt(t testing.TB, now func() time.Time, mods ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.soe = soefake.New(soefake.Options{Seed: true, Now: now})
	t.Cleanup(e.soe.Close)
	e.slack = slackfake.New(slackfake.Options{Now: now})
	t.Cleanup(e.slack.Close)
	var everyone []string
	for _, u := range e.soe.Users() {
		id := slackID(u.Login)
		everyone = append(everyone, id)
		e.slack.AddUser(slackfake.User{ID: id, Name: u.Login, RealName: u.Name, Email: u.Email})
	}
	bot := e.slack.BotUserID()
	e.slack.AddChannel(slackfake.Channel{ID: chGeneral, Name: "general", Members: append([]string{bot}, everyone...)})
	e.slack.AddChannel(slackfake.Channel{ID: chOps, Name: "ops", Members: append([]string{bot}, everyone...)})
	e.slack.AddChannel(slackfake.Channel{ID: chRandom, Name: "random", Members: everyone})
	e.slack.AddChannel(slackfake.Channel{ID: chPrivate, Name: "private", Private: true, Members: append([]string{bot}, everyone...)})
	e.slack.AddChannel(slackfake.Channel{ID: chArchived, Name: "old", Archived: true, Members: append([]string{bot}, everyone...)})
	api := slack.New(e.slack.BotToken(), slack.OptionAPIURL(e.slack.APIURL()))
	e.chat = slackapp.NewClient(api, testLogger(), 1000)
	e.links = &fakeLinks{links: map[string]*fakeLink{},
		svc: soe.NewService(soe.Config{APIURL: e.soe.APIURL(), RetryBackoff: time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond})}
	e.opts = Options{Slack: e.chat, Links: e.links, Logger: testLogger(), Interval: time.Minute, Now: now}
	for _, m := range mods {
		m(&e.opts)
	}
	e.open()
	t.Cleanup(func() { e.db.Close() })
	return e
}

// open (re)opens the database and builds a new Service on it, like a restart.
func (e *env) open() {
	e.t.Helper()
	if e.db != nil {
		_ = e.db.Close()
	}
	db, err := store.Open(filepath.Join(e.dir, "notify.db"), store.Options{Buckets: Buckets()})
	if err != nil {
		e.t.Fatal(err)
	}
	e.db = db
	o := e.opts
	o.DB = db
	svc, err := New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc = svc
}

func slackID(login string) string { return "U" + strings.ToUpper(login) }

// link connects a seed SOE user (by login) for scope.
func (e *env) link(login string, scope soe.Scope) string {
	u := e.soe.UserByName(login)
	tok := e.soe.MintToken(u.ID, soe.ScopeWriteAccess, soe.ScopeNoExpiry, soe.ScopeAccessTeam)
	e.links.add(team, slackID(login), scope, u.ID, tok)
	return tok
}

func (e *env) client(login string, scope soe.Scope) *soe.Client {
	e.t.Helper()
	c, err := e.links.ClientFor(context.Background(), linking.Link{TeamID: team, UserID: slackID(login), Scope: scope})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// subscribe creates a subscription as login (linked first) and primes its scope.
func (e *env) subscribe(login, channel string, scope soe.Scope, kinds Kind, tags ...string) Subscription {
	e.t.Helper()
	ctx := context.Background()
	if !e.links.valid(team, slackID(login), scope) {
		e.link(login, scope)
	}
	since, err := e.svc.Prime(ctx, e.client(login, scope))
	if err != nil {
		e.t.Fatal(err)
	}
	sub, err := e.svc.Subscribe(ctx, SubscribeRequest{TeamID: team, ChannelID: channel, CreatorID: slackID(login),
		Scope: scope, Tags: tags, Kinds: kinds, Since: since})
	if err != nil {
		e.t.Fatal(err)
	}
	return sub
}

func (e *env) cycle() CycleStats {
	e.t.Helper()
	st, err := e.svc.RunOnce(context.Background())
	if err != nil {
		e.t.Fatalf("RunOnce: %v", err)
	}
	return st
}

// posts are the bot's messages in channel with soe_event metadata.
func (e *env) posts(channel string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range e.slack.Messages(channel) {
		if m.MetadataType == MetadataType {
			out = append(out, m)
		}
	}
	return out
}

func (e *env) dms(login string) []slackfake.Message {
	return e.posts("D" + slackID(login))
}

func flat(ms []slackfake.Message) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString("\n---\n" + m.Text + "\n" + m.Flat())
	}
	return b.String()
}

func (e *env) user(login string) int { return e.soe.UserByName(login).ID }

// question adds a question as login with tags and returns its id.
func (e *env) question(scope soe.Scope, login, title string, tags ...string) int {
	return e.soe.AddQuestion(scope, e.user(login), title, "Body of **"+title+"** with details.", tags...)
}

func (e *env) answer(scope soe.Scope, qid int, login, body string) int {
	id := e.soe.AddAnswer(scope, qid, e.user(login), body)
	if id == 0 {
		e.t.Fatalf("no question %d", qid)
	}
	return id
}

// tick moves the fake SOE clock's content timestamps apart (they have
// millisecond precision).
func tick() { time.Sleep(3 * time.Millisecond) }
