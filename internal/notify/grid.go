package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/store"
)

// ReasonWorkspaceRemoved is the DisabledReason of the subscriptions of a
// workspace an Enterprise Grid admin removed the app from.
const ReasonWorkspaceRemoved = "workspace_removed"

// WorkspaceAccess applies team_access_revoked (granted false) or
// team_access_granted for one workspace of an org-wide install: on
// revocation the workspace's active subscriptions are disabled, kept with
// their owners, tags and watermarks (nothing is deleted); when access is
// granted again exactly those come back. It returns how many changed.
func (s *Service) WorkspaceAccess(ctx context.Context, workspace string, granted bool) (int, error) {
	if !chat.ValidID(workspace) {
		return 0, fmt.Errorf("%w: bad workspace id", ErrBadInput)
	}
	n := 0
	err := s.db.Update(ctx, func(tx store.Tx) error {
		n = 0
		var changed []Subscription
		err := tx.Bucket(bucketSubs).ForEach(func(_, v []byte) error {
			var sub Subscription
			if uerr := json.Unmarshal(v, &sub); uerr != nil {
				return nil //nolint:nilerr // an unreadable record is left as it is (as the audit does)
			}
			if !inWorkspace(sub, workspace) {
				return nil
			}
			if next, ok := accessChange(sub, granted); ok {
				changed = append(changed, next)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, sub := range changed {
			if err := putSubTx(tx, sub); err != nil {
				return err
			}
		}
		n = len(changed)
		return holdDeliveriesTx(tx, changed, granted, s.now().UTC())
	})
	if err != nil {
		return 0, fmt.Errorf("notify: workspace access: %w", err)
	}
	s.log.InfoContext(ctx, "workspace access changed", "workspace", workspace, "granted", granted, "subscriptions", n)
	return n, nil
}

// inWorkspace reports whether sub belongs to workspace (its Workspace, or
// for a subscription stored without one its TeamID).
func inWorkspace(sub Subscription, workspace string) bool {
	if sub.Workspace != "" {
		return sub.Workspace == workspace
	}
	return sub.TeamID == workspace
}

// accessChange is sub after its workspace lost (granted false) or regained
// access, and whether that changes it. Subscriptions disabled for another
// reason (a channel the bot left) stay as they are.
func accessChange(sub Subscription, granted bool) (Subscription, bool) {
	switch {
	case !granted && !sub.Disabled:
		sub.Disabled, sub.DisabledReason = true, ReasonWorkspaceRemoved
		return sub, true
	case granted && sub.Disabled && sub.DisabledReason == ReasonWorkspaceRemoved:
		sub.Disabled, sub.DisabledReason = false, ""
		return sub, true
	}
	return sub, false
}

// holdDeliveriesTx keeps the channel posts queued for the subscriptions'
// channels while their workspace has no access (held: never attempted,
// never folded), and queues them again when it is granted back, so a
// workspace removed for a while loses nothing.
func holdDeliveriesTx(tx store.Tx, subs []Subscription, granted bool, now time.Time) error {
	channels := map[string]bool{}
	for _, sub := range subs {
		channels[sub.TeamID+"/"+sub.ChannelID] = true
	}
	from, to := StatusPending, StatusHeld
	if granted {
		from, to = StatusHeld, StatusPending
	}
	return forPending(tx, func(_ []byte, d *Delivery) error {
		if d.Status != from || d.Target.ChannelID == "" || !channels[d.Target.TeamID+"/"+d.Target.ChannelID] {
			return nil
		}
		d.Status = to
		if granted {
			d.NextTry = now
		}
		return store.PutJSON(tx, bucketOutbox, d.ID, d)
	})
}
