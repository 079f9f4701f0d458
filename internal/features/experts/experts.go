// Package experts is /soe experts: who the subject-matter experts for a tag
// are, as people the caller can reach in Slack (mentioned where their Slack
// account is known), with a button to share the answer in the channel and,
// when the ask feature is there, one to ask them a question.
package experts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/reveal"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

// actionShare re-posts an answer in the channel; its value is a shareValue.
const actionShare = "experts_share"

// The question asked before a private team's experts are shared where not
// everyone is known to be on the team (security #4); value as Share's.
const (
	actionShareReveal = "experts_share_reveal"
	actionShareAlways = "experts_share_always"
)

// maxTags is how many tags one command may ask about.
const maxTags = 5

// Config is what the feature needs to know about its surroundings.
type Config struct {
	Command string // the slash command, default "/soe"
	// SOETimeout bounds the lookups of one answer (default 8s).
	SOETimeout time.Duration
}

// Router is what the feature uses of the router: replies, the scope a
// command is about, and the SOE middleware (*router.Router).
type Router interface {
	Reply(ctx context.Context, env *chat.Envelope, m chat.Message)
	ScopeFor(ctx context.Context, env *chat.Envelope, team string) soe.Scope
	WithSOE(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume,
		f func(ctx context.Context, c *soe.Client, l *linking.Link) error)
}

// Slack posts the shared answer and finds the email of a person made an
// expert (chat.Slack).
type Slack interface {
	Post(ctx context.Context, channel string, m chat.Message) (ts string, err error)
	Respond(ctx context.Context, responseURL string, m chat.Message) error
	UserInfo(ctx context.Context, user string) (*slack.User, error)
}

// People finds tags, their experts and the experts' Slack users
// (*people.Directory).
type People interface {
	TagWithExperts(ctx context.Context, src people.Source, name string) (*soe.TagSummary, *people.Experts, []string, error)
	TagExperts(ctx context.Context, src people.Source, tagID int) (*people.Experts, error)
	InSlack(ctx context.Context, teamID string, src people.Source, callerSOEID int, e *people.Experts) (*people.Experts, error)
}

// Asker makes the buttons that open the ask form prefilled (the ask feature).
type Asker interface {
	AskButton(suffix, label string, scope soe.Scope, tags []string, title string) *slack.ButtonBlockElement
}

// Deps are the services the feature uses. Asker may be nil (ask is not
// available: no "Ask the experts" button); Logger may be nil.
type Deps struct {
	Router Router
	Slack  Slack
	People People
	Asker  Asker
	// Audience nil: a private team's experts are shared only after asking.
	Audience reveal.Audience
	// Links and Curator serve experts add/remove; Links nil: people are
	// found by email only; Curator nil: nothing cached to forget.
	Links   Links
	Curator Curator
	Logger  *slog.Logger
}

// Feature is /soe experts and its Share button.
type Feature struct {
	cfg     Config
	router  Router
	slack   Slack
	people  People
	asker   Asker
	aud     reveal.Audience
	links   Links
	curator Curator
	log     *slog.Logger
}

// New builds the feature; Register adds it to a router.
func New(cfg Config, d Deps) *Feature {
	if cfg.Command == "" {
		cfg.Command = "/soe"
	}
	d.Logger, _, cfg.SOETimeout = router.Defaults(d.Logger, nil, cfg.SOETimeout)
	return &Feature{cfg: cfg, router: d.Router, slack: d.Slack, people: d.People, asker: d.Asker, aud: d.Audience,
		links: d.Links, curator: d.Curator, log: d.Logger}
}

// Register adds /soe experts (aliases expert, sme, smes) and its Share button.
func (f *Feature) Register(r *router.Router) {
	r.Subcommand(&router.Subcommand{
		Name: "experts", Aliases: []string{"expert", "sme", "smes"},
		Usage:     "experts <tag> [tag…] [team <slug>] | experts add|remove @person <tag>",
		Summary:   "Who are the subject-matter experts for a tag? Reach them in Slack.",
		Quick:     f.quick,
		Run:       f.run,
		NamesTeam: router.TeamOption,
	})
	r.Action(actionShare, f.share)
	r.Action(actionShareReveal, f.share)
	r.Action(actionShareAlways, f.share)
}

// shareValue is the value of the Share button: what to look up again.
type shareValue struct {
	Scope string   `json:"s,omitempty"` // soe.Scope.Key()
	Tags  []string `json:"t,omitempty"`
}

// parseExpertsArgs returns the tags and scope asked for, or a usage problem.
func parseExpertsArgs(args []string) (tags []string, team string, problem string) {
	team, rest, err := router.TakeTeam(args)
	if err != nil {
		return nil, "", err.Error()
	}
	seen := map[string]bool{}
	for _, a := range rest {
		for _, part := range strings.Split(a, ",") {
			t := router.NormalizeTag(part)
			if t == "" && part != a { // "go,,k8s"
				continue
			}
			if p := router.ValidateTag(t); p != "" {
				return nil, "", p
			}
			if !seen[t] {
				seen[t] = true
				tags = append(tags, t)
			}
		}
	}
	switch {
	case len(tags) == 0:
		return nil, "", "name a tag"
	case len(tags) > maxTags:
		return nil, "", fmt.Sprintf("ask about at most %d tags at once", maxTags)
	}
	return tags, team, ""
}

func (f *Feature) usage(problem string) chat.Message {
	cmd := f.cfg.Command
	return blockkit.Warning(fmt.Sprintf("%s: %s.\nUsage: %s, for example %s or %s.",
		"That did not work", problem, mrkdwn.Code(cmd+" experts <tag> [tag…] [team <slug>]"),
		mrkdwn.Code(cmd+" experts kubernetes"), mrkdwn.Code(cmd+" experts go postgresql team platform")))
}

// quick answers a usage error from the text alone, in the ack.
func (f *Feature) quick(r *router.Request) (chat.Message, bool) {
	if isCurate(r.Args) {
		if _, problem := parseCurateArgs(r.Args); problem != "" {
			return f.curateUsage(problem), true
		}
		return chat.Message{}, false
	}
	if _, _, problem := parseExpertsArgs(r.Args); problem != "" {
		return f.usage(problem), true
	}
	return chat.Message{}, false
}

func (f *Feature) run(ctx context.Context, r *router.Request) {
	if isCurate(r.Args) {
		f.runCurate(ctx, r)
		return
	}
	tags, team, _ := parseExpertsArgs(r.Args) // a usage problem was answered by quick
	scope := f.router.ScopeFor(ctx, r.Env, team)
	resume := &linking.Resume{Text: r.Env.Slash.Text, ChannelID: r.ChannelID, ResponseURL: r.ResponseURL}
	f.router.WithSOE(ctx, r.Env, scope, resume, func(ctx context.Context, c *soe.Client, link *linking.Link) error {
		results, err := f.lookup(ctx, r.TeamID, c, link, tags)
		if err != nil {
			return err
		}
		share, _ := json.Marshal(shareValue{Scope: scope.Key(), Tags: tags})
		f.router.Reply(ctx, r.Env, f.render(scope, results, renderOpts{shareValue: string(share)}))
		return nil
	})
}

// share re-posts an experts answer in the channel, from the bot, so that the
// mapped experts are notified.
func (f *Feature) share(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	v, scope, ok := parseShareValue(a.Value)
	if !ok {
		f.router.Reply(ctx, env, blockkit.Warning("That button is out of date; run the command again."))
		return
	}
	g := reveal.Gate{Audience: f.aud, Log: f.log}
	b := reveal.Buttons{Show: actionShareReveal, Always: actionShareAlways, ShowLabel: "Share", Value: a.Value}
	if !g.Pass(ctx, env, a.ActionID, scope, "these experts", b, func(m chat.Message) { f.router.Reply(ctx, env, m) }) {
		return
	}
	f.router.WithSOE(ctx, env, scope, nil, func(ctx context.Context, c *soe.Client, link *linking.Link) error {
		results, err := f.lookup(ctx, env.TeamID, c, link, v.Tags)
		if err != nil {
			return err
		}
		f.post(ctx, env, f.render(scope, results, renderOpts{sharedBy: env.UserID}))
		return nil
	})
}

// parseShareValue checks a Share button's value as carefully as typed input.
func parseShareValue(raw string) (shareValue, soe.Scope, bool) {
	var v shareValue
	if err := json.Unmarshal([]byte(raw), &v); err != nil || len(v.Tags) == 0 || len(v.Tags) > maxTags {
		return v, soe.Scope{}, false
	}
	scope, err := soe.ParseScopeKey(v.Scope)
	if err != nil {
		return v, soe.Scope{}, false
	}
	for _, t := range v.Tags {
		if router.ValidateTag(t) != "" {
			return v, soe.Scope{}, false
		}
	}
	return v, scope, true
}

// post shows msg in the channel of env (falling back to the response_url),
// then removes the private answer whose Share button was clicked.
func (f *Feature) post(ctx context.Context, env *chat.Envelope, msg chat.Message) {
	channel := env.ChannelID()
	if _, err := f.slack.Post(ctx, channel, msg); err != nil {
		f.log.WarnContext(ctx, "share: post failed; falling back to response_url", "channel", channel, "err", err)
		msg.InChannel = true
		if u := env.ResponseURL(); u == "" || f.slack.Respond(ctx, u, msg) != nil {
			f.router.Reply(ctx, env, blockkit.Warning("I could not post in this channel. Invite me with `/invite @soebot` and try again."))
			return
		}
	}
	// Tell the sharer it worked by removing the Share button's message.
	if u := env.ResponseURL(); u != "" {
		_ = f.slack.Respond(ctx, u, chat.Message{DeleteOriginal: true})
	}
}

// tagExperts is what one tag of the answer says.
type tagExperts struct {
	Typed       string
	Tag         *soe.TagSummary // nil: no such tag
	Suggestions []string
	SMEDisabled bool
	Users       []people.Person
	Groups      []people.Group
}

// lookup resolves each tag and its experts with the caller's client. An error
// is returned only when SOE failed as a whole (unauthorised, down…).
func (f *Feature) lookup(ctx context.Context, teamID string, c *soe.Client, link *linking.Link, tags []string) ([]tagExperts, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.SOETimeout)
	defer cancel()
	caller := 0
	if link != nil {
		caller = link.SOEUserID
	}
	out := make([]tagExperts, len(tags))
	for i, name := range tags {
		res, err := f.lookupTag(ctx, teamID, c, caller, name)
		if err != nil {
			return nil, err
		}
		out[i] = res
	}
	return out, nil
}

func (f *Feature) lookupTag(ctx context.Context, teamID string, src people.Source, caller int, name string) (tagExperts, error) {
	res := tagExperts{Typed: name}
	tag, ex, sugg, err := f.people.TagWithExperts(ctx, src, name)
	if errors.Is(err, soe.ErrNotFound) {
		res.Suggestions = sugg
		return res, nil
	}
	if err != nil {
		return res, err
	}
	res.Tag = tag
	if tag.SubjectMatterExpertCount == nil {
		// SOE: "If null, SMEs are not enabled". The tag is fresher than
		// the SME lists the directory may still hold.
		res.SMEDisabled = true
		return res, nil
	}
	if ex == nil {
		ex, err = f.people.TagExperts(ctx, src, tag.ID)
	}
	switch {
	case errors.Is(err, soe.ErrSMEDisabled):
		res.SMEDisabled = true
		return res, nil
	case err != nil:
		return res, err
	}
	if ex, err = f.people.InSlack(ctx, teamID, src, caller, ex); err != nil {
		return res, err
	}
	res.Users, res.Groups = ex.Users, ex.Groups
	return res, nil
}
