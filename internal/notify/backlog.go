package notify

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/store"
)

// Backlog guard (issue 17, point 3).
//
// Slack takes about one message a second per channel. When one channel's
// undelivered notifications would take more than about a minute at that
// pace (more than Options.BacklogAfter pending posts), they are folded into
// one message ("12 new answers in `go` since 10:04", each linked). The fold
// is one write transaction: a new fold event with one delivery to the
// channel, and every folded delivery marked done (FoldedInto) and taken off
// the pending index. So nothing is lost (each folded event is in the fold),
// nothing is shown twice (a folded delivery is never posted), and the fold
// message is itself an ordinary outbox delivery, exactly once.

// defaultBacklogAfter: a minute at one message a second.
const defaultBacklogAfter = 60

// maxFoldItems is how many folded events the message lists (then "and N
// more", linked to a search on SOE).
const maxFoldItems = 15

// Fold is the content of a fold event.
type Fold struct {
	Items []FoldItem `json:"items"`
	Tags  []string   `json:"tags,omitempty"` // the channel's subscribed tags they matched ("*": every tag)
	Since time.Time  `json:"since"`          // the oldest folded event
	// SiteURL is where "and N more" searches (the first question's site).
	SiteURL string `json:"site,omitempty"`
}

// FoldItem is one folded event.
type FoldItem struct {
	Kind     EventKind    `json:"kind"`
	Question QuestionInfo `json:"question"`
	Answers  []AnswerInfo `json:"answers,omitempty"`
}

func foldable(d *Delivery, ev *Event) bool {
	if d.Status != StatusPending || d.Target.ChannelID == "" || d.Target.Reason != "channel" || ev == nil || ev.Question == nil {
		return false
	}
	return ev.Kind == EventQuestion || ev.Kind == EventAnswers || ev.Kind == EventAccepted
}

func (s *Service) backlogAfter() int { return cmp.Or(s.opts.BacklogAfter, defaultBacklogAfter) }

// foldBacklogs folds the pending posts of every channel that has more than
// backlogAfter of them.
func (s *Service) foldBacklogs(ctx context.Context) error {
	var over []string
	err := s.db.View(ctx, func(tx store.Tx) error {
		counts := map[string]int{}
		return forPending(tx, func(_ []byte, d *Delivery) error {
			if d.Status == StatusPending && d.Target.ChannelID != "" && d.Target.Reason == "channel" {
				k := d.Target.Key()
				counts[k]++
				if counts[k] == s.backlogAfter()+1 {
					over = append(over, k)
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("notify: read backlog: %w", err)
	}
	for _, k := range over {
		if err := s.foldTarget(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// forPending calls f for each pending-index entry, in outbox order.
func forPending(tx store.Tx, f func(k []byte, d *Delivery) error) error {
	c := tx.Bucket(bucketPending).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var d Delivery
		ok, err := store.GetJSON(tx, bucketOutbox, string(v), &d)
		if err != nil {
			return err
		}
		if ok {
			if err := f(k, &d); err != nil {
				return err
			}
		}
	}
	return nil
}

// foldTarget folds one channel's pending posts in one transaction.
func (s *Service) foldTarget(ctx context.Context, targetKey string) error {
	now := s.now().UTC()
	var folded int
	err := s.db.Update(ctx, func(tx store.Tx) error {
		if l := s.opts.Leader; l != nil {
			if err := l.CheckTx(tx); err != nil {
				return err
			}
		}
		folded = 0
		var keys [][]byte
		var ds []Delivery
		fold := &Fold{}
		var target Target
		err := forPending(tx, func(k []byte, d *Delivery) error {
			if d.Target.Key() != targetKey {
				return nil
			}
			var ev Event
			if ok, err := store.GetJSON(tx, bucketEvents, d.EventID, &ev); err != nil || !ok || !foldable(d, &ev) {
				return err
			}
			target = d.Target
			keys, ds = append(keys, append([]byte(nil), k...)), append(ds, *d)
			fold.Items = append(fold.Items, FoldItem{Kind: ev.Kind, Question: *ev.Question, Answers: ev.Answers})
			if at := cmp.Or(ev.At, ev.Created); fold.Since.IsZero() || at.Before(fold.Since) {
				fold.Since = at
			}
			return nil
		})
		if err != nil || len(ds) <= s.backlogAfter() {
			return err
		}
		subs, err := channelSubsTx(tx, target.TeamID, target.ChannelID)
		if err != nil {
			return err
		}
		fold.Tags, fold.SiteURL = foldTags(subs, fold.Items), siteOf(fold.Items[0].Question.URL)
		ev := &Event{ID: fmt.Sprintf("fold/%s/%d", targetKey, ds[0].Seq), Kind: EventFold, Fold: fold, Created: now}
		if _, err := enqueueTx(tx, ev, []Target{target}, now); err != nil {
			return err
		}
		foldID := deliveryID(target, ev.ID)
		for i := range ds {
			d := &ds[i]
			d.Status, d.DoneAt, d.FoldedInto = StatusDone, now, foldID
			if err := store.PutJSON(tx, bucketOutbox, d.ID, d); err != nil {
				return err
			}
			if err := tx.Bucket(bucketPending).Delete(keys[i]); err != nil {
				return err
			}
		}
		folded = len(ds)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: fold backlog: %w", ErrStopped, err)
	}
	if folded > 0 {
		s.log.InfoContext(ctx, "a channel fell behind; its pending notifications were folded into one message", "target", targetKey, "folded", folded)
	}
	return nil
}

// foldTags are the channel's subscribed tags the folded questions matched.
func foldTags(subs []Subscription, items []FoldItem) []string {
	var out []string
	for _, sub := range subs {
		for _, it := range items {
			if !sub.matches(it.Question.Tags) {
				continue
			}
			if sub.AllTags() {
				out = appendOnce(out, "*")
				break
			}
			for _, t := range sub.Tags {
				if slices.Contains(it.Question.Tags, t) {
					out = appendOnce(out, t)
				}
			}
		}
	}
	if slices.Contains(out, "*") {
		return []string{"*"}
	}
	return out
}

// siteOf is the site part of a question URL (…/questions/123/… → …).
func siteOf(questionURL string) string {
	if i := strings.Index(questionURL, "/questions/"); i > 0 {
		return questionURL[:i]
	}
	return ""
}

// searchURL searches the site for the tags, newest first.
func (f *Fold) searchURL() string {
	if f.SiteURL == "" {
		return ""
	}
	var terms []string
	for _, t := range f.Tags {
		if t != "*" {
			terms = append(terms, "["+t+"]")
		}
	}
	return f.SiteURL + "/search?tab=newest&q=" + url.QueryEscape(strings.Join(terms, " or "))
}

// renderFold is the one message a fold posts: counts, the first
// maxFoldItems events (each linked), then "and N more" linked to a search.
func renderFold(ev *Event) chat.Message {
	f := ev.Fold
	if f == nil || len(f.Items) == 0 {
		return chat.Message{Text: "Stack Overflow activity", Blocks: []slack.Block{blockkit.Section("Stack Overflow activity")}}
	}
	since := fmt.Sprintf("<!date^%d^{time}|%s>", f.Since.Unix(), f.Since.UTC().Format("15:04 UTC"))
	summary := foldSummary(f.Items)
	head := fmt.Sprintf(":inbox_tray: *%s* in %s since %s", summary, TagList(f.Tags), since)
	blocks := []slack.Block{blockkit.Section(head)}
	var lines []string
	for i, it := range f.Items {
		if i == maxFoldItems {
			break
		}
		lines = append(lines, foldLine(it))
	}
	for len(lines) > 0 { // 5 lines a section: well within 3000 characters
		n := min(5, len(lines))
		blocks = append(blocks, blockkit.Section(strings.Join(lines[:n], "\n")))
		lines = lines[n:]
	}
	if rest := len(f.Items) - maxFoldItems; rest > 0 {
		more := fmt.Sprintf("…and %d more", rest)
		if u := f.searchURL(); u != "" {
			more = mrkdwn.Link(u, more+" on Stack Overflow")
		}
		blocks = append(blocks, blockkit.Context(more))
	}
	blocks = append(blocks, blockkit.Context("I folded these into one message because this channel fell behind."))
	return chat.Message{Text: mrkdwn.Plain(summary + " since " + f.Since.UTC().Format("15:04 UTC")), Blocks: blocks}
}

// foldSummary is "3 new questions, 12 new answers and 1 accepted answer".
func foldSummary(items []FoldItem) string {
	var q, a, acc int
	for _, it := range items {
		switch it.Kind {
		case EventQuestion:
			q++
		case EventAnswers:
			a += max(1, len(it.Answers))
		case EventAccepted:
			acc++
		}
	}
	var parts []string
	if q > 0 {
		parts = append(parts, plural(q, "new question", "new questions"))
	}
	if a > 0 {
		parts = append(parts, plural(a, "new answer", "new answers"))
	}
	if acc > 0 {
		parts = append(parts, plural(acc, "accepted answer", "accepted answers"))
	}
	if len(parts) > 1 {
		return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	}
	return strings.Join(parts, "")
}

func foldLine(it FoldItem) string {
	q := it.Question
	title := link(q.URL, q.Title, 100)
	switch it.Kind {
	case EventAnswers:
		var as []string
		for i, a := range it.Answers {
			if i == 3 {
				as = append(as, fmt.Sprintf("+%d", len(it.Answers)-3))
				break
			}
			as = append(as, answerLink(a))
		}
		return fmt.Sprintf("• :speech_balloon: %s: %s", title, strings.Join(as, ", "))
	case EventAccepted:
		if len(it.Answers) > 0 {
			return fmt.Sprintf("• :white_check_mark: %s: %s", title, answerLink(it.Answers[0]))
		}
		return "• :white_check_mark: " + title
	}
	return "• :new: " + title
}

func answerLink(a AnswerInfo) string {
	who := "someone"
	if a.Owner.Name != "" {
		who = a.Owner.Name
	}
	return link(a.URL, "answer by "+who, nameLen+10)
}
