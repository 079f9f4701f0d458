package app

import (
	"github.com/soebot/soebot/internal/features/unfurl"
)

// The wiring of the feature packages (internal/features/…) that left
// internal/commands: each gets the concrete services its small interfaces
// ask for. app.go calls them in the order the features register (that order
// is the order of /soe help).

// addUnfurl registers link previews.
func (a *App) addUnfurl() {
	bc := a.bot.Config()
	unfurl.New(unfurl.Config{SiteURL: bc.SiteURL, SOETimeout: bc.SOETimeout}, unfurl.Deps{
		Slack: a.slack.Slack(), Links: a.links, Prompts: a.bot.Router,
		Logger: a.log.With("component", "unfurl"), Now: a.opts.Now,
	}).Register(a.bot.Router)
}
