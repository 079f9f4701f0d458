package app

import (
	"time"

	"github.com/soebot/soebot/internal/cluster"
	"github.com/soebot/soebot/internal/features/account"
	"github.com/soebot/soebot/internal/features/ask"
	"github.com/soebot/soebot/internal/features/cardactions"
	"github.com/soebot/soebot/internal/features/experts"
	"github.com/soebot/soebot/internal/features/home"
	"github.com/soebot/soebot/internal/features/search"
	"github.com/soebot/soebot/internal/features/subscriptions"
	"github.com/soebot/soebot/internal/features/suggest"
	"github.com/soebot/soebot/internal/features/unfurl"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/reveal"
	"github.com/soebot/soebot/internal/router"
)

// The wiring of the feature packages (internal/features/…): each gets the
// concrete services its small interfaces ask for. addFeatures calls them in the order the features register (that
// order is the order of /soe help).

// soeTimeout bounds one user-facing SOE lookup, so a person hears back in time.
const soeTimeout = router.DefaultSOETimeout

// featureConfig is what every feature is told about its surroundings.
type featureConfig struct {
	Command    string // the slash command
	SiteURL    string // SOE site root
	SOETimeout time.Duration
}

// newAsk builds the ask feature; experts and search offer its buttons.
func (a *App) newAsk(who *people.Directory) {
	a.ask = ask.New(ask.Config{Command: a.fc.Command, SOETimeout: a.fc.SOETimeout}, ask.Deps{
		Router: a.router, Slack: a.slack.Slack(), Links: a.links, People: who, Audience: a.aud, Sealer: a.keys,
		Drafts: cluster.NewStash(a.db, "ask-draft/", ask.DraftsKeep, a.opts.Now),
		Logger: a.log.With("component", "ask"), Now: a.opts.Now,
	})
}

// addFeatures registers every feature on the bot, in the order of /soe help.
func (a *App) addFeatures(cfg Config) error {
	// who is who: one cached copy for every feature that looks people up
	who := people.New(people.Config{TTL: cfg.CacheTTL, Now: a.opts.Now, Logger: a.log.With("component", "people")}, a.links, a.slack.Slack())
	a.newHome(cfg, who) // registered below; account and subscriptions refresh it
	a.newAsk(who)       // registered below; experts and search offer its buttons
	reveal.Register(a.router, a.slack.Slack())
	a.addAccount()
	a.addExperts(who) // issue 5
	a.addReport(who)  // issue 22
	a.addSearch()     // search, unfurl, home: issue 7
	a.addUnfurl()
	a.home.Register(a.router)
	a.ask.Register(a.router)
	a.addSuggest()               // issue 18; /soe config (subscriptions) sets it
	a.addCardActions()           // issue 17: Upvote, Bookmark, Accept on the cards
	return a.addNotify(cfg, who) // issue 8
}

// addSuggest registers answer suggestions in channels; its "Ask on Stack
// Overflow" button is the ask feature's.
func (a *App) addSuggest() {
	a.sugg = suggest.New(suggest.Config{SOETimeout: a.fc.SOETimeout}, suggest.Deps{
		Router: a.router, Slack: a.slack.Slack(), Links: a.links, Settings: a.chans, Asker: a.ask, Audience: a.aud,
		Count:  func(outcome string) { a.met.Suggestions.WithLabelValues(outcome).Inc() },
		Shown:  cluster.NewSeen(a.db, "suggest-shown/", suggest.PerPerson, a.opts.Now),
		Hints:  cluster.NewSeen(a.db, "suggest-hint/", suggest.HintEvery, a.opts.Now),
		Logger: a.log.With("component", "suggest"), Now: a.opts.Now,
	})
	a.sugg.Register(a.router)
}

// addAccount registers /soe link, whoami and unlink, and the replay of a
// pending command after linking (its OnLinked hook runs before the Home's).
func (a *App) addAccount() {
	bc := a.fc
	account.New(account.Config{SOETimeout: bc.SOETimeout}, account.Deps{
		Router: a.router, Links: a.links, Home: a.home,
		Logger: a.log.With("component", "account"), Now: a.opts.Now,
	}).Register(a.router)
}

// newHome builds the App Home (a.home), with SMEs from who. It is built
// before the features that refresh it or add a section, and registered where
// the Home always was (after unfurl).
func (a *App) newHome(cfg Config, who *people.Directory) {
	bc := a.fc
	a.home = home.New(home.Config{Command: bc.Command, SiteURL: bc.SiteURL, TTL: cfg.CacheTTL, Now: a.opts.Now}, home.Deps{
		Router: a.router, Slack: a.slack.Slack(), Links: a.links, People: who,
		Order: cluster.NewLatest(a.db, 0), Logger: a.log.With("component", "home"),
	})
}

// addExperts registers /soe experts, with people from who. Its "Ask the
// experts" buttons are the ask feature's (registered later, by addAsk; the
// bot builds its buttons).
func (a *App) addExperts(who *people.Directory) {
	bc := a.fc
	experts.New(experts.Config{Command: bc.Command, SOETimeout: bc.SOETimeout}, experts.Deps{
		Router: a.router, Slack: a.slack.Slack(), People: who, Asker: a.ask, Audience: a.aud,
		Links: a.links, Curator: who, Logger: a.log.With("component", "experts"),
	}).Register(a.router)
}

// addUnfurl registers link previews.
func (a *App) addUnfurl() {
	bc := a.fc
	unfurl.New(unfurl.Config{SiteURL: bc.SiteURL, SOETimeout: bc.SOETimeout}, unfurl.Deps{
		Slack: a.slack.Slack(), Links: a.links, Prompts: a.router, Audience: a.aud,
		Hints:  cluster.NewSeen(a.db, "unfurl-hint/", unfurl.HintEvery, a.opts.Now),
		Logger: a.log.With("component", "unfurl"), Now: a.opts.Now,
	}).Register(a.router)
}

// addSearch registers /soe search. Its "Ask a new question" buttons are the
// ask feature's (registered later, by AddAsk; the bot builds its buttons).
func (a *App) addSearch() {
	bc := a.fc
	search.New(search.Config{SiteURL: bc.SiteURL, SOETimeout: bc.SOETimeout}, search.Deps{
		Router: a.router, Slack: a.slack.Slack(), Asker: a.ask, Audience: a.aud,
		Logger: a.log.With("component", "search"), Now: a.opts.Now,
	}).Register(a.router)
}

// addSubscriptions registers the notifications commands on top of svc, and
// their App Home section (after the sections added before it).
func (a *App) addSubscriptions(svc *notify.Service) {
	bc := a.fc
	f := subscriptions.New(subscriptions.Config{SOETimeout: bc.SOETimeout, AdminUsers: a.cfg.AdminSlackUsers}, subscriptions.Deps{
		Router: a.router, Slack: a.slack.Slack(), Service: svc, Channels: a.chans, Links: a.links, Home: a.home, Audience: a.aud,
		Audit: svc, Users: a.slack.Slack(), Settings: []subscriptions.ConfigSetting{a.sugg}, Decliner: svc, Threads: a.chans,
		Logger: a.log.With("component", "subscriptions"), Now: a.opts.Now,
	})
	f.Register(a.router)
	a.home.AddSection(f.HomeSection)
}

// addCardActions registers the Upvote, Bookmark and Accept buttons of the
// notification cards (the clicker's own token; replayed after connecting).
func (a *App) addCardActions() {
	cardactions.New(cardactions.Config{SOETimeout: a.fc.SOETimeout}, cardactions.Deps{
		Router: a.router, Slack: a.slack.Slack(), Links: a.links, Sealer: a.keys,
		Logger: a.log.With("component", "cardactions"),
	}).Register(a.router)
}
