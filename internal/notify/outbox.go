package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/store"
)

// DeliveryStats describe one delivery pass.
type DeliveryStats struct {
	Posted     int // posted now
	Reconciled int // found already posted (after a crash) and marked done
	Retrying   int // failed, kept pending for a later pass
	Dropped    int // given up (channel gone, too old, event missing)
}

// ErrStopped is returned by Deliver when this replica lost its claim on
// delivering (or the database failed as a delivery was claimed), or when a BeforePost/AfterPost hook
// stopped the pass (a simulated crash).
var ErrStopped = errors.New("notify: delivery pass stopped by hook")

// deliveryWorkers is how many targets are posted to at once (each target's
// deliveries go out in order, one at a time).
const deliveryWorkers = 4

// Deliver posts the due deliveries of the outbox.
//
// Each delivery is marked "attempting" before its post and "done" after
// Slack accepted it. A delivery found "attempting" (the process stopped
// between the two) is first looked for in the channel's recent history by
// the delivery id in its message metadata; it is posted again only if it is
// not there. That check needs to read the channel: in a public channel the
// bot is not a member of (it posts there with chat:write.public), and for
// the very first DM to a user whose DM channel is not known yet, it is not
// possible, and the delivery is posted again (at least once) — the only
// case where a crash can cause a duplicate.
func (s *Service) Deliver(ctx context.Context) (DeliveryStats, error) {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	var st DeliveryStats
	if !s.leading() {
		return st, nil // the replica holding the claim delivers
	}
	defer func() {
		if err := s.updateCards(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "updating cards had errors", "err", err)
		}
	}()
	if err := s.foldBacklogs(ctx); err != nil {
		return st, err
	}
	due, err := s.dueDeliveries(ctx)
	if err != nil {
		return st, err
	}
	if len(due) == 0 {
		return st, nil
	}
	// Group by target, keeping the outbox order within each.
	var order []string
	byTarget := map[string][]Delivery{}
	for _, d := range due {
		k := d.Target.Key()
		if _, ok := byTarget[k]; !ok {
			order = append(order, k)
		}
		byTarget[k] = append(byTarget[k], d)
	}
	var mu sync.Mutex
	var errs []error
	stopped := false
	sem := make(chan struct{}, deliveryWorkers)
	var wg sync.WaitGroup
	for _, k := range order {
		ds := byTarget[k]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			for _, d := range ds {
				mu.Lock()
				halt := stopped
				mu.Unlock()
				if halt || ctx.Err() != nil {
					return
				}
				res, err := s.deliverOne(ctx, d)
				mu.Lock()
				switch res {
				case resPosted:
					st.Posted++
				case resReconciled:
					st.Reconciled++
				case resRetry:
					st.Retrying++
				case resDropped:
					st.Dropped++
				}
				if errors.Is(err, ErrStopped) {
					stopped = true
				}
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
				if res == resRetry || err != nil {
					return // keep this target's order: try the rest later
				}
			}
		}()
	}
	wg.Wait()
	return st, errors.Join(errs...) // wraps ErrStopped when a pass was stopped
}

// Pending counts undelivered outbox entries.
func (s *Service) Pending(ctx context.Context) (int, error) {
	n := 0
	err := s.db.View(ctx, func(tx store.Tx) error {
		n = tx.Bucket(bucketPending).Len()
		return nil
	})
	return n, err
}

// Deliveries lists the outbox entries (tests and diagnostics).
func (s *Service) Deliveries(ctx context.Context) ([]Delivery, error) {
	var out []Delivery
	err := s.db.View(ctx, func(tx store.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(_, v []byte) error {
			var d Delivery
			if json.Unmarshal(v, &d) == nil {
				out = append(out, d)
			}
			return nil
		})
	})
	return out, err
}

func (s *Service) dueDeliveries(ctx context.Context) ([]Delivery, error) {
	now := s.now()
	var out []Delivery
	err := s.db.View(ctx, func(tx store.Tx) error {
		c := tx.Bucket(bucketPending).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var d Delivery
			ok, err := store.GetJSON(tx, bucketOutbox, string(v), &d)
			if err != nil {
				return err
			}
			if !ok || (d.Status != StatusPending && d.Status != StatusAttempting) {
				continue
			}
			if d.NextTry.After(now) {
				continue
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notify: read outbox: %w", err)
	}
	return out, nil
}

type result int

const (
	resNone result = iota
	resPosted
	resReconciled
	resRetry
	resDropped
)

func (s *Service) deliverOne(ctx context.Context, d Delivery) (result, error) {
	ev, err := s.event(ctx, d.EventID)
	if err != nil {
		return resNone, err
	}
	if ev == nil {
		return resDropped, s.finish(ctx, d, StatusDropped, "", "", "event missing")
	}
	channel := d.Target.ChannelID
	if channel == "" {
		channel = d.Channel
		if channel == "" {
			p, err := s.Prefs(ctx, d.Target.TeamID, d.Target.UserID)
			if err != nil {
				return resNone, err
			}
			channel = p.IMChannel
		}
	}
	if card, err := s.cardDelivery(ctx, d, ev); err != nil || card {
		if err != nil {
			return resNone, err
		}
		return s.deliverCard(ctx, d, ev, channel)
	}
	if d.Status == StatusAttempting {
		ts, found, err := s.findPosted(ctx, d, channel)
		if !found && err == nil {
			ts, found, err = s.findThreadReply(ctx, d, ev, channel) // escalate.go
		}
		switch {
		case found:
			s.log.InfoContext(ctx, "delivery was posted before a restart; not reposting", "delivery", d.ID)
			return resReconciled, s.finish(ctx, d, StatusDone, channel, ts, "")
		case err != nil:
			s.log.WarnContext(ctx, "cannot check whether an interrupted delivery was posted; posting again",
				"delivery", d.ID, "err", err)
		}
	}
	if s.now().Sub(d.Created) > s.opts.GiveUpAfter {
		s.log.ErrorContext(ctx, "giving up on an old delivery", "delivery", d.ID, "attempts", d.Attempts, "last_error", d.LastError)
		return resDropped, s.finish(ctx, d, StatusDropped, "", "", "too old")
	}

	// Mark before posting, so a crash after the post is detectable; fenced,
	// so that a replica that lost the claim never posts.
	d.Status, d.Attempts, d.AttemptAt, d.Channel = StatusAttempting, d.Attempts+1, s.now().UTC(), channel
	if err := s.claimDelivery(ctx, d); err != nil {
		return resNone, err
	}
	if h := s.opts.BeforePost; h != nil {
		if err := h(ctx, d.ID); err != nil {
			return resNone, fmt.Errorf("%w: %w", ErrStopped, err)
		}
	}
	msg := s.render(ev, d.Target)
	msg.Metadata = deliveryMetadata(d, ev)
	var ts string
	if channel != "" {
		ts, err = s.slack.Post(ctx, channel, msg)
	} else {
		channel, ts, err = s.slack.DM(ctx, d.Target.UserID, msg)
	}
	if h := s.opts.AfterPost; h != nil && err == nil {
		if herr := h(ctx, d.ID); herr != nil {
			return resNone, fmt.Errorf("%w: %w", ErrStopped, herr)
		}
	}
	if err != nil {
		return s.postFailed(ctx, d, err)
	}
	if d.Target.UserID != "" && channel != "" {
		if err := s.RememberIM(ctx, d.Target.TeamID, d.Target.UserID, channel); err != nil {
			s.log.WarnContext(ctx, "could not remember DM channel", "err", err)
		}
	}
	return resPosted, s.finish(ctx, d, StatusDone, channel, ts, "")
}

// postFailed handles a failed post: a channel the bot lost disables its
// subscriptions; anything else is retried later with backoff.
func (s *Service) postFailed(ctx context.Context, d Delivery, err error) (result, error) {
	if ctx.Err() != nil {
		// Shutting down: the post may or may not have happened; the
		// "attempting" mark makes the next run check.
		return resRetry, nil //nolint:nilerr // the cancellation is the shutdown's, not this delivery's failure
	}
	if errors.Is(err, chat.ErrChannelGone) || errors.Is(err, chat.ErrUserNotFound) || (d.Target.UserID != "" && dmRefused(err)) {
		code := slackCode(err)
		if d.Target.ChannelID != "" {
			s.log.WarnContext(ctx, "channel unavailable; disabling its subscriptions", "channel", d.Target.ChannelID, "error", code)
			if derr := s.disableChannel(ctx, d.Target.TeamID, d.Target.ChannelID, code); derr != nil {
				return resNone, derr
			}
		} else {
			s.log.WarnContext(ctx, "cannot DM user; dropping alert", "user", d.Target.UserID, "error", code)
		}
		return resDropped, s.finish(ctx, d, StatusDropped, "", "", code)
	}
	if code := slackCode(err); permanentSlackError(code) {
		// Retrying cannot help (a bug in the card): say so loudly, move on.
		s.log.ErrorContext(ctx, "Slack refused the notification; dropping it", "delivery", d.ID, "error", code)
		return resDropped, s.finish(ctx, d, StatusDropped, "", "", code)
	}
	wait := backoff(d.Attempts)
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) && rl.RetryAfter > wait {
		wait = rl.RetryAfter
	}
	s.log.WarnContext(ctx, "delivery failed; will retry", "delivery", d.ID, "attempt", d.Attempts, "retry_in", wait, "err", err)
	// The post failed for sure (Slack answered): back to pending.
	d.Status, d.NextTry, d.LastError = StatusPending, s.now().Add(wait).UTC(), err.Error()
	if perr := s.putDelivery(ctx, d); perr != nil {
		return resNone, perr
	}
	return resRetry, nil
}

func slackCode(err error) string {
	var ce *chat.Error
	if errors.As(err, &ce) {
		return ce.Code
	}
	return "unavailable"
}

// permanentSlackError reports Slack errors that the same message will get
// again however often it is retried.
func permanentSlackError(code string) bool {
	switch code {
	case "invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text", "invalid_metadata_format",
		"invalid_metadata_schema", "metadata_too_large", "too_many_attachments", "invalid_attachments":
		return true
	}
	return false
}

func backoff(attempts int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempts && d < 15*time.Minute; i++ {
		d *= 2
	}
	return min(d, 15*time.Minute)
}

// findPosted looks for the delivery's message in the channel history.
func (s *Service) findPosted(ctx context.Context, d Delivery, channel string) (string, bool, error) {
	if channel == "" {
		return "", false, errors.New("DM channel not known yet")
	}
	oldest := d.AttemptAt.Add(-10 * time.Minute)
	msgs, err := s.slack.History(ctx, channel, oldest, 200)
	if err != nil {
		return "", false, err
	}
	ts, ok := findByMetadata(msgs, MetadataType, delivered(d))
	return ts, ok, nil
}

// findByMetadata is the ts of the first of msgs whose metadata is of
// eventType and whose payload match accepts.
func findByMetadata(msgs []slack.Message, eventType string, match func(payload map[string]any) bool) (string, bool) {
	for _, m := range msgs {
		if m.Metadata.EventType == eventType && match(m.Metadata.EventPayload) {
			return m.Timestamp, true
		}
	}
	return "", false
}

// delivered matches the metadata of the message that delivery d posted.
func delivered(d Delivery) func(map[string]any) bool {
	return func(p map[string]any) bool {
		id, _ := p["delivery_id"].(string)
		return id == d.ID
	}
}

func (s *Service) event(ctx context.Context, id string) (*Event, error) {
	var ev Event
	var ok bool
	err := s.db.View(ctx, func(tx store.Tx) error {
		var err error
		ok, err = store.GetJSON(tx, bucketEvents, id, &ev)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("notify: read event: %w", err)
	}
	if !ok {
		return nil, nil
	}
	return &ev, nil
}

func (s *Service) putDelivery(ctx context.Context, d Delivery) error {
	err := s.db.Update(ctx, func(tx store.Tx) error { return store.PutJSON(tx, bucketOutbox, d.ID, &d) })
	if err != nil {
		return fmt.Errorf("notify: save delivery: %w", err)
	}
	return nil
}

// claimDelivery saves d as being attempted, if this replica still holds
// the claim and nobody finished d meanwhile (ErrStopped otherwise: the pass
// ends, and whoever holds the claim carries on).
func (s *Service) claimDelivery(ctx context.Context, d Delivery) error {
	err := s.db.Update(ctx, func(tx store.Tx) error {
		if l := s.opts.Leader; l != nil {
			if err := l.CheckTx(tx); err != nil {
				return err
			}
		}
		var cur Delivery
		if ok, err := store.GetJSON(tx, bucketOutbox, d.ID, &cur); err != nil || !ok {
			return cmp.Or(err, errGone)
		}
		if cur.Status != StatusPending && cur.Status != StatusAttempting {
			return errGone
		}
		return store.PutJSON(tx, bucketOutbox, d.ID, &d)
	})
	if err != nil {
		return fmt.Errorf("%w: claim delivery %s: %w", ErrStopped, d.ID, err)
	}
	return nil
}

// errGone: the delivery was finished (or pruned) since it was read.
var errGone = errors.New("delivery already finished")

// finish marks a delivery done or dropped and takes it off the pending index.
func (s *Service) finish(ctx context.Context, d Delivery, status, channel, ts, reason string) error {
	d.Status, d.DoneAt, d.NextTry = status, s.now().UTC(), time.Time{}
	if channel != "" {
		d.Channel = channel
	}
	if ts != "" {
		d.TS = ts
	}
	if reason != "" {
		d.LastError = reason
	}
	err := s.db.Update(ctx, func(tx store.Tx) error {
		if err := store.PutJSON(tx, bucketOutbox, d.ID, &d); err != nil {
			return err
		}
		return tx.Bucket(bucketPending).Delete(seqKey(d.Seq))
	})
	if err != nil {
		return fmt.Errorf("notify: finish delivery: %w", err)
	}
	return nil
}

// disableChannel turns off every subscription of a channel the bot can no
// longer post to, drops the channel's other pending deliveries and queues a
// notice to each creator.
func (s *Service) disableChannel(ctx context.Context, teamID, channelID, code string) error {
	now := s.now().UTC()
	err := s.db.Update(ctx, func(tx store.Tx) error {
		subs, err := channelSubsTx(tx, teamID, channelID)
		if err != nil {
			return err
		}
		notices := map[string]*Notice{}
		var order []string
		for _, sub := range subs {
			if sub.Disabled {
				continue
			}
			sub.Disabled, sub.DisabledReason = true, code
			if err := putSubTx(tx, sub); err != nil {
				return err
			}
			n := notices[sub.CreatorID]
			if n == nil {
				n = &Notice{Channels: []string{channelID}, Reason: code}
				notices[sub.CreatorID] = n
				order = append(order, sub.CreatorID)
			}
			if sub.AllTags() {
				n.Tags = appendOnce(n.Tags, "*")
			}
			for _, t := range sub.namedTags() {
				n.Tags = appendOnce(n.Tags, t)
			}
		}
		// Drop what is still queued for that channel.
		pb := tx.Bucket(bucketPending)
		var drop [][]byte
		c := pb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var d Delivery
			ok, err := store.GetJSON(tx, bucketOutbox, string(v), &d)
			if err != nil {
				return err
			}
			if ok && d.Target.TeamID == teamID && d.Target.ChannelID == channelID && d.Status == StatusPending {
				d.Status, d.DoneAt, d.LastError = StatusDropped, now, code
				if err := store.PutJSON(tx, bucketOutbox, d.ID, &d); err != nil {
					return err
				}
				drop = append(drop, append([]byte(nil), k...))
			}
		}
		for _, k := range drop {
			if err := pb.Delete(k); err != nil {
				return err
			}
		}
		for _, creator := range order {
			ev := &Event{ID: fmt.Sprintf("gone/%s/%s/%s/%d", teamID, channelID, creator, now.UnixNano()), Kind: EventDisabled,
				Notice: notices[creator], Created: now}
			if _, err := enqueueTx(tx, ev, []Target{{TeamID: teamID, UserID: creator, Reason: "notice"}}, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("notify: disable channel: %w", err)
	}
	s.wake() // deliver the notices soon
	return nil
}

// wake asks the delivery loop to deliver the outbox soon.
func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// --- pruning -------------------------------------------------------------------

// maybePrune prunes at most once an hour.
func (s *Service) maybePrune(ctx context.Context) {
	s.mu.Lock()
	due := s.now().Sub(s.lastPrune) >= time.Hour
	if due {
		s.lastPrune = s.now()
	}
	s.mu.Unlock()
	if due {
		if err := s.Prune(ctx); err != nil {
			s.log.WarnContext(ctx, "pruning notification state failed", "err", err)
		}
	}
}

// Prune deletes delivered outbox entries older than KeepDone, events no
// pending delivery needs any more, and state of questions inactive for
// KeepQuestions.
func (s *Service) Prune(ctx context.Context) error {
	now := s.now()
	var errs []error
	n1, err := s.db.Sweep(ctx, bucketOutbox, func(_, v []byte) bool {
		var d Delivery
		if json.Unmarshal(v, &d) != nil {
			return true
		}
		return (d.Status == StatusDone || d.Status == StatusDropped) && now.Sub(d.DoneAt) > s.opts.KeepDone
	})
	errs = append(errs, err)
	needed := map[string]bool{}
	err = s.db.View(ctx, func(tx store.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(_, v []byte) error {
			var d Delivery
			if json.Unmarshal(v, &d) == nil {
				needed[d.EventID] = true
			}
			return nil
		})
	})
	errs = append(errs, err)
	if err == nil {
		n2, err := s.db.Sweep(ctx, bucketEvents, func(k, v []byte) bool {
			if needed[string(k)] {
				return false
			}
			var ev struct {
				Created time.Time `json:"created"`
			}
			return json.Unmarshal(v, &ev) != nil || now.Sub(ev.Created) > s.opts.KeepDone
		})
		errs = append(errs, err)
		n1 += n2
	}
	n3, err := s.db.Sweep(ctx, bucketQuestions, func(_, v []byte) bool {
		var q qState
		return json.Unmarshal(v, &q) != nil || now.Sub(q.Seen) > s.opts.KeepQuestions
	})
	errs = append(errs, err)
	n4, err := s.pruneCards(ctx) // cards.go
	errs = append(errs, err)
	n3 += n4
	errs = append(errs, s.pruneTimers(ctx))
	if n1+n3 > 0 {
		s.log.DebugContext(ctx, "pruned notification state", "outbox_and_events", n1, "questions", n3)
	}
	return errors.Join(errs...)
}
