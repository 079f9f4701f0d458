// Package cardactions is "act from the card" (issue 17): the Upvote,
// Bookmark and Accept buttons of notification cards (postcard.ActionRow).
// Each click acts with the clicker's own SOE token, in the card's scope
// (a private team's card acts in that team). Not connected: the Connect
// prompt, and the click is replayed once they have linked (the hidden
// /soe card-action, through linking's Resume like every other replay).
// SOE decides who may; a refusal is explained to the clicker alone. On
// success the clicker gets a short confirmation and the card shows the
// fresh score or ✓ (chat.update of the clicked message, tried once).
package cardactions

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/postcard"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/vault"
)

// Subcommand replays a click after the clicker connects (hidden from help;
// its argument is a sealed job).
const Subcommand = "card-action"

// The verbs, from the action ids' prefixes.
const (
	verbUpvote   = "upvote"
	verbBookmark = "bookmark"
	verbAccept   = "accept"
)

// Config is what the feature needs to know about its surroundings.
type Config struct {
	SOETimeout time.Duration // bounds one SOE call (default router.DefaultSOETimeout)
}

// Router is what the feature needs of the router (router.Router).
type Router interface {
	Action(actionID string, f router.ActionFunc)
	Subcommand(s *router.Subcommand)
	WithSOE(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume,
		f func(ctx context.Context, c *soe.Client, l *linking.Link) error)
	Reply(ctx context.Context, env *chat.Envelope, m chat.Message)
	LinkPrompt(ctx context.Context, teamID, userID string, scope soe.Scope, resume *linking.Resume, reconnect bool, intro string) chat.Message
}

// Slack is what the feature asks of Slack (chat.Slack).
type Slack interface {
	Update(ctx context.Context, channel, ts string, m chat.Message) error
	Replies(ctx context.Context, channel, threadTS string) ([]slack.Message, error)
}

// Links learns what a write said about a link's access, and marks a link
// SOE no longer accepts (linking.Service).
type Links interface {
	RecordWrite(ctx context.Context, teamID, userID string, scope soe.Scope, ok bool) error
	Invalidate(ctx context.Context, teamID, userID string, scope soe.Scope, reason string) error
}

// Sealer encrypts and authenticates small values (*vault.Keyring).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// Deps are the services the feature uses. Sealer nil: a click is not
// replayed after connecting (the prompt still shows).
type Deps struct {
	Router Router
	Slack  Slack
	Links  Links
	Sealer Sealer
	Logger *slog.Logger
}

// Feature handles the card buttons.
type Feature struct {
	cfg    Config
	r      Router
	slack  Slack
	links  Links
	sealer Sealer
	log    *slog.Logger
}

// New builds the feature.
func New(cfg Config, d Deps) *Feature {
	log, _, timeout := router.Defaults(d.Logger, nil, cfg.SOETimeout)
	cfg.SOETimeout = timeout
	return &Feature{cfg: cfg, r: d.Router, slack: d.Slack, links: d.Links, sealer: d.Sealer, log: log}
}

// Register adds the buttons' handlers and the hidden replay subcommand.
func (f *Feature) Register(r *router.Router) {
	r.Action(postcard.ActionUpvote, f.click)
	r.Action(postcard.ActionBookmark, f.click)
	r.Action(postcard.ActionAccept, f.click)
	r.Subcommand(&router.Subcommand{Name: Subcommand, Usage: Subcommand, Hidden: true,
		Summary: "Replay a card's Upvote, Bookmark or Accept after connecting (from the button).",
		Run:     f.replay})
}

// job is one click: what to do to which post, and the card it came from.
// It is sealed into the replay (so a typed /soe card-action can name no
// other card and no other clicker).
type job struct {
	Verb    string `json:"v"`
	Scope   string `json:"s"`
	Q       int    `json:"q"`
	A       int    `json:"a,omitempty"`
	Channel string `json:"c,omitempty"`
	TS      string `json:"t,omitempty"` // the card; "" when it cannot be updated (ephemeral)
	User    string `json:"u"`
}

func (j job) ref() postcard.Ref {
	scope, _ := soe.ParseScopeKey(j.Scope)
	return postcard.Ref{Scope: scope, QuestionID: j.Q, AnswerID: j.A}
}

// verbOf is the verb of an action id ("card_accept:a12" → accept).
func verbOf(actionID string) string {
	prefix, _, _ := strings.Cut(actionID, ":")
	switch prefix {
	case postcard.ActionUpvote:
		return verbUpvote
	case postcard.ActionBookmark:
		return verbBookmark
	case postcard.ActionAccept:
		return verbAccept
	}
	return ""
}

// click handles one button.
func (f *Feature) click(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	ref, ok := postcard.ParseRef(a.Value)
	verb := verbOf(a.ActionID)
	if !ok || verb == "" || (verb == verbAccept && !ref.IsAnswer()) {
		f.r.Reply(ctx, env, OutOfDate())
		return
	}
	j := job{Verb: verb, Scope: ref.Scope.Key(), Q: ref.QuestionID, A: ref.AnswerID, Channel: env.ChannelID(), User: env.UserID}
	var card *slack.Message
	if ic := env.Interaction; ic != nil && !ic.Container.IsEphemeral {
		j.TS = ic.Container.MessageTs
		if ic.Message.Timestamp == j.TS && j.TS != "" {
			card = &ic.Message
		}
	}
	f.act(ctx, env, j, card)
}

// replay is the click again, after the clicker connected.
func (f *Feature) replay(ctx context.Context, r *router.Request) {
	j, ok := f.open(r.Rest)
	if !ok || j.User != r.UserID {
		f.r.Reply(ctx, r.Env, OutOfDate())
		return
	}
	f.act(ctx, r.Env, j, nil)
}

// aad binds sealed jobs to this use.
var aad = []byte("soebot/cardactions/job/v1")

// resume is the replay of j after linking (nil without a sealer).
func (f *Feature) resume(env *chat.Envelope, j job) *linking.Resume {
	if f.sealer == nil {
		return nil
	}
	sealed, err := vault.SealText(f.sealer, j, aad)
	if err != nil {
		f.log.Warn("cardactions: could not seal the replay", "err", err)
		return nil
	}
	return &linking.Resume{Text: Subcommand + " " + sealed,
		ChannelID: env.ChannelID(), ResponseURL: env.ResponseURL()}
}

// open reads a sealed job; anything forged or altered is not ok.
func (f *Feature) open(s string) (job, bool) {
	var j job
	if f.sealer == nil || vault.OpenText(f.sealer, s, aad, &j) != nil || !validVerb(j.Verb) || j.Q <= 0 || !chat.ValidID(j.User) {
		return j, false
	}
	if _, err := soe.ParseScopeKey(j.Scope); err != nil || (j.Verb == verbAccept && j.A <= 0) {
		return j, false
	}
	if j.Channel != "" && !chat.ValidID(j.Channel) {
		return j, false
	}
	return j, true
}

// recordWrite tells linking what a write said about the link's access.
func (f *Feature) recordWrite(ctx context.Context, l *linking.Link, err error) {
	if f.links == nil || l == nil || (err != nil && !errors.Is(err, soe.ErrWriteAccess)) {
		return
	}
	if rerr := f.links.RecordWrite(ctx, l.TeamID, l.UserID, l.Scope, err == nil); rerr != nil {
		f.log.WarnContext(ctx, "cardactions: could not record write access", "err", rerr)
	}
}
