package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/channels"
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
	actionAlert      = "notify_alert" // id "notify_alert:<alert>", value "<alert>:on|off"
)

// maxSubscribeTags bounds the tags of one /soe subscribe.
const maxSubscribeTags = 10

// notifier is the notifications feature: /soe subscribe, unsubscribe,
// subscriptions, notify and config, on top of notify.Service.
type notifier struct {
	b        *Bot
	svc      *notify.Service
	channels *channels.Settings
}

// AddNotify registers channel subscriptions, personal alerts and channel
// default scopes (/soe subscribe, unsubscribe, subscriptions, notify,
// config), their buttons and the App Home section.
func (b *Bot) AddNotify(svc *notify.Service, settings *channels.Settings) {
	n := &notifier{b: b, svc: svc, channels: settings}
	b.Subcommand(&router.Subcommand{Name: "subscribe", Aliases: []string{"sub", "follow"},
		Usage:   "subscribe <tag> [tag…] [questions|answers|accepted|all] [team <slug>]",
		Summary: "Post new questions, answers or accepted answers in these tags to this channel (`all` for every tag).",
		Run:     n.runSubscribe})
	b.Subcommand(&router.Subcommand{Name: "unsubscribe", Aliases: []string{"unsub", "unfollow"},
		Usage: "unsubscribe <tag…>|all [team <slug>]", Summary: "Stop posting those tags (or anything) to this channel.",
		Run: n.runUnsubscribe})
	b.Subcommand(&router.Subcommand{Name: "subscriptions", Aliases: []string{"subs"},
		Usage: "subscriptions [mine]", Summary: "List this channel's subscriptions (or all the ones you created).",
		Run: n.runSubscriptions})
	b.Subcommand(&router.Subcommand{Name: "notify", Aliases: []string{"alerts"},
		Usage:   "notify [answers|expert] [on|off]",
		Summary: "DM me answers to my questions, or new questions in tags where I am an expert.",
		Run:     n.runNotify})
	b.Subcommand(&router.Subcommand{Name: "config", Usage: "config [team <slug>|team none]",
		Summary: "Show or set this channel's default private team.", Run: n.runConfig})
	b.Action(actionSubConfirm, n.confirm)
	b.Action(actionSubCancel, n.cancel)
	b.Action(actionAlert, n.toggle)
	b.Action(notify.ActionReconnect, n.reconnect)
	b.AddHomeSection(n.homeSection)
}

// --- parsing ---------------------------------------------------------------------

// subscribeArgs is a parsed /soe subscribe.
type subscribeArgs struct {
	Tags  []string
	Every bool // "all" in place of tags: every tag
	Kinds notify.Kind
	Team  string
}

// parseSubscribeArgs reads tags, kinds and "team <slug>". A first "all"
// (before any tag) means every tag; any other "all" means every kind. A tag
// that looks like a kind word can be given in brackets: [questions].
func parseSubscribeArgs(args []string) (subscribeArgs, string) {
	var out subscribeArgs
	team, rest, err := router.TakeTeam(args)
	if err != nil {
		return out, err.Error()
	}
	out.Team = team
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
	switch {
	case out.Every && len(out.Tags) > 0:
		return out, "give either tags or `all` (every tag), not both"
	case !out.Every && len(out.Tags) == 0:
		return out, "name a tag, or `all` for every tag"
	case len(out.Tags) > maxSubscribeTags:
		return out, fmt.Sprintf("subscribe to at most %d tags at once", maxSubscribeTags)
	}
	if out.Kinds == 0 {
		out.Kinds = notify.DefaultKinds
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

func (n *notifier) usage(problem string) chat.Message {
	cmd := n.b.cfg.Command
	return blockkit.Warning(fmt.Sprintf("That did not work: %s.\nUsage: %s, for example %s, %s or %s.", problem,
		mrkdwn.Code(cmd+" subscribe <tag> [tag…] [questions|answers|accepted|all] [team <slug>]"),
		mrkdwn.Code(cmd+" subscribe go kubernetes"), mrkdwn.Code(cmd+" subscribe terraform accepted"),
		mrkdwn.Code(cmd+" subscribe all team platform")))
}

func (n *notifier) dmRefusal() chat.Message {
	cmd := n.b.cfg.Command
	return blockkit.Warning(fmt.Sprintf("Subscriptions are for channels: run %s in the channel that should get the posts. "+
		"For alerts just for you, use %s or %s.", mrkdwn.Code(cmd+" subscribe"),
		mrkdwn.Code(cmd+" notify answers on"), mrkdwn.Code(cmd+" notify expert on")))
}

// checkChannel makes sure the bot can post in the channel the command came
// from. It returns the channel, or a message explaining why not.
func (n *notifier) checkChannel(ctx context.Context, channelID string) (*slack.Channel, *chat.Message) {
	if channelID == "" || strings.HasPrefix(channelID, "D") {
		m := n.dmRefusal()
		return nil, &m
	}
	info, err := n.b.slack.ConversationInfo(ctx, channelID)
	switch {
	case errors.Is(err, chat.ErrChannelGone):
		m := blockkit.Warning("I cannot see this channel: it is private and I am not a member. Invite me with `/invite @soebot`, then subscribe again.")
		return nil, &m
	case err != nil:
		n.b.log.WarnContext(ctx, "conversations.info failed", "channel", channelID, "err", err)
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
func (n *notifier) checkTags(ctx context.Context, c *soe.Client, tags []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, n.b.cfg.SOETimeout)
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
}

func (n *notifier) runSubscribe(ctx context.Context, r *router.Request) {
	args, problem := parseSubscribeArgs(r.Args)
	if problem != "" {
		n.b.Reply(ctx, r.Env, n.usage(problem))
		return
	}
	info, refusal := n.checkChannel(ctx, r.ChannelID)
	if refusal != nil {
		n.b.Reply(ctx, r.Env, *refusal)
		return
	}
	scope := n.b.ScopeFor(ctx, r.Env, args.Team)
	resume := &linking.Resume{Text: r.Env.Slash.Text, ChannelID: r.ChannelID, ResponseURL: r.ResponseURL}
	c, link, ok := n.b.Client(ctx, r.Env, scope, resume)
	if !ok {
		return
	}
	if text, err := n.checkTags(ctx, c, args.Tags); err != nil {
		n.b.Failed(ctx, r.Env, link, err)
		return
	} else if text != "" {
		n.b.Reply(ctx, r.Env, blockkit.Warning(text))
		return
	}
	if scope.IsTeam() && !info.IsPrivate {
		// Team content in a public channel: everyone there would see it.
		n.b.Reply(ctx, r.Env, n.confirmMessage(scope, args, r.ChannelID))
		return
	}
	n.create(ctx, r.Env, c, link, r.ChannelID, scope, args.Tags, args.Kinds)
}

// confirmMessage asks before a private team's posts go to a public channel.
func (n *notifier) confirmMessage(scope soe.Scope, args subscribeArgs, channel string) chat.Message {
	v, _ := json.Marshal(pendingSub{Scope: scope.Key(), Tags: args.Tags, Kinds: int(args.Kinds), Channel: channel})
	what := notify.TagList(args.Tags)
	text := fmt.Sprintf(":warning: *%s* is a private team. If you subscribe %s to %s (%s), team content will be visible to everyone in %s, "+
		"including people who are not on the team. Subscribe anyway?",
		mrkdwn.Escape(scope.String()), notify.ChannelMention(channel), what, args.Kinds.String(), notify.ChannelMention(channel))
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

// create primes the scope, stores the subscription and confirms in the channel.
func (n *notifier) create(ctx context.Context, env *chat.Envelope, c *soe.Client, link *linking.Link, channel string, scope soe.Scope, tags []string, kinds notify.Kind) bool {
	pctx, cancel := context.WithTimeout(ctx, n.b.cfg.SOETimeout)
	since, err := n.svc.Prime(pctx, c)
	cancel()
	if err != nil {
		n.b.Failed(ctx, env, link, err)
		return false
	}
	sub, err := n.svc.Subscribe(ctx, notify.SubscribeRequest{TeamID: env.TeamID, ChannelID: channel, CreatorID: env.UserID,
		Scope: scope, Tags: tags, Kinds: kinds, Since: since})
	switch {
	case errors.Is(err, notify.ErrTooMany):
		n.b.Reply(ctx, env, blockkit.Warning(fmt.Sprintf("This channel already has %d subscriptions; remove some with %s first.",
			notify.MaxChannelSubscriptions, mrkdwn.Code(n.b.cfg.Command+" unsubscribe"))))
		return false
	case err != nil:
		n.b.log.ErrorContext(ctx, "saving a subscription failed", "err", err)
		n.b.Reply(ctx, env, blockkit.Warning("I could not save the subscription. Please try again."))
		return false
	}
	n.b.Reply(ctx, env, n.subscribedMessage(env.UserID, sub))
	n.b.PublishHome(ctx, env.TeamID, env.UserID)
	return true
}

func (n *notifier) subscribedMessage(user string, sub notify.Subscription) chat.Message {
	what := "every tag"
	stop := n.b.cfg.Command + " unsubscribe all"
	if !sub.AllTags() {
		what = notify.TagList(sub.Tags)
		stop = n.b.cfg.Command + " unsubscribe " + strings.Join(sub.Tags, " ")
	}
	text := fmt.Sprintf(":bell: %s subscribed this channel to %s: %s", mrkdwn.Mention(user), what, sub.Kinds.String())
	if sub.Scope.IsTeam() {
		text += " on " + mrkdwn.Escape(sub.Scope.String())
	}
	text += "."
	m := chat.Message{Text: text, InChannel: true, Blocks: []slack.Block{
		blockkit.Section(text),
		blockkit.Context(fmt.Sprintf("Stop with %s · list with %s", mrkdwn.Code(mrkdwn.Truncate(stop, 200)), mrkdwn.Code(n.b.cfg.Command+" subscriptions"))),
	}}
	return m
}

// confirm creates a subscription the user confirmed (private team, public channel).
func (n *notifier) confirm(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	var p pendingSub
	stale := blockkit.Warning("That button is out of date; run the command again.")
	if err := json.Unmarshal([]byte(a.Value), &p); err != nil || p.Channel == "" || p.Channel != env.ChannelID() || len(p.Tags) > maxSubscribeTags {
		n.b.Reply(ctx, env, stale)
		return
	}
	scope, err := soe.ParseScopeKey(p.Scope)
	kinds := notify.Kind(p.Kinds)
	if err != nil || kinds == 0 || kinds&^notify.AllKinds != 0 {
		n.b.Reply(ctx, env, stale)
		return
	}
	for _, t := range p.Tags {
		if router.ValidateTag(t) != "" {
			n.b.Reply(ctx, env, stale)
			return
		}
	}
	if _, refusal := n.checkChannel(ctx, p.Channel); refusal != nil {
		n.b.Reply(ctx, env, *refusal)
		return
	}
	c, link, ok := n.b.Client(ctx, env, scope, nil)
	if !ok {
		return
	}
	if u := env.ResponseURL(); u != "" {
		_ = n.b.slack.Respond(ctx, u, chat.Message{DeleteOriginal: true})
	}
	n.create(ctx, env, c, link, p.Channel, scope, p.Tags, kinds)
}

func (n *notifier) cancel(ctx context.Context, env *chat.Envelope, _ *slack.BlockAction) {
	m := blockkit.Text("Cancelled; nothing changed.")
	m.ReplaceOriginal = true
	n.b.Reply(ctx, env, m)
}

// --- /soe unsubscribe ------------------------------------------------------------

func (n *notifier) runUnsubscribe(ctx context.Context, r *router.Request) {
	cmd := n.b.cfg.Command
	tags, all, team, problem := parseUnsubscribeArgs(r.Args)
	if problem != "" {
		n.b.Reply(ctx, r.Env, blockkit.Warning(fmt.Sprintf("That did not work: %s.\nUsage: %s, for example %s or %s.", problem,
			mrkdwn.Code(cmd+" unsubscribe <tag…>|all [team <slug>]"), mrkdwn.Code(cmd+" unsubscribe go"), mrkdwn.Code(cmd+" unsubscribe all"))))
		return
	}
	if r.ChannelID == "" || strings.HasPrefix(r.ChannelID, "D") {
		n.b.Reply(ctx, r.Env, n.dmRefusal())
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
		n.b.log.ErrorContext(ctx, "unsubscribe failed", "err", err)
		n.b.Reply(ctx, r.Env, blockkit.Warning("I could not change the subscriptions. Please try again."))
		return
	}
	n.b.Reply(ctx, r.Env, n.unsubscribedMessage(r.UserID, res, all))
	if res.Subs > 0 {
		n.b.PublishHome(ctx, r.TeamID, r.UserID)
	}
}

func (n *notifier) unsubscribedMessage(user string, res notify.Unsubscribed, all bool) chat.Message {
	cmd := n.b.cfg.Command
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

func (n *notifier) runSubscriptions(ctx context.Context, r *router.Request) {
	mine := len(r.Args) == 1 && strings.EqualFold(r.Args[0], "mine")
	if len(r.Args) > 0 && !mine {
		n.b.Reply(ctx, r.Env, blockkit.Warning(fmt.Sprintf("Usage: %s for this channel, %s for all the ones you created.",
			mrkdwn.Code(n.b.cfg.Command+" subscriptions"), mrkdwn.Code(n.b.cfg.Command+" subscriptions mine"))))
		return
	}
	var subs []notify.Subscription
	var err error
	if mine {
		subs, err = n.svc.UserSubscriptions(ctx, r.TeamID, r.UserID)
	} else {
		if r.ChannelID == "" || strings.HasPrefix(r.ChannelID, "D") {
			n.b.Reply(ctx, r.Env, n.dmRefusal())
			return
		}
		subs, err = n.svc.ChannelSubscriptions(ctx, r.TeamID, r.ChannelID)
	}
	if err != nil {
		n.b.log.ErrorContext(ctx, "listing subscriptions failed", "err", err)
		n.b.Reply(ctx, r.Env, blockkit.Warning("I could not read the subscriptions. Please try again."))
		return
	}
	n.b.Reply(ctx, r.Env, renderSubscriptions(subs, mine, n.b.cfg.Command))
}

// subscriptionLine is one subscription as a list item.
func subscriptionLine(s notify.Subscription, withChannel bool) string {
	what := "every tag"
	if !s.AllTags() {
		what = notify.TagList(s.Tags)
	}
	line := "• "
	if withChannel {
		line += notify.ChannelMention(s.ChannelID) + ": "
	}
	line += fmt.Sprintf("%s — %s · %s", what, s.Kinds.String(), mrkdwn.Escape(s.Scope.String()))
	if !withChannel {
		line += " · by " + mrkdwn.Mention(s.CreatorID)
	}
	switch {
	case s.Disabled:
		line += fmt.Sprintf(" · :no_entry: *off* (I cannot post there: %s)", mrkdwn.Escape(s.DisabledReason))
	case s.Paused:
		line += " · :double_vertical_bar: *paused* (nobody who can see it has a working Stack Overflow connection; reconnect to resume)"
	}
	return line
}

// renderSubscriptions lists subscriptions (mine: across channels).
func renderSubscriptions(subs []notify.Subscription, mine bool, cmd string) chat.Message {
	if len(subs) == 0 {
		text := fmt.Sprintf("This channel has no subscriptions. Start one with %s, for example %s.",
			mrkdwn.Code(cmd+" subscribe <tag>"), mrkdwn.Code(cmd+" subscribe go kubernetes"))
		if mine {
			text = fmt.Sprintf("You have not created any subscriptions. Run %s in a channel to start one.", mrkdwn.Code(cmd+" subscribe <tag>"))
		}
		return blockkit.Text(text)
	}
	title := "*Subscriptions in this channel*"
	if mine {
		title = "*Subscriptions you created*"
	}
	var lines []string
	for i, s := range subs {
		if i == 40 {
			lines = append(lines, fmt.Sprintf("…and %d more.", len(subs)-40))
			break
		}
		lines = append(lines, subscriptionLine(s, mine))
	}
	return chat.Message{
		Text: fmt.Sprintf("%d subscriptions", len(subs)),
		Blocks: []slack.Block{
			blockkit.Section(title + "\n" + strings.Join(lines, "\n")),
			blockkit.Context(fmt.Sprintf("Change with %s or %s.", mrkdwn.Code(cmd+" subscribe <tag> [questions|answers|accepted|all]"), mrkdwn.Code(cmd+" unsubscribe <tag>|all"))),
		},
	}
}

// reconnect answers the Reconnect button of a "paused" notice.
func (n *notifier) reconnect(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	scope, err := soe.ParseScopeKey(a.Value)
	if err != nil {
		n.b.Reply(ctx, env, blockkit.Warning("That button is out of date."))
		return
	}
	if _, _, ok := n.b.Client(ctx, env, scope, nil); !ok {
		return // SOE showed the Connect/Reconnect prompt
	}
	n.b.Reply(ctx, env, blockkit.Text(fmt.Sprintf(":white_check_mark: You are connected to %s. Paused subscriptions resume at the next check (within %s).",
		mrkdwn.Escape(scope.String()), n.svc.Interval())))
}
