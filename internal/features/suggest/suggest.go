// Package suggest is answer suggestions in channels (opt-in per channel with
// /soe config suggest on|off): when a person asks a question in a top-level
// message there, soebot searches Stack Overflow with that person's own token
// and, when there are strong hits, shows only them "These may answer your
// question" with Share in thread, Not helpful and Ask on Stack Overflow.
package suggest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/channels"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/reveal"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soetext"
)

// Action ids of the suggestion's buttons.
const (
	actionShare      = "suggest_share" // "suggest_share:<i>", one per hit
	actionNotHelpful = "suggest_not_helpful"
)

// Limits of suggestions.
const (
	maxHits = 3
	// perPerson: at most one suggestion per person per channel in this time.
	perPerson = 10 * time.Minute
	// hintEvery: at most one connect hint per person in this time.
	hintEvery = 24 * time.Hour
	// baseThreshold is the strength a hit needs (score, +3 when accepted);
	// each "Not helpful" in the channel adds notHelpfulStep, up to maxRaise.
	baseThreshold  = 3
	notHelpfulStep = 2
	maxRaise       = 20
)

// Config is what the feature needs to know about its surroundings.
type Config struct {
	SOETimeout time.Duration
}

// Router is what the feature uses of the router.
type Router interface {
	Reply(ctx context.Context, env *chat.Envelope, m chat.Message)
	WithSOE(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume,
		f func(ctx context.Context, c *soe.Client, l *linking.Link) error)
	ConnectMessage(ctx context.Context, teamID, userID string, scope soe.Scope, intro string) chat.Message
	Command() string
}

// Slack is what the feature does in Slack (chat.Slack).
type Slack interface {
	Post(ctx context.Context, channel string, m chat.Message) (string, error)
	PostEphemeral(ctx context.Context, channel, user string, m chat.Message) error
	ConversationInfo(ctx context.Context, channel string) (*slack.Channel, error)
}

// Links gives a user's SOE client (linking.Service).
type Links interface {
	Client(ctx context.Context, teamID, userID string, scope soe.Scope) (*soe.Client, *linking.Link, error)
}

// Settings are the channel settings (channels.Settings).
type Settings interface {
	SuggestSetting(ctx context.Context, teamID, channelID string) (channels.Suggest, error)
	SetSuggest(ctx context.Context, teamID, channelID string, on bool) error
	NotHelpful(ctx context.Context, teamID, channelID string) (int, error)
	ChannelScope(ctx context.Context, teamID, channelID string) (soe.Scope, bool, error)
}

// Asker builds the "Ask on Stack Overflow" button (the ask feature).
type Asker interface {
	AskButton(suffix, label string, scope soe.Scope, tags []string, title string) *slack.ButtonBlockElement
}

// Deps are the services the feature uses; Links and Asker may be nil.
type Deps struct {
	Router   Router
	Slack    Slack
	Links    Links
	Settings Settings
	Asker    Asker
	// Audience nil: private-team content is never suggested.
	Audience reveal.Seer
	// Count counts suggestions by outcome: shown, shared, dismissed (nil: not counted).
	Count func(outcome string)
	// Shown (kept perPerson) and Hints (kept hintEvery) are cluster-wide
	// "lately" sets (cluster.Seen), so the limits hold whichever replica gets
	// the message; both required.
	Shown  Lately
	Hints  Lately
	Logger *slog.Logger
	Now    func() time.Time
}

// Lately is a cluster-wide set of keys seen lately (cluster.Seen).
type Lately interface {
	// Recent reports whether key was recorded lately, recording nothing.
	Recent(ctx context.Context, key string) (bool, error)
	// First records key and reports whether it was not recorded lately.
	First(ctx context.Context, key string) (bool, error)
}

// PerPerson and HintEvery are how long Deps.Shown and Deps.Hints keep a key.
const (
	PerPerson = perPerson
	HintEvery = hintEvery
)

// Feature is answer suggestions in channels.
type Feature struct {
	cfg      Config
	r        Router
	slack    Slack
	links    Links
	settings Settings
	asker    Asker
	aud      reveal.Seer
	count    func(string)
	log      *slog.Logger
	now      func() time.Time

	shown Lately // team/channel/user: a suggestion shown lately
	hints Lately // team/user: connect hint given today
}

// New builds the feature; Register puts it on a router.
func New(cfg Config, d Deps) *Feature {
	d.Logger, d.Now, cfg.SOETimeout = router.Defaults(d.Logger, d.Now, cfg.SOETimeout)
	if d.Count == nil {
		d.Count = func(string) {}
	}
	return &Feature{cfg: cfg, r: d.Router, slack: d.Slack, links: d.Links, settings: d.Settings, asker: d.Asker,
		aud: d.Audience, count: d.Count, log: d.Logger, now: d.Now,
		shown: d.Shown, hints: d.Hints,
	}
}

// Register routes message events and the suggestion's buttons.
func (f *Feature) Register(r *router.Router) {
	r.Event("message", f.message)
	r.Action(actionShare, f.share)
	r.Action(actionNotHelpful, f.notHelpful)
}

// candidate reports whether a message event is a person's new top-level
// message in a channel of this workspace (not a bot, a thread reply, an edit
// or any other subtype, not Slack Connect).
func candidate(env *chat.Envelope, ev *slackevents.MessageEvent) bool {
	if ev.SubType != "" || ev.BotID != "" || ev.ThreadTimeStamp != "" || !chat.ValidID(ev.User) || !chat.ValidID(ev.Channel) {
		return false
	}
	if ev.ChannelType != slackevents.ChannelTypeChannel && ev.ChannelType != slackevents.ChannelTypeGroup {
		return false
	}
	if ev.UserTeam != "" && !env.OrgInstall && ev.UserTeam != env.TeamID { // Grid: External (router)
		return false // someone from another organization
	}
	var outer struct {
		ExtShared bool `json:"is_ext_shared_channel"`
	}
	if len(env.Raw) > 0 && json.Unmarshal(env.Raw, &outer) == nil && outer.ExtShared {
		return false
	}
	return true
}

// message looks at one message; most end at the first check.
func (f *Feature) message(ctx context.Context, env *chat.Envelope) {
	ev, ok := env.Event.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || !candidate(env, ev) || f.settings == nil {
		return
	}
	set, err := f.settings.SuggestSetting(ctx, env.TeamID, ev.Channel)
	if err != nil {
		f.log.WarnContext(ctx, "suggest: reading the channel's setting failed", "err", err)
		return
	}
	if !set.On || !LooksLikeQuestion(ev.Text) {
		return
	}
	key := env.TeamID + "/" + ev.Channel + "/" + ev.User
	if recent, err := f.shown.Recent(ctx, key); recent || err != nil {
		return // shown lately, or we cannot tell (then we would rather not)
	}
	scope := f.scope(ctx, env.TeamID, ev.Channel)
	if !reveal.MayShow(ctx, f.aud, f.log, env.TeamID, ev.Channel, scope) {
		return // the channel's team content is never suggested where members may not be on the team
	}
	c, ok := f.client(ctx, env.TeamID, ev, scope)
	if !ok {
		return
	}
	hits, err := f.search(ctx, c, ev.Text, threshold(set))
	if err != nil {
		f.log.InfoContext(ctx, "suggest: search failed", "user", ev.User, "err", err)
		return
	}
	if len(hits) == 0 {
		return
	}
	if first, _ := f.shown.First(ctx, key); !first {
		return // another replica showed one meanwhile
	}
	m := suggestion(scope, hits, ev.Channel, ev.TimeStamp, f.askButton(scope, ev.Text), f.r.Command())
	if err := f.slack.PostEphemeral(ctx, ev.Channel, ev.User, m); err != nil {
		f.log.WarnContext(ctx, "suggest: could not show the suggestion", "channel", ev.Channel, "err", err)
		return
	}
	f.count("shown")
}

// scope is the channel's default scope, else the main site.
func (f *Feature) scope(ctx context.Context, teamID, channel string) soe.Scope {
	s, ok, err := f.settings.ChannelScope(ctx, teamID, channel)
	if err != nil || !ok {
		return soe.MainSite()
	}
	return s
}

// client is the asker's own client; someone not connected gets at most one
// connect hint a day.
func (f *Feature) client(ctx context.Context, teamID string, ev *slackevents.MessageEvent, scope soe.Scope) (*soe.Client, bool) {
	if f.links == nil {
		return nil, false
	}
	c, _, err := f.links.Client(ctx, teamID, ev.User, scope)
	switch {
	case errors.Is(err, linking.ErrNotLinked), errors.Is(err, linking.ErrLinkInvalid):
		if first, _ := f.hints.First(ctx, teamID+"/"+ev.User); first {
			intro := "I can suggest Stack Overflow answers to questions you ask in this channel, found with your own account. " +
				"Connect it to get them (only you see the suggestions)."
			if err := f.slack.PostEphemeral(ctx, ev.Channel, ev.User, f.r.ConnectMessage(ctx, teamID, ev.User, scope, intro)); err != nil {
				f.log.InfoContext(ctx, "suggest: could not show the connect hint", "err", err)
			}
		}
		return nil, false
	case err != nil:
		f.log.WarnContext(ctx, "suggest: reading the link failed", "err", err)
		return nil, false
	}
	return c, true
}

// threshold is the strength a hit needs in a channel.
func threshold(s channels.Suggest) int {
	return baseThreshold + min(s.NotHelpful*notHelpfulStep, maxRaise)
}

func (f *Feature) askButton(scope soe.Scope, text string) *slack.ButtonBlockElement {
	if f.asker == nil {
		return nil
	}
	return f.asker.AskButton("suggest", "Ask on Stack Overflow", scope, nil, mrkdwn.TitleFromSlack(text, func(string) string { return "" }, 150))
}

// hit is one strong search result: a question with an answer worth showing.
type hit struct {
	ID       int
	Title    string
	URL      string
	Answers  int
	Accepted bool
	Score    int
}

// search finds the strong hits for text, as the asker.
func (f *Feature) search(ctx context.Context, c *soe.Client, text string, need int) ([]hit, error) {
	q := searchTerms(text)
	if q == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.SOETimeout)
	defer cancel()
	p, err := c.Search(ctx, soe.SearchOptions{Query: q, PageSize: 15, Sort: soe.SortRelevance})
	if err != nil {
		return nil, err
	}
	return strongHits(p.Items, need), nil
}

// strongHits keeps the answered questions (or accepted or upvoted answers)
// whose strength (score, +3 when an answer is accepted) reaches need.
func strongHits(items []soe.SearchResult, need int) []hit {
	var out []hit
	seen := map[int]bool{}
	for _, r := range items {
		id := r.QuestionID()
		if id == 0 || seen[id] || r.WebURL == "" {
			continue
		}
		h := hit{ID: id, Title: r.Title, URL: r.WebURL, Answers: r.AnswerCount, Accepted: r.HasAcceptedAnswer, Score: r.Score}
		if r.Type == soe.ResultAnswer {
			h.Answers, h.Accepted = max(1, r.AnswerCount), r.IsAccepted
		}
		strength := h.Score
		if h.Accepted {
			strength += 3
		}
		if h.Answers == 0 || strength < need {
			continue
		}
		seen[id] = true
		out = append(out, h)
		if len(out) == maxHits {
			break
		}
	}
	return out
}

// shareValue is the value of a Share in thread button.
type shareValue struct {
	Scope   string `json:"s"`
	ID      int    `json:"q"`
	Channel string `json:"c"`
	TS      string `json:"t"` // the question's message: the thread to answer in
}

func (f *Feature) share(ctx context.Context, env *chat.Envelope, act *slack.BlockAction) {
	var v shareValue
	if json.Unmarshal([]byte(act.Value), &v) != nil || v.ID <= 0 || !chat.ValidID(v.Channel) || v.TS == "" {
		f.r.Reply(ctx, env, blockkit.Warning("That button is out of date."))
		return
	}
	scope, err := soe.ParseScopeKey(v.Scope)
	if err != nil {
		f.r.Reply(ctx, env, blockkit.Warning("That button is out of date."))
		return
	}
	if !reveal.MayShow(ctx, f.aud, f.log, env.TeamID, v.Channel, scope) {
		f.r.Reply(ctx, env, blockkit.Warning("Not everyone in this channel is known to be on "+mrkdwn.Escape(scope.String())+", so I will not share it here."))
		return
	}
	f.r.WithSOE(ctx, env, scope, nil, func(ctx context.Context, c *soe.Client, _ *linking.Link) error {
		qctx, cancel := context.WithTimeout(ctx, f.cfg.SOETimeout)
		q, err := c.Question(qctx, v.ID)
		cancel()
		if err != nil {
			return err
		}
		card := sharedCard(scope, q, env.UserID)
		card.ThreadTS = v.TS
		if _, err := f.slack.Post(ctx, v.Channel, card); err != nil {
			f.log.WarnContext(ctx, "suggest: share failed", "channel", v.Channel, "err", err)
			f.r.Reply(ctx, env, blockkit.Warning("I could not post in this thread. Invite me with `/invite @soebot` and try again."))
			return nil
		}
		f.count("shared")
		f.replace(ctx, env, blockkit.Text(":white_check_mark: Shared in the thread."))
		return nil
	})
}

func (f *Feature) notHelpful(ctx context.Context, env *chat.Envelope, act *slack.BlockAction) {
	channel := act.Value
	if !chat.ValidID(channel) {
		channel = env.ChannelID()
	}
	if _, err := f.settings.NotHelpful(ctx, env.TeamID, channel); err != nil {
		f.log.WarnContext(ctx, "suggest: could not remember Not helpful", "err", err)
	}
	f.count("dismissed")
	f.replace(ctx, env, blockkit.Text("Thanks, noted: in this channel I will suggest only stronger matches from now on."))
}

// replace replaces the suggestion (an ephemeral) through its response_url;
// the reply chain falls back to a new message when it cannot.
func (f *Feature) replace(ctx context.Context, env *chat.Envelope, m chat.Message) {
	m.ReplaceOriginal = true
	f.r.Reply(ctx, env, m)
}

// suggestion is the ephemeral the asker sees.
func suggestion(scope soe.Scope, hits []hit, channel, ts string, ask *slack.ButtonBlockElement, cmd string) chat.Message {
	blocks := []slack.Block{blockkit.Section(":bulb: *These may answer your question* (only you can see this):")}
	for i, h := range hits {
		v, _ := json.Marshal(shareValue{Scope: scope.Key(), ID: h.ID, Channel: channel, TS: ts})
		btn := blockkit.Button(fmt.Sprintf("%s:%d", actionShare, i), "Share in thread", string(v))
		blocks = append(blocks, blockkit.SectionWithButton("*"+mrkdwn.Link(h.URL, soetext.Title(h.Title, 150))+"*\n"+hitLine(h), btn))
	}
	els := []slack.BlockElement{}
	if ask != nil {
		els = append(els, ask)
	}
	els = append(els, blockkit.Button(actionNotHelpful, "Not helpful", channel))
	blocks = append(blocks, blockkit.Actions("suggest_actions", els...),
		blockkit.Context(fmt.Sprintf("Found with your Stack Overflow account on %s. Anyone can turn these off for the channel with %s.",
			mrkdwn.Escape(theScope(scope)), mrkdwn.Code(cmd+" config suggest off"))))
	return chat.Message{Text: "These may answer your question", Blocks: blocks}
}

func hitLine(h hit) string {
	parts := []string{soetext.Answers(h.Answers)}
	if h.Accepted {
		parts = append(parts, "✓ accepted")
	}
	parts = append(parts, soetext.Votes(h.Score))
	return strings.Join(parts, " · ")
}

// sharedCard is what the thread gets: the question, shared by user.
func sharedCard(scope soe.Scope, q *soe.Question, user string) chat.Message {
	text := mrkdwn.Mention(user) + " shared this from Stack Overflow: *" + mrkdwn.Link(q.WebURL, soetext.Title(q.Title, 200)) + "*"
	blocks := []slack.Block{blockkit.Section(text)}
	if ex := mrkdwn.Excerpt(q.Body, 300); ex != "" {
		blocks = append(blocks, blockkit.Context(ex))
	}
	line := soetext.Answers(q.AnswerCount) + " · " + soetext.Votes(q.Score) + " · " + mrkdwn.Escape(theScope(scope))
	blocks = append(blocks, blockkit.Context(line))
	return chat.Message{Text: "Shared from Stack Overflow: " + mrkdwn.Escape(mrkdwn.Truncate(q.Title, 200)), Blocks: blocks}
}

func theScope(s soe.Scope) string {
	if s.IsTeam() {
		return s.String()
	}
	return "the " + s.String()
}
