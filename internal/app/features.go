package app

import (
	"github.com/soebot/soebot/internal/features/account"
	"github.com/soebot/soebot/internal/features/experts"
	"github.com/soebot/soebot/internal/features/home"
	"github.com/soebot/soebot/internal/features/search"
	"github.com/soebot/soebot/internal/features/subscriptions"
	"github.com/soebot/soebot/internal/features/unfurl"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/people"
)

// The wiring of the feature packages (internal/features/…) that left
// internal/commands: each gets the concrete services its small interfaces
// ask for. addFeatures calls them in the order the features register (that
// order is the order of /soe help).

// addFeatures registers every feature on the bot, in the order of /soe help.
func (a *App) addFeatures(cfg Config) error {
	// who is who: one cached copy for every feature that looks people up
	who := people.New(people.Config{TTL: cfg.CacheTTL, Now: a.opts.Now, Logger: a.log.With("component", "people")}, a.links, a.slack.Slack())
	a.newHome(cfg, who) // registered below; account and subscriptions refresh it
	a.addAccount()
	a.addExperts(who) // issue 5
	a.addSearch()     // search, unfurl, home: issue 7
	a.addUnfurl()
	a.home.Register(a.bot.Router)
	a.addAsk(who)
	return a.addNotify(cfg) // issue 8
}

// addAccount registers /soe link, whoami and unlink, and the replay of a
// pending command after linking (its OnLinked hook runs before the Home's).
func (a *App) addAccount() {
	bc := a.bot.Config()
	account.New(account.Config{SOETimeout: bc.SOETimeout}, account.Deps{
		Router: a.bot.Router, Links: a.links, Home: a.home,
		Logger: a.log.With("component", "account"), Now: a.opts.Now,
	}).Register(a.bot.Router)
}

// newHome builds the App Home (a.home), with SMEs from who. It is built
// before the features that refresh it or add a section, and registered where
// the Home always was (after unfurl).
func (a *App) newHome(cfg Config, who *people.Directory) {
	bc := a.bot.Config()
	a.home = home.New(home.Config{Command: bc.Command, SiteURL: bc.SiteURL, TTL: cfg.CacheTTL, Now: a.opts.Now}, home.Deps{
		Router: a.bot.Router, Slack: a.slack.Slack(), Links: a.links, People: who,
		Logger: a.log.With("component", "home"),
	})
}

// addExperts registers /soe experts, with people from who. Its "Ask the
// experts" buttons are the ask feature's (registered later, by addAsk; the
// bot builds its buttons).
func (a *App) addExperts(who *people.Directory) {
	bc := a.bot.Config()
	experts.New(experts.Config{Command: bc.Command, SOETimeout: bc.SOETimeout}, experts.Deps{
		Router: a.bot.Router, Slack: a.slack.Slack(), People: who, Asker: a.bot,
		Logger: a.log.With("component", "experts"),
	}).Register(a.bot.Router)
}

// addUnfurl registers link previews.
func (a *App) addUnfurl() {
	bc := a.bot.Config()
	unfurl.New(unfurl.Config{SiteURL: bc.SiteURL, SOETimeout: bc.SOETimeout}, unfurl.Deps{
		Slack: a.slack.Slack(), Links: a.links, Prompts: a.bot.Router,
		Logger: a.log.With("component", "unfurl"), Now: a.opts.Now,
	}).Register(a.bot.Router)
}

// addSearch registers /soe search. Its "Ask a new question" buttons are the
// ask feature's (registered later, by AddAsk; the bot builds its buttons).
func (a *App) addSearch() {
	bc := a.bot.Config()
	search.New(search.Config{SiteURL: bc.SiteURL, SOETimeout: bc.SOETimeout}, search.Deps{
		Router: a.bot.Router, Slack: a.slack.Slack(), Asker: a.bot,
		Logger: a.log.With("component", "search"), Now: a.opts.Now,
	}).Register(a.bot.Router)
}

// addSubscriptions registers the notifications commands on top of svc, and
// their App Home section (after the sections added before it).
func (a *App) addSubscriptions(svc *notify.Service) {
	bc := a.bot.Config()
	f := subscriptions.New(subscriptions.Config{SOETimeout: bc.SOETimeout}, subscriptions.Deps{
		Router: a.bot.Router, Slack: a.slack.Slack(), Service: svc, Channels: a.chans, Links: a.links, Home: a.home, Audience: a.aud,
		Logger: a.log.With("component", "subscriptions"), Now: a.opts.Now,
	})
	f.Register(a.bot.Router)
	a.home.AddSection(f.HomeSection)
}
