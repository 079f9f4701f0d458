// Package router is the product's front door: the /soe grammar table, the
// routing of interactions (buttons, modals, shortcuts, suggestions) and events
// by id, the reply fallback chain, and the one middleware every feature uses
// to act as the caller on Stack Overflow (Client, Failed). Features register
// their handlers on a Router; internal/app wires them. The router knows no
// feature.
package router

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/soe"
)

// Config is what the router needs to know about its surroundings.
type Config struct {
	Command string // the slash command, default "/soe"
	// BasicBusiness: the site is Stack Overflow for Teams Basic/Business.
	// There are no private teams inside it (a `team <slug>` option gets
	// NoTeamsMessage) and people connect with a personal access token.
	BasicBusiness bool
}

// Deps are the services the router uses. Links may be nil (commands that
// need an SOE token then answer that Stack Overflow is not connected);
// Channels may be nil (no channel defaults).
type Deps struct {
	Slack    chat.Slack
	Links    Links
	Channels ChannelDefaults
	Logger   *slog.Logger
}

// ChannelDefaults gives a channel's default scope (internal/channels).
type ChannelDefaults interface {
	ChannelScope(ctx context.Context, teamID, channelID string) (soe.Scope, bool, error)
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
	// Quick, when set, answers from the command text alone (usage errors):
	// it must do no I/O. A reply it returns rides in the ack and Run is
	// not called.
	Quick func(r *Request) (chat.Message, bool)
	Run   func(ctx context.Context, r *Request)
	// NamesTeam, for a subcommand with a `team <slug>` option, reports
	// whether args name a team (usually TeamOption). On Basic/Business
	// such a command is answered with NoTeamsMessage before Quick.
	NamesTeam func(args []string) bool
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

// EnvelopeFunc handles a shortcut or an Events API event.
type EnvelopeFunc func(ctx context.Context, env *chat.Envelope)

// Router routes envelopes to the handlers features registered. It
// implements chat.Handler.
type Router struct {
	cfg      Config
	slack    chat.Slack
	links    Links
	channels ChannelDefaults
	log      *slog.Logger

	subs        []*Subcommand
	byName      map[string]*Subcommand
	actions     map[string]ActionFunc
	views       map[string]ViewHandler
	suggestions map[string]SuggestFunc
	shortcuts   map[string]EnvelopeFunc
	events      map[string]EnvelopeFunc

	help *Subcommand
	// helpAck is /soe help's ack payload, encoded once (Subcommand
	// clears it): the socket reader would otherwise render and encode the
	// same message for every /soe help.
	helpAck atomic.Pointer[json.RawMessage]
}

var _ chat.Handler = (*Router)(nil)

// New builds a router that knows /soe help.
func New(cfg Config, d Deps) *Router {
	if cfg.Command == "" {
		cfg.Command = "/soe"
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Router{
		cfg: cfg, slack: d.Slack, links: d.Links, channels: d.Channels, log: d.Logger,
		byName:      map[string]*Subcommand{},
		actions:     map[string]ActionFunc{},
		views:       map[string]ViewHandler{},
		suggestions: map[string]SuggestFunc{},
		shortcuts:   map[string]EnvelopeFunc{},
		events:      map[string]EnvelopeFunc{},
	}
	r.help = &Subcommand{Name: "help", Usage: "help", Summary: "Show this list of commands.", Quick: r.quickHelp, Run: r.runHelp}
	r.Subcommand(r.help)
	return r
}

// Command is the slash command ("/soe").
func (r *Router) Command() string { return r.cfg.Command }

// Subcommand registers a /soe verb. Names and aliases must be unique.
func (r *Router) Subcommand(s *Subcommand) {
	for _, n := range append([]string{s.Name}, s.Aliases...) {
		if _, dup := r.byName[n]; dup {
			panic("router: duplicate subcommand " + n)
		}
		r.byName[n] = s
	}
	r.subs = append(r.subs, s)
	r.helpAck.Store(nil)
}

// Lookup finds the subcommand a word (name or alias, any case) names.
func (r *Router) Lookup(word string) (*Subcommand, bool) {
	s, ok := r.byName[strings.ToLower(word)]
	return s, ok
}

// HasSubcommand reports whether name (or an alias) is registered.
func (r *Router) HasSubcommand(name string) bool { _, ok := r.byName[name]; return ok }

// Action registers a block_actions handler by action_id. An action id
// "share:2" finds the handler of "share" when none is registered for it.
func (r *Router) Action(actionID string, f ActionFunc) { r.actions[actionID] = f }

// View registers a modal submission handler by callback_id.
func (r *Router) View(callbackID string, h ViewHandler) { r.views[callbackID] = h }

// Suggest registers an external-select options handler by action_id.
func (r *Router) Suggest(actionID string, f SuggestFunc) { r.suggestions[actionID] = f }

// Shortcut registers a global or message shortcut by callback_id.
func (r *Router) Shortcut(callbackID string, f EnvelopeFunc) { r.shortcuts[callbackID] = f }

// Event registers an Events API handler by inner event type.
func (r *Router) Event(eventType string, f EnvelopeFunc) { r.events[eventType] = f }

// Handled lists what the bot handles, for the manifest check.
type Handled struct {
	Commands  []string
	Shortcuts []string
	Events    []string
}

// Handles reports every command, shortcut callback_id and event type routed.
func (r *Router) Handles() Handled {
	h := Handled{Commands: []string{r.cfg.Command}}
	for k := range r.shortcuts {
		h.Shortcuts = append(h.Shortcuts, k)
	}
	for k := range r.events {
		h.Events = append(h.Events, k)
	}
	sort.Strings(h.Shortcuts)
	sort.Strings(h.Events)
	return h
}

// ScopeFor is the scope a command means: the team it names, else the
// channel's default, else the main site.
func (r *Router) ScopeFor(ctx context.Context, env *chat.Envelope, team string) soe.Scope {
	if team != "" {
		return soe.TeamScope(team)
	}
	if r.channels != nil {
		s, ok, err := r.channels.ChannelScope(ctx, env.TeamID, env.ChannelID())
		if err != nil {
			r.log.WarnContext(ctx, "channel default team unreadable; using the main site", "err", err)
		}
		if ok {
			return s
		}
	}
	return soe.MainSite()
}

// Ack computes the immediate acknowledgement payload. Replies that need no
// SOE call (help, unknown words, usage errors) travel in it.
func (r *Router) Ack(ctx context.Context, env *chat.Envelope) any {
	if env.External {
		return r.externalAck(env)
	}
	if env.Slash != nil {
		if p, ok := r.helpAckPayload(env.Slash.Text); ok {
			env.Answered = true
			return p
		}
		if m, ok := r.quick(env); ok {
			env.Answered = true
			return chat.SlashAck(m)
		}
		return nil
	}
	ic := env.Interaction
	if ic == nil {
		return nil
	}
	switch ic.Type {
	case slack.InteractionTypeViewSubmission:
		if h, ok := r.views[ic.View.CallbackID]; ok && h.Ack != nil {
			return h.Ack(ctx, env)
		}
	case slack.InteractionTypeBlockSuggestion:
		return r.suggest(ctx, env)
	}
	return nil
}

// helpAckPayload is the ack payload of /soe help (or a bare /soe), encoded
// once, when text asks for it.
func (r *Router) helpAckPayload(text string) (json.RawMessage, bool) {
	if word, _ := SplitWord(text); word != "" && r.byName[strings.ToLower(word)] != r.help {
		return nil, false
	}
	if p := r.helpAck.Load(); p != nil {
		return *p, true
	}
	b, err := json.Marshal(chat.SlashAck(r.helpMessage("")))
	if err != nil {
		return nil, false
	}
	p := json.RawMessage(b)
	r.helpAck.Store(&p)
	return p, true
}

func (r *Router) suggest(ctx context.Context, env *chat.Envelope) slack.OptionsResponse {
	f, ok := r.suggestions[env.Interaction.ActionID]
	if !ok {
		return slack.OptionsResponse{Options: []*slack.OptionBlockObject{}}
	}
	sctx, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
	defer cancel()
	opts := f(sctx, env)
	if opts == nil {
		opts = []*slack.OptionBlockObject{}
	}
	return slack.OptionsResponse{Options: opts}
}

// Handle does the work after the ack.
func (r *Router) Handle(ctx context.Context, env *chat.Envelope) {
	ctx = workspaceContext(ctx, env)
	if env.External || r.stranger(ctx, env) {
		r.refuseExternal(ctx, env)
		return
	}
	switch {
	case env.Slash != nil:
		r.handleSlash(ctx, env)
	case env.Interaction != nil:
		r.handleInteraction(ctx, env)
	case env.Event != nil:
		t := env.Event.InnerEvent.Type
		if f, ok := r.events[t]; ok {
			f(ctx, env)
			return
		}
		r.log.DebugContext(ctx, "event not handled", "type", t)
	}
}

// request parses a slash command into its subcommand (nil for help or an
// unknown word) and request.
func (r *Router) request(env *chat.Envelope) (*Subcommand, *Request) {
	sc := env.Slash
	word, rest := SplitWord(sc.Text)
	req := &Request{
		Env: env, TeamID: env.TeamID, UserID: sc.UserID, UserName: sc.UserName, ChannelID: sc.ChannelID,
		ResponseURL: sc.ResponseURL, TriggerID: sc.TriggerID,
		Word: word, Rest: rest, Args: Fields(rest),
	}
	s := r.byName[strings.ToLower(word)]
	if s != nil {
		req.Name = s.Name
	}
	return s, req
}

// quick is the reply computed from the command text alone, if there is one.
func (r *Router) quick(env *chat.Envelope) (chat.Message, bool) {
	s, req := r.request(env)
	switch {
	case req.Word == "":
		return r.helpMessage(""), true
	case s == nil:
		return r.unknownMessage(req.Word, env.Slash.Text), true
	case r.cfg.BasicBusiness && s.NamesTeam != nil && s.NamesTeam(req.Args):
		return NoTeamsMessage(), true
	case s.Quick != nil:
		return s.Quick(req)
	}
	return chat.Message{}, false
}

func (r *Router) handleSlash(ctx context.Context, env *chat.Envelope) {
	s, req := r.request(env)
	r.log.InfoContext(ctx, "slash command", "user", req.UserID, "channel", req.ChannelID, "subcommand", strings.ToLower(req.Word),
		"answered_in_ack", env.Answered)
	if env.Answered {
		return
	}
	if m, ok := r.quick(env); ok { // a replayed command (after linking) has no ack
		r.Reply(ctx, env, m)
		return
	}
	s.Run(ctx, req)
}

func (r *Router) handleInteraction(ctx context.Context, env *chat.Envelope) {
	ic := env.Interaction
	switch ic.Type {
	case slack.InteractionTypeBlockActions:
		for _, a := range ic.ActionCallback.BlockActions {
			if f, ok := r.lookupAction(a.ActionID); ok {
				f(ctx, env, a)
			} else { // link buttons (View tag, Open) need no handler
				r.log.DebugContext(ctx, "action not handled", "action_id", a.ActionID)
			}
		}
	case slack.InteractionTypeViewSubmission:
		if h, ok := r.views[ic.View.CallbackID]; ok && h.Handle != nil {
			h.Handle(ctx, env)
		}
	case slack.InteractionTypeShortcut, slack.InteractionTypeMessageAction:
		if f, ok := r.shortcuts[ic.CallbackID]; ok {
			f(ctx, env)
			return
		}
		r.log.WarnContext(ctx, "shortcut not handled", "callback_id", ic.CallbackID)
	}
}

// lookupAction finds a handler by exact action_id, or by the part before the
// first ":" (so one handler can serve "share:1", "share:2", …).
func (r *Router) lookupAction(id string) (ActionFunc, bool) {
	if f, ok := r.actions[id]; ok {
		return f, true
	}
	if i := strings.IndexByte(id, ':'); i > 0 {
		f, ok := r.actions[id[:i]]
		return f, ok
	}
	return nil, false
}

// DefaultSOETimeout bounds one user-facing SOE lookup, so a person hears back
// in time.
const DefaultSOETimeout = 8 * time.Second

// Defaults fills what a feature's caller (usually a test) left unset: a
// logger that discards, the real clock, DefaultSOETimeout.
func Defaults(log *slog.Logger, now func() time.Time, soeTimeout time.Duration) (*slog.Logger, func() time.Time, time.Duration) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	if soeTimeout <= 0 {
		soeTimeout = DefaultSOETimeout
	}
	return log, now, soeTimeout
}
