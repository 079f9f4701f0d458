package notify

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

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
func (s *Service) TeamSubscriptions(ctx context.Context, teamID string) ([]Subscription, error) {
	var out []Subscription
	err := s.db.View(ctx, func(tx store.Tx) error {
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
func (s *Service) Audit(ctx context.Context, teamID string) ([]AuditEntry, error) {
	return AuditDB(ctx, s.db, teamID)
}

// AuditDB is Audit on a database opened without a Service (bot subscriptions
// export, read-only); teamID "" lists every workspace.
func AuditDB(ctx context.Context, db store.Store, teamID string) ([]AuditEntry, error) {
	var out []AuditEntry
	err := db.View(ctx, func(tx store.Tx) error {
		subs, err := teamSubsTx(tx, teamID)
		if err != nil {
			return err
		}
		out = make([]AuditEntry, len(subs))
		for i, sub := range subs {
			out[i].Subscription = sub
		}
		return auditDeliveriesTx(tx, out)
	})
	if err != nil {
		return nil, fmt.Errorf("notify: audit subscriptions: %w", err)
	}
	return out, nil
}

func teamSubsTx(tx store.Tx, teamID string) ([]Subscription, error) {
	var out []Subscription
	b := tx.Bucket(bucketSubs)
	if b == nil { // a read-only copy made before notify existed
		return nil, nil
	}
	err := b.ForEach(func(_, v []byte) error {
		var sub Subscription
		// A record that does not decode is skipped, as in every scan.
		if json.Unmarshal(v, &sub) == nil && (teamID == "" || sub.TeamID == teamID) {
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
func auditDeliveriesTx(tx store.Tx, entries []AuditEntry) error {
	byChannel := map[string][]int{}
	for i, e := range entries {
		byChannel[e.TeamID+"/"+e.ChannelID] = append(byChannel[e.TeamID+"/"+e.ChannelID], i)
	}
	events := map[string]*Event{}
	ob := tx.Bucket(bucketOutbox)
	if ob == nil || len(entries) == 0 {
		return nil
	}
	return ob.ForEach(func(_, v []byte) error {
		var d Delivery
		if err := json.Unmarshal(v, &d); err != nil || d.Target.ChannelID == "" {
			return nil //nolint:nilerr // a record that does not decode is skipped, as in every scan
		}
		key := d.Target.TeamID + "/" + d.Target.ChannelID
		if len(byChannel[key]) == 0 {
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
		for _, i := range byChannel[key] {
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

// AuditCSVHeader names the columns of WriteAuditCSV.
var AuditCSVHeader = []string{"workspace", "channel", "scope", "tags", "posts", "state", "owners", "created", "last_delivery", "last_error"}

// WriteAuditCSV writes entries as CSV (RFC 4180, times in RFC 3339 UTC,
// empty when unknown), one subscription a row after AuditCSVHeader.
func WriteAuditCSV(w io.Writer, entries []AuditEntry) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(AuditCSVHeader); err != nil {
		return err
	}
	for _, e := range entries {
		tags := "*"
		if !e.AllTags() {
			tags = strings.Join(e.Tags, " ")
		}
		row := []string{e.TeamID, e.ChannelID, e.Scope.Key(), tags, strings.Join(e.Kinds.Names(), " "), e.State(),
			strings.Join(e.OwnerIDs(), " "), csvTime(e.Created), csvTime(e.LastDelivery), e.LastError}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// State is "active", "paused" or "off: <reason>".
func (s *Subscription) State() string {
	switch {
	case s.Disabled:
		return "off: " + s.DisabledReason
	case s.Paused:
		return "paused"
	}
	return "active"
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
