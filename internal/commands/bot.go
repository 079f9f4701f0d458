// Package commands is the product: the /soe grammar, each subcommand,
// interactions (buttons, modals, shortcuts), events, and the Block Kit they
// render. It talks to Slack only through chat.Slack.
package commands

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
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
}

// Request is one /soe invocation.
type Request struct {
	Env         *chat.Envelope
	TeamID      string
	UserID      string
	UserName    string
	ChannelID   string
	ResponseURL string
	TriggerID   string
	Name        string   // canonical subcommand name ("" for help)
	Word        string   // the subcommand word as typed
	Args        []string // words after the subcommand
	Rest        string   // raw text after the subcommand word
}

// Subcommand is one /soe verb.
type Subcommand struct {
	Name    string
	Aliases []string
	Usage   string // e.g. "experts <tag> [team <slug>]"
	Summary string // one line for /soe help
	Hidden  bool   // not listed in help
	Run     func(ctx context.Context, r *Request)
}

// ActionFunc handles a block_actions click.
type ActionFunc func(ctx context.Context, env *chat.Envelope, a *slack.BlockAction)

// ViewHandler handles a modal's submission. Ack runs before the ack (no
// network I/O) and may return a response_action payload; Handle runs after.
type ViewHandler struct {
	Ack    func(ctx context.Context, env *chat.Envelope) any
	Handle func(ctx context.Context, env *chat.Envelope)
}

// SuggestFunc answers a block_suggestion (external select) with options. It
// runs before the ack and must respect ctx (a short deadline).
type SuggestFunc func(ctx context.Context, env *chat.Envelope) []*slack.OptionBlockObject

// ShortcutFunc handles a global or message shortcut.
type ShortcutFunc func(ctx context.Context, env *chat.Envelope)

// EventFunc handles one Events API event type.
type EventFunc func(ctx context.Context, env *chat.Envelope)

// Bot routes envelopes to features. It implements chat.Handler.
type Bot struct {
	cfg   Config
	slack chat.Slack
	log   *slog.Logger
	now   func() time.Time
	links *linking.Service
	api   *soe.Service

	subs        []*Subcommand
	byName      map[string]*Subcommand
	actions     map[string]ActionFunc
	views       map[string]ViewHandler
	suggestions map[string]SuggestFunc
	shortcuts   map[string]ShortcutFunc
	events      map[string]EventFunc

	// channelScope, when set (by the notifications feature), gives a
	// channel's default scope for commands that name no team.
	channelScope func(ctx context.Context, teamID, channelID string) (soe.Scope, bool)

	// home is the App Home tab and its extension sections (home.go).
	home *homeTab
}

var _ chat.Handler = (*Bot)(nil)

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
	b := &Bot{
		cfg: cfg, slack: d.Slack, log: d.Logger, now: d.Now, links: d.Links, api: d.SOE,
		byName:      map[string]*Subcommand{},
		actions:     map[string]ActionFunc{},
		views:       map[string]ViewHandler{},
		suggestions: map[string]SuggestFunc{},
		shortcuts:   map[string]ShortcutFunc{},
		events:      map[string]EventFunc{},
	}
	b.Subcommand(&Subcommand{Name: "help", Usage: "help", Summary: "Show this list of commands.", Run: b.runHelp})
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

// Subcommand registers a /soe verb. Names and aliases must be unique.
func (b *Bot) Subcommand(s *Subcommand) {
	for _, n := range append([]string{s.Name}, s.Aliases...) {
		if _, dup := b.byName[n]; dup {
			panic("commands: duplicate subcommand " + n)
		}
		b.byName[n] = s
	}
	b.subs = append(b.subs, s)
}

// HasSubcommand reports whether name (or an alias) is registered.
func (b *Bot) HasSubcommand(name string) bool { _, ok := b.byName[name]; return ok }

// SetChannelScope installs the lookup of a channel's default scope.
func (b *Bot) SetChannelScope(f func(ctx context.Context, teamID, channelID string) (soe.Scope, bool)) {
	b.channelScope = f
}

// ScopeFor is the scope a command means: the team it names, else the
// channel's default, else the main site.
func (b *Bot) ScopeFor(ctx context.Context, env *chat.Envelope, team string) soe.Scope {
	if team != "" {
		return soe.TeamScope(team)
	}
	if b.channelScope != nil {
		if s, ok := b.channelScope(ctx, env.TeamID, env.ChannelID()); ok {
			return s
		}
	}
	return soe.MainSite()
}

func (b *Bot) hasAction(id string) bool { _, ok := b.actions[id]; return ok }

// Action registers a block_actions handler by action_id.
func (b *Bot) Action(actionID string, f ActionFunc) { b.actions[actionID] = f }

// View registers a modal submission handler by callback_id.
func (b *Bot) View(callbackID string, h ViewHandler) { b.views[callbackID] = h }

// Suggest registers an external-select options handler by action_id.
func (b *Bot) Suggest(actionID string, f SuggestFunc) { b.suggestions[actionID] = f }

// Shortcut registers a global or message shortcut by callback_id.
func (b *Bot) Shortcut(callbackID string, f ShortcutFunc) { b.shortcuts[callbackID] = f }

// Event registers an Events API handler by inner event type.
func (b *Bot) Event(eventType string, f EventFunc) { b.events[eventType] = f }

// Handled lists what the bot handles, for the manifest check.
type Handled struct {
	Commands  []string
	Shortcuts []string
	Events    []string
}

// Handles reports every command, shortcut callback_id and event type routed.
func (b *Bot) Handles() Handled {
	h := Handled{Commands: []string{b.cfg.Command}}
	for k := range b.shortcuts {
		h.Shortcuts = append(h.Shortcuts, k)
	}
	for k := range b.events {
		h.Events = append(h.Events, k)
	}
	sort.Strings(h.Shortcuts)
	sort.Strings(h.Events)
	return h
}

// Ack computes the immediate acknowledgement payload.
func (b *Bot) Ack(ctx context.Context, env *chat.Envelope) any {
	ic := env.Interaction
	if ic == nil {
		return nil
	}
	switch ic.Type {
	case slack.InteractionTypeViewSubmission:
		if h, ok := b.views[ic.View.CallbackID]; ok && h.Ack != nil {
			return h.Ack(ctx, env)
		}
	case slack.InteractionTypeBlockSuggestion:
		if f, ok := b.suggestions[ic.ActionID]; ok {
			sctx, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
			defer cancel()
			opts := f(sctx, env)
			if opts == nil {
				opts = []*slack.OptionBlockObject{}
			}
			return slack.OptionsResponse{Options: opts}
		}
		return slack.OptionsResponse{Options: []*slack.OptionBlockObject{}}
	}
	return nil
}

// Handle does the work after the ack.
func (b *Bot) Handle(ctx context.Context, env *chat.Envelope) {
	switch {
	case env.Slash != nil:
		b.handleSlash(ctx, env)
	case env.Interaction != nil:
		b.handleInteraction(ctx, env)
	case env.Event != nil:
		t := env.Event.InnerEvent.Type
		if f, ok := b.events[t]; ok {
			f(ctx, env)
			return
		}
		b.log.DebugContext(ctx, "event not handled", "type", t)
	}
}

func (b *Bot) handleSlash(ctx context.Context, env *chat.Envelope) {
	sc := env.Slash
	word, rest := SplitWord(sc.Text)
	r := &Request{
		Env: env, TeamID: sc.TeamID, UserID: sc.UserID, UserName: sc.UserName, ChannelID: sc.ChannelID,
		ResponseURL: sc.ResponseURL, TriggerID: sc.TriggerID,
		Word: word, Rest: rest, Args: Fields(rest),
	}
	b.log.InfoContext(ctx, "slash command", "user", sc.UserID, "channel", sc.ChannelID, "subcommand", strings.ToLower(word))
	if word == "" {
		b.runHelp(ctx, r)
		return
	}
	s, ok := b.byName[strings.ToLower(word)]
	if !ok {
		b.Reply(ctx, r, b.unknownMessage(word, sc.Text))
		return
	}
	r.Name = s.Name
	s.Run(ctx, r)
}

func (b *Bot) handleInteraction(ctx context.Context, env *chat.Envelope) {
	ic := env.Interaction
	switch ic.Type {
	case slack.InteractionTypeBlockActions:
		for _, a := range ic.ActionCallback.BlockActions {
			if f, ok := b.lookupAction(a.ActionID); ok {
				f(ctx, env, a)
			} else { // link buttons (View tag, Open) need no handler
				b.log.DebugContext(ctx, "action not handled", "action_id", a.ActionID)
			}
		}
	case slack.InteractionTypeViewSubmission:
		if h, ok := b.views[ic.View.CallbackID]; ok && h.Handle != nil {
			h.Handle(ctx, env)
		}
	case slack.InteractionTypeShortcut, slack.InteractionTypeMessageAction:
		if f, ok := b.shortcuts[ic.CallbackID]; ok {
			f(ctx, env)
			return
		}
		b.log.WarnContext(ctx, "shortcut not handled", "callback_id", ic.CallbackID)
	}
}

// lookupAction finds a handler by exact action_id, or by the part before the
// first ":" (so one handler can serve "share:1", "share:2", …).
func (b *Bot) lookupAction(id string) (ActionFunc, bool) {
	if f, ok := b.actions[id]; ok {
		return f, true
	}
	if i := strings.IndexByte(id, ':'); i > 0 {
		f, ok := b.actions[id[:i]]
		return f, ok
	}
	return nil, false
}

// Reply shows m to the user who ran r: through the response_url, falling back
// to an ephemeral message, then a DM, when the response_url is used up.
func (b *Bot) Reply(ctx context.Context, r *Request, m chat.Message) {
	b.ReplyTo(ctx, r.Env, m)
}

// ReplyTo is Reply for any envelope.
func (b *Bot) ReplyTo(ctx context.Context, env *chat.Envelope, m chat.Message) {
	var err error
	if u := env.ResponseURL(); u != "" {
		if err = b.slack.Respond(ctx, u, m); err == nil {
			return
		}
		b.log.WarnContext(ctx, "response_url failed; falling back", "err", err)
	}
	if ch := env.ChannelID(); ch != "" && env.UserID != "" && !m.InChannel {
		if err = b.slack.PostEphemeral(ctx, ch, env.UserID, m); err == nil {
			return
		}
	}
	if env.UserID != "" {
		if _, _, err = b.slack.DM(ctx, env.UserID, m); err == nil {
			return
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		b.log.ErrorContext(ctx, "could not reply to user", "user", env.UserID, "err", err)
	}
}
