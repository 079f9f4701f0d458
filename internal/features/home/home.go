// Package home is the App Home tab: the user's Stack Overflow connections
// (Connect / Reconnect / Disconnect), the sections other features add (for
// example notifications), the tags the user is a subject-matter expert on
// and the newest unanswered questions there. Features that change what the
// Home shows call PublishHome.
package home

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/ttlcache"
)

// actionDisconnect is a Disconnect button: value soe.Scope.Key(), id
// "home_disconnect:<scope key>".
const actionDisconnect = "home_disconnect"

const (
	maxBlocks = 100
	timeout   = 15 * time.Second
)

// Section renders extra blocks of a user's App Home (for example their
// channel subscriptions). It runs on every publish, must respect ctx, and
// returns nil to show nothing. Its blocks are shown as they are, so any SOE
// or user text in them must already be escaped.
type Section func(ctx context.Context, teamID, userID string) []slack.Block

// Config is what the Home needs to know about its surroundings.
type Config struct {
	Command string // the slash command, default "/soe"
	SiteURL string // SOE site root ("": not linked in the intro)
	// TTL is how long a user's expertise is kept (default 5 minutes).
	TTL time.Duration
	Now func() time.Time
}

// Router is what the Home uses of the router (*router.Router).
type Router interface {
	Reply(ctx context.Context, env *chat.Envelope, m chat.Message)
}

// Slack publishes the Home view (chat.Slack).
type Slack interface {
	PublishHome(ctx context.Context, user string, v slack.HomeTabViewRequest) error
}

// Links is what the Home uses of account linking (*linking.Service).
type Links interface {
	Links(ctx context.Context, teamID, userID string) ([]linking.Link, error)
	Begin(ctx context.Context, teamID, userID string, scope soe.Scope, resume *linking.Resume) (string, error)
	Invalidate(ctx context.Context, teamID, userID string, scope soe.Scope, reason string) error
	Unlink(ctx context.Context, teamID, userID string, scope soe.Scope) (bool, error)
	ClientFor(ctx context.Context, l linking.Link) (*soe.Client, error)
	OnLinked(f func(ctx context.Context, l linking.Link, r *linking.Resume))
}

// People gives a tag's SMEs with every group's members (*people.Directory).
type People interface {
	TagExperts(ctx context.Context, src people.Source, tagID int) (*people.Experts, error)
}

// Deps are the services the Home uses. Links may be nil (nobody can
// connect: the Home says so); Logger may be nil.
type Deps struct {
	Router Router
	Slack  Slack
	Links  Links
	People People
	// Order keeps an older render of a user's Home from replacing a newer
	// one, across replicas (cluster.Latest); nil publishes every render.
	Order  Order
	Logger *slog.Logger
}

// Order numbers renders as they start gathering and publishes one only
// while no newer render of that user was published (cluster.Latest). Say
// the Home was opened, and while it was being gathered the user clicked
// Disconnect (perhaps on another replica): the Disconnect's Home must stay.
type Order interface {
	Begin(ctx context.Context) (uint64, error)
	Publish(ctx context.Context, key string, n uint64, pub func() error) (stale bool, err error)
}

// Feature is the App Home.
type Feature struct {
	cfg      Config
	router   Router
	slack    Slack
	links    Links
	people   People
	log      *slog.Logger
	sections []Section
	// expertise caches the derived SME tags and questions per user link;
	// the SME lists themselves are the directory's (shared by every user).
	expertise *ttlcache.Cache[string, *expertise]
	order     Order
}

// New builds the Home; Register adds it to a router.
func New(cfg Config, d Deps) *Feature {
	if cfg.Command == "" {
		cfg.Command = "/soe"
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 5 * time.Minute
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Order == nil {
		d.Order = unordered{}
	}
	return &Feature{
		cfg: cfg, router: d.Router, slack: d.Slack, links: d.Links, people: d.People, log: d.Logger,
		expertise: ttlcache.New[string, *expertise](cfg.TTL, 5000, cfg.Now), order: d.Order,
	}
}

// unordered is the Order of a Home without one: every render is published.
type unordered struct{}

func (unordered) Begin(context.Context) (uint64, error) { return 0, nil }
func (unordered) Publish(_ context.Context, _ string, _ uint64, pub func() error) (bool, error) {
	return false, pub()
}

// Register adds the app_home_opened event and the Disconnect buttons, and
// re-publishes a user's Home when they link an account.
func (f *Feature) Register(r *router.Router) {
	r.Event("app_home_opened", f.opened)
	r.Action(actionDisconnect, f.disconnect)
	if f.links != nil {
		f.links.OnLinked(func(ctx context.Context, l linking.Link, _ *linking.Resume) {
			f.PublishHome(ctx, l.TeamID, l.UserID)
		})
	}
}

// AddSection adds s to the Home, after the connections and before the
// expertise, in the order added. Call it while wiring (before the bot runs).
func (f *Feature) AddSection(s Section) {
	f.sections = append(f.sections, s)
}

func (f *Feature) opened(ctx context.Context, env *chat.Envelope) {
	var outer struct {
		Event struct {
			User string `json:"user"`
			Tab  string `json:"tab"`
		} `json:"event"`
	}
	if err := json.Unmarshal(env.Raw, &outer); err != nil {
		f.log.WarnContext(ctx, "app_home_opened: undecodable event", "err", err)
		return
	}
	if outer.Event.User == "" || (outer.Event.Tab != "" && outer.Event.Tab != "home") {
		return
	}
	f.PublishHome(ctx, env.TeamID, outer.Event.User)
}

// PublishHome renders and publishes the user's App Home (features call it
// after changing something the Home shows).
func (f *Feature) PublishHome(ctx context.Context, teamID, userID string) {
	if userID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n, err := f.order.Begin(ctx)
	if err != nil {
		f.log.WarnContext(ctx, "home: cannot number the render; not publishing", "user", userID, "err", err)
		return
	}
	d := f.gather(ctx, teamID, userID)
	v := slack.HomeTabViewRequest{Type: slack.VTHomeTab, CallbackID: "soe_home", Blocks: slack.Blocks{BlockSet: f.render(d)}}
	stale, err := f.order.Publish(ctx, teamID+"/"+userID, n, func() error { return f.slack.PublishHome(ctx, userID, v) })
	switch {
	case err != nil:
		f.log.WarnContext(ctx, "views.publish failed", "user", userID, "err", err)
	case stale:
		f.log.DebugContext(ctx, "home render dropped: a newer one was published", "user", userID)
	}
}

// disconnect unlinks the scope named by the (confirmed) button and
// re-publishes the Home.
func (f *Feature) disconnect(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	scope, err := soe.ParseScopeKey(a.Value)
	if err == nil && f.links != nil {
		if _, err = f.links.Unlink(ctx, env.TeamID, env.UserID, scope); err != nil {
			f.log.ErrorContext(ctx, "home: unlink", "user", env.UserID, "err", err)
			f.router.Reply(ctx, env, blockkit.Warning("I could not disconnect your Stack Overflow account just now. Please try again."))
		}
	}
	f.PublishHome(ctx, env.TeamID, env.UserID)
}

// data is everything the Home shows, gathered before rendering.
type data struct {
	Connections []conn
	LinksFailed bool
	Extra       [][]slack.Block
	// Expertise is nil when the user has no usable main-site connection.
	Expertise     *expertise
	ExpertiseFail string // a friendly problem, when loading failed
}

type conn struct {
	Scope      soe.Scope
	Link       *linking.Link // nil: not connected
	ConnectURL string        // Connect/Reconnect link page ("" if unavailable)
}

func (f *Feature) gather(ctx context.Context, teamID, userID string) *data {
	d := &data{}
	var links []linking.Link
	if f.links != nil {
		var err error
		if links, err = f.links.Links(ctx, teamID, userID); err != nil {
			f.log.ErrorContext(ctx, "home: list links", "user", userID, "err", err)
			d.LinksFailed = true
		}
	}
	main := slices.IndexFunc(links, func(l linking.Link) bool { return !l.Scope.IsTeam() })
	if main >= 0 && !links[main].Invalid {
		f.gatherExpertise(ctx, d, &links[main])
	}
	if main < 0 && !d.LinksFailed {
		d.Connections = append(d.Connections, conn{Scope: soe.MainSite()})
	}
	for i := range links {
		d.Connections = append(d.Connections, conn{Scope: links[i].Scope, Link: &links[i]})
	}
	slices.SortStableFunc(d.Connections, func(a, b conn) int {
		switch {
		case a.Scope.IsTeam() == b.Scope.IsTeam():
			return strings.Compare(a.Scope.Team, b.Scope.Team)
		case a.Scope.IsTeam():
			return 1
		}
		return -1
	})
	f.connectURLs(ctx, teamID, userID, d.Connections)
	for _, s := range f.sections {
		if bs := f.runSection(ctx, s, teamID, userID); len(bs) > 0 {
			d.Extra = append(d.Extra, bs)
		}
	}
	return d
}

// connectURLs starts linking for every connection that needs (re)connecting.
func (f *Feature) connectURLs(ctx context.Context, teamID, userID string, cs []conn) {
	if f.links == nil {
		return
	}
	for i := range cs {
		c := &cs[i]
		if c.Link != nil && !c.Link.Invalid {
			continue
		}
		u, err := f.links.Begin(ctx, teamID, userID, c.Scope, nil)
		if err != nil {
			f.log.WarnContext(ctx, "home: could not start linking", "err", err)
			continue
		}
		c.ConnectURL = u
	}
}

// runSection runs one extension; a panic costs only that section.
func (f *Feature) runSection(ctx context.Context, s Section, teamID, userID string) (bs []slack.Block) {
	defer func() {
		if p := recover(); p != nil {
			f.log.ErrorContext(ctx, "home section panicked", "panic", fmt.Sprint(p))
			bs = nil
		}
	}()
	return s(ctx, teamID, userID)
}
