package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// MaxTags is the most tags one subscription may name.
const MaxTags = 20

// MaxChannelSubscriptions bounds the subscriptions of one channel.
const MaxChannelSubscriptions = 50

// ErrTooMany is returned when a channel has too many subscriptions.
var ErrTooMany = errors.New("notify: too many subscriptions in this channel")

// ErrNoSubscription is returned for a subscription that does not exist (any more).
var ErrNoSubscription = errors.New("notify: no such subscription")

// SubscribeRequest is a new channel subscription.
type SubscribeRequest struct {
	TeamID, ChannelID, CreatorID string
	Workspace                    string // the Grid workspace it was made in (grid.go); "" elsewhere
	Scope                        soe.Scope
	Tags                         []string  // lower-case names; nil = every tag
	Kinds                        Kind      // 0 = DefaultKinds
	Since                        time.Time // what Prime returned: SOE's "now"
	Digest                       Cadence   // a digest cadence, or "" / immediate
	TZ                           string    // the creator's Slack time zone (digests)
	Filter                       Filter    // groups, exclusions, a community (filter.go)
	Timers                                 // escalation and the unanswered filter (escalate.go)
}

// Subscribe stores a subscription. Tags it names are taken out of the
// channel's other subscriptions of the same scope (so re-subscribing a tag
// changes its kinds), and an every-tag subscription replaces the previous
// every-tag one. It returns the new subscription.
func (s *Service) Subscribe(ctx context.Context, r SubscribeRequest) (Subscription, error) {
	if err := checkIDs(r.TeamID, r.ChannelID, r.CreatorID); err != nil {
		return Subscription{}, err
	}
	if _, err := soe.ParseScopeKey(r.Scope.Key()); err != nil {
		return Subscription{}, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if r.Kinds == 0 {
		r.Kinds = DefaultKinds
	}
	if r.Kinds&^AllKinds != 0 {
		return Subscription{}, fmt.Errorf("%w: bad kinds %d", ErrBadInput, r.Kinds)
	}
	tags, err := cleanTags(r.Tags)
	if err != nil {
		return Subscription{}, err
	}
	if err := r.Timers.Check(); err != nil {
		return Subscription{}, err
	}
	filter, err := cleanFilter(r.Filter)
	if err != nil {
		return Subscription{}, err
	}
	sub := Subscription{TeamID: r.TeamID, Workspace: r.Workspace, ChannelID: r.ChannelID, CreatorID: r.CreatorID, Owners: []string{r.CreatorID}, Scope: r.Scope,
		Tags: tags, Kinds: r.Kinds, Created: s.now().UTC(), Since: r.Since, Filter: filter, Timers: r.Timers}
	if why := sub.Contradiction(); why != "" {
		return Subscription{}, fmt.Errorf("%w: %s", ErrBadInput, why)
	}
	if r.Digest.IsDigest() {
		sub.Digest, sub.TZ = r.Digest, r.TZ
	}
	flushed := 0
	err = s.db.Update(ctx, func(tx store.Tx) error {
		existing, err := channelSubsTx(tx, r.TeamID, r.ChannelID)
		if err != nil {
			return err
		}
		kept := 0
		for _, old := range existing {
			if old.Scope != r.Scope {
				kept++
				continue
			}
			if old.Filtered() || sub.Filtered() {
				keep, err := replaceFilteredTx(tx, old, sub)
				if err != nil {
					return err
				}
				if keep {
					kept++
				}
				continue
			}
			switch {
			case len(tags) == 0 && old.AllTags():
				if err := deleteSubTx(tx, old); err != nil {
					return err
				}
				continue
			case len(tags) > 0 && !old.AllTags():
				rest := slices.DeleteFunc(slices.Clone(old.Tags), func(t string) bool { return slices.Contains(tags, t) })
				if len(rest) == len(old.Tags) {
					break
				}
				if len(rest) == 0 {
					if err := deleteSubTx(tx, old); err != nil {
						return err
					}
					continue
				}
				old.Tags = rest
				if err := putSubTx(tx, old); err != nil {
					return err
				}
			}
			kept++
		}
		if kept >= MaxChannelSubscriptions {
			return ErrTooMany
		}
		seq, err := tx.Bucket(bucketSubs).NextSequence()
		if err != nil {
			return err
		}
		sub.ID = fmt.Sprintf("%010d", seq)
		if err := putSubTx(tx, sub); err != nil {
			return err
		}
		flushed, err = flushReplacedTx(tx, existing, s.now().UTC())
		return err
	})
	if err != nil {
		return Subscription{}, fmt.Errorf("notify: subscribe: %w", err)
	}
	if flushed > 0 {
		s.wake() // the replaced digest's period, posted now
	}
	s.log.InfoContext(ctx, "subscription created", "id", sub.ID, "team", sub.TeamID, "channel", sub.ChannelID,
		"creator", sub.CreatorID, "scope", sub.Scope.Key(), "tags", len(sub.Tags), "kinds", sub.Kinds.String())
	return sub, nil
}

// Unsubscribed says what Unsubscribe changed.
type Unsubscribed struct {
	Removed  []string // tags taken out ("*" for an every-tag subscription)
	NotFound []string // tags the channel was not subscribed to by name
	Subs     int      // subscriptions changed or deleted
}

// Unsubscribe takes tags out of the channel's subscriptions (of scope, or of
// every scope when scope is nil). tags == nil removes every subscription.
func (s *Service) Unsubscribe(ctx context.Context, teamID, channelID string, scope *soe.Scope, tags []string) (Unsubscribed, error) {
	var out Unsubscribed
	if err := checkIDs(teamID, channelID); err != nil {
		return out, err
	}
	clean, err := cleanTags(tags)
	if err != nil {
		return out, err
	}
	all := tags == nil
	err = s.db.Update(ctx, func(tx store.Tx) error {
		out = Unsubscribed{}
		subs, err := channelSubsTx(tx, teamID, channelID)
		if err != nil {
			return err
		}
		found := map[string]bool{}
		for _, sub := range subs {
			if scope != nil && sub.Scope != *scope {
				continue
			}
			if all {
				if sub.AllTags() {
					out.Removed = appendOnce(out.Removed, "*")
				}
				for _, t := range sub.Tags {
					out.Removed = appendOnce(out.Removed, t)
				}
				out.Subs++
				if err := deleteSubTx(tx, sub); err != nil {
					return err
				}
				continue
			}
			if sub.Filtered() {
				hit, err := unsubscribeFilteredTx(tx, sub, clean)
				if err != nil {
					return err
				}
				for _, t := range hit {
					found[t] = true
				}
				if len(hit) > 0 {
					out.Subs++
				}
				continue
			}
			if sub.AllTags() {
				continue
			}
			rest := slices.DeleteFunc(slices.Clone(sub.Tags), func(t string) bool {
				if slices.Contains(clean, t) {
					found[t] = true
					return true
				}
				return false
			})
			if len(rest) == len(sub.Tags) {
				continue
			}
			out.Subs++
			if len(rest) == 0 {
				if err := deleteSubTx(tx, sub); err != nil {
					return err
				}
				continue
			}
			sub.Tags = rest
			if err := putSubTx(tx, sub); err != nil {
				return err
			}
		}
		for _, t := range clean {
			if found[t] {
				out.Removed = append(out.Removed, t)
			} else {
				out.NotFound = append(out.NotFound, t)
			}
		}
		return nil
	})
	if err != nil {
		return Unsubscribed{}, fmt.Errorf("notify: unsubscribe: %w", err)
	}
	if out.Subs > 0 {
		s.log.InfoContext(ctx, "unsubscribed", "team", teamID, "channel", channelID, "subs", out.Subs)
	}
	return out, nil
}

func appendOnce(ss []string, s string) []string {
	if slices.Contains(ss, s) {
		return ss
	}
	return append(ss, s)
}

// ChannelSubscriptions lists a channel's subscriptions, oldest first.
func (s *Service) ChannelSubscriptions(ctx context.Context, teamID, channelID string) ([]Subscription, error) {
	if err := checkIDs(teamID, channelID); err != nil {
		return nil, err
	}
	var out []Subscription
	err := s.db.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = channelSubsTx(tx, teamID, channelID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("notify: list channel subscriptions: %w", err)
	}
	return out, nil
}

// UserSubscriptions lists the subscriptions a user owns in a workspace
// (created, or kept running as them).
func (s *Service) UserSubscriptions(ctx context.Context, teamID, userID string) ([]Subscription, error) {
	var out []Subscription
	err := s.db.View(ctx, func(tx store.Tx) error {
		return tx.Bucket(bucketSubs).ForEach(func(_, v []byte) error {
			var sub Subscription
			// A record that does not decode is skipped, as in every scan.
			if json.Unmarshal(v, &sub) == nil && sub.TeamID == teamID && slices.Contains(sub.OwnerIDs(), userID) {
				out = append(out, sub)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("notify: list user subscriptions: %w", err)
	}
	sortSubs(out)
	return out, nil
}

// Subscription returns one subscription by id.
func (s *Service) Subscription(ctx context.Context, id string) (Subscription, bool, error) {
	var sub Subscription
	var ok bool
	err := s.db.View(ctx, func(tx store.Tx) error {
		var err error
		ok, err = store.GetJSON(tx, bucketSubs, id, &sub)
		return err
	})
	if err != nil {
		return Subscription{}, false, fmt.Errorf("notify: get subscription: %w", err)
	}
	return sub, ok, nil
}

// ScopeSubscriptions lists every subscription of scope (any state).
func (s *Service) ScopeSubscriptions(ctx context.Context, scope soe.Scope) ([]Subscription, error) {
	var out []Subscription
	err := s.db.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = scopeSubsTx(tx, scope)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("notify: list scope subscriptions: %w", err)
	}
	return out, nil
}

func sortSubs(subs []Subscription) {
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].ID < subs[j].ID })
}

func cleanTags(tags []string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, fmt.Errorf("%w: at most %d tags", ErrBadInput, MaxTags)
	}
	var out []string
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || len(t) > 64 || strings.ContainsAny(t, "/ \t\r\n\x00") {
			return nil, fmt.Errorf("%w: bad tag %q", ErrBadInput, t)
		}
		out = appendOnce(out, t)
	}
	sort.Strings(out)
	return out, nil
}

// --- transaction helpers ----------------------------------------------------

func channelSubsTx(tx store.Tx, team, channel string) ([]Subscription, error) {
	return indexedSubsTx(tx, bucketSubsByChan, []byte(team+"/"+channel+"/"))
}

func scopeSubsTx(tx store.Tx, scope soe.Scope) ([]Subscription, error) {
	return indexedSubsTx(tx, bucketSubsByScope, []byte(scope.Key()+"/"))
}

// indexedSubsTx loads the subscriptions an index bucket lists under prefix
// (index keys end in the subscription id), sorted.
func indexedSubsTx(tx store.Tx, index, prefix []byte) ([]Subscription, error) {
	var out []Subscription
	c := tx.Bucket(index).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		var sub Subscription
		ok, err := store.GetJSON(tx, bucketSubs, string(k[len(prefix):]), &sub)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, sub)
		}
	}
	sortSubs(out)
	return out, nil
}

// subScopesTx lists the scope keys that have subscriptions.
func subScopesTx(tx store.Tx) []string {
	var out []string
	c := tx.Bucket(bucketSubsByScope).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		i := strings.LastIndexByte(string(k), '/')
		if i <= 0 {
			continue
		}
		if sk := string(k[:i]); len(out) == 0 || out[len(out)-1] != sk {
			out = append(out, sk)
		}
	}
	return out
}

func putSubTx(tx store.Tx, sub Subscription) error {
	if err := store.PutJSON(tx, bucketSubs, sub.ID, &sub); err != nil {
		return err
	}
	if err := tx.Bucket(bucketSubsByChan).Put([]byte(sub.TeamID+"/"+sub.ChannelID+"/"+sub.ID), nil); err != nil {
		return err
	}
	return tx.Bucket(bucketSubsByScope).Put([]byte(sub.Scope.Key()+"/"+sub.ID), nil)
}

func deleteSubTx(tx store.Tx, sub Subscription) error {
	if err := tx.Bucket(bucketSubs).Delete([]byte(sub.ID)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketSubsByChan).Delete([]byte(sub.TeamID + "/" + sub.ChannelID + "/" + sub.ID)); err != nil {
		return err
	}
	return tx.Bucket(bucketSubsByScope).Delete([]byte(sub.Scope.Key() + "/" + sub.ID))
}

// --- personal alerts ----------------------------------------------------------

// Prefs returns a user's alert settings.
func (s *Service) Prefs(ctx context.Context, teamID, userID string) (Prefs, error) {
	var p Prefs
	err := s.db.View(ctx, func(tx store.Tx) error {
		_, err := store.GetJSON(tx, bucketPrefs, teamKey(teamID, userID), &p)
		return err
	})
	if err != nil {
		return Prefs{}, fmt.Errorf("notify: read alert settings: %w", err)
	}
	return p, nil
}

// SetAlert switches one personal alert and returns the new settings.
func (s *Service) SetAlert(ctx context.Context, teamID, userID string, a Alert, on bool) (Prefs, error) {
	if err := checkIDs(teamID, userID); err != nil {
		return Prefs{}, err
	}
	if a != AlertAnswers && a != AlertExpert {
		return Prefs{}, fmt.Errorf("%w: unknown alert %q", ErrBadInput, a)
	}
	var p Prefs
	err := s.db.Update(ctx, func(tx store.Tx) error {
		p = Prefs{}
		key := teamKey(teamID, userID)
		if _, err := store.GetJSON(tx, bucketPrefs, key, &p); err != nil {
			return err
		}
		switch a {
		case AlertAnswers:
			p.Answers, p.AnswersEvery = on, "" // on = immediate
		case AlertExpert:
			p.Expert, p.ExpertEvery = on, ""
		}
		return store.PutJSON(tx, bucketPrefs, key, &p)
	})
	if err != nil {
		return Prefs{}, fmt.Errorf("notify: save alert settings: %w", err)
	}
	s.log.InfoContext(ctx, "personal alert switched", "team", teamID, "user", userID, "alert", string(a), "on", on)
	return p, nil
}

// RememberIM records the bot's DM channel with a user (learned from a DM).
func (s *Service) RememberIM(ctx context.Context, teamID, userID, channelID string) error {
	if !chat.ValidID(teamID) || !chat.ValidID(userID) || !chat.ValidID(channelID) {
		return nil // not ids Slack sends: nothing to remember
	}
	err := s.db.Update(ctx, func(tx store.Tx) error {
		var p Prefs
		key := teamKey(teamID, userID)
		if _, err := store.GetJSON(tx, bucketPrefs, key, &p); err != nil {
			return err
		}
		if p.IMChannel == channelID {
			return nil
		}
		p.IMChannel = channelID
		return store.PutJSON(tx, bucketPrefs, key, &p)
	})
	if err != nil {
		return fmt.Errorf("notify: remember DM channel: %w", err)
	}
	return nil
}

type prefEntry struct {
	TeamID, UserID string
	Prefs
}

func (s *Service) allPrefs(ctx context.Context) ([]prefEntry, error) {
	var out []prefEntry
	err := s.db.View(ctx, func(tx store.Tx) error {
		return tx.Bucket(bucketPrefs).ForEach(func(k, v []byte) error {
			team, user, ok := strings.Cut(string(k), "/")
			if !ok {
				return nil
			}
			var p Prefs
			// A record that does not decode is skipped, as in every scan.
			if json.Unmarshal(v, &p) == nil && (p.Answers || p.Expert) {
				out = append(out, prefEntry{TeamID: team, UserID: user, Prefs: p})
			}
			return nil
		})
	})
	return out, err
}
