package notify

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// ActionAdopt is the action_id of the "Keep it running as me" button of a
// channel's "subscription paused" notice; its value is the subscription id.
// The subscriptions feature handles it (and calls Adopt).
const ActionAdopt = "notify_adopt"

// reasonChannelNotice is the Target.Reason of a notice posted in a channel.
const reasonChannelNotice = "notice-channel"

// settleOwners decides, before a scope's cycle, whose connections may feed
// it. A subscription is fed only through its owners: one with no owner who
// still has a usable connection to the scope is paused (one notice in its
// channel, one DM to its owners) and left out of the cycle. The owners of
// the others are the cycle's only candidates; with none, the people with
// personal alerts in the scope read it for themselves.
func (s *Service) settleOwners(ctx context.Context, p *scopePlan, st *CycleStats) error {
	ls, err := s.links.ScopeLinks(ctx, p.scope)
	if err != nil {
		return fmt.Errorf("notify: list links: %w", err)
	}
	now := s.now()
	canRead := map[string]bool{}
	p.readers = nil
	for _, l := range ls {
		if usable(l, now) && l.Scope == p.scope {
			canRead[teamKey(l.TeamID, l.UserID)] = true
			p.readers = append(p.readers, l)
		}
	}
	var fed, starved []Subscription
	p.feeders = map[string]bool{}
	for _, sub := range p.subs {
		readers := 0
		for _, o := range sub.OwnerIDs() {
			if k := teamKey(sub.TeamID, o); canRead[k] {
				p.feeders[k] = true
				readers++
			}
		}
		if readers > 0 {
			fed = append(fed, sub)
		} else {
			starved = append(starved, sub)
		}
	}
	p.subs = fed
	return s.pauseSubs(ctx, p.scope, starved, st)
}

// mayFeed reports whether the connection of team/user may read the scope
// in this cycle (see settleOwners).
func (p *scopePlan) mayFeed(key string) bool {
	if len(p.feeders) > 0 {
		return p.feeders[key]
	}
	r, ok := p.links[key]
	return ok && r >= alertRank
}

// pauseSubs pauses the subscriptions not paused yet: each gets one notice
// in its channel (with "Keep it running as me"), and each owner one DM
// listing theirs (with Reconnect).
func (s *Service) pauseSubs(ctx context.Context, scope soe.Scope, subs []Subscription, st *CycleStats) error {
	if len(subs) == 0 {
		return nil
	}
	now := s.now().UTC()
	paused := 0
	err := s.db.Update(ctx, func(tx store.Tx) error {
		paused = 0
		byOwner := map[string]*Notice{}
		var order []string
		for _, sub := range subs {
			cur, ok, err := pauseSubTx(tx, sub.ID, now)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			paused++
			if err := enqueueChannelNotice(tx, cur, now); err != nil {
				return err
			}
			for _, o := range cur.OwnerIDs() {
				k := teamKey(cur.TeamID, o)
				if byOwner[k] == nil {
					byOwner[k] = &Notice{}
					order = append(order, k)
				}
				addToNotice(byOwner[k], cur)
			}
		}
		return enqueueOwnerNotices(tx, scope, order, byOwner, now)
	})
	if err != nil {
		return fmt.Errorf("notify: pause subscriptions: %w", err)
	}
	if paused > 0 {
		st.Paused += paused
		s.log.WarnContext(ctx, "no owner can read the scope any more; subscriptions paused", "scope", scope.Key(), "subscriptions", paused)
	}
	return nil
}

// pauseSubTx pauses subscription id; ok is false when it is gone, paused or
// disabled already.
func pauseSubTx(tx store.Tx, id string, now time.Time) (Subscription, bool, error) {
	var cur Subscription
	ok, err := store.GetJSON(tx, bucketSubs, id, &cur)
	if err != nil || !ok || cur.Paused || cur.Disabled {
		return cur, false, err
	}
	cur.Paused, cur.PausedAt = true, now
	return cur, true, putSubTx(tx, cur)
}

func addToNotice(n *Notice, sub Subscription) {
	n.Channels = appendOnce(n.Channels, sub.ChannelID)
	if sub.AllTags() {
		n.Tags = appendOnce(n.Tags, "*")
	}
	for _, t := range sub.namedTags() {
		n.Tags = appendOnce(n.Tags, t)
	}
}

func enqueueChannelNotice(tx store.Tx, sub Subscription, now time.Time) error {
	n := &Notice{SubID: sub.ID}
	addToNotice(n, sub)
	ev := &Event{ID: fmt.Sprintf("pause/%s/%s/%d", sub.Scope.Key(), sub.ID, now.UnixNano()), Kind: EventPaused,
		Scope: sub.Scope, Notice: n, Created: now}
	_, err := enqueueTx(tx, ev, []Target{{TeamID: sub.TeamID, ChannelID: sub.ChannelID, Reason: reasonChannelNotice}}, now)
	return err
}

func enqueueOwnerNotices(tx store.Tx, scope soe.Scope, order []string, byOwner map[string]*Notice, now time.Time) error {
	for _, k := range order {
		team, user, _ := cutKey(k)
		ev := &Event{ID: fmt.Sprintf("pause/%s/%s/%d", scope.Key(), k, now.UnixNano()), Kind: EventPaused,
			Scope: scope, Notice: byOwner[k], Created: now}
		if _, err := enqueueTx(tx, ev, []Target{{TeamID: team, UserID: user, Reason: "notice"}}, now); err != nil {
			return err
		}
	}
	return nil
}

// Adopt makes userID an owner of subscription id (in teamID), so that their
// connection keeps it running, and resumes it. The caller checks that the
// user can read the subscription's scope (and, for a private team, that the
// channel may see it).
func (s *Service) Adopt(ctx context.Context, teamID, id, userID string) (Subscription, error) {
	if err := checkIDs(teamID, userID); err != nil {
		return Subscription{}, err
	}
	var sub Subscription
	err := s.db.Update(ctx, func(tx store.Tx) error {
		ok, err := store.GetJSON(tx, bucketSubs, id, &sub)
		if err != nil {
			return err
		}
		if !ok || sub.TeamID != teamID {
			return ErrNoSubscription
		}
		if !slices.Contains(sub.OwnerIDs(), userID) {
			sub.Owners = append(slices.Clone(sub.OwnerIDs()), userID)
		}
		sub.Paused, sub.PausedAt = false, time.Time{}
		return putSubTx(tx, sub)
	})
	if err != nil {
		return Subscription{}, fmt.Errorf("notify: adopt subscription: %w", err)
	}
	s.log.InfoContext(ctx, "subscription adopted", "subscription", id, "user", userID)
	return sub, nil
}
