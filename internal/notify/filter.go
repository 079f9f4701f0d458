package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// Filters of a channel subscription (issue 17): besides its plain tags (any
// of them), a subscription may want questions with all of several tags
// (go+kubernetes), questions in a community's tags (community cloud-native,
// expanded through SOE and refreshed by the poller) and never questions with
// some tags (-legacy). A subscription with any of these is "filtered": it is
// one unit for subscribe and unsubscribe (re-subscribing the same filters
// replaces it; unsubscribing one of its tags removes it whole).

// Filter is the filters of a subscription, stored inline in its JSON (every
// field omitempty: subscriptions written before filters read as none).
type Filter struct {
	// AllOf are groups of tags a question must all have (each 2+ tags).
	AllOf [][]string `json:"all_of,omitempty"`
	// Exclude are tags a question must not have.
	Exclude []string `json:"exclude,omitempty"`
	// Community, when set, adds a community's tags as alternatives.
	Community *CommunityFilter `json:"community,omitempty"`
}

// CommunityFilter is a community and its tags as last expanded.
type CommunityFilter struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	// Tags are the community's tag names (lower case) at Refreshed.
	Tags      []string  `json:"tags,omitempty"`
	Refreshed time.Time `json:"refreshed,omitzero"`
}

// IsZero reports whether f filters nothing.
func (f *Filter) IsZero() bool {
	return len(f.AllOf) == 0 && len(f.Exclude) == 0 && f.Community == nil
}

// Filtered reports whether the subscription has filters (see Filter).
func (s *Subscription) Filtered() bool { return !s.Filter.IsZero() }

// positive reports whether s names anything a question may match on (plain
// tags, groups, a community); none means every tag.
func (s *Subscription) positive() bool {
	return len(s.Tags) > 0 || len(s.AllOf) > 0 || s.Community != nil
}

// filterMatches is matches for a filtered subscription: a question matches
// when it has none of the excluded tags and (the subscription names no
// positive term, or one of its plain tags, all tags of one group, or one of
// its community's tags).
func (s *Subscription) filterMatches(tags []string) bool {
	has := func(w string) bool {
		return slices.ContainsFunc(tags, func(t string) bool { return strings.EqualFold(t, w) })
	}
	if slices.ContainsFunc(s.Exclude, has) {
		return false
	}
	if !s.positive() || slices.ContainsFunc(s.Tags, has) {
		return true
	}
	for _, g := range s.AllOf {
		if !slices.ContainsFunc(g, func(w string) bool { return !has(w) }) {
			return true
		}
	}
	return s.Community != nil && slices.ContainsFunc(s.Community.Tags, has)
}

// Matches reports whether a question with these tags is one the
// subscription announces (its tags and filters; not its kinds).
func (s *Subscription) Matches(tags []string) bool { return s.matches(tags) }

// mentions lists the tags of want the subscription names positively (a
// plain tag or a group's); for unsubscribing a filtered subscription.
func (s *Subscription) mentions(want []string) []string {
	var out []string
	for _, t := range want {
		if slices.Contains(s.Tags, t) || slices.ContainsFunc(s.AllOf, func(g []string) bool { return slices.Contains(g, t) }) {
			out = append(out, t)
		}
	}
	return out
}

// filterKey identifies what a subscription selects (tags and filters, not
// kinds): a new subscription replaces one of the same key in its channel
// and scope.
func (s *Subscription) filterKey() string {
	var b strings.Builder
	b.WriteString(strings.Join(s.Tags, " "))
	for _, g := range s.AllOf {
		b.WriteString("|" + strings.Join(g, "+"))
	}
	b.WriteString("|-" + strings.Join(s.Exclude, " -"))
	if s.Community != nil {
		fmt.Fprintf(&b, "|c%d", s.Community.ID)
	}
	return b.String()
}

// cleanFilter checks and normalises a filter (sorted, deduplicated tags).
func cleanFilter(f Filter) (Filter, error) {
	var out Filter
	var err error
	for _, g := range f.AllOf {
		cg, err := cleanTags(g)
		if err != nil {
			return Filter{}, err
		}
		if len(cg) < 2 {
			return Filter{}, fmt.Errorf("%w: a group needs two tags or more", ErrBadInput)
		}
		if !slices.ContainsFunc(out.AllOf, func(x []string) bool { return slices.Equal(x, cg) }) {
			out.AllOf = append(out.AllOf, cg)
		}
	}
	sort.Slice(out.AllOf, func(i, j int) bool { return strings.Join(out.AllOf[i], "+") < strings.Join(out.AllOf[j], "+") })
	if out.Exclude, err = cleanTags(f.Exclude); err != nil {
		return Filter{}, err
	}
	if len(out.AllOf) > MaxTags {
		return Filter{}, fmt.Errorf("%w: at most %d groups", ErrBadInput, MaxTags)
	}
	if c := f.Community; c != nil {
		if c.ID <= 0 || c.Name == "" {
			return Filter{}, fmt.Errorf("%w: a community needs an id and a name", ErrBadInput)
		}
		tags, err := cleanCommunityTags(c.Tags)
		if err != nil {
			return Filter{}, err
		}
		out.Community = &CommunityFilter{ID: c.ID, Name: c.Name, Tags: tags, Refreshed: c.Refreshed}
	}
	return out, nil
}

// cleanCommunityTags is cleanTags without its bound (a community may have
// many tags).
func cleanCommunityTags(tags []string) ([]string, error) {
	var out []string
	for i := 0; i < len(tags); i += MaxTags {
		part, err := cleanTags(tags[i:min(i+MaxTags, len(tags))])
		if err != nil {
			return nil, err
		}
		for _, t := range part {
			out = appendOnce(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Contradiction explains why a subscription could never match anything
// (a tag both wanted and excluded), or "".
func (s *Subscription) Contradiction() string {
	for _, x := range s.Exclude {
		if slices.Contains(s.Tags, x) {
			return fmt.Sprintf("`%s` is both wanted and excluded", x)
		}
		for _, g := range s.AllOf {
			if slices.Contains(g, x) {
				return fmt.Sprintf("`%s` needs `%s` but excludes it", strings.Join(g, "+"), x)
			}
		}
	}
	if c := s.Community; c != nil && len(s.Tags) == 0 && len(s.AllOf) == 0 && len(c.Tags) > 0 &&
		!slices.ContainsFunc(c.Tags, func(t string) bool { return !slices.Contains(s.Exclude, t) }) {
		return fmt.Sprintf("every tag of the community %s is excluded", c.Name)
	}
	return ""
}

// replaceFilteredTx is Subscribe's rule when the new subscription or an
// existing one (old) is filtered: old is deleted when it selects the same
// (filterKey), else left alone. It reports whether old was kept.
func replaceFilteredTx(tx store.Tx, old, sub Subscription) (bool, error) {
	if old.filterKey() != sub.filterKey() {
		return true, nil
	}
	return false, deleteSubTx(tx, old)
}

// unsubscribeFilteredTx is Unsubscribe's rule for a filtered subscription:
// it goes whole when tags names one of its tags. It returns the tags found.
func unsubscribeFilteredTx(tx store.Tx, sub Subscription, tags []string) ([]string, error) {
	hit := sub.mentions(tags)
	if len(hit) == 0 {
		return nil, nil
	}
	return hit, deleteSubTx(tx, sub)
}

// --- community refresh (poller) --------------------------------------------------

// communityTTL is how long a community's expansion is used before the
// poller expands it again.
func (s *Service) communityTTL() time.Duration {
	if s.opts.CommunityTTL > 0 {
		return s.opts.CommunityTTL
	}
	return 5 * time.Minute
}

// refreshCommunities re-expands, with the cycle's client, the communities of
// subs last expanded more than communityTTL ago (one call per community),
// stores the new tags and returns subs with them. A community SOE no longer
// has keeps its last tags; other errors are retried next cycle.
func (s *Service) refreshCommunities(ctx context.Context, c *soe.Client, subs []Subscription, st *CycleStats) []Subscription {
	now := s.now().UTC()
	fresh := map[int]*CommunityFilter{}
	var changed []Subscription
	for i := range subs {
		cf := subs[i].Community
		if cf == nil || now.Sub(cf.Refreshed) < s.communityTTL() {
			continue
		}
		nf, ok := fresh[cf.ID]
		if !ok {
			nf = s.expandCommunity(ctx, c, *cf, now, st)
			fresh[cf.ID] = nf
		}
		if nf == nil {
			continue
		}
		sub := subs[i]
		sub.Community = nf
		subs[i] = sub
		changed = append(changed, sub)
	}
	if len(changed) == 0 {
		return subs
	}
	err := s.db.Update(ctx, func(tx store.Tx) error {
		for _, sub := range changed {
			var cur Subscription
			ok, err := store.GetJSON(tx, bucketSubs, sub.ID, &cur)
			if err != nil {
				return err
			}
			if !ok || cur.Community == nil || cur.Community.ID != sub.Community.ID {
				continue // changed or gone meanwhile
			}
			cur.Community = sub.Community
			if err := putSubTx(tx, cur); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "storing refreshed communities failed", "err", err)
	}
	return subs
}

// expandCommunity reads a community's tags (nil: keep the old ones for now).
func (s *Service) expandCommunity(ctx context.Context, c *soe.Client, old CommunityFilter, now time.Time, st *CycleStats) *CommunityFilter {
	st.SOECalls++
	cm, err := c.Community(ctx, old.ID)
	switch {
	case errors.Is(err, soe.ErrNotFound):
		s.log.InfoContext(ctx, "a subscribed community is gone; keeping its last tags", "community", old.ID)
		old.Refreshed = now
		return &old
	case err != nil:
		s.log.WarnContext(ctx, "expanding a community failed; retrying next cycle", "community", old.ID, "err", err)
		return nil
	}
	names := make([]string, 0, len(cm.Tags))
	for _, t := range cm.Tags {
		names = append(names, t.Name)
	}
	tags, err := cleanCommunityTags(names)
	if err != nil {
		s.log.WarnContext(ctx, "a community's tags are unusable; keeping the last ones", "community", old.ID, "err", err)
		old.Refreshed = now
		return &old
	}
	return &CommunityFilter{ID: cm.ID, Name: cm.Name, Tags: tags, Refreshed: now}
}

// --- listing -----------------------------------------------------------------------

// ChannelAudit is Audit for one channel's subscriptions (oldest first).
func (s *Service) ChannelAudit(ctx context.Context, teamID, channelID string) ([]AuditEntry, error) {
	subs, err := s.ChannelSubscriptions(ctx, teamID, channelID)
	if err != nil {
		return nil, err
	}
	return s.auditOf(ctx, subs)
}

// UserAudit is Audit for the subscriptions a user owns.
func (s *Service) UserAudit(ctx context.Context, teamID, userID string) ([]AuditEntry, error) {
	subs, err := s.UserSubscriptions(ctx, teamID, userID)
	if err != nil {
		return nil, err
	}
	return s.auditOf(ctx, subs)
}

func (s *Service) auditOf(ctx context.Context, subs []Subscription) ([]AuditEntry, error) {
	out := make([]AuditEntry, len(subs))
	for i, sub := range subs {
		out[i].Subscription = sub
	}
	err := s.db.View(ctx, func(tx store.Tx) error { return auditDeliveriesTx(tx, out) })
	if err != nil {
		return nil, fmt.Errorf("notify: audit subscriptions: %w", err)
	}
	return out, nil
}

// UnsubscribeCommunity removes the channel's subscriptions that follow a
// community whose name is (match). It returns how many it removed.
func (s *Service) UnsubscribeCommunity(ctx context.Context, teamID, channelID string, match func(name string) bool) (int, error) {
	if err := checkIDs(teamID, channelID); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.Update(ctx, func(tx store.Tx) error {
		n = 0
		subs, err := channelSubsTx(tx, teamID, channelID)
		if err != nil {
			return err
		}
		for _, sub := range subs {
			if sub.Community == nil || !match(sub.Community.Name) {
				continue
			}
			if err := deleteSubTx(tx, sub); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("notify: unsubscribe community: %w", err)
	}
	return n, nil
}

// namedTags are the tags a subscription names positively (plain, in groups,
// its community's), for notices that list them.
func (s *Subscription) namedTags() []string {
	out := slices.Clone(s.Tags)
	for _, g := range s.AllOf {
		for _, t := range g {
			out = appendOnce(out, t)
		}
	}
	if s.Community != nil {
		for _, t := range s.Community.Tags {
			out = appendOnce(out, t)
		}
	}
	return out
}
