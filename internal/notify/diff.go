package notify

// The poller's diff, free of I/O: no bbolt, no SOE, no clock reads. For an
// initialized scope, pollScope runs
//
//	w := windowOf(scope state, overlap)
//	feed := newFeedPages(w.from); feed.add(page)... // read the feed
//	answersToFetch(feed.items, stored, interest)    // whose answers to read
//	diffFeed(feedDiff{...})                         // events, new state, watermark
//
// and commits the result; the I/O around these steps lives in poll.go.

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/soebot/soebot/internal/soe"
)

// window is the part of the activity feed one cycle reads, and what in it
// can be new.
type window struct {
	watermark time.Time // newest lastActivityDate seen so far (SOE clock)
	// from is the oldest activity read: the watermark minus the overlap
	// (zero, the whole feed, while there is no watermark).
	from time.Time
	// floor is the watermark the scope started at: nothing created at or
	// before it is new, even inside the overlap.
	floor time.Time
}

// windowOf is the window of a cycle that starts from st.
func windowOf(st scopeState, overlap time.Duration) window {
	w := window{watermark: st.Watermark, floor: st.Floor}
	if !st.Watermark.IsZero() {
		w.from = st.Watermark.Add(-overlap)
	}
	return w
}

// fresh reports whether content created at t can be new: inside the feed
// window (at or after from) and after the scope's start (floor).
func (w window) fresh(t time.Time) bool {
	if !w.floor.IsZero() && !t.After(w.floor) {
		return false
	}
	return !t.Before(w.from)
}

// feedPages collects the feed, newest activity first, page by page.
type feedPages struct {
	from  time.Time
	items []soe.QuestionSummary
	seen  map[int]bool
}

func newFeedPages(from time.Time) *feedPages {
	return &feedPages{from: from, seen: map[int]bool{}}
}

// add appends a page's questions, each once: a question bumped while the
// feed is paged shows up again on a later page, and its first (newest)
// listing wins. It reports whether the page reached activity older than
// from, so that no further page is needed.
func (f *feedPages) add(page []soe.QuestionSummary) (done bool) {
	for i := range page {
		q := &page[i]
		if lastActivity(q).Before(f.from) {
			return true
		}
		if !f.seen[q.ID] {
			f.seen[q.ID] = true
			f.items = append(f.items, *q)
		}
	}
	return false
}

// changed reports whether q differs from what the poller remembered of it
// in anything that may mean new or changed answers or acceptance.
func changed(q *soe.QuestionSummary, old qState) bool {
	return q.AnswerCount != old.AnswerCount || !lastActivity(q).Equal(old.LastActivity) || q.IsAnswered != old.IsAnswered
}

// answerInterest is who in a scope wants to hear of answers.
type answerInterest struct {
	askers map[int][]recipient // SOE user id → answer-alert recipients
	subs   []Subscription      // the subscriptions of this cycle (activeSubs)
}

// wants reports whether anyone wants to hear of answers to q.
func (in answerInterest) wants(q *soe.QuestionSummary) bool {
	if q.Owner != nil && len(in.askers[q.Owner.ID]) > 0 {
		return true
	}
	tags := q.TagNames()
	for i := range in.subs {
		if in.subs[i].Kinds&(KindAnswers|KindAccepted) != 0 && in.subs[i].matches(tags) {
			return true
		}
	}
	return false
}

// answersToFetch lists, in feed order, the questions whose answers must be
// read: they have answers, their answers or accepted state may have changed
// since stored, and someone wants to hear.
func answersToFetch(items []soe.QuestionSummary, stored map[int]qState, in answerInterest) []int {
	var ids []int
	for i := range items {
		q := &items[i]
		if q.AnswerCount == 0 {
			continue
		}
		if old, known := stored[q.ID]; known && !changed(q, old) {
			continue
		}
		if in.wants(q) {
			ids = append(ids, q.ID)
		}
	}
	return ids
}

// feedDiff is everything diffFeed looks at.
type feedDiff struct {
	scope  soe.Scope
	window window
	// items is the feed window, newest activity first, each question once
	// (as feedPages collects it).
	items []soe.QuestionSummary
	// stored is the remembered state of those questions; a question absent
	// was never seen.
	stored map[int]qState
	// answers are the answers read, by question id (see answersToFetch). A
	// question absent was not read (or was gone by then): its answers are
	// left as stored.
	answers map[int][]soe.AnswerSummary
	now     time.Time // local clock (UTC): Event.Created, qState.Seen
}

// diffResult is what a cycle commits.
type diffResult struct {
	events    []*Event       // oldest first
	states    map[int]qState // new state of the questions that are new or changed
	watermark time.Time      // newest activity seen, never behind the window's
}

// diffFeed compares the feed with the stored state of its questions. A
// question not stored and created inside the window is new; answers not
// stored and created inside the window (or to a new question) are new, one
// grouped event per question; a change of accepted answer is an event when
// the previous accepted answer is known (or the accepted answer is itself
// new).
func diffFeed(in feedDiff) diffResult {
	out := diffResult{states: map[int]qState{}, watermark: in.window.watermark}
	for i := range in.items {
		q := &in.items[i]
		evs, ns, write := in.question(q)
		out.events = append(out.events, evs...)
		if write {
			out.states[q.ID] = ns
		}
		if la := lastActivity(q); la.After(out.watermark) {
			out.watermark = la
		}
	}
	sortEvents(out.events)
	return out
}

// question diffs one question of the feed: its events, its new state and
// whether that state must be written.
func (in *feedDiff) question(q *soe.QuestionSummary) ([]*Event, qState, bool) {
	old, known := in.stored[q.ID]
	isNew := !known && in.window.fresh(q.CreationDate)
	ns := qState{LastActivity: lastActivity(q), AnswerCount: q.AnswerCount, IsAnswered: q.IsAnswered, Seen: in.now}
	moved := !known || changed(q, old)
	if known {
		ns.Answers, ns.Accepted, ns.Full = old.Answers, old.Accepted, old.Full && !moved
		if !moved {
			ns.Seen = old.Seen
		}
	}
	info := questionInfo(q)
	var evs []*Event
	if isNew && !q.IsDeleted {
		evs = append(evs, &Event{ID: in.scope.Key() + "/q/" + strconv.Itoa(q.ID), Kind: EventQuestion,
			Scope: in.scope, Question: info, At: q.CreationDate, Created: in.now})
	}
	answers, read := in.answers[q.ID]
	if read {
		aevs, full := in.answerEvents(info, answers, old, isNew, ns.LastActivity)
		evs = append(evs, aevs...)
		ns.Answers, ns.Accepted, ns.Full = full.Answers, full.Accepted, true
	}
	return evs, ns, moved || read
}

// answerEvents compares a question's answers with what was stored (old is
// zero for a question never seen). New answers (not stored, created inside
// the window or to a new question) become one grouped event; a change of
// accepted answer becomes another, when the previous accepted state is known
// (or the accepted answer is itself new). The returned state lists every
// answer and the accepted one.
func (in *feedDiff) answerEvents(info *QuestionInfo, answers []soe.AnswerSummary, old qState, isNew bool, activity time.Time) ([]*Event, qState) {
	seen := make(map[int]bool, len(old.Answers))
	for _, id := range old.Answers {
		seen[id] = true
	}
	answers = slices.Clone(answers) // sorted here; the caller's order stays
	sort.SliceStable(answers, func(i, j int) bool {
		if !answers[i].CreationDate.Equal(answers[j].CreationDate) {
			return answers[i].CreationDate.Before(answers[j].CreationDate)
		}
		return answers[i].ID < answers[j].ID
	})
	var full qState
	var newAnswers []AnswerInfo
	freshIDs := map[int]bool{}
	var accepted *soe.AnswerSummary
	var at time.Time
	for i := range answers {
		a := &answers[i]
		full.Answers = append(full.Answers, a.ID)
		if a.IsAccepted {
			accepted = a
			full.Accepted = a.ID
		}
		if !seen[a.ID] && (isNew || in.window.fresh(a.CreationDate)) {
			newAnswers = append(newAnswers, answerInfo(a))
			freshIDs[a.ID] = true
			at = a.CreationDate
		}
	}
	key := in.scope.Key()
	var out []*Event
	if len(newAnswers) > 0 {
		out = append(out, &Event{ID: fmt.Sprintf("%s/a/%d/%d", key, info.ID, newAnswers[0].ID), Kind: EventAnswers,
			Scope: in.scope, Question: info, Answers: newAnswers, At: at, Created: in.now})
	}
	prevKnown := isNew || old.Full
	if accepted != nil && accepted.ID != old.Accepted && (prevKnown || freshIDs[accepted.ID]) {
		out = append(out, &Event{ID: fmt.Sprintf("%s/acc/%d/%d", key, info.ID, accepted.ID), Kind: EventAccepted,
			Scope: in.scope, Question: info, Answers: []AnswerInfo{answerInfo(accepted)}, At: activity, Created: in.now})
	}
	return out, full
}

// sortEvents puts events oldest first, so a channel reads them in the order
// they happened.
func sortEvents(events []*Event) {
	sort.SliceStable(events, func(i, j int) bool {
		if !events[i].At.Equal(events[j].At) {
			return events[i].At.Before(events[j].At)
		}
		if ki, kj := kindOrder(events[i].Kind), kindOrder(events[j].Kind); ki != kj {
			return ki < kj
		}
		return events[i].Question.ID < events[j].Question.ID
	})
}

func kindOrder(k EventKind) int {
	switch k {
	case EventQuestion:
		return 0
	case EventAnswers:
		return 1
	}
	return 2
}

// firstLook is a scope's start: the questions on the first feed page,
// remembered as already seen, and the newest activity among them (the
// scope's watermark and floor).
func firstLook(items []soe.QuestionSummary, now time.Time) (map[int]qState, time.Time) {
	states := make(map[int]qState, len(items))
	wm := time.Time{}
	for i := range items {
		q := &items[i]
		la := lastActivity(q)
		if la.After(wm) {
			wm = la
		}
		states[q.ID] = qState{LastActivity: la, AnswerCount: q.AnswerCount, IsAnswered: q.IsAnswered, Seen: now}
	}
	return states, wm
}

func lastActivity(q *soe.QuestionSummary) time.Time {
	if q.LastActivityDate != nil {
		return *q.LastActivityDate
	}
	return q.CreationDate
}
