package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

// Ids of the App Home.
const (
	actionHomeDisconnect = "home_disconnect" // value: soe.Scope.Key(); id "home_disconnect:<scope key>"
)

const (
	maxHomeBlocks = 100
	// maxSMETagChecks bounds the tags whose SME lists are read to find the
	// user's expert tags (the most used tags with SMEs first).
	maxSMETagChecks = 30
	// maxHomeGroupLoads bounds the user-group lookups for SME groups sent
	// without members.
	maxHomeGroupLoads = 10
	maxHomeQuestions  = 10
	homeTimeout       = 15 * time.Second
)

// HomeSection renders extra blocks of a user's App Home (for example their
// channel subscriptions). It runs on every publish, must respect ctx, and
// returns nil to show nothing. Its blocks are shown as they are, so any SOE
// or user text in them must already be escaped.
type HomeSection func(ctx context.Context, teamID, userID string) []slack.Block

// homeTab is the App Home feature.
type homeTab struct {
	enabled  bool
	sections []HomeSection
	// experts caches the derived SME tags and questions per user link;
	// smes caches tag SME lists per (scope, tag) across users (SOE shows them
	// to everyone on the site), groups user-group members per (scope, group).
	experts *cache[string, *homeExpertise]
	smes    *cache[string, *soe.SubjectMatterExperts]
	groups  *cache[string, []soe.UserSummary]

	order homeOrder
}

// homeOrder keeps an older render of a user's Home from replacing a newer
// one: renders are numbered when they start gathering, publishes of one
// user are serialized, and a render older than the one last published is
// dropped (say the Home was opened, and while it was being gathered the
// user clicked Disconnect: the Disconnect's Home must stay).
type homeOrder struct {
	seq       atomic.Uint64
	shards    [32]sync.Mutex
	mu        sync.Mutex
	published map[string]uint64 // team/user -> number of the render last published
}

func (o *homeOrder) start() uint64 { return o.seq.Add(1) }

// publish runs pub unless a newer render of key was published already.
func (o *homeOrder) publish(key string, n uint64, pub func() error) (stale bool, err error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	shard := &o.shards[h.Sum32()%uint32(len(o.shards))]
	shard.Lock()
	defer shard.Unlock()
	o.mu.Lock()
	last := o.published[key]
	o.mu.Unlock()
	if last > n {
		return true, nil
	}
	if err := pub(); err != nil {
		return false, err
	}
	o.mu.Lock()
	if o.published == nil {
		o.published = map[string]uint64{}
	}
	o.published[key] = n
	o.mu.Unlock()
	return false, nil
}

func (b *Bot) homeTab() *homeTab {
	if b.home == nil {
		b.home = &homeTab{}
	}
	return b.home
}

// AddHomeSection adds f to the App Home, after the connections and before
// the expertise sections, in the order added. Call it while wiring the bot
// (before it runs).
func (b *Bot) AddHomeSection(f HomeSection) {
	h := b.homeTab()
	h.sections = append(h.sections, f)
}

// AddHome registers the App Home tab: connections with Connect / Reconnect /
// Disconnect, the sections added with AddHomeSection, the tags the user is
// an expert on and recent unanswered questions there. ttl is how long the
// expertise is cached (default 5 minutes).
func (b *Bot) AddHome(ttl time.Duration) {
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	h := b.homeTab()
	h.enabled = true
	h.experts = newCache[string, *homeExpertise](ttl, 5000, b.now)
	h.smes = newCache[string, *soe.SubjectMatterExperts](ttl, 5000, b.now)
	h.groups = newCache[string, []soe.UserSummary](ttl, 1000, b.now)
	b.Event("app_home_opened", b.homeOpened)
	b.Action(actionHomeDisconnect, b.homeDisconnect)
	if b.links != nil {
		b.links.OnLinked(func(ctx context.Context, l linking.Link, _ *linking.Resume) {
			b.PublishHome(ctx, l.TeamID, l.UserID)
		})
	}
}

func (b *Bot) homeOpened(ctx context.Context, env *chat.Envelope) {
	var outer struct {
		Event struct {
			User string `json:"user"`
			Tab  string `json:"tab"`
		} `json:"event"`
	}
	if err := json.Unmarshal(env.Raw, &outer); err != nil {
		b.log.WarnContext(ctx, "app_home_opened: undecodable event", "err", err)
		return
	}
	if outer.Event.User == "" || (outer.Event.Tab != "" && outer.Event.Tab != "home") {
		return
	}
	b.PublishHome(ctx, env.TeamID, outer.Event.User)
}

// PublishHome renders and publishes the user's App Home (features call it
// after changing something the Home shows). It does nothing when the Home
// is not enabled.
func (b *Bot) PublishHome(ctx context.Context, teamID, userID string) {
	if b.home == nil || !b.home.enabled || userID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, homeTimeout)
	defer cancel()
	n := b.home.order.start()
	d := b.gatherHome(ctx, teamID, userID)
	v := slack.HomeTabViewRequest{Type: slack.VTHomeTab, CallbackID: "soe_home", Blocks: slack.Blocks{BlockSet: b.renderHome(d)}}
	stale, err := b.home.order.publish(teamID+"/"+userID, n, func() error { return b.slack.PublishHome(ctx, userID, v) })
	switch {
	case err != nil:
		b.log.WarnContext(ctx, "views.publish failed", "user", userID, "err", err)
	case stale:
		b.log.DebugContext(ctx, "home render dropped: a newer one was published", "user", userID)
	}
}

// homeData is everything the Home shows, gathered before rendering.
type homeData struct {
	Connections []homeConn
	LinksFailed bool
	Extra       [][]slack.Block
	// Expertise is nil when the user has no usable main-site connection.
	Expertise     *homeExpertise
	ExpertiseFail string // a friendly problem, when loading failed
}

type homeConn struct {
	Scope      soe.Scope
	Link       *linking.Link // nil: not connected
	ConnectURL string        // Connect/Reconnect link page ("" if unavailable)
}

// homeExpertise is what the user is an SME for, on the main site.
type homeExpertise struct {
	SMEDisabled bool
	Partial     bool // not every tag with SMEs was checked
	Tags        []soe.TagSummary
	Questions   []soe.QuestionSummary
}

func (b *Bot) gatherHome(ctx context.Context, teamID, userID string) *homeData {
	d := &homeData{}
	var links []linking.Link
	if b.links != nil {
		var err error
		if links, err = b.links.Links(ctx, teamID, userID); err != nil {
			b.log.ErrorContext(ctx, "home: list links", "user", userID, "err", err)
			d.LinksFailed = true
		}
	}
	main := slices.IndexFunc(links, func(l linking.Link) bool { return !l.Scope.IsTeam() })
	if main >= 0 && !links[main].Invalid {
		ex, err := b.loadExpertise(ctx, links[main])
		switch {
		case err == nil:
			d.Expertise = ex
		case errors.Is(err, soe.ErrUnauthorized), errors.Is(err, linking.ErrLinkInvalid):
			reason := "Stack Overflow refused the token"
			if ierr := b.links.Invalidate(ctx, teamID, userID, links[main].Scope, reason); ierr != nil {
				b.log.WarnContext(ctx, "home: invalidate", "err", ierr)
			}
			links[main].Invalid, links[main].InvalidReason = true, reason
		case soe.Temporary(err) || errors.Is(err, context.DeadlineExceeded):
			d.ExpertiseFail = "Stack Overflow did not answer in time, so your expert tags are missing. Open this tab again to retry."
		default:
			b.log.WarnContext(ctx, "home: expertise", "user", userID, "err", err)
			d.ExpertiseFail = "I could not load your expert tags from Stack Overflow just now."
		}
	}
	if main < 0 && !d.LinksFailed {
		d.Connections = append(d.Connections, homeConn{Scope: soe.MainSite()})
	}
	for i := range links {
		d.Connections = append(d.Connections, homeConn{Scope: links[i].Scope, Link: &links[i]})
	}
	slices.SortStableFunc(d.Connections, func(a, b homeConn) int {
		switch {
		case a.Scope.IsTeam() == b.Scope.IsTeam():
			return strings.Compare(a.Scope.Team, b.Scope.Team)
		case a.Scope.IsTeam():
			return 1
		}
		return -1
	})
	for i := range d.Connections {
		c := &d.Connections[i]
		if b.links != nil && (c.Link == nil || c.Link.Invalid) {
			u, err := b.links.Begin(ctx, teamID, userID, c.Scope, nil)
			if err != nil {
				b.log.WarnContext(ctx, "home: could not start linking", "err", err)
				continue
			}
			c.ConnectURL = u
		}
	}
	for _, f := range b.home.sections {
		if bs := b.runHomeSection(ctx, f, teamID, userID); len(bs) > 0 {
			d.Extra = append(d.Extra, bs)
		}
	}
	return d
}

// runHomeSection runs one extension; a panic costs only that section.
func (b *Bot) runHomeSection(ctx context.Context, f HomeSection, teamID, userID string) (bs []slack.Block) {
	defer func() {
		if p := recover(); p != nil {
			b.log.ErrorContext(ctx, "home section panicked", "panic", fmt.Sprint(p))
			bs = nil
		}
	}()
	return f(ctx, teamID, userID)
}

// loadExpertise finds the tags the link's SOE user is an SME for (directly
// or through a user group) among the most used tags that have SMEs, and the
// newest unanswered questions in them. At most 2 + maxSMETagChecks +
// maxHomeGroupLoads SOE calls, usually far fewer thanks to the caches.
func (b *Bot) loadExpertise(ctx context.Context, l linking.Link) (*homeExpertise, error) {
	h := b.home
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%d", l.TeamID, l.UserID, l.Scope.Key(), l.SOEUserID)
	return h.experts.GetOrLoad(ctx, key, func(ctx context.Context) (*homeExpertise, error) {
		c, err := b.links.ClientFor(ctx, l)
		if err != nil {
			return nil, err
		}
		scope := c.Scope().Key()
		yes, no := true, false
		p, err := c.TagsPage(ctx, soe.TagListOptions{HasSMEs: &yes, PageSize: 100, Sort: "postCount", Order: soe.OrderDesc})
		if err != nil {
			return nil, err
		}
		ex := &homeExpertise{}
		tags := p.Items
		if len(tags) > maxSMETagChecks {
			tags, ex.Partial = tags[:maxSMETagChecks], true
		}
		if p.TotalCount > len(p.Items) {
			ex.Partial = true
		}
		groupLoads := 0
		for _, t := range tags {
			if t.SubjectMatterExpertCount == nil {
				return &homeExpertise{SMEDisabled: true}, nil
			}
			smes, err := h.smes.GetOrLoad(ctx, fmt.Sprintf("%s\x00%d", scope, t.ID), func(ctx context.Context) (*soe.SubjectMatterExperts, error) {
				return c.SubjectMatterExperts(ctx, t.ID)
			})
			switch {
			case errors.Is(err, soe.ErrSMEDisabled):
				return &homeExpertise{SMEDisabled: true}, nil
			case errors.Is(err, soe.ErrNotFound), errors.Is(err, soe.ErrForbidden):
				continue
			case err != nil:
				return nil, err
			}
			if isSME(smes, l.SOEUserID, func(g soe.UserGroup) []soe.UserSummary {
				if len(g.Users) > 0 || groupLoads >= maxHomeGroupLoads {
					return g.Users
				}
				groupLoads++
				members, err := h.groups.GetOrLoad(ctx, fmt.Sprintf("%s\x00%d", scope, g.ID), func(ctx context.Context) ([]soe.UserSummary, error) {
					full, err := c.UserGroup(ctx, g.ID)
					if err != nil {
						return nil, err
					}
					return full.Users, nil
				})
				if err != nil {
					return nil
				}
				return members
			}) {
				ex.Tags = append(ex.Tags, t)
			}
		}
		if len(ex.Tags) == 0 {
			return ex, nil
		}
		ids := make([]int, 0, len(ex.Tags))
		for _, t := range ex.Tags {
			ids = append(ids, t.ID)
		}
		qp, err := c.QuestionsPage(ctx, soe.QuestionListOptions{TagIDs: ids, IsAnswered: &no, Sort: soe.SortCreation, Order: soe.OrderDesc, PageSize: 15})
		if err != nil {
			return nil, err
		}
		ex.Questions = qp.Items[:min(len(qp.Items), maxHomeQuestions)]
		return ex, nil
	})
}

// isSME reports whether SOE user id is among smes, directly or as a member
// of one of its groups (members fetched with load when SOE left them out).
func isSME(smes *soe.SubjectMatterExperts, id int, load func(soe.UserGroup) []soe.UserSummary) bool {
	if smes == nil || id <= 0 {
		return false
	}
	for _, u := range smes.Users {
		if u.ID == id {
			return true
		}
	}
	for _, g := range smes.UserGroups {
		for _, u := range load(g) {
			if u.ID == id {
				return true
			}
		}
	}
	return false
}

func (b *Bot) renderHome(d *homeData) []slack.Block {
	cmd := b.cfg.Command
	site := "Stack Overflow"
	if b.cfg.SiteURL != "" {
		site = mrkdwn.Link(b.cfg.SiteURL, "Stack Overflow")
	}
	blocks := []slack.Block{
		blockkit.Header("Stack Overflow in Slack"),
		blockkit.Section(fmt.Sprintf("Search, ask and find the experts on %s without leaving Slack. I always act as you, with your own account. Type %s to see everything I can do.",
			site, mrkdwn.Code(cmd+" help"))),
		blockkit.Divider(),
		blockkit.Section("*Your connections*"),
	}
	if d.LinksFailed {
		blocks = append(blocks, blockkit.Section(":warning: I could not read your connections just now. Open this tab again in a moment."))
	}
	for _, c := range d.Connections {
		blocks = append(blocks, renderHomeConn(c, cmd)...)
	}
	blocks = append(blocks, blockkit.Context(fmt.Sprintf("Private teams: %s connects one, %s lists your connections.",
		mrkdwn.Code(cmd+" link team <slug>"), mrkdwn.Code(cmd+" whoami"))))
	for _, extra := range d.Extra {
		blocks = append(blocks, blockkit.Divider())
		blocks = append(blocks, extra...)
	}
	blocks = append(blocks, blockkit.Divider())
	blocks = append(blocks, renderHomeExpertise(d, cmd)...)
	return capBlocks(blocks, maxHomeBlocks)
}

func renderHomeConn(c homeConn, cmd string) []slack.Block {
	name := "Main site"
	if c.Scope.IsTeam() {
		name = "Team " + c.Scope.Team
	}
	name = "*" + mrkdwn.Escape(name) + "*"
	connect := func(action, label string) *slack.ButtonBlockElement {
		if c.ConnectURL == "" {
			return nil
		}
		return blockkit.LinkButton(action+":"+c.Scope.Key(), label, c.ConnectURL).WithStyle(slack.StylePrimary)
	}
	switch {
	case c.Link == nil:
		text := name + ": not connected. Connect to search, ask and see previews of Stack Overflow links."
		if btn := connect(router.ActionConnect, "Connect"); btn != nil {
			return []slack.Block{blockkit.SectionWithButton(text, btn)}
		}
		return []slack.Block{blockkit.Section(text + " Run " + mrkdwn.Code(cmd+" link") + ".")}
	case c.Link.Invalid:
		reason := "Stack Overflow no longer accepts it"
		if c.Link.InvalidReason != "" {
			reason = c.Link.InvalidReason
		}
		text := fmt.Sprintf(":warning: %s: %s needs reconnecting (%s).", name, profileLink(*c.Link), mrkdwn.Escape(reason))
		els := []slack.BlockElement{}
		if btn := connect(router.ActionReconnect, "Reconnect"); btn != nil {
			els = append(els, btn)
		}
		els = append(els, disconnectButton(c.Scope))
		return []slack.Block{blockkit.Section(text), blockkit.Actions("home_conn_"+c.Scope.Key(), els...)}
	default:
		text := fmt.Sprintf(":white_check_mark: %s: connected as %s · %s · %s", name, profileLink(*c.Link), c.Link.Access(), expiryText(*c.Link))
		return []slack.Block{blockkit.SectionWithButton(text, disconnectButton(c.Scope))}
	}
}

func disconnectButton(scope soe.Scope) *slack.ButtonBlockElement {
	where := "the main site"
	if scope.IsTeam() {
		where = "team " + scope.Team
	}
	confirm := slack.NewConfirmationBlockObject(
		blockkit.Plain("Disconnect?"),
		blockkit.Markdown(fmt.Sprintf("I will forget your Stack Overflow connection for %s and stop acting as you there. You can connect again at any time.", mrkdwn.Escape(where))),
		blockkit.Plain("Disconnect"), blockkit.Plain("Cancel")).WithStyle(slack.StyleDanger)
	return blockkit.Button(actionHomeDisconnect+":"+scope.Key(), "Disconnect", scope.Key()).WithStyle(slack.StyleDanger).WithConfirm(confirm)
}

func renderHomeExpertise(d *homeData, cmd string) []slack.Block {
	ex := d.Expertise
	switch {
	case d.ExpertiseFail != "":
		return []slack.Block{blockkit.Section("*Your expertise*\n:warning: " + mrkdwn.Escape(d.ExpertiseFail))}
	case ex == nil:
		return []slack.Block{blockkit.Section("*Your expertise*\nConnect your main-site account to see the tags you are a subject-matter expert for, and the questions waiting for an answer there.")}
	case ex.SMEDisabled:
		return []slack.Block{blockkit.Section("*Your expertise*\nSubject-matter experts are turned off on this Stack Overflow site.")}
	case len(ex.Tags) == 0:
		text := "*Your expertise*\nYou are not a subject-matter expert for any tag yet. " +
			"Find the experts on a tag with " + mrkdwn.Code(cmd+" experts <tag>") + "."
		if ex.Partial {
			text += fmt.Sprintf(" (I checked the %d most used tags that have experts.)", maxSMETagChecks)
		}
		return []slack.Block{blockkit.Section(text)}
	}
	var tags []string
	for _, t := range ex.Tags {
		tags = append(tags, mrkdwn.Link(t.WebURL, mrkdwn.Truncate(t.Name, 40)))
	}
	blocks := []slack.Block{blockkit.Section("*Tags you are an expert on*\n" + strings.Join(tags, " · "))}
	if ex.Partial {
		blocks = append(blocks, blockkit.Context(fmt.Sprintf("I checked the %d most used tags that have experts.", maxSMETagChecks)))
	}
	if len(ex.Questions) == 0 {
		return append(blocks, blockkit.Section("*Unanswered questions in your tags*\nNone right now. :tada:"))
	}
	blocks = append(blocks, blockkit.Section("*Unanswered questions in your tags*"))
	for _, q := range ex.Questions {
		meta := []string{answers(q.AnswerCount), votes(q.Score)}
		if t := tagList(q.TagNames(), 5); t != "" {
			meta = append(meta, t)
		}
		if q.Owner != nil && q.Owner.Name != "" {
			meta = append(meta, "asked by "+mrkdwn.Plain(mrkdwn.Truncate(q.Owner.Name, 80)))
		}
		blocks = append(blocks, blockkit.Section(":question: *"+mrkdwn.Link(q.WebURL, plainTitle(q.Title, searchTitleN))+"*\n"+strings.Join(meta, " · ")))
	}
	return blocks
}

// homeDisconnect unlinks the scope named by the (confirmed) button and
// re-publishes the Home.
func (b *Bot) homeDisconnect(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	scope, err := soe.ParseScopeKey(a.Value)
	if err == nil && b.links != nil {
		if _, err = b.links.Unlink(ctx, env.TeamID, env.UserID, scope); err != nil {
			b.log.ErrorContext(ctx, "home: unlink", "user", env.UserID, "err", err)
			b.Reply(ctx, env, blockkit.Warning("I could not disconnect your Stack Overflow account just now. Please try again."))
		}
	}
	b.PublishHome(ctx, env.TeamID, env.UserID)
}
