package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// Digests (issue 17.2, 22.3). A subscription or personal alert with a
// digest cadence gets no message per event: the poller collects its events
// into notify_digest_items (in the transaction that records them), and the
// transaction that closes a period takes that period's items out and
// enqueues one digest delivery (an EventDigest with a deterministic id) in
// the outbox. A restart mid-period loses nothing (the items are stored) and
// posts nothing twice (the outbox is exactly once, and a closed period's
// items are gone).

// EventDigest is a period's summary.
const EventDigest EventKind = "digest"

var (
	bucketDigestItems = []byte("notify_digest_items") // stream|nanos|event id → digestItem
	bucketDigests     = []byte("notify_digests")      // stream → digestState
)

// digestBuckets are the buckets of digests (part of Buckets).
func digestBuckets() [][]byte { return [][]byte{bucketDigestItems, bucketDigests} }

// Digest kinds (what a digest is about).
const (
	DigestChannel = "channel" // a channel subscription's digest
	DigestAsker   = "asker"   // answers to my questions
	DigestExpert  = "expert"  // new questions in my SME tags
	DigestSME     = "sme"     // the weekly expert digest: unanswered questions in my SME tags
)

// maxDigestEntries bounds the entries of each list a digest event keeps
// (the message shows fewer; counts are kept whole).
const maxDigestEntries = 100

// Digest is the content of an EventDigest.
type Digest struct {
	Kind    string    `json:"kind"`
	Cadence Cadence   `json:"cadence"`
	TZ      string    `json:"tz,omitempty"`
	Tags    []string  `json:"tags,omitempty"` // the subscription's tags (none: every tag)
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// Counts of the whole period.
	Questions  int `json:"questions,omitempty"`
	Unanswered int `json:"unanswered,omitempty"`
	Answers    int `json:"answers,omitempty"`
	Accepted   int `json:"accepted,omitempty"`
	// New questions (unanswered first), answered questions (DigestAsker:
	// with their new answers) and accepted answers, each at most
	// maxDigestEntries.
	NewQuestions []DigestEntry `json:"new_questions,omitempty"`
	NewAnswers   []DigestEntry `json:"new_answers,omitempty"`
	NewAccepted  []DigestEntry `json:"new_accepted,omitempty"`
	// SiteURL is the SOE site the entries link to ("" when unknown).
	SiteURL string `json:"site,omitempty"`
}

// DigestEntry is one linked line of a digest.
type DigestEntry struct {
	QuestionID int       `json:"q"`
	Title      string    `json:"title"`
	URL        string    `json:"url,omitempty"`
	Answered   bool      `json:"answered,omitempty"`
	Answers    int       `json:"answers,omitempty"` // new answers (NewAnswers)
	By         string    `json:"by,omitempty"`      // the asker, answerer or accepted answer's author
	At         time.Time `json:"at,omitzero"`
}

// digestSpec says which digest stream an in-memory target collects into.
type digestSpec struct {
	Stream  string
	Kind    string
	Cadence Cadence
	TZ      string
	Tags    []string
	Target  Target // who gets the digest
}

// digestItem is one collected event.
type digestItem struct {
	Kind     EventKind `json:"k"`
	Question int       `json:"q"`
	Title    string    `json:"t"`
	URL      string    `json:"u,omitempty"`
	Answers  int       `json:"n,omitempty"`
	By       string    `json:"by,omitempty"`
	At       time.Time `json:"at,omitzero"`
}

// digestState is a stream's open period.
type digestState struct {
	Kind    string    `json:"kind"`
	Target  Target    `json:"target"`
	Scope   soe.Scope `json:"scope"`
	Cadence Cadence   `json:"cadence"`
	TZ      string    `json:"tz,omitempty"`
	Tags    []string  `json:"tags,omitempty"`
	Start   time.Time `json:"start"`
	Due     time.Time `json:"due"`
}

func subStream(subID string) string { return "c/" + subID }

func alertStream(team, user, reason string) string { return "a/" + team + "/" + user + "/" + reason }

// subTarget is where an event for sub goes: its channel, or its digest.
func subTarget(sub *Subscription) Target {
	t := Target{TeamID: sub.TeamID, ChannelID: sub.ChannelID, Reason: "channel"}
	if !sub.Digest.IsDigest() {
		return t
	}
	t.digest = &digestSpec{Stream: subStream(sub.ID), Kind: DigestChannel, Cadence: sub.Digest, TZ: sub.TZ, Tags: sub.Tags,
		Target: Target{TeamID: sub.TeamID, ChannelID: sub.ChannelID, Reason: "digest"}}
	return t
}

// alertTarget is where a personal alert goes: a DM now, or the person's digest.
func alertTarget(r recipient, reason string) Target {
	t := Target{TeamID: r.TeamID, UserID: r.UserID, Reason: reason}
	if !r.every.IsDigest() {
		return t
	}
	kind := DigestAsker
	if reason == "expert" {
		kind = DigestExpert
	}
	t.digest = &digestSpec{Stream: alertStream(r.TeamID, r.UserID, reason), Kind: kind, Cadence: r.every, TZ: r.tz,
		Target: Target{TeamID: r.TeamID, UserID: r.UserID, Reason: "digest"}}
	return t
}

// splitDigestTargets separates the targets that collect into digests.
func splitDigestTargets(ts []Target) (now, later []Target) {
	for _, t := range ts {
		if t.digest != nil {
			later = append(later, t)
		} else {
			now = append(now, t)
		}
	}
	return now, later
}

func itemOf(ev *Event) digestItem {
	q := ev.Question
	it := digestItem{Kind: ev.Kind, Question: q.ID, Title: q.Title, URL: q.URL, By: q.Owner.Name, At: ev.At}
	switch ev.Kind {
	case EventAnswers:
		it.Answers = len(ev.Answers)
		if len(ev.Answers) > 0 {
			it.By = ev.Answers[len(ev.Answers)-1].Owner.Name
		}
	case EventAccepted:
		if len(ev.Answers) > 0 {
			it.By, it.URL = ev.Answers[0].Owner.Name, firstNonEmpty(ev.Answers[0].URL, q.URL)
		}
	}
	return it
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func itemKey(stream string, seen time.Time, eventID string) []byte {
	return fmt.Appendf(nil, "%s|%019d|%s", stream, seen.UnixNano(), eventID)
}

// collectTx stores ev in each target's digest stream, opening the stream's
// period if it has none (or updating its cadence when it changed).
func collectTx(tx store.Tx, ev *Event, ts []Target, now time.Time) error {
	if ev.Question == nil {
		return nil
	}
	for _, t := range ts {
		sp := t.digest
		if err := openStreamTx(tx, ev.Scope, sp, now); err != nil {
			return err
		}
		v, err := json.Marshal(itemOf(ev))
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketDigestItems).Put(itemKey(sp.Stream, now, ev.ID), v); err != nil {
			return err
		}
	}
	return nil
}

func openStreamTx(tx store.Tx, scope soe.Scope, sp *digestSpec, now time.Time) error {
	var st digestState
	ok, err := store.GetJSON(tx, bucketDigests, sp.Stream, &st)
	if err != nil {
		return err
	}
	if ok && st.Cadence == sp.Cadence && st.TZ == sp.TZ {
		return nil
	}
	loc := Location(sp.TZ)
	if !ok {
		st = digestState{Kind: sp.Kind, Target: sp.Target, Scope: scope, Start: PrevBoundary(sp.Cadence, loc, now).UTC()}
	}
	st.Cadence, st.TZ, st.Tags = sp.Cadence, sp.TZ, sp.Tags
	st.Due = NextBoundary(sp.Cadence, loc, now).UTC()
	return store.PutJSON(tx, bucketDigests, sp.Stream, &st)
}

// closeDigests closes every period that has ended: one transaction per
// stream takes the period's items out and enqueues its digest.
func (s *Service) closeDigests(ctx context.Context) (int, error) {
	now := s.now()
	var due []string
	err := s.db.View(ctx, func(tx store.Tx) error {
		return tx.Bucket(bucketDigests).ForEach(func(k, v []byte) error {
			var st digestState
			if json.Unmarshal(v, &st) == nil && !st.Due.After(now) && !strings.HasPrefix(string(k), "x/") {
				due = append(due, string(k))
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("notify: read digests: %w", err)
	}
	queued := 0
	var errs []error
	for _, stream := range due {
		n := 0
		err := s.db.Update(ctx, func(tx store.Tx) error {
			var err error
			n, err = closeStreamTx(tx, stream, now.UTC())
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("notify: close digest %s: %w", stream, err))
			continue
		}
		queued += n
	}
	if queued > 0 {
		s.wake()
	}
	return queued, errors.Join(errs...)
}

// closeStreamTx closes stream's period if it has ended. A stream whose
// subscription or alert went away (or back to immediate) is dropped.
func closeStreamTx(tx store.Tx, stream string, now time.Time) (int, error) {
	var st digestState
	ok, err := store.GetJSON(tx, bucketDigests, stream, &st)
	if err != nil || !ok || st.Due.After(now) {
		return 0, err
	}
	live, wants, err := streamLiveTx(tx, stream, st)
	if err != nil {
		return 0, err
	}
	items, err := takeItemsTx(tx, stream, st.Due)
	if err != nil {
		return 0, err
	}
	if !live || (!wants && len(items) == 0) {
		return 0, tx.Bucket(bucketDigests).Delete([]byte(stream))
	}
	n := 0
	if len(items) > 0 {
		ev := &Event{ID: fmt.Sprintf("digest/%s/%d", stream, st.Due.Unix()), Kind: EventDigest, Scope: st.Scope,
			Digest: summarize(tx, st, items), Created: now}
		if n, err = enqueueTx(tx, ev, []Target{st.Target}, now); err != nil {
			return 0, err
		}
	}
	if !wants {
		// Back to one message per event: this was the last digest.
		return n, tx.Bucket(bucketDigests).Delete([]byte(stream))
	}
	st.Start, st.Due = st.Due, NextBoundary(st.Cadence, Location(st.TZ), now).UTC()
	return n, store.PutJSON(tx, bucketDigests, stream, &st)
}

// flushStreamTx closes stream's open period now: what it collected is
// queued as a digest at once and the stream ends. A digest subscription
// replaced by a new one (the same tags subscribed again, another cadence)
// so loses nothing of its period.
func flushStreamTx(tx store.Tx, stream string, now time.Time) (int, error) {
	var st digestState
	ok, err := store.GetJSON(tx, bucketDigests, stream, &st)
	if err != nil || !ok {
		return 0, err
	}
	items, err := takeItemsTx(tx, stream, now.Add(time.Nanosecond))
	if err != nil {
		return 0, err
	}
	if err := tx.Bucket(bucketDigests).Delete([]byte(stream)); err != nil || len(items) == 0 {
		return 0, err
	}
	st.Due = now
	ev := &Event{ID: fmt.Sprintf("digest/%s/%d", stream, now.Unix()), Kind: EventDigest, Scope: st.Scope,
		Digest: summarize(tx, st, items), Created: now}
	return enqueueTx(tx, ev, []Target{st.Target}, now)
}

// flushReplacedTx flushes the streams of the digest subscriptions among
// before that are gone from the store (replaced in this transaction).
func flushReplacedTx(tx store.Tx, before []Subscription, now time.Time) (int, error) {
	queued := 0
	for _, old := range before {
		if !old.Digest.IsDigest() {
			continue
		}
		ok, err := store.GetJSON(tx, bucketSubs, old.ID, &Subscription{})
		if err != nil {
			return queued, err
		}
		if ok {
			continue
		}
		n, err := flushStreamTx(tx, subStream(old.ID), now)
		if err != nil {
			return queued, err
		}
		queued += n
	}
	return queued, nil
}

// streamLiveTx reports whether the stream's subscription or alert is still
// there and on (live: what was collected is posted), and whether it still
// wants digests (wants: the stream goes on).
func streamLiveTx(tx store.Tx, stream string, st digestState) (live, wants bool, err error) {
	switch {
	case strings.HasPrefix(stream, "c/"):
		var sub Subscription
		ok, err := store.GetJSON(tx, bucketSubs, strings.TrimPrefix(stream, "c/"), &sub)
		live = ok && !sub.Disabled
		return live, live && sub.Digest.IsDigest(), err
	case strings.HasPrefix(stream, "a/"):
		var p Prefs
		ok, err := store.GetJSON(tx, bucketPrefs, teamKey(st.Target.TeamID, st.Target.UserID), &p)
		if err != nil || !ok {
			return false, false, err
		}
		c, on := p.Cadence(AlertAnswers)
		if strings.HasSuffix(stream, "/expert") {
			c, on = p.Cadence(AlertExpert)
		}
		return on, on && c.IsDigest(), nil
	}
	return false, false, nil
}

// takeItemsTx deletes and returns the stream's items collected before end.
func takeItemsTx(tx store.Tx, stream string, end time.Time) ([]digestItem, error) {
	b := tx.Bucket(bucketDigestItems)
	prefix := []byte(stream + "|")
	var keys [][]byte
	var out []digestItem
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		rest := k[len(prefix):]
		nanos, _, _ := bytes.Cut(rest, []byte("|"))
		n, err := strconv.ParseInt(string(nanos), 10, 64)
		if err == nil && n >= end.UnixNano() {
			break
		}
		keys = append(keys, append([]byte(nil), k...))
		var it digestItem
		if json.Unmarshal(v, &it) == nil {
			out = append(out, it)
		}
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// summarize builds a digest from a period's items: counts, new questions
// (unanswered first, as the poller knows them now), answered questions and
// accepted answers.
func summarize(tx store.Tx, st digestState, items []digestItem) *Digest {
	d := &Digest{Kind: st.Kind, Cadence: st.Cadence, TZ: st.TZ, Tags: st.Tags, Start: st.Start, End: st.Due}
	answers := map[int]int{} // question → index in NewAnswers
	for _, it := range items {
		if d.SiteURL == "" {
			d.SiteURL = siteOf(it.URL)
		}
		e := DigestEntry{QuestionID: it.Question, Title: it.Title, URL: it.URL, By: it.By, At: it.At}
		switch it.Kind {
		case EventQuestion:
			d.Questions++
			var q qState
			if ok, _ := store.GetJSON(tx, bucketQuestions, qKey(st.Scope, it.Question), &q); ok {
				e.Answered = q.IsAnswered || q.AnswerCount > 0
			}
			if !e.Answered {
				d.Unanswered++
			}
			d.NewQuestions = append(d.NewQuestions, e)
		case EventAnswers:
			d.Answers += it.Answers
			if i, ok := answers[it.Question]; ok {
				d.NewAnswers[i].Answers += it.Answers
				d.NewAnswers[i].By = it.By
				continue
			}
			e.Answers = it.Answers
			answers[it.Question] = len(d.NewAnswers)
			d.NewAnswers = append(d.NewAnswers, e)
		case EventAccepted:
			d.Accepted++
			d.NewAccepted = append(d.NewAccepted, e)
		}
	}
	sort.SliceStable(d.NewQuestions, func(i, j int) bool {
		return !d.NewQuestions[i].Answered && d.NewQuestions[j].Answered
	})
	d.NewQuestions = capEntries(d.NewQuestions)
	d.NewAnswers = capEntries(d.NewAnswers)
	d.NewAccepted = capEntries(d.NewAccepted)
	return d
}

func capEntries(es []DigestEntry) []DigestEntry {
	if len(es) > maxDigestEntries {
		return es[:maxDigestEntries]
	}
	return es
}

// --- settings -------------------------------------------------------------------

// SetAlertCadence sets a personal alert's cadence: off, immediate, or a
// digest in the user's Slack time zone tz. It returns the new settings.
func (s *Service) SetAlertCadence(ctx context.Context, teamID, userID string, a Alert, c Cadence, on bool, tz string) (Prefs, error) {
	if err := checkIDs(teamID, userID); err != nil {
		return Prefs{}, err
	}
	if a != AlertAnswers && a != AlertExpert {
		return Prefs{}, fmt.Errorf("%w: unknown alert %q", ErrBadInput, a)
	}
	if c != CadenceImmediate && !c.IsDigest() {
		return Prefs{}, fmt.Errorf("%w: unknown cadence %q", ErrBadInput, c)
	}
	if c == CadenceImmediate {
		c = ""
	}
	p, err := s.updatePrefs(ctx, teamID, userID, func(p *Prefs) {
		switch a {
		case AlertAnswers:
			p.Answers, p.AnswersEvery = on, c
		case AlertExpert:
			p.Expert, p.ExpertEvery = on, c
		}
		if tz != "" {
			p.TZ = tz
		}
	})
	if err != nil {
		return Prefs{}, err
	}
	s.log.InfoContext(ctx, "personal alert cadence set", "team", teamID, "user", userID, "alert", string(a), "on", on, "cadence", string(c))
	return p, nil
}

// SetExpertDigest switches the weekly expert digest (22.3) in the user's
// Slack time zone tz; turned on, its first week ends next Monday at 09:00.
func (s *Service) SetExpertDigest(ctx context.Context, teamID, userID string, on bool, tz string) (Prefs, error) {
	if err := checkIDs(teamID, userID); err != nil {
		return Prefs{}, err
	}
	now := s.now()
	var p Prefs
	err := s.db.Update(ctx, func(tx store.Tx) error {
		p = Prefs{}
		key := teamKey(teamID, userID)
		if _, err := store.GetJSON(tx, bucketPrefs, key, &p); err != nil {
			return err
		}
		p.ExpertDigest = on
		if tz != "" {
			p.TZ = tz
		}
		if err := store.PutJSON(tx, bucketPrefs, key, &p); err != nil {
			return err
		}
		if !on {
			return dropSMEStateTx(tx, teamID, userID)
		}
		loc := Location(p.TZ)
		st := digestState{Kind: DigestSME, Target: Target{TeamID: teamID, UserID: userID, Reason: "digest"}, Cadence: CadenceWeekly,
			TZ: p.TZ, Start: PrevBoundary(CadenceWeekly, loc, now).UTC(), Due: NextBoundary(CadenceWeekly, loc, now).UTC()}
		return store.PutJSON(tx, bucketDigests, smeStream(teamID, userID), &st)
	})
	if err != nil {
		return Prefs{}, fmt.Errorf("notify: save expert digest: %w", err)
	}
	s.log.InfoContext(ctx, "expert digest switched", "team", teamID, "user", userID, "on", on)
	return p, nil
}

func (s *Service) updatePrefs(ctx context.Context, teamID, userID string, f func(*Prefs)) (Prefs, error) {
	var p Prefs
	err := s.db.Update(ctx, func(tx store.Tx) error {
		p = Prefs{}
		key := teamKey(teamID, userID)
		if _, err := store.GetJSON(tx, bucketPrefs, key, &p); err != nil {
			return err
		}
		f(&p)
		return store.PutJSON(tx, bucketPrefs, key, &p)
	})
	if err != nil {
		return Prefs{}, fmt.Errorf("notify: save alert settings: %w", err)
	}
	return p, nil
}

// Cadence of alert a in p: off (ok false), immediate, or a digest.
func (p Prefs) Cadence(a Alert) (Cadence, bool) {
	on, c := p.Answers, p.AnswersEvery
	if a == AlertExpert {
		on, c = p.Expert, p.ExpertEvery
	}
	if !on {
		return "", false
	}
	if !c.IsDigest() {
		return CadenceImmediate, true
	}
	return c, true
}
