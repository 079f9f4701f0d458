package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// Living question cards (issue 17, point 1).
//
// In a channel with threads on (the default; /soe config threads off), a
// new question is one card; its answers and accepted answer are replies in
// the card's thread (never broadcast), and the card itself is kept up to
// date with chat.update (answers, accepted ✓, score, closed/obsolete, title),
// at most once per CardUpdateEvery per card, the latest state winning.
//
// Exactly once: the card post and the thread reply are each one outbox
// delivery (a delivery of an answer to a question without a card in that
// channel posts the card first, then its reply). Each carries its delivery
// id in its message metadata; a delivery found "attempting" after a crash is
// looked up first in the channel's history (the card) and in the card's
// thread (the reply), and only what is not there is posted. Updates are
// idempotent (chat.update of the latest state): a crash between an update
// and its mark repeats the same update. A card Slack refuses to update
// (deleted, message_not_found, cant_update_message) is posted again once,
// never in a loop.

// bucketCards maps scope key/question id/team/channel to a Card;
// bucketCardsDue holds the keys of the cards that need an update (or a
// re-post), so a delivery pass reads only those.
var (
	bucketCards    = []byte("notify_cards")
	bucketCardsDue = []byte("notify_cards_due")
)

// CardMetadataType is the metadata event_type of a card posted ahead of its
// first thread reply, or posted again after Slack refused to update it
// (MetadataType marks the posts of deliveries).
const CardMetadataType = "soe_card"

// CardUpdateEvery is how often one card is updated at most.
const CardUpdateEvery = time.Minute

// ModeCard is Delivery.Mode of living-card deliveries.
const ModeCard = "card"

// ThreadSettings says whether a channel's notifications are living cards
// (internal/channels).
type ThreadSettings interface {
	ThreadsOn(ctx context.Context, teamID, channelID string) (bool, error)
}

// Card is one question's living card in one channel.
type Card struct {
	Key        string    `json:"key"`
	TeamID     string    `json:"team"`
	ChannelID  string    `json:"channel"`
	Scope      soe.Scope `json:"scope"`
	QuestionID int       `json:"question"`
	TS         string    `json:"ts,omitempty"`
	// State is what the card should show; Shown what it shows.
	State    QuestionInfo `json:"state"`
	Accepted bool         `json:"accepted,omitempty"`
	Answers  int          `json:"answers,omitempty"` // replies posted in its thread (answers)
	Shown    string       `json:"shown,omitempty"`   // fingerprint of what it shows
	// Dirty: State differs from what the card shows.
	Dirty     bool      `json:"dirty,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"` // last post or update
	// Reposted: the card was posted again once after Slack refused an
	// update; Reposting: that post may have happened (check history).
	Reposted  bool      `json:"reposted,omitempty"`
	Reposting bool      `json:"reposting,omitempty"`
	RepostAt  time.Time `json:"repost_at,omitzero"`
	// Dead: refused again after its re-post; it is left as it is.
	Dead bool `json:"dead,omitempty"`
	// New: posted for a new question (it keeps its "New question" lead).
	New bool `json:"new,omitempty"`
}

func cardKey(scope soe.Scope, qid int, team, channel string) string {
	return fmt.Sprintf("%s/%012d/%s/%s", scope.Key(), qid, team, channel)
}

func cardPrefix(scope soe.Scope, qid int) string { return fmt.Sprintf("%s/%012d/", scope.Key(), qid) }

// Cards lists the stored cards (tests and diagnostics).
func (s *Service) Cards(ctx context.Context) ([]Card, error) {
	var out []Card
	err := s.db.View(ctx, func(tx store.Tx) error {
		return tx.Bucket(bucketCards).ForEach(func(_, v []byte) error {
			var c Card
			if decodeCard(v, &c) {
				out = append(out, c)
			}
			return nil
		})
	})
	return out, err
}

// cardDelivery reports whether d goes the living-card way: a channel
// subscription's question, answers or accepted answer, in a channel with
// threads on. Once decided (Mode), it stays so (a crash recovery looks where
// the first attempt posted).
func (s *Service) cardDelivery(ctx context.Context, d Delivery, ev *Event) (bool, error) {
	if d.Mode == ModeCard {
		return true, nil
	}
	if d.Status != StatusPending || s.opts.Threads == nil || d.Target.ChannelID == "" || d.Target.Reason != "channel" || ev.Question == nil {
		return false, nil
	}
	switch ev.Kind {
	case EventQuestion, EventAnswers, EventAccepted:
	default:
		return false, nil
	}
	on, err := s.opts.Threads.ThreadsOn(ctx, d.Target.TeamID, d.Target.ChannelID)
	if err != nil {
		return false, fmt.Errorf("notify: read threads setting: %w", err)
	}
	return on, nil
}

func (s *Service) card(ctx context.Context, key string) (Card, bool, error) {
	var c Card
	var ok bool
	err := s.db.View(ctx, func(tx store.Tx) error {
		var err error
		ok, err = store.GetJSON(tx, bucketCards, key, &c)
		return err
	})
	if err != nil {
		return Card{}, false, fmt.Errorf("notify: read card: %w", err)
	}
	return c, ok && c.TS != "", nil
}

func newCard(d Delivery, ev *Event, channel string) Card {
	q := ev.Question
	return Card{Key: cardKey(ev.Scope, q.ID, d.Target.TeamID, channel), TeamID: d.Target.TeamID, ChannelID: channel,
		Scope: ev.Scope, QuestionID: q.ID, State: *q}
}

// deliverCard is deliverOne for a living-card delivery (see the top of
// this file).
func (s *Service) deliverCard(ctx context.Context, d Delivery, ev *Event, channel string) (result, error) {
	key := cardKey(ev.Scope, ev.Question.ID, d.Target.TeamID, channel)
	c, have, err := s.card(ctx, key)
	if err != nil {
		return resNone, err
	}
	if d.Status == StatusAttempting {
		if res, done, err := s.reconcileCard(ctx, d, ev, channel, &c, &have); done || err != nil {
			return res, err
		}
	}
	if s.now().Sub(d.Created) > s.opts.GiveUpAfter {
		return resDropped, s.finish(ctx, d, StatusDropped, "", "", "too old")
	}
	if ev.Kind == EventQuestion && have {
		// The card is there already (an answer came first): nothing to add.
		return resPosted, s.finish(ctx, d, StatusDone, channel, c.TS, "")
	}
	d.Status, d.Attempts, d.AttemptAt, d.Channel, d.Mode = StatusAttempting, d.Attempts+1, s.now().UTC(), channel, ModeCard
	if err := s.claimDelivery(ctx, d); err != nil {
		return resNone, err
	}
	if h := s.opts.BeforePost; h != nil {
		if err := h(ctx, d.ID); err != nil {
			return resNone, fmt.Errorf("%w: %w", ErrStopped, err)
		}
	}
	if ev.Kind == EventQuestion {
		c = newCard(d, ev, channel)
		c.New = true
		msg := s.cardMessage(&c)
		msg.Metadata = deliveryMetadata(d, ev)
		ts, err := s.slack.Post(ctx, channel, msg)
		return s.afterCardPost(ctx, d, &c, ts, err, msg)
	}
	if !have {
		c = newCard(d, ev, channel)
		msg := s.cardMessage(&c)
		msg.Metadata = &slack.SlackMetadata{EventType: CardMetadataType, EventPayload: map[string]any{
			"card": c.Key, "delivery_id": d.ID}}
		ts, err := s.slack.Post(ctx, channel, msg)
		if err != nil {
			return s.postFailed(ctx, d, err)
		}
		c.TS, c.UpdatedAt, c.Shown = ts, s.now().UTC(), c.fingerprint()
		if err := s.putCard(ctx, c); err != nil {
			return resNone, err
		}
	}
	msg := s.threadReply(ev)
	msg.ThreadTS = c.TS
	msg.Metadata = deliveryMetadata(d, ev)
	ts, err := s.slack.Post(ctx, channel, msg)
	return s.afterReply(ctx, d, ev, key, ts, err)
}

func deliveryMetadata(d Delivery, ev *Event) *slack.SlackMetadata {
	return &slack.SlackMetadata{EventType: MetadataType, EventPayload: map[string]any{"delivery_id": d.ID, "event_id": ev.ID}}
}

// reconcileCard looks for what an interrupted attempt of d posted: the card
// (in the channel's history) and the reply (in the card's thread). done
// says d is finished.
func (s *Service) reconcileCard(ctx context.Context, d Delivery, ev *Event, channel string, c *Card, have *bool) (result, bool, error) {
	if ev.Kind == EventQuestion {
		if *have {
			return resReconciled, true, s.finish(ctx, d, StatusDone, channel, c.TS, "")
		}
		ts, found, err := s.findPosted(ctx, d, channel)
		if found {
			nc := newCard(d, ev, channel)
			nc.New = true
			nc.TS, nc.UpdatedAt, nc.Shown = ts, d.AttemptAt, nc.fingerprint()
			return resReconciled, true, s.finishWithCard(ctx, d, channel, ts, &nc)
		}
		s.cantCheck(ctx, d, err)
		return resNone, false, nil
	}
	if !*have {
		ts, found, err := s.findCardPost(ctx, d, channel)
		if !found {
			s.cantCheck(ctx, d, err)
			return resNone, false, nil
		}
		nc := newCard(d, ev, channel)
		nc.TS, nc.UpdatedAt, nc.Shown = ts, d.AttemptAt, nc.fingerprint()
		if err := s.putCard(ctx, nc); err != nil {
			return resNone, true, err
		}
		*c, *have = nc, true
	}
	ts, found, err := s.findReply(ctx, d, channel, c.TS)
	if found {
		return resReconciled, true, s.finishReply(ctx, d, ev, c.Key, channel, ts)
	}
	s.cantCheck(ctx, d, err)
	return resNone, false, nil
}

func (s *Service) cantCheck(ctx context.Context, d Delivery, err error) {
	if err != nil {
		s.log.WarnContext(ctx, "cannot check whether an interrupted card delivery was posted; posting again", "delivery", d.ID, "err", err)
	}
}

// findCardPost looks for the card d posted ahead of its reply.
func (s *Service) findCardPost(ctx context.Context, d Delivery, channel string) (string, bool, error) {
	msgs, err := s.slack.History(ctx, channel, d.AttemptAt.Add(-10*time.Minute), 200)
	if err != nil {
		return "", false, err
	}
	ts, ok := findByMetadata(msgs, CardMetadataType, delivered(d))
	return ts, ok, nil
}

// findReply looks for d's reply in the thread of the card at threadTS.
func (s *Service) findReply(ctx context.Context, d Delivery, channel, threadTS string) (string, bool, error) {
	msgs, err := s.slack.Replies(ctx, channel, threadTS)
	if err != nil {
		return "", false, err
	}
	ts, ok := findByMetadata(msgs, MetadataType, delivered(d))
	return ts, ok, nil
}

func (s *Service) afterCardPost(ctx context.Context, d Delivery, c *Card, ts string, err error, _ chat.Message) (result, error) {
	if h := s.opts.AfterPost; h != nil && err == nil {
		if herr := h(ctx, d.ID); herr != nil {
			return resNone, fmt.Errorf("%w: %w", ErrStopped, herr)
		}
	}
	if err != nil {
		return s.postFailed(ctx, d, err)
	}
	c.TS, c.UpdatedAt, c.Shown = ts, s.now().UTC(), c.fingerprint()
	return resPosted, s.finishWithCard(ctx, d, d.Channel, ts, c)
}

func (s *Service) afterReply(ctx context.Context, d Delivery, ev *Event, key, ts string, err error) (result, error) {
	if h := s.opts.AfterPost; h != nil && err == nil {
		if herr := h(ctx, d.ID); herr != nil {
			return resNone, fmt.Errorf("%w: %w", ErrStopped, herr)
		}
	}
	if err != nil {
		return s.postFailed(ctx, d, err)
	}
	return resPosted, s.finishReply(ctx, d, ev, key, d.Channel, ts)
}

// finishWithCard marks d done and stores its card in one transaction.
func (s *Service) finishWithCard(ctx context.Context, d Delivery, channel, ts string, c *Card) error {
	return s.finishTx(ctx, d, channel, ts, func(tx store.Tx) error { return putCardTx(tx, c) })
}

// finishReply marks d done and the card as needing an update (answers,
// accepted ✓) in one transaction.
func (s *Service) finishReply(ctx context.Context, d Delivery, ev *Event, key, channel, ts string) error {
	return s.finishTx(ctx, d, channel, ts, func(tx store.Tx) error {
		var c Card
		ok, err := store.GetJSON(tx, bucketCards, key, &c)
		if err != nil || !ok {
			return err
		}
		switch ev.Kind {
		case EventAccepted:
			c.Accepted = true
		case EventAnswers:
			c.Answers += len(ev.Answers)
		}
		if n := ev.Question.AnswerCount; n > c.State.AnswerCount {
			c.State.AnswerCount = n
		}
		c.Dirty = c.fingerprint() != c.Shown
		return putCardTx(tx, &c)
	})
}

// finishTx is finish with more writes in the same transaction.
func (s *Service) finishTx(ctx context.Context, d Delivery, channel, ts string, more func(tx store.Tx) error) error {
	d.Status, d.DoneAt, d.NextTry, d.Channel, d.TS = StatusDone, s.now().UTC(), time.Time{}, channel, ts
	err := s.db.Update(ctx, func(tx store.Tx) error {
		if err := store.PutJSON(tx, bucketOutbox, d.ID, &d); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPending).Delete(seqKey(d.Seq)); err != nil {
			return err
		}
		return more(tx)
	})
	if err != nil {
		return fmt.Errorf("notify: finish delivery: %w", err)
	}
	return nil
}

func (s *Service) putCard(ctx context.Context, c Card) error {
	if err := s.db.Update(ctx, func(tx store.Tx) error { return putCardTx(tx, &c) }); err != nil {
		return fmt.Errorf("notify: save card: %w", err)
	}
	return nil
}

// refreshCards records what the feed says of questions that have cards
// (title, score, answers, closed, obsolete); cards that changed are updated
// by the next delivery pass (updateCards).
func (s *Service) refreshCards(ctx context.Context, scope soe.Scope, items []soe.QuestionSummary) error {
	// Read first: most cycles change no card, and then write nothing.
	changed := map[string]*QuestionInfo{}
	var keys []string
	err := s.db.View(ctx, func(tx store.Tx) error {
		for i := range items {
			info := questionInfo(&items[i])
			prefix := []byte(cardPrefix(scope, info.ID))
			cur := tx.Bucket(bucketCards).Cursor()
			for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
				var c Card
				if !decodeCard(v, &c) || c.Dead {
					continue
				}
				before := c.fingerprint()
				c.State = *info
				if c.fingerprint() != before {
					changed[c.Key] = info
					keys = append(keys, c.Key)
				}
			}
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return wrapErr("notify: read cards", err)
	}
	err = s.db.Update(ctx, func(tx store.Tx) error {
		for _, k := range keys {
			var c Card
			if !decodeCard(tx.Bucket(bucketCards).Get([]byte(k)), &c) || c.Dead {
				continue
			}
			c.State = *changed[k]
			c.Dirty = c.fingerprint() != c.Shown
			if err := putCardTx(tx, &c); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr("notify: refresh cards", err)
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// dueCards lists the cards to update now.
func (s *Service) dueCards(ctx context.Context) ([]Card, error) {
	now := s.now()
	var out []Card
	err := s.db.View(ctx, func(tx store.Tx) error {
		return tx.Bucket(bucketCardsDue).ForEach(func(k, _ []byte) error {
			var c Card
			if !decodeCard(tx.Bucket(bucketCards).Get(k), &c) || c.Dead || c.TS == "" {
				return nil
			}
			if now.Sub(c.UpdatedAt) >= CardUpdateEvery {
				out = append(out, c)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("notify: read cards: %w", err)
	}
	return out, nil
}

// putCardTx stores c and keeps the index of due cards.
func putCardTx(tx store.Tx, c *Card) error {
	if err := store.PutJSON(tx, bucketCards, c.Key, c); err != nil {
		return err
	}
	due := tx.Bucket(bucketCardsDue)
	if (c.Dirty || c.Reposting) && !c.Dead {
		return due.Put([]byte(c.Key), nil)
	}
	return due.Delete([]byte(c.Key))
}

func decodeCard(v []byte, c *Card) bool { return v != nil && json.Unmarshal(v, c) == nil }

// pruneCards forgets cards nothing happened to for KeepQuestions.
func (s *Service) pruneCards(ctx context.Context) (int, error) {
	now := s.now()
	return s.db.Sweep(ctx, bucketCards, func(_, v []byte) bool {
		var c Card
		return !decodeCard(v, &c) || (!c.Dirty && !c.Reposting && now.Sub(c.UpdatedAt) > s.opts.KeepQuestions)
	})
}

// updateCards brings the due cards up to date (at most once a minute each).
func (s *Service) updateCards(ctx context.Context) error {
	due, err := s.dueCards(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range due {
		if ctx.Err() != nil || !s.leading() {
			break
		}
		errs = append(errs, s.updateCard(ctx, c))
	}
	return errors.Join(errs...)
}

func (s *Service) updateCard(ctx context.Context, c Card) error {
	if c.Reposting {
		return s.repostCard(ctx, c)
	}
	msg := s.cardMessage(&c)
	err := s.slack.Update(ctx, c.ChannelID, c.TS, msg)
	switch {
	case err == nil:
		fp := c.fingerprint()
		return s.saveCard(ctx, c.Key, func(cur *Card) {
			cur.Shown, cur.UpdatedAt = fp, s.now().UTC()
			cur.Dirty = cur.fingerprint() != fp // newer state since: the next update carries it
		})
	case refusedUpdate(err):
		if c.Reposted {
			s.log.WarnContext(ctx, "Slack refused to update a re-posted card; leaving it", "card", c.Key, "error", slackCode(err))
			return s.saveCard(ctx, c.Key, func(cur *Card) { cur.Dead = true })
		}
		return s.repostCard(ctx, c)
	default:
		// Try again at the next chance a minute on (never more often).
		s.log.WarnContext(ctx, "card update failed; will retry", "card", c.Key, "err", err)
		return s.saveCard(ctx, c.Key, func(cur *Card) { cur.UpdatedAt = s.now().UTC() })
	}
}

// refusedUpdate: Slack will never update that message.
func refusedUpdate(err error) bool {
	switch slackCode(err) {
	case "message_not_found", "cant_update_message", "edit_window_closed", "msg_deleted", "thread_not_found":
		return true
	}
	return false
}

// repostCard posts the card again, once (marked before the post, looked
// up in the channel's history after a crash).
func (s *Service) repostCard(ctx context.Context, c Card) error {
	if c.Reposting {
		ts, found, err := s.findRepost(ctx, c)
		if found {
			return s.saveCard(ctx, c.Key, func(cur *Card) {
				cur.TS, cur.Reposting, cur.Shown, cur.UpdatedAt = ts, false, c.fingerprint(), s.now().UTC()
				cur.Dirty = cur.fingerprint() != cur.Shown
			})
		}
		s.cantCheck(ctx, Delivery{ID: c.Key}, err)
	}
	if err := s.claimRepost(ctx, c); err != nil {
		return err
	}
	msg := s.cardMessage(&c)
	msg.Metadata = &slack.SlackMetadata{EventType: CardMetadataType, EventPayload: map[string]any{"card": c.Key, "repost": true}}
	if h := s.opts.BeforePost; h != nil {
		if err := h(ctx, "card:"+c.Key); err != nil {
			return fmt.Errorf("%w: %w", ErrStopped, err)
		}
	}
	ts, err := s.slack.Post(ctx, c.ChannelID, msg)
	if h := s.opts.AfterPost; h != nil && err == nil {
		if herr := h(ctx, "card:"+c.Key); herr != nil {
			return fmt.Errorf("%w: %w", ErrStopped, herr)
		}
	}
	if err != nil {
		if errors.Is(err, chat.ErrChannelGone) || permanentSlackError(slackCode(err)) {
			return s.saveCard(ctx, c.Key, func(cur *Card) { cur.Dead, cur.Reposting = true, false })
		}
		return s.saveCard(ctx, c.Key, func(cur *Card) { cur.UpdatedAt = s.now().UTC() })
	}
	fp := c.fingerprint()
	return s.saveCard(ctx, c.Key, func(cur *Card) {
		cur.TS, cur.Reposting, cur.Shown, cur.UpdatedAt = ts, false, fp, s.now().UTC()
		cur.Dirty = cur.fingerprint() != fp
	})
}

// claimRepost marks c as being re-posted, fenced like a delivery claim (a
// replica that lost the claim never posts) and only if nobody re-posted it
// meanwhile.
func (s *Service) claimRepost(ctx context.Context, c Card) error {
	at := s.now().UTC()
	err := s.db.Update(ctx, func(tx store.Tx) error {
		if l := s.opts.Leader; l != nil {
			if err := l.CheckTx(tx); err != nil {
				return err
			}
		}
		var cur Card
		ok, err := store.GetJSON(tx, bucketCards, c.Key, &cur)
		if err != nil {
			return err
		}
		if !ok || cur.TS != c.TS || cur.Dead || (cur.Reposted && !cur.Reposting) {
			return errGone
		}
		cur.Reposted, cur.Reposting, cur.RepostAt = true, true, at
		return putCardTx(tx, &cur)
	})
	if err != nil {
		return fmt.Errorf("%w: claim card re-post %s: %w", ErrStopped, c.Key, err)
	}
	return nil
}

func (s *Service) findRepost(ctx context.Context, c Card) (string, bool, error) {
	msgs, err := s.slack.History(ctx, c.ChannelID, c.RepostAt.Add(-10*time.Minute), 200)
	if err != nil {
		return "", false, err
	}
	ts, ok := findByMetadata(msgs, CardMetadataType, func(p map[string]any) bool { return p["card"] == c.Key && p["repost"] != nil })
	return ts, ok, nil
}

// saveCard changes the stored card (if it is still there).
func (s *Service) saveCard(ctx context.Context, key string, f func(*Card)) error {
	err := s.db.Update(ctx, func(tx store.Tx) error {
		var c Card
		ok, err := store.GetJSON(tx, bucketCards, key, &c)
		if err != nil || !ok {
			return err
		}
		f(&c)
		return putCardTx(tx, &c)
	})
	if err != nil {
		return fmt.Errorf("notify: save card: %w", err)
	}
	return nil
}

// fingerprint is what the card shows, compactly (equal: no update needed).
func (c *Card) fingerprint() string {
	q := c.State
	body := fnv.New32a()
	_, _ = body.Write([]byte(q.BodyHTML))
	return fmt.Sprintf("%s|%d|%d|%t|%t|%t|%x", q.Title, q.Score, max(q.AnswerCount, c.Answers), c.Accepted, q.Closed, q.Obsolete, body.Sum32())
}
