// Package subscriptions is the notifications commands: channel
// subscriptions (/soe subscribe, unsubscribe, subscriptions), personal
// alerts by DM (/soe notify, and the switches on the App Home), and a
// channel's default team (/soe config). internal/notify does the polling
// and the delivery; this package only changes and shows its settings.
package subscriptions

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/reveal"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

// Action ids of the notifications feature.
const (
	actionSubConfirm = "notify_sub_confirm" // value: pendingSub JSON
	actionSubCancel  = "notify_sub_cancel"
	// actionAdoptConfirm confirms keeping a private-team subscription running
	// in a channel not all known to be on the team; value: subscription id.
	actionAdoptConfirm = "notify_adopt_confirm"
	actionAlert        = "notify_alert" // id "notify_alert:<alert>", value "<alert>:on|off"
)

// maxSubscribeTags bounds the tags of one /soe subscribe.
const maxSubscribeTags = 10

// Config is what the feature needs to know about its surroundings.
type Config struct {
	// SOETimeout bounds one SOE check (tags, priming a scope; default 8s).
	SOETimeout time.Duration
	// AdminUsers may list every subscription besides the workspace admins
	// and owners (ADMIN_SLACK_USERS).
	AdminUsers []string
}

// Service is the notifications service the commands drive (notify.Service).
type Service interface {
	Prime(ctx context.Context, c *soe.Client) (time.Time, error)
	Subscribe(ctx context.Context, r notify.SubscribeRequest) (notify.Subscription, error)
	Unsubscribe(ctx context.Context, teamID, channelID string, scope *soe.Scope, tags []string) (notify.Unsubscribed, error)
	ChannelSubscriptions(ctx context.Context, teamID, channelID string) ([]notify.Subscription, error)
	UserSubscriptions(ctx context.Context, teamID, userID string) ([]notify.Subscription, error)
	ChannelAudit(ctx context.Context, teamID, channelID string) ([]notify.AuditEntry, error)
	UserAudit(ctx context.Context, teamID, userID string) ([]notify.AuditEntry, error)
	UnsubscribeCommunity(ctx context.Context, teamID, channelID string, match func(name string) bool) (int, error)
	Prefs(ctx context.Context, teamID, userID string) (notify.Prefs, error)
	SetAlert(ctx context.Context, teamID, userID string, a notify.Alert, on bool) (notify.Prefs, error)
	RememberIM(ctx context.Context, teamID, userID, channelID string) error
	Subscription(ctx context.Context, id string) (notify.Subscription, bool, error)
	Adopt(ctx context.Context, teamID, id, userID string) (notify.Subscription, error)
	Interval() time.Duration
	SetAlertCadence(ctx context.Context, teamID, userID string, a notify.Alert, c notify.Cadence, on bool, tz string) (notify.Prefs, error)
	SetExpertDigest(ctx context.Context, teamID, userID string, on bool, tz string) (notify.Prefs, error)
}

// Audience says whether a private team's content may be shown in a channel
// without asking (channels.Audience).
type Audience interface {
	MaySee(ctx context.Context, teamID, channelID string, scope soe.Scope) (bool, error)
}

// Channels are the channels' default teams (channels.Settings).
type Channels interface {
	ChannelScope(ctx context.Context, teamID, channelID string) (soe.Scope, bool, error)
	SetChannelScope(ctx context.Context, teamID, channelID string, scope *soe.Scope) error
}

// Links are the user's connections (linking.Service); alerts cover the
// scopes they connected.
type Links interface {
	Links(ctx context.Context, teamID, userID string) ([]linking.Link, error)
	ClientFor(ctx context.Context, l linking.Link) (*soe.Client, error)
}

// Slack is what the feature asks of Slack besides replies (chat.Slack).
type Slack interface {
	ConversationInfo(ctx context.Context, channel string) (*slack.Channel, error)
	Respond(ctx context.Context, responseURL string, m chat.Message) error
	DM(ctx context.Context, user string, m chat.Message) (channel, ts string, err error)
}

// Router is what the feature uses of the router (router.Router).
type Router interface {
	Command() string
	Reply(ctx context.Context, env *chat.Envelope, m chat.Message)
	ScopeFor(ctx context.Context, env *chat.Envelope, team string) soe.Scope
	Client(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume) (*soe.Client, *linking.Link, bool)
	WithSOE(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume,
		f func(ctx context.Context, c *soe.Client, l *linking.Link) error)
}

// HomeRefresher re-publishes a user's App Home after a change it shows
// (alerts, subscriptions they created).
type HomeRefresher interface {
	PublishHome(ctx context.Context, teamID, userID string)
}

// Deps are the services the feature uses. Links nil: turning an alert on
// always asks to connect. Home nil: no Home to refresh.
type Deps struct {
	Router   Router
	Slack    Slack
	Service  Service
	Channels Channels
	Links    Links
	Home     HomeRefresher
	// Audience nil: every private-team subscription asks for confirmation.
	Audience Audience
	// Audit and Users serve /soe subscriptions all; Audit nil: not
	// available; Users nil: only Config.AdminUsers are admins.
	Audit Auditor
	Users UserInfo
	// Settings are the channel settings other features own, set with
	// /soe config <name> … (e.g. suggest).
	Settings []ConfigSetting
	// Decliner records an escalation DM's "Not for me" (nil: the button
	// does nothing).
	Decliner Decliner
	// Threads nil: no /soe config threads.
	Threads ThreadSettings
	Logger  *slog.Logger
	Now     func() time.Time
}

// ConfigSetting is a channel setting another feature owns: /soe config
// <ConfigName> [args] runs RunConfig; ConfigUsage (e.g. "suggest on|off")
// and ConfigSummary (e.g. "turn answer suggestions on or off") are added to
// the command's usage and its line in /soe help.
type ConfigSetting interface {
	ConfigName() string
	ConfigUsage() string
	ConfigSummary() string
	RunConfig(ctx context.Context, r *router.Request, args []string)
}

// Feature is channel subscriptions, personal alerts and channel default
// teams: /soe subscribe, unsubscribe, subscriptions, notify and config, on
// top of notify.Service, and the App Home section (HomeSection).
type Feature struct {
	cfg      Config
	router   Router
	slack    Slack
	svc      Service
	channels Channels
	links    Links
	home     HomeRefresher
	audience Audience
	audit    Auditor
	users    UserInfo
	settings []ConfigSetting
	decliner Decliner
	log      *slog.Logger
	now      func() time.Time
}

// New builds the feature.
func New(cfg Config, d Deps) *Feature {
	d.Logger, d.Now, cfg.SOETimeout = router.Defaults(d.Logger, d.Now, cfg.SOETimeout)
	f := &Feature{cfg: cfg, router: d.Router, slack: d.Slack, svc: d.Service, channels: d.Channels, links: d.Links,
		home: d.Home, audience: d.Audience, audit: d.Audit, users: d.Users, settings: d.Settings, decliner: d.Decliner, log: d.Logger, now: d.Now}
	if d.Threads != nil {
		f.settings = append(f.settings, &threadsConfig{n: f, s: d.Threads})
	}
	return f
}

// Register registers /soe subscribe, unsubscribe, subscriptions, notify and
// config, and their buttons. The App Home section (HomeSection) is added by
// whoever wires the Home.
func (n *Feature) Register(r *router.Router) {
	r.Subcommand(&router.Subcommand{Name: "subscribe", Aliases: []string{"sub", "follow"},
		Usage:     "subscribe <tag>|<tag+tag>|community <name> [tag…] [-tag…] [questions|answers|accepted|all] [digest hourly|daily|weekly] [unanswered <delay>] [escalate <delay> [<delay>]] [team <slug>] [preview]",
		Summary:   "Post new questions, answers or accepted answers in these tags to this channel (`all` for every tag).",
		Quick:     n.quickSubscribe,
		Run:       n.runSubscribe,
		NamesTeam: router.TeamOption})
	r.Subcommand(&router.Subcommand{Name: "unsubscribe", Aliases: []string{"unsub", "unfollow"},
		Usage: "unsubscribe <tag…>|all [team <slug>]", Summary: "Stop posting those tags (or anything) to this channel.",
		Quick:     n.quickUnsubscribe,
		Run:       n.runUnsubscribe,
		NamesTeam: router.TeamOption})
	r.Subcommand(&router.Subcommand{Name: "subscriptions", Aliases: []string{"subs"},
		Usage: "subscriptions [mine|all]", Summary: "List this channel's subscriptions (or all the ones you keep running; admins: every one in the workspace).",
		Run: n.runSubscriptions})
	r.Subcommand(&router.Subcommand{Name: "notify", Aliases: []string{"alerts"},
		Usage:   "notify [answers|expert] [on|off|immediate|3h|daily|weekly] | notify digest weekly|off",
		Summary: "DM me answers to my questions, or new questions in tags where I am an expert (as they happen or in digests); `digest weekly`: the unanswered questions in my expert tags every Monday.",
		Run:     n.runNotify})
	usage, summary := "config [team <slug>|team none", "Show or set this channel's default private team"
	for _, s := range n.settings {
		usage += "|" + s.ConfigUsage()
		summary += ", or " + s.ConfigSummary()
	}
	r.Subcommand(&router.Subcommand{Name: "config", Usage: usage + "]", Summary: summary + ".", Run: n.runConfig, NamesTeam: router.TeamOption})
	r.Action(actionSubConfirm, n.confirm)
	r.Action(actionSubCancel, n.cancel)
	r.Action(actionPreviewCreate, n.previewCreate)
	r.Action(actionAlert, n.toggle)
	r.Action(actionCadence, n.cadenceClicked)
	r.Action(actionAuditPage, n.auditPage)
	r.Action(notify.ActionReconnect, n.reconnect)
	r.Action(notify.ActionAdopt, n.adopt)
	r.Action(actionAdoptConfirm, n.adoptConfirmed)
	r.Action(notify.ActionEscalationDecline, n.decline)
}

// refreshHome re-publishes the user's App Home (nothing when there is none).
func (n *Feature) refreshHome(ctx context.Context, teamID, userID string) {
	if n.home != nil {
		n.home.PublishHome(ctx, teamID, userID)
	}
}

// --- parsing ---------------------------------------------------------------------

// subscribeArgs is a parsed /soe subscribe.
type subscribeArgs struct {
	Tags  []string
	Every bool // "all" in place of tags: every tag
	Kinds notify.Kind
	Team  string
	// Filter, Preview: see filters.go; problem says how a problem is answered.
	Filter  filterSpec
	Preview bool
	problem problemKind
	// Timers: unanswered and escalate (escalate.go).
	Timers notify.Timers
	Digest notify.Cadence // hourly, daily or weekly: one summary per period
}

// parseSubscribeArgs reads tags, kinds and "team <slug>". A first "all"
// (before any tag) means every tag; any other "all" means every kind. A tag
// that looks like a kind word can be given in brackets: [questions].
func parseSubscribeArgs(args []string) (subscribeArgs, string) {
	var out subscribeArgs
	var err0 string
	team, rest, err := router.TakeTeam(args)
	if err != nil {
		return out, err.Error()
	}
	out.Team = team
	if out.Filter.Community, rest, err0 = takeCommunity(rest); err0 != "" {
		out.problem = problemFilter
		return out, err0
	}
	timers, rest, problem := takeTimers(rest)
	if problem != "" {
		return out, problem
	}
	out.Timers = timers
	digest, rest, dproblem := takeDigest(rest)
	if dproblem != "" {
		return out, dproblem
	}
	out.Digest = digest
	for _, a := range rest {
		for _, part := range strings.Split(a, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			bracketed := strings.HasPrefix(part, "[") && strings.HasSuffix(part, "]")
			if !bracketed {
				if strings.EqualFold(part, "all") && !out.Every && len(out.Tags) == 0 && out.Kinds == 0 {
					out.Every = true
					continue
				}
				if k, ok := notify.ParseKind(part); ok {
					out.Kinds |= k
					continue
				}
				if strings.EqualFold(part, "preview") {
					out.Preview = true
					continue
				}
				if done, p := out.filterTerm(part); done {
					if p != "" {
						out.problem = problemFilter
						return out, p
					}
					continue
				}
			}
			t := router.NormalizeTag(part)
			if p := router.ValidateTag(t); p != "" {
				return out, p
			}
			if !contains(out.Tags, t) {
				out.Tags = append(out.Tags, t)
			}
		}
	}
	if kind, p := out.checkFilters(); p != "" {
		out.problem = kind
		return out, p
	}
	switch {
	case out.Every && len(out.Tags) > 0:
		return out, "give either tags or `all` (every tag), not both"
	case !out.Every && len(out.Tags) == 0 && out.Filter.isZero():
		return out, "name a tag, or `all` for every tag"
	case len(out.Tags) > maxSubscribeTags:
		return out, fmt.Sprintf("subscribe to at most %d tags at once", maxSubscribeTags)
	}
	if out.Kinds == 0 {
		out.Kinds = notify.DefaultKinds
		if out.Timers.Unanswered > 0 {
			out.Kinds = notify.KindQuestions // the unanswered filter posts questions, later
		} else if out.Digest != "" {
			out.Kinds = notify.AllKinds // a digest counts accepted answers too
		}
	}
	return out, ""
}

// parseUnsubscribeArgs reads "<tag…>|all [team <slug>]"; all means every
// subscription (tags is nil).
func parseUnsubscribeArgs(args []string) (tags []string, all bool, team string, problem string) {
	team, rest, err := router.TakeTeam(args)
	if err != nil {
		return nil, false, "", err.Error()
	}
	for _, a := range rest {
		for _, part := range strings.Split(a, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			if strings.EqualFold(part, "all") {
				all = true
				continue
			}
			t := router.NormalizeTag(part)
			if p := router.ValidateTag(t); p != "" {
				return nil, false, "", p
			}
			if !contains(tags, t) {
				tags = append(tags, t)
			}
		}
	}
	switch {
	case all && len(tags) > 0:
		return nil, false, "", "give either tags or `all`, not both"
	case !all && len(tags) == 0:
		return nil, false, "", "name the tags to stop, or `all`"
	}
	return tags, all, team, ""
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// --- /soe subscribe --------------------------------------------------------------

func (n *Feature) usage(problem string) chat.Message {
	cmd := n.router.Command()
	return blockkit.Warning(fmt.Sprintf("That did not work: %s.\nUsage: %s, for example %s, %s or %s.", problem,
		mrkdwn.Code(cmd+" subscribe <tag>|<tag+tag>|community <name> [tag…] [-tag…] [questions|answers|accepted|all] [digest hourly|daily|weekly] [unanswered <delay>] [escalate <delay> [<delay>]] [team <slug>] [preview]"),
		mrkdwn.Code(cmd+" subscribe go kubernetes"), mrkdwn.Code(cmd+" subscribe terraform accepted"),
		mrkdwn.Code(cmd+" subscribe all team platform")))
}

func (n *Feature) dmRefusal() chat.Message {
	cmd := n.router.Command()
	return blockkit.Warning(fmt.Sprintf("Subscriptions are for channels: run %s in the channel that should get the posts. "+
		"For alerts just for you, use %s or %s.", mrkdwn.Code(cmd+" subscribe"),
		mrkdwn.Code(cmd+" notify answers on"), mrkdwn.Code(cmd+" notify expert on")))
}

// checkChannel makes sure the bot can post in the channel the command came
// from. It returns the channel, or a message explaining why not.
func (n *Feature) checkChannel(ctx context.Context, channelID string) (*slack.Channel, *chat.Message) {
	if channelID == "" || strings.HasPrefix(channelID, "D") {
		m := n.dmRefusal()
		return nil, &m
	}
	info, err := n.slack.ConversationInfo(ctx, channelID)
	switch {
	case errors.Is(err, chat.ErrChannelGone):
		m := blockkit.Warning("I cannot see this channel: it is private and I am not a member. Invite me with `/invite @soebot`, then subscribe again.")
		return nil, &m
	case err != nil:
		n.log.WarnContext(ctx, "conversations.info failed", "channel", channelID, "err", err)
		m := blockkit.Warning("I could not check this channel just now. Please try again in a moment.")
		return nil, &m
	case info.IsIM || info.IsMpIM:
		m := n.dmRefusal()
		return nil, &m
	case info.IsArchived:
		m := blockkit.Warning("This channel is archived, so I cannot post in it.")
		return nil, &m
	case info.IsPrivate && !info.IsMember:
		m := blockkit.Warning("I cannot post in this private channel because I am not a member. Invite me with `/invite @soebot`, then subscribe again.")
		return nil, &m
	}
	return info, nil
}

// checkTags makes sure each tag exists in the scope (with the caller's client).
func (n *Feature) checkTags(ctx context.Context, c *soe.Client, tags []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.SOETimeout)
	defer cancel()
	for _, t := range tags {
		_, sugg, err := c.TagByName(ctx, t)
		if errors.Is(err, soe.ErrNotFound) {
			text := fmt.Sprintf("There is no tag %s on %s, so nothing changed.", mrkdwn.Code(t), mrkdwn.Escape(c.Scope().String()))
			if len(sugg) > 0 {
				var s []string
				for _, x := range sugg {
					s = append(s, mrkdwn.Code(x))
				}
				text += " Did you mean " + strings.Join(s, ", ") + "?"
			}
			return text, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", nil
}

// pendingSub is a subscription waiting for the user's confirmation (the
// Confirm button's value).
type pendingSub struct {
	Scope   string   `json:"s"`
	Tags    []string `json:"t,omitempty"`
	Kinds   int      `json:"k"`
	Channel string   `json:"c"`
	// The filters (filters.go); the community is resolved on confirmation.
	AllOf     [][]string    `json:"g,omitempty"`
	Exclude   []string      `json:"x,omitempty"`
	Community string        `json:"m,omitempty"`
	Digest    string        `json:"d,omitempty"`
	Timers    notify.Timers `json:"tm,omitzero"`
}

// quickSubscribe answers a usage error from the text alone, in the ack.
func (n *Feature) quickSubscribe(r *router.Request) (chat.Message, bool) {
	if args, problem := parseSubscribeArgs(r.Args); problem != "" {
		return n.problemMessage(args.problem, problem), true
	}
	return chat.Message{}, false
}

// quickUnsubscribe answers a usage error from the text alone, in the ack.
func (n *Feature) quickUnsubscribe(r *router.Request) (chat.Message, bool) {
	if name, rest, p := takeCommunity(r.Args); p != "" || (name != "" && len(rest) > 0) {
		return n.unsubscribeUsage(cmp.Or(p, "give just `community <name>`")), true
	} else if name != "" {
		return chat.Message{}, false
	}
	if _, _, _, problem := parseUnsubscribeArgs(r.Args); problem != "" {
		return n.unsubscribeUsage(problem), true
	}
	return chat.Message{}, false
}

func (n *Feature) unsubscribeUsage(problem string) chat.Message {
	cmd := n.router.Command()
	return blockkit.Warning(fmt.Sprintf("That did not work: %s.\nUsage: %s, for example %s or %s.", problem,
		mrkdwn.Code(cmd+" unsubscribe <tag…>|all [team <slug>]"), mrkdwn.Code(cmd+" unsubscribe go"), mrkdwn.Code(cmd+" unsubscribe all")))
}

func (n *Feature) runSubscribe(ctx context.Context, r *router.Request) {
	args, _ := parseSubscribeArgs(r.Args) // a usage problem was answered by quickSubscribe
	if _, refusal := n.checkChannel(ctx, r.ChannelID); refusal != nil {
		n.router.Reply(ctx, r.Env, *refusal)
		return
	}
	scope := n.router.ScopeFor(ctx, r.Env, args.Team)
	resume := &linking.Resume{Text: r.Env.Slash.Text, ChannelID: r.ChannelID, ResponseURL: r.ResponseURL}
	if args.Preview {
		n.runPreview(ctx, r.Env, r.ChannelID, scope, args, resume)
		return
	}
	n.subscribe(ctx, r.Env, r.ChannelID, scope, args, resume)
}

// subscribe checks the tags and creates the subscription (or asks first, for
// a private team) with the caller's client.
func (n *Feature) subscribe(ctx context.Context, env *chat.Envelope, channel string, scope soe.Scope, args subscribeArgs, resume *linking.Resume) {
	n.router.WithSOE(ctx, env, scope, resume, func(ctx context.Context, c *soe.Client, _ *linking.Link) error {
		if text, err := n.checkTags(ctx, c, append(slices.Clone(args.Tags), args.Filter.filterTags()...)); err != nil {
			return err
		} else if text != "" {
			n.router.Reply(ctx, env, blockkit.Warning(text))
			return nil
		}
		if !n.maySee(ctx, env.TeamID, channel, scope) {
			// Team content where not everyone is known to be on the team.
			n.router.Reply(ctx, env, n.confirmMessage(scope, args, channel))
			return nil
		}
		return n.create(ctx, env, c, channel, scope, args.Tags, args.Kinds, args.Filter, args.Digest, args.Timers)
	})
}

// maySee reports whether scope's content may go to the channel without
// asking: the main site, or a team everyone there is known to be on.
func (n *Feature) maySee(ctx context.Context, teamID, channelID string, scope soe.Scope) bool {
	return reveal.MayShow(ctx, n.audience, n.log, teamID, channelID, scope)
}

// confirmMessage asks before a private team's posts go to a channel whose
// members are not all known to be on the team.
func (n *Feature) confirmMessage(scope soe.Scope, args subscribeArgs, channel string) chat.Message {
	v, _ := json.Marshal(pendingSub{Scope: scope.Key(), Tags: args.Tags, Kinds: int(args.Kinds), Channel: channel,
		AllOf: args.Filter.AllOf, Exclude: args.Filter.Exclude, Community: args.Filter.Community, Digest: string(args.Digest), Timers: args.Timers})
	what := notify.TagList(args.Tags)
	if !args.Filter.isZero() {
		what = mrkdwn.Code(expression(specSubscription(args)))
	}
	text := fmt.Sprintf(":warning: *%s* is a private team. If you subscribe %s to %s (%s), team content will be visible to everyone in %s, "+
		"including people who are not known to be on the team. Subscribe anyway?",
		mrkdwn.Escape(scope.String()), mrkdwn.ChannelMention(channel), what, args.Kinds.String(), mrkdwn.ChannelMention(channel))
	return chat.Message{
		Text: "Team content will be visible to everyone in this channel. Subscribe anyway?",
		Blocks: []slack.Block{
			blockkit.Section(text),
			blockkit.Actions("notify_confirm",
				blockkit.PrimaryButton(actionSubConfirm, "Subscribe anyway", string(v)),
				blockkit.Button(actionSubCancel, "Cancel", "cancel")),
		},
	}
}

// create primes the scope, stores the subscription and confirms in the
// channel. It returns the error of priming (an SOE call) for WithSOE to
// explain; it answers every other problem itself.
func (n *Feature) create(ctx context.Context, env *chat.Envelope, c *soe.Client, channel string, scope soe.Scope, tags []string, kinds notify.Kind,
	spec filterSpec, digest notify.Cadence, timers notify.Timers) error {
	filter, text, err := n.notifyFilter(ctx, c, tags, spec)
	if err != nil {
		return err
	} else if text != "" {
		n.router.Reply(ctx, env, blockkit.Warning(text))
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, n.cfg.SOETimeout)
	since, err := n.svc.Prime(pctx, c)
	cancel()
	if err != nil {
		return err
	}
	sub, err := n.svc.Subscribe(ctx, notify.SubscribeRequest{TeamID: env.TeamID, Workspace: gridWorkspace(env), ChannelID: channel, CreatorID: env.UserID,
		Scope: scope, Tags: tags, Kinds: kinds, Since: since, Filter: filter, Digest: digest, TZ: n.digestTZ(ctx, env.UserID, digest), Timers: timers})
	switch {
	case errors.Is(err, notify.ErrTooMany):
		n.router.Reply(ctx, env, blockkit.Warning(fmt.Sprintf("This channel already has %d subscriptions; remove some with %s first.",
			notify.MaxChannelSubscriptions, mrkdwn.Code(n.router.Command()+" unsubscribe"))))
		return nil
	case err != nil:
		n.log.ErrorContext(ctx, "saving a subscription failed", "err", err)
		n.router.Reply(ctx, env, blockkit.Warning("I could not save the subscription. Please try again."))
		return nil
	}
	m := n.subscribedMessage(env.UserID, sub)
	if note := n.smesOffNote(ctx, c, timers, tags); note != "" {
		m.Blocks = append(m.Blocks, blockkit.Context(":warning: "+note))
	}
	n.router.Reply(ctx, env, m)
	n.refreshHome(ctx, env.TeamID, env.UserID)
	return nil
}

func (n *Feature) subscribedMessage(user string, sub notify.Subscription) chat.Message {
	what := "every tag"
	stop := n.router.Command() + " unsubscribe all"
	if !sub.AllTags() {
		what = notify.TagList(sub.Tags)
		stop = n.router.Command() + " unsubscribe " + strings.Join(sub.Tags, " ")
	}
	if sub.Filtered() {
		what, stop = filteredWhat(n.router.Command(), sub)
	}
	text := fmt.Sprintf(":bell: %s subscribed this channel to %s: %s", mrkdwn.Mention(user), what, sub.Kinds.String())
	if sub.Scope.IsTeam() {
		text += " on " + mrkdwn.Escape(sub.Scope.String())
	}
	text += digestNote(sub)
	text += "."
	if t := timersText(sub.Timers); t != "" {
		text += " " + strings.ToUpper(t[:1]) + t[1:] + "."
	}
	m := chat.Message{Text: text, InChannel: true, Blocks: []slack.Block{
		blockkit.Section(text),
		blockkit.Context(fmt.Sprintf("Stop with %s · list with %s", mrkdwn.Code(mrkdwn.Truncate(stop, 200)), mrkdwn.Code(n.router.Command()+" subscriptions"))),
	}}
	return m
}

// confirm creates a subscription the user confirmed (a private team in a
// channel not all known to be on it).
func (n *Feature) confirm(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	var p pendingSub
	stale := blockkit.Warning("That button is out of date; run the command again.")
	if err := json.Unmarshal([]byte(a.Value), &p); err != nil || p.Channel == "" || p.Channel != env.ChannelID() || len(p.Tags) > maxSubscribeTags ||
		!p.validFilters() {
		n.router.Reply(ctx, env, stale)
		return
	}
	scope, err := soe.ParseScopeKey(p.Scope)
	// The kinds are checked as the int the button carried, so that no value
	// out of a Kind's range wraps around into a valid one.
	if err != nil || p.Kinds <= 0 || p.Kinds > int(notify.AllKinds) || p.Kinds&^int(notify.AllKinds) != 0 {
		n.router.Reply(ctx, env, stale)
		return
	}
	kinds := notify.Kind(p.Kinds)
	digest, ok := notify.ParseCadence(p.Digest)
	if p.Timers.Check() != nil || p.Digest != "" && (!ok || !digest.IsDigest()) {
		n.router.Reply(ctx, env, stale)
		return
	}
	for _, t := range p.Tags {
		if router.ValidateTag(t) != "" {
			n.router.Reply(ctx, env, stale)
			return
		}
	}
	if _, refusal := n.checkChannel(ctx, p.Channel); refusal != nil {
		n.router.Reply(ctx, env, *refusal)
		return
	}
	n.router.WithSOE(ctx, env, scope, nil, func(ctx context.Context, c *soe.Client, _ *linking.Link) error {
		if u := env.ResponseURL(); u != "" {
			_ = n.slack.Respond(ctx, u, chat.Message{DeleteOriginal: true})
		}
		return n.create(ctx, env, c, p.Channel, scope, p.Tags, kinds, filterSpec{AllOf: p.AllOf, Exclude: p.Exclude, Community: p.Community}, digest, p.Timers)
	})
}

func (n *Feature) cancel(ctx context.Context, env *chat.Envelope, _ *slack.BlockAction) {
	m := blockkit.Text("Cancelled; nothing changed.")
	m.ReplaceOriginal = true
	n.router.Reply(ctx, env, m)
}

// --- /soe unsubscribe ------------------------------------------------------------

func (n *Feature) runUnsubscribe(ctx context.Context, r *router.Request) {
	if name, _, _ := takeCommunity(r.Args); name != "" {
		n.unsubscribeCommunity(ctx, r, name)
		return
	}
	tags, all, team, _ := parseUnsubscribeArgs(r.Args) // a usage problem was answered by quickUnsubscribe
	if r.ChannelID == "" || strings.HasPrefix(r.ChannelID, "D") {
		n.router.Reply(ctx, r.Env, n.dmRefusal())
		return
	}
	var scope *soe.Scope
	if team != "" {
		sc := soe.TeamScope(team)
		scope = &sc
	}
	if all {
		tags = nil
	}
	res, err := n.svc.Unsubscribe(ctx, r.TeamID, r.ChannelID, scope, tags)
	if err != nil {
		n.log.ErrorContext(ctx, "unsubscribe failed", "err", err)
		n.router.Reply(ctx, r.Env, blockkit.Warning("I could not change the subscriptions. Please try again."))
		return
	}
	n.router.Reply(ctx, r.Env, n.unsubscribedMessage(r.UserID, res, all))
	if res.Subs > 0 {
		n.refreshHome(ctx, r.TeamID, r.UserID)
	}
}

func (n *Feature) unsubscribedMessage(user string, res notify.Unsubscribed, all bool) chat.Message {
	cmd := n.router.Command()
	if res.Subs == 0 {
		text := "This channel has no subscriptions, so nothing changed."
		if !all {
			text = fmt.Sprintf("This channel is not subscribed to %s by name, so nothing changed. See %s.",
				notify.TagList(res.NotFound), mrkdwn.Code(cmd+" subscriptions"))
		}
		return blockkit.Text(text)
	}
	text := fmt.Sprintf(":no_bell: %s unsubscribed this channel from %s.", mrkdwn.Mention(user), notify.TagList(res.Removed))
	if all {
		text = fmt.Sprintf(":no_bell: %s removed all of this channel's subscriptions (%s).", mrkdwn.Mention(user), notify.TagList(res.Removed))
	}
	if len(res.NotFound) > 0 {
		text += fmt.Sprintf(" It was not subscribed to %s.", notify.TagList(res.NotFound))
	}
	m := blockkit.Text(text)
	m.InChannel = true
	return m
}

// --- /soe subscriptions ------------------------------------------------------------

func (n *Feature) runSubscriptions(ctx context.Context, r *router.Request) {
	if len(r.Args) == 1 && strings.EqualFold(r.Args[0], "all") {
		n.runAudit(ctx, r.Env, 1, false)
		return
	}
	mine := len(r.Args) == 1 && strings.EqualFold(r.Args[0], "mine")
	if len(r.Args) > 0 && !mine {
		n.router.Reply(ctx, r.Env, blockkit.Warning(fmt.Sprintf("Usage: %s for this channel, %s for all the ones you keep running, %s (workspace admins) for every one.",
			mrkdwn.Code(n.router.Command()+" subscriptions"), mrkdwn.Code(n.router.Command()+" subscriptions mine"), mrkdwn.Code(n.router.Command()+" subscriptions all"))))
		return
	}
	var subs []notify.AuditEntry
	var err error
	if mine {
		subs, err = n.svc.UserAudit(ctx, r.TeamID, r.UserID)
	} else {
		if r.ChannelID == "" || strings.HasPrefix(r.ChannelID, "D") {
			n.router.Reply(ctx, r.Env, n.dmRefusal())
			return
		}
		subs, err = n.svc.ChannelAudit(ctx, r.TeamID, r.ChannelID)
	}
	if err != nil {
		n.log.ErrorContext(ctx, "listing subscriptions failed", "err", err)
		n.router.Reply(ctx, r.Env, blockkit.Warning("I could not read the subscriptions. Please try again."))
		return
	}
	n.router.Reply(ctx, r.Env, renderListing(subs, mine, n.router.Command(), n.now()))
}

// subscriptionLine is one subscription as a list item.
func subscriptionLine(s notify.Subscription, withChannel bool) string {
	what := what(s)
	line := "• "
	if withChannel {
		line += mrkdwn.ChannelMention(s.ChannelID) + ": "
	}
	line += fmt.Sprintf("%s — %s · %s", what, s.Kinds.String(), mrkdwn.Escape(s.Scope.String()))
	if s.Digest.IsDigest() {
		line += " · digest " + s.Digest.Describe(s.TZ)
	}
	if t := timersLine(s.Timers); t != "" {
		line += " · " + t
	}
	var owners []string
	for _, o := range s.OwnerIDs() {
		owners = append(owners, mrkdwn.Mention(o))
	}
	line += " · kept running by " + strings.Join(owners, ", ")
	switch {
	case s.Disabled:
		line += fmt.Sprintf(" · :no_entry: *off* (I cannot post there: %s)", mrkdwn.Escape(s.DisabledReason))
	case s.Paused:
		line += " · :double_vertical_bar: *paused* (none of the people who keep it running can read it on Stack Overflow any more: they reconnect, or someone presses *Keep it running as me* on the notice in the channel)"
	}
	return line
}

// reconnect answers the Reconnect button of a "paused" notice.
func (n *Feature) reconnect(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	scope, err := soe.ParseScopeKey(a.Value)
	if err != nil {
		n.router.Reply(ctx, env, blockkit.Warning("That button is out of date."))
		return
	}
	if _, _, ok := n.router.Client(ctx, env, scope, nil); !ok {
		return // SOE showed the Connect/Reconnect prompt
	}
	n.router.Reply(ctx, env, blockkit.Text(fmt.Sprintf(":white_check_mark: You are connected to %s. Paused subscriptions resume at the next check (within %s).",
		mrkdwn.Escape(scope.String()), n.svc.Interval())))
}
