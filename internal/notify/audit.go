package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/soebot/soebot/internal/store"
)

// The read-only view of every subscription of a workspace, for admins
// (/soe subscriptions all, bot subscriptions export) and for the tag report
// (which channels follow a tag). Nothing here writes.

// AuditEntry is one subscription with what its channel last got from it, as
// far as the outbox still remembers (deliveries are swept after a while).
type AuditEntry struct {
	Subscription
	// LastDelivery is when a card of this subscription last reached its
	// channel (zero: none remembered).
	LastDelivery time.Time
	// LastError is why the last failed post of one of its cards failed
	// ("" when the last attempt worked), at LastErrorAt.
	LastError   string
	LastErrorAt time.Time
}

// TeamSubscriptions lists every subscription of a workspace (any state),
// sorted by id.
func (s *Service) TeamSubscriptions(_ context.Context, teamID string) ([]Subscription, error) {
	var out []Subscription
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		out, err = teamSubsTx(tx, teamID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("notify: list team subscriptions: %w", err)
	}
	return out, nil
}

// Audit lists every subscription of a workspace with its last delivery and
// last error, sorted by id.
func (s *Service) Audit(_ context.Context, teamID string) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.db.View(func(tx *bbolt.Tx) error {
		subs, err := teamSubsTx(tx, teamID)
		if err != nil {
			return err
		}
		out = make([]AuditEntry, len(subs))
		for i, sub := range subs {
			out[i].Subscription = sub
		}
		return auditDeliveriesTx(tx, teamID, out)
	})
	if err != nil {
		return nil, fmt.Errorf("notify: audit subscriptions: %w", err)
	}
	return out, nil
}

func teamSubsTx(tx *bbolt.Tx, teamID string) ([]Subscription, error) {
	var out []Subscription
	err := tx.Bucket(bucketSubs).ForEach(func(_, v []byte) error {
		var sub Subscription
		// A record that does not decode is skipped, as in every scan.
		if json.Unmarshal(v, &sub) == nil && sub.TeamID == teamID {
			out = append(out, sub)
		}
		return nil
	})
	sortSubs(out)
	return out, err
}

// auditDeliveriesTx fills in the last delivery and error of entries from
// the outbox: a channel delivery counts for the subscriptions of that
// channel whose scope and tags its event matches.
func auditDeliveriesTx(tx *bbolt.Tx, teamID string, entries []AuditEntry) error {
	byChannel := map[string][]int{}
	for i, e := range entries {
		byChannel[e.ChannelID] = append(byChannel[e.ChannelID], i)
	}
	events := map[string]*Event{}
	return tx.Bucket(bucketOutbox).ForEach(func(_, v []byte) error {
		var d Delivery
		if json.Unmarshal(v, &d) != nil || d.Target.TeamID != teamID || d.Target.ChannelID == "" || len(byChannel[d.Target.ChannelID]) == 0 {
			return nil
		}
		ev, ok := events[d.EventID]
		if !ok {
			ev = &Event{}
			found, err := store.GetJSON(tx, bucketEvents, d.EventID, ev)
			if err != nil {
				return err
			}
			if !found {
				ev = nil
			}
			events[d.EventID] = ev
		}
		if ev == nil || ev.Question == nil {
			return nil // gone, or a notice rather than a card
		}
		for _, i := range byChannel[d.Target.ChannelID] {
			if e := &entries[i]; e.Scope.Key() == ev.Scope.Key() && e.matches(ev.Question.Tags) {
				e.note(d)
			}
		}
		return nil
	})
}

// note counts delivery d towards e.
func (e *AuditEntry) note(d Delivery) {
	if d.Status == StatusDone && d.DoneAt.After(e.LastDelivery) {
		e.LastDelivery = d.DoneAt
		if !e.LastErrorAt.After(d.DoneAt) {
			e.LastError, e.LastErrorAt = "", time.Time{}
		}
	}
	if d.LastError == "" || d.Status == StatusDone {
		return
	}
	at := d.AttemptAt
	if at.IsZero() {
		at = d.Created
	}
	if at.After(e.LastErrorAt) && at.After(e.LastDelivery) {
		e.LastError, e.LastErrorAt = d.LastError, at
	}
}
