package subscriptions

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

// The filter grammar of /soe subscribe (issue 17), in the same words as the
// rest of the command:
//
//	go kubernetes        a question with any of these tags (as before)
//	go+kubernetes        a question with all of these tags
//	-legacy              never a question tagged legacy
//	community <name>     a question in any of the community's tags
//	preview              show what the last 7 days would have posted first
//
// A tag with a '+' of its own (c++) stays one tag: a '+' joins tags only
// between two tags. Names that are grammar words go in brackets ([preview]).

// problemKind says which reply a parse problem gets.
type problemKind int

const (
	problemUsage         problemKind = iota // the command's usage
	problemFilter                           // the filter grammar with an example
	problemContradiction                    // a refusal with the reason
)

// filterSpec is what a /soe subscribe asked beyond plain tags: groups of
// required tags, excluded tags, a community by name (resolved when the
// subscription is created, with the caller's token).
type filterSpec struct {
	AllOf     [][]string
	Exclude   []string
	Community string
}

func (f *filterSpec) isZero() bool {
	return len(f.AllOf) == 0 && len(f.Exclude) == 0 && f.Community == ""
}

// filterTags are every tag the filters name (to check they exist).
func (f *filterSpec) filterTags() []string {
	var out []string
	for _, g := range f.AllOf {
		out = append(out, g...)
	}
	return append(out, f.Exclude...)
}

// takeCommunity removes "community <name>" from args (the name may be
// quoted: community "Cloud Native").
func takeCommunity(args []string) (name string, rest []string, problem string) {
	for i := 0; i < len(args); i++ {
		if !strings.EqualFold(args[i], "community") {
			rest = append(rest, args[i])
			continue
		}
		if i+1 >= len(args) || strings.TrimSpace(args[i+1]) == "" {
			return "", nil, "`community` needs a name, like `community cloud-native`"
		}
		if name != "" {
			return "", nil, "give at most one `community <name>`"
		}
		name = strings.TrimSpace(args[i+1])
		if len(name) > 100 {
			return "", nil, "that community name is too long"
		}
		i++
	}
	return name, rest, ""
}

// splitPlus splits go+kubernetes into its tags; a '+' that is followed by
// another '+' or ends the word belongs to a tag (c++, notepad++).
func splitPlus(word string) []string {
	var out []string
	start := 0
	for i := 0; i < len(word); i++ {
		if word[i] == '+' && i+1 < len(word) && word[i+1] != '+' {
			out = append(out, word[start:i])
			start = i + 1
		}
	}
	return append(out, word[start:])
}

// fillerWords are words people write for filters in prose; they are never
// taken for tags (brackets still can: [not]).
var fillerWords = []string{"not", "except", "without", "exclude", "excluding", "and", "or", "but", "only", "with"}

// filterTerm reads one word that is a filter (-tag, tag+tag) or looks like
// a filter word soebot does not know. It reports whether the word was one.
func (a *subscribeArgs) filterTerm(part string) (bool, string) {
	unknown := fmt.Sprintf("I do not know the filter %s", mrkdwn.Code(mrkdwn.Truncate(part, 40)))
	if strings.HasPrefix(part, "-") {
		t := router.NormalizeTag(part[1:])
		if t == "" || strings.HasPrefix(t, "-") || len(splitPlus(t)) > 1 || router.ValidateTag(t) != "" {
			return true, unknown
		}
		if !contains(a.Filter.Exclude, t) {
			a.Filter.Exclude = append(a.Filter.Exclude, t)
		}
		return true, ""
	}
	if slices.Contains(fillerWords, strings.ToLower(part)) {
		return true, unknown + ": to leave a tag out write `-legacy`, to need two tags `go+kubernetes`"
	}
	if strings.ContainsAny(part, "!~:=") && !strings.ContainsAny(part, "<>") {
		return true, unknown // not:go, tag:go, !go, ~go: not our grammar
	}
	parts := splitPlus(part)
	if len(parts) == 1 {
		return false, ""
	}
	var g []string
	for _, p := range parts {
		t := router.NormalizeTag(p)
		if t == "" || strings.HasPrefix(t, "+") || router.ValidateTag(t) != "" {
			return true, unknown
		}
		if !contains(g, t) {
			g = append(g, t)
		}
	}
	if len(g) == 1 {
		if !contains(a.Tags, g[0]) {
			a.Tags = append(a.Tags, g[0])
		}
		return true, ""
	}
	slices.Sort(g)
	if !slices.ContainsFunc(a.Filter.AllOf, func(x []string) bool { return slices.Equal(x, g) }) {
		a.Filter.AllOf = append(a.Filter.AllOf, g)
	}
	return true, ""
}

// checkFilters is the end of parseSubscribeArgs for filters: what a
// subscription with them needs, and contradictions.
func (a *subscribeArgs) checkFilters() (problemKind, string) {
	f := &a.Filter
	n := len(a.Tags) + len(f.filterTags())
	switch {
	case a.Every && (len(f.AllOf) > 0 || f.Community != ""):
		return problemUsage, "give either tags or `all` (every tag), not both"
	case !a.Every && len(a.Tags) == 0 && len(f.AllOf) == 0 && f.Community == "" && len(f.Exclude) > 0:
		return problemFilter, fmt.Sprintf("%s alone excludes from nothing: name tags, or `all` for every tag (%s)",
			mrkdwn.Code("-"+f.Exclude[0]), mrkdwn.Code("all -"+f.Exclude[0]))
	case n > 2*maxSubscribeTags:
		return problemUsage, fmt.Sprintf("subscribe to at most %d tags at once", maxSubscribeTags)
	}
	sub := notify.Subscription{Tags: a.Tags, Filter: notify.Filter{AllOf: f.AllOf, Exclude: f.Exclude}}
	if why := sub.Contradiction(); why != "" {
		return problemContradiction, why
	}
	return problemUsage, ""
}

// filterUsage is the reply to a filter word soebot does not know: the
// grammar, with examples.
func (n *Feature) filterUsage(problem string) chat.Message {
	cmd := n.router.Command()
	text := fmt.Sprintf("That did not work: %s.\n*Filters* go with the tags of %s:\n"+
		"• %s: questions with any of these tags\n"+
		"• %s: only questions with both tags\n"+
		"• %s: never questions tagged %s\n"+
		"• %s: questions in the tags of a Stack Overflow community\n"+
		"• %s: first show what the last 7 days would have posted\n"+
		"For example %s or %s.",
		problem, mrkdwn.Code(cmd+" subscribe"),
		mrkdwn.Code("go kubernetes"), mrkdwn.Code("go+kubernetes"), mrkdwn.Code("-legacy"), mrkdwn.Code("legacy"),
		mrkdwn.Code("community cloud-native"), mrkdwn.Code("preview"),
		mrkdwn.Code(cmd+" subscribe go -legacy"), mrkdwn.Code(cmd+" subscribe go+kubernetes terraform preview"))
	return blockkit.Warning(text)
}

// refusal answers contradictory filters: why nothing would ever be posted.
func refusal(why string) chat.Message { return blockkit.Warning(refusalText(why)) }

func refusalText(why string) string {
	return fmt.Sprintf("I did not subscribe: these filters could never match a question (%s). Nothing changed.", mrkdwn.Escape(why))
}

// problemMessage is the reply to a parse problem of /soe subscribe.
func (n *Feature) problemMessage(kind problemKind, problem string) chat.Message {
	switch kind {
	case problemFilter:
		return n.filterUsage(problem)
	case problemContradiction:
		return refusal(problem)
	}
	return n.usage(problem)
}

// --- communities -----------------------------------------------------------------

// communitySlug is a community's name as one word of the grammar:
// "Data & Analytics" → data-analytics.
func communitySlug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}

// resolveCommunity finds the community a subscription names, by name or
// slug, with the caller's client. text is the reply when there is none.
func (n *Feature) resolveCommunity(ctx context.Context, c *soe.Client, name string) (*notify.CommunityFilter, string, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.SOETimeout)
	defer cancel()
	cs, err := c.Communities(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("listing communities: %w", err)
	}
	want := communitySlug(name)
	var known []string
	for _, cm := range cs {
		if communitySlug(cm.Name) == want && want != "" {
			tags := make([]string, 0, len(cm.Tags))
			for _, t := range cm.Tags {
				tags = append(tags, strings.ToLower(t.Name))
			}
			return &notify.CommunityFilter{ID: cm.ID, Name: cm.Name, Tags: tags, Refreshed: n.now().UTC()}, "", nil
		}
		known = append(known, mrkdwn.Code(communitySlug(cm.Name)))
	}
	return nil, noCommunityText(name, known), nil
}

// noCommunityText answers a community SOE does not have, naming some it has.
func noCommunityText(name string, known []string) string {
	text := fmt.Sprintf("There is no community %s on Stack Overflow, so nothing changed.", mrkdwn.Code(mrkdwn.Truncate(name, 60)))
	if len(known) > 0 {
		text += " Communities: " + strings.Join(known[:min(len(known), 10)], ", ") + "."
	}
	return text
}

// notifyFilter resolves spec into the stored filter (community expanded).
// text is a reply explaining why not (nothing to create).
func (n *Feature) notifyFilter(ctx context.Context, c *soe.Client, tags []string, spec filterSpec) (notify.Filter, string, error) {
	f := notify.Filter{AllOf: spec.AllOf, Exclude: spec.Exclude}
	if spec.Community != "" {
		cf, text, err := n.resolveCommunity(ctx, c, spec.Community)
		if err != nil || text != "" {
			return f, text, err
		}
		f.Community = cf
	}
	sub := notify.Subscription{Tags: tags, Filter: f}
	if why := sub.Contradiction(); why != "" {
		return f, refusalText(why), nil
	}
	return f, "", nil
}

// --- the grammar, written back ---------------------------------------------------

// grammarWords are words a tag must be bracketed as to be read as a tag.
var grammarWords = []string{"not", "except", "without", "exclude", "excluding", "and", "or", "but", "only", "with", "all", "team", "community", "preview", "questions", "question", "answers", "answer",
	"accepted", "accept", "accepts", "acceptance"}

func grammarTag(t string) string {
	out := t
	if slices.Contains(grammarWords, t) || strings.HasPrefix(t, "-") || strings.HasPrefix(t, "#") ||
		len(splitPlus(t)) > 1 || strings.ContainsAny(t, "!~:=") {
		out = "[" + t + "]"
	}
	if strings.ContainsFunc(t, unicode.IsSpace) {
		out = `"` + out + `"`
	}
	return out
}

// expression is a subscription in the /soe subscribe grammar (without the
// command), so that it can be copied back: tags, groups, community,
// exclusions, the kinds when not the default, the team.
func expression(s notify.Subscription) string {
	var w []string
	if s.AllTags() {
		w = append(w, "all")
	}
	for _, t := range s.Tags {
		w = append(w, grammarTag(t))
	}
	for _, g := range s.AllOf {
		parts := make([]string, len(g))
		for i, t := range g {
			parts[i] = grammarTag(t)
		}
		w = append(w, strings.Join(parts, "+"))
	}
	if s.Community != nil {
		w = append(w, "community "+communitySlug(s.Community.Name))
	}
	for _, t := range s.Exclude {
		w = append(w, "-"+grammarTag(t))
	}
	if s.Kinds != notify.DefaultKinds && (s.Unanswered == 0 || s.Kinds != notify.KindQuestions) {
		w = append(w, kindWords(s.Kinds)...)
	}
	w = append(w, timerWords(s.Timers)...)
	if s.Scope.IsTeam() {
		w = append(w, "team "+s.Scope.Team)
	}
	return strings.Join(w, " ")
}

func kindWords(k notify.Kind) []string {
	var out []string
	for _, x := range []struct {
		k notify.Kind
		w string
	}{{notify.KindQuestions, "questions"}, {notify.KindAnswers, "answers"}, {notify.KindAccepted, "accepted"}} {
		if k&x.k != 0 {
			out = append(out, x.w)
		}
	}
	return out
}

// what is what a subscription selects, for messages: its tags as before,
// or the grammar for a filtered one.
func what(s notify.Subscription) string {
	switch {
	case s.Filtered():
		e := notify.Subscription{Tags: s.Tags, Filter: s.Filter, Kinds: notify.DefaultKinds}
		return mrkdwn.Code(expression(e))
	case s.AllTags():
		return "every tag"
	}
	return notify.TagList(s.Tags)
}

// specSubscription is the subscription args would create (community by the
// name given), for messages before it exists.
func specSubscription(args subscribeArgs) notify.Subscription {
	s := notify.Subscription{Tags: args.Tags, Kinds: args.Kinds,
		Filter: notify.Filter{AllOf: args.Filter.AllOf, Exclude: args.Filter.Exclude}, Timers: args.Timers}
	if args.Filter.Community != "" {
		s.Community = &notify.CommunityFilter{Name: args.Filter.Community}
	}
	if args.Team != "" {
		s.Scope = soe.TeamScope(args.Team)
	}
	return s
}

// filteredWhat is what a filtered subscription selects and the command that
// stops it.
func filteredWhat(cmd string, sub notify.Subscription) (string, string) {
	stop := cmd + " unsubscribe "
	switch {
	case len(sub.Tags) > 0:
		stop += sub.Tags[0]
	case len(sub.AllOf) > 0:
		stop += sub.AllOf[0][0]
	case sub.Community != nil:
		stop += "community " + communitySlug(sub.Community.Name)
	default:
		stop += "all"
	}
	w := what(sub)
	if c := sub.Community; c != nil {
		tags := make([]string, 0, len(c.Tags))
		for _, t := range c.Tags[:min(len(c.Tags), 10)] {
			tags = append(tags, mrkdwn.Code(t))
		}
		more := ""
		if len(c.Tags) > 10 {
			more = fmt.Sprintf(" and %d more", len(c.Tags)-10)
		}
		w += fmt.Sprintf(" (%s today: %s%s; followed as it changes)", mrkdwn.Escape(c.Name), cmp.Or(strings.Join(tags, ", "), "no tags"), more)
	}
	return w, stop
}

// validFilters checks the filters a Confirm button carried.
func (p *pendingSub) validFilters() bool {
	if len(p.AllOf) > maxSubscribeTags || len(p.Exclude) > maxSubscribeTags || len(p.Community) > 100 {
		return false
	}
	for _, g := range p.AllOf {
		if len(g) < 2 || len(g) > maxSubscribeTags {
			return false
		}
		for _, t := range g {
			if router.ValidateTag(t) != "" {
				return false
			}
		}
	}
	for _, t := range p.Exclude {
		if router.ValidateTag(t) != "" {
			return false
		}
	}
	return true
}

// unsubscribeCommunity is /soe unsubscribe community <name>: it removes the
// channel's subscriptions that follow that community.
func (n *Feature) unsubscribeCommunity(ctx context.Context, r *router.Request, name string) {
	if r.ChannelID == "" || strings.HasPrefix(r.ChannelID, "D") {
		n.router.Reply(ctx, r.Env, n.dmRefusal())
		return
	}
	want := communitySlug(name)
	if want == "" {
		n.router.Reply(ctx, r.Env, unsubscribedCommunityMessage(n.router.Command(), r.UserID, name, 0))
		return
	}
	count, err := n.svc.UnsubscribeCommunity(ctx, r.TeamID, r.ChannelID, func(c string) bool { return communitySlug(c) == want })
	if err != nil {
		n.log.ErrorContext(ctx, "unsubscribe community failed", "err", err)
		n.router.Reply(ctx, r.Env, blockkit.Warning("I could not change the subscriptions. Please try again."))
		return
	}
	n.router.Reply(ctx, r.Env, unsubscribedCommunityMessage(n.router.Command(), r.UserID, name, count))
	if count > 0 {
		n.refreshHome(ctx, r.TeamID, r.UserID)
	}
}

// unsubscribedCommunityMessage says what /soe unsubscribe community did.
func unsubscribedCommunityMessage(cmd, user, name string, count int) chat.Message {
	if count == 0 {
		return blockkit.Text(fmt.Sprintf("This channel follows no community %s, so nothing changed. See %s.",
			mrkdwn.Code(mrkdwn.Truncate(name, 60)), mrkdwn.Code(cmd+" subscriptions")))
	}
	m := blockkit.Text(fmt.Sprintf(":no_bell: %s unsubscribed this channel from the community %s.", mrkdwn.Mention(user), mrkdwn.Code(communitySlug(name))))
	m.InChannel = true
	return m
}
