// Package commands is the bot the features register on: the router
// (internal/router) with its configuration and services. Every feature lives
// in its own package under internal/features; internal/app wires them.
package commands

import (
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

// Config is what the product needs to know about its surroundings.
type Config struct {
	SiteURL   string // SOE site root, e.g. https://acme.stackenterprise.co
	PublicURL string // the bot's own base URL
	Command   string // the slash command, default "/soe"
	// SOETimeout bounds one user-facing SOE lookup so the user hears back in time.
	SOETimeout time.Duration
}

// Deps are the services the features use. Fields are optional where a
// feature that needs them is not wired (tests of one feature).
type Deps struct {
	Slack  chat.Slack
	Logger *slog.Logger
	Now    func() time.Time
	// Links is the account-linking service (nil: features that need an SOE
	// token answer that Stack Overflow is not connected).
	Links *linking.Service
	// SOE is the shared SOE API service (for features that need it directly).
	SOE *soe.Service
	// Channels gives channels' default scopes (nil: none).
	Channels router.ChannelDefaults
}

// Bot embeds the router the feature packages (internal/features/…) register
// on; no feature is left here. It builds the ask buttons of experts and
// search through Asker.
type Bot struct {
	*router.Router
	cfg   Config
	slack chat.Slack
	log   *slog.Logger
	now   func() time.Time
	links *linking.Service
	api   *soe.Service

	// asker builds the ask feature's buttons (experts and search offer
	// them); nil: ask is not available.
	asker Asker
}

var _ chat.Handler = (*Bot)(nil)

// Asker is the ask feature (internal/features/ask), as experts and search
// use it: a button that opens the ask form prefilled.
type Asker interface {
	AskButton(suffix, label string, scope soe.Scope, tags []string, title string) *slack.ButtonBlockElement
}

// SetAsker makes experts and search offer "ask" buttons built by a.
func (b *Bot) SetAsker(a Asker) { b.asker = a }

// AskButton is the asker's button (only when asker is set).
func (b *Bot) AskButton(suffix, label string, scope soe.Scope, tags []string, title string) *slack.ButtonBlockElement {
	return b.asker.AskButton(suffix, label, scope, tags, title)
}

// New builds the bot with the always-present features (help). Features that
// need more services are added with their own Add… functions.
func New(cfg Config, d Deps) *Bot {
	if cfg.Command == "" {
		cfg.Command = "/soe"
	}
	if cfg.SOETimeout <= 0 {
		cfg.SOETimeout = 8 * time.Second
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	var links router.Links
	if d.Links != nil {
		links = d.Links
	}
	r := router.New(router.Config{Command: cfg.Command}, router.Deps{Slack: d.Slack, Links: links, Channels: d.Channels, Logger: d.Logger})
	b := &Bot{Router: r, cfg: cfg, slack: d.Slack, log: d.Logger, now: d.Now, links: d.Links, api: d.SOE}
	return b
}

// Config returns the bot's configuration.
func (b *Bot) Config() Config { return b.cfg }

// Slack returns the Slack client the bot replies with.
func (b *Bot) Slack() chat.Slack { return b.slack }

// Logger returns the bot's logger.
func (b *Bot) Logger() *slog.Logger { return b.log }

// Now returns the current time (injectable in tests).
func (b *Bot) Now() time.Time { return b.now() }
