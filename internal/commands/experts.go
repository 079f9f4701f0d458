package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

// Action ids of the experts feature.
const (
	actionExpertsShare = "experts_share"
)

// AskPrefill is the value of the Share button (scope and tags).
type AskPrefill struct {
	Scope string   `json:"s,omitempty"` // soe.Scope.Key()
	Tags  []string `json:"t,omitempty"`
	Title string   `json:"q,omitempty"`
}

const maxExpertTags = 5

// experts is the state of the experts feature.
type experts struct {
	b *Bot
	// tags: (scope, lower name) -> tag; smes: (scope, tag id) -> SMEs;
	// who maps SOE people to Slack (shared code with ask).
	tags *cache[string, *soe.TagSummary]
	smes *cache[string, *soe.SubjectMatterExperts]
	who  *slackMapper
}

// AddExperts registers /soe experts (aliases expert, sme, smes) and its buttons.
func (b *Bot) AddExperts(ttl time.Duration) {
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	x := &experts{
		b:    b,
		tags: newCache[string, *soe.TagSummary](ttl, 5000, b.now),
		smes: newCache[string, *soe.SubjectMatterExperts](ttl, 5000, b.now),
		who:  newSlackMapper(b, ttl),
	}
	b.Subcommand(&router.Subcommand{
		Name: "experts", Aliases: []string{"expert", "sme", "smes"},
		Usage:   "experts <tag> [tag…] [team <slug>]",
		Summary: "Who are the subject-matter experts for a tag? Reach them in Slack.",
		Run:     x.run,
	})
	b.Action(actionExpertsShare, x.share)
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
	case len(tags) > maxExpertTags:
		return nil, "", fmt.Sprintf("ask about at most %d tags at once", maxExpertTags)
	}
	return tags, team, ""
}

func (x *experts) usage(problem string) chat.Message {
	cmd := x.b.cfg.Command
	return blockkit.Warning(fmt.Sprintf("%s: %s.\nUsage: %s, for example %s or %s.",
		"That did not work", problem, mrkdwn.Code(cmd+" experts <tag> [tag…] [team <slug>]"),
		mrkdwn.Code(cmd+" experts kubernetes"), mrkdwn.Code(cmd+" experts go postgresql team platform")))
}

func (x *experts) run(ctx context.Context, r *router.Request) {
	tags, team, problem := parseExpertsArgs(r.Args)
	if problem != "" {
		x.b.Reply(ctx, r.Env, x.usage(problem))
		return
	}
	scope := x.b.ScopeFor(ctx, r.Env, team)
	resume := &linking.Resume{Text: r.Env.Slash.Text, ChannelID: r.ChannelID, ResponseURL: r.ResponseURL}
	c, link, ok := x.b.Client(ctx, r.Env, scope, resume)
	if !ok {
		return
	}
	results, err := x.lookup(ctx, r.TeamID, c, link, tags)
	if err != nil {
		x.b.Failed(ctx, r.Env, link, err)
		return
	}
	share, _ := json.Marshal(AskPrefill{Scope: scope.Key(), Tags: tags})
	x.b.Reply(ctx, r.Env, x.render(scope, results, renderOpts{shareValue: string(share)}))
}

// share re-posts an experts answer in the channel, from the bot, so that the
// mapped experts are notified.
func (x *experts) share(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	var v AskPrefill
	if err := json.Unmarshal([]byte(a.Value), &v); err != nil || len(v.Tags) == 0 || len(v.Tags) > maxExpertTags {
		x.b.Reply(ctx, env, blockkit.Warning("That button is out of date; run the command again."))
		return
	}
	scope, err := soe.ParseScopeKey(v.Scope)
	if err != nil {
		x.b.Reply(ctx, env, blockkit.Warning("That button is out of date; run the command again."))
		return
	}
	for _, t := range v.Tags {
		if router.ValidateTag(t) != "" {
			x.b.Reply(ctx, env, blockkit.Warning("That button is out of date; run the command again."))
			return
		}
	}
	c, link, ok := x.b.Client(ctx, env, scope, nil)
	if !ok {
		return
	}
	results, err := x.lookup(ctx, env.TeamID, c, link, v.Tags)
	if err != nil {
		x.b.Failed(ctx, env, link, err)
		return
	}
	msg := x.render(scope, results, renderOpts{sharedBy: env.UserID})
	channel := env.ChannelID()
	if _, err := x.b.slack.Post(ctx, channel, msg); err != nil {
		x.b.log.WarnContext(ctx, "share: post failed; falling back to response_url", "channel", channel, "err", err)
		msg.InChannel = true
		if u := env.ResponseURL(); u == "" || x.b.slack.Respond(ctx, u, msg) != nil {
			x.b.Reply(ctx, env, blockkit.Warning("I could not post in this channel. Invite me with `/invite @soebot` and try again."))
			return
		}
	}
	// Tell the sharer it worked by removing the Share button's message.
	if u := env.ResponseURL(); u != "" {
		_ = x.b.slack.Respond(ctx, u, chat.Message{DeleteOriginal: true})
	}
}

type person struct {
	ID         int
	Name       string
	ProfileURL string
	SlackID    string
}

type expertGroup struct {
	Name    string
	Members []person
}

type tagExperts struct {
	Typed       string
	Tag         *soe.TagSummary
	Suggestions []string
	SMEDisabled bool
	Users       []person
	Groups      []expertGroup
}

// lookup resolves each tag and its experts with the caller's client. An error
// is returned only when SOE failed as a whole (unauthorised, down…).
func (x *experts) lookup(ctx context.Context, teamID string, c *soe.Client, link *linking.Link, tags []string) ([]tagExperts, error) {
	ctx, cancel := context.WithTimeout(ctx, x.b.cfg.SOETimeout)
	defer cancel()
	scope := c.Scope().Key()
	out := make([]tagExperts, len(tags))
	for i, name := range tags {
		res := tagExperts{Typed: name}
		tag, err := x.tags.GetOrLoad(ctx, scope+"\x00"+name, func(ctx context.Context) (*soe.TagSummary, error) {
			t, sugg, err := c.TagByName(ctx, name)
			if errors.Is(err, soe.ErrNotFound) {
				res.Suggestions = sugg
			}
			return t, err
		})
		if errors.Is(err, soe.ErrNotFound) {
			out[i] = res
			continue
		}
		if err != nil {
			return nil, err
		}
		res.Tag = tag
		smes, err := x.smes.GetOrLoad(ctx, fmt.Sprintf("%s\x00%d", scope, tag.ID), func(ctx context.Context) (*soe.SubjectMatterExperts, error) {
			s, err := c.SubjectMatterExperts(ctx, tag.ID)
			if errors.Is(err, soe.ErrNotFound) {
				return &soe.SubjectMatterExperts{}, nil
			}
			return s, err
		})
		switch {
		case errors.Is(err, soe.ErrSMEDisabled):
			res.SMEDisabled = true
			out[i] = res
			continue
		case err != nil:
			return nil, err
		}
		if res.Users, res.Groups, err = x.who.smePeople(ctx, teamID, c, link, smes); err != nil {
			return nil, err
		}
		out[i] = res
	}
	return out, nil
}

type renderOpts struct {
	shareValue string // set on the private answer: the Share button's value
	sharedBy   string // set on the shared message: who shared it
}

// render builds the experts answer. Every SOE string is escaped; the only
// mentions are the Slack ids we mapped ourselves.
func (x *experts) render(scope soe.Scope, results []tagExperts, o renderOpts) chat.Message {
	var blocks []slack.Block
	var summary []string
	askable := x.b.asker != nil
	for i, res := range results {
		if i > 0 {
			blocks = append(blocks, blockkit.Divider())
		}
		name := res.Typed
		if res.Tag != nil {
			name = res.Tag.Name
		}
		switch {
		case res.Tag == nil:
			text := fmt.Sprintf(":mag: No tag %s on %s.", mrkdwn.Code(name), mrkdwn.Escape(scope.String()))
			if len(res.Suggestions) > 0 {
				var s []string
				for _, n := range res.Suggestions {
					s = append(s, mrkdwn.Code(n))
				}
				text += " Did you mean " + strings.Join(s, ", ") + "?"
			}
			blocks = append(blocks, blockkit.Section(text))
			summary = append(summary, "no tag "+name)
			continue
		case res.SMEDisabled:
			blocks = append(blocks, blockkit.Section(fmt.Sprintf(":no_entry: Subject-matter experts are turned off on %s, so I cannot say who the experts on %s are.",
				mrkdwn.Escape(scope.String()), mrkdwn.Code(name))))
			summary = append(summary, "SMEs are turned off")
			continue
		}
		tagLink := mrkdwn.Link(res.Tag.WebURL, name)
		blocks = append(blocks, blockkit.Header("Experts on "+name))
		if len(res.Users) == 0 && len(res.Groups) == 0 {
			text := fmt.Sprintf("%s has no subject-matter experts yet.", mrkdwn.Code(name))
			switch n := res.Tag.WatcherCount; n {
			case 0:
				text += " Nobody watches it either."
			case 1:
				text += " 1 person watches it."
			default:
				text += fmt.Sprintf(" %d people watch it.", n)
			}
			if askable && o.sharedBy == "" {
				text += " You could ask a question in this tag instead."
			}
			blocks = append(blocks, blockkit.Section(text))
			summary = append(summary, "no experts on "+name)
		} else {
			var lines []string
			for _, p := range res.Users {
				lines = append(lines, "• "+renderPerson(p))
			}
			for _, g := range res.Groups {
				var ms []string
				for _, m := range g.Members {
					ms = append(ms, renderPerson(m))
				}
				line := "• *" + mrkdwn.Escape(mrkdwn.Truncate(g.Name, 80)) + "* (group)"
				if len(ms) > 0 {
					line += ": " + strings.Join(ms, ", ")
				}
				lines = append(lines, line)
			}
			blocks = append(blocks, blockkit.Section(strings.Join(lines, "\n")))
			summary = append(summary, fmt.Sprintf("%d experts on %s", len(res.Users)+len(res.Groups), name))
		}
		var els []slack.BlockElement
		if askable && o.sharedBy == "" {
			label := "Ask the experts"
			if len(res.Users) == 0 && len(res.Groups) == 0 {
				label = "Ask a question in this tag"
			}
			els = append(els, x.b.AskButton(name, label, scope, []string{name}, ""))
		}
		if res.Tag.WebURL != "" {
			els = append(els, blockkit.LinkButton("experts_view_tag:"+name, "View tag", res.Tag.WebURL))
		}
		blocks = append(blocks, blockkit.Context(fmt.Sprintf("%s on %s · %d posts", tagLink, mrkdwn.Escape(scope.String()), res.Tag.PostCount)))
		if len(els) > 0 {
			blocks = append(blocks, blockkit.Actions(fmt.Sprintf("experts_actions_%d", i), els...))
		}
	}
	if o.shareValue != "" && anyFound(results) {
		blocks = append(blocks, blockkit.Actions("experts_share", blockkit.PrimaryButton(actionExpertsShare, "Share in channel", o.shareValue)))
	}
	if o.sharedBy != "" {
		blocks = append(blocks, blockkit.Context("Shared by "+mrkdwn.Mention(o.sharedBy)+" with "+mrkdwn.Code(x.b.cfg.Command+" experts")))
	}
	return chat.Message{Text: "Experts: " + strings.Join(summary, "; "), Blocks: capBlocks(blocks, 50)}
}

func anyFound(rs []tagExperts) bool {
	for _, r := range rs {
		if r.Tag != nil && !r.SMEDisabled {
			return true
		}
	}
	return false
}

func renderPerson(p person) string {
	name := mrkdwn.Link(p.ProfileURL, mrkdwn.Truncate(p.Name, 80))
	if p.SlackID != "" {
		return mrkdwn.Mention(p.SlackID) + " (" + name + ")"
	}
	return name
}
