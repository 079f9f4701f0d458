package notify

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/soe"
)

// The poller's diff without bbolt, SOE or Slack. Times are minutes around
// t0, the scope's watermark in most cases.

var t0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

func mins(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

// localNow is the bot's clock in these tests (Event.Created, qState.Seen).
var localNow = time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)

// testWindow is a scope polled for an hour: watermark t0, 5 minutes of
// overlap, started an hour before t0.
var testWindow = windowOf(scopeState{Initialized: true, Watermark: t0, Floor: mins(-60)}, 5*time.Minute)

// q is a feed entry: created at minute created, last active at minute
// active, with n answers, tagged go and asked by SOE user 7.
func q(id, created, active, n int) soe.QuestionSummary {
	la := mins(active)
	return soe.QuestionSummary{ID: id, Title: "Question", CreationDate: mins(created), LastActivityDate: &la,
		AnswerCount: n, Tags: []soe.TagSummary{{Name: "go"}}, Owner: &soe.UserSummary{ID: 7}}
}

func accepted(s soe.QuestionSummary) soe.QuestionSummary { s.IsAnswered = true; return s }
func deleted(s soe.QuestionSummary) soe.QuestionSummary  { s.IsDeleted = true; return s }

// a is an answer created at minute created.
func a(id, created int) soe.AnswerSummary {
	return soe.AnswerSummary{ID: id, CreationDate: mins(created), Owner: &soe.UserSummary{ID: 8}}
}

func acc(s soe.AnswerSummary) soe.AnswerSummary { s.IsAccepted = true; return s }

// seen is the stored state of a question as the feed showed it last time.
func seen(s soe.QuestionSummary, full bool, acceptedID int, answers ...int) qState {
	return qState{LastActivity: lastActivity(&s), AnswerCount: s.AnswerCount, IsAnswered: s.IsAnswered,
		Answers: answers, Accepted: acceptedID, Full: full, Seen: mins(-30)}
}

func eventIDs(evs []*Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.ID)
	}
	return out
}

func TestDiffFeed(t *testing.T) {
	old := q(1, -120, -90, 1)    // a question seen before
	bumped := q(1, -120, 2, 1)   // the same, edited or bumped since
	answered := q(1, -120, 3, 2) // the same with a second answer
	acceptedQ := accepted(q(1, -120, 3, 1))
	tests := []struct {
		name       string
		window     window // testWindow when zero
		items      []soe.QuestionSummary
		stored     map[int]qState
		answers    map[int][]soe.AnswerSummary
		wantEvents []string
		wantStates []int // question ids written
		wantWM     time.Time
	}{
		{name: "empty feed keeps the watermark", wantWM: t0},
		{name: "new question", items: []soe.QuestionSummary{q(1, 1, 1, 0)},
			wantEvents: []string{"main/q/1"}, wantStates: []int{1}, wantWM: mins(1)},
		{name: "new question inside the overlap, behind the watermark", items: []soe.QuestionSummary{q(1, -3, -3, 0)},
			wantEvents: []string{"main/q/1"}, wantStates: []int{1}, wantWM: t0},
		{name: "deleted new question is not announced", items: []soe.QuestionSummary{deleted(q(1, 1, 1, 0))},
			wantStates: []int{1}, wantWM: mins(1)},
		{name: "new question with an accepted answer: everything is new",
			items:      []soe.QuestionSummary{accepted(q(1, 1, 4, 1))},
			answers:    map[int][]soe.AnswerSummary{1: {acc(a(10, 2))}},
			wantEvents: []string{"main/q/1", "main/a/1/10", "main/acc/1/10"}, wantStates: []int{1}, wantWM: mins(4)},
		{name: "new answer to a known question", items: []soe.QuestionSummary{answered},
			stored:     map[int]qState{1: seen(old, true, 0, 10)},
			answers:    map[int][]soe.AnswerSummary{1: {a(10, -100), a(11, 3)}},
			wantEvents: []string{"main/a/1/11"}, wantStates: []int{1}, wantWM: mins(3)},
		{name: "two new answers are one event named after the first", items: []soe.QuestionSummary{q(1, -120, 3, 2)},
			stored:     map[int]qState{1: seen(q(1, -120, -90, 0), true, 0)},
			answers:    map[int][]soe.AnswerSummary{1: {a(12, 3), a(11, 1)}},
			wantEvents: []string{"main/a/1/11"}, wantStates: []int{1}, wantWM: mins(3)},
		{name: "accepted answer", items: []soe.QuestionSummary{acceptedQ},
			stored:     map[int]qState{1: seen(old, true, 0, 10)},
			answers:    map[int][]soe.AnswerSummary{1: {acc(a(10, -100))}},
			wantEvents: []string{"main/acc/1/10"}, wantStates: []int{1}, wantWM: mins(3)},
		{name: "acceptance when the accepted state was not known: not announced", items: []soe.QuestionSummary{acceptedQ},
			stored:     map[int]qState{1: seen(old, false, 0, 10)},
			answers:    map[int][]soe.AnswerSummary{1: {acc(a(10, -100))}},
			wantStates: []int{1}, wantWM: mins(3)},
		{name: "same accepted answer again", items: []soe.QuestionSummary{accepted(q(1, -120, 3, 1))},
			stored:     map[int]qState{1: seen(accepted(old), true, 10, 10)},
			answers:    map[int][]soe.AnswerSummary{1: {acc(a(10, -100))}},
			wantStates: []int{1}, wantWM: mins(3)},
		{name: "edited or bumped question with nothing new", items: []soe.QuestionSummary{bumped},
			stored:     map[int]qState{1: seen(old, true, 0, 10)},
			answers:    map[int][]soe.AnswerSummary{1: {a(10, -100)}},
			wantStates: []int{1}, wantWM: mins(2)},
		{name: "bumped question whose answers nobody wanted", items: []soe.QuestionSummary{bumped},
			stored:     map[int]qState{1: seen(old, true, 0, 10)},
			wantStates: []int{1}, wantWM: mins(2)},
		{name: "unchanged question is not written", items: []soe.QuestionSummary{q(1, -120, -2, 1)},
			stored: map[int]qState{1: seen(q(1, -120, -2, 1), true, 0, 10)}, wantWM: t0},
		{name: "old question seen for the first time after the start: its new answer is news, it is not",
			items:      []soe.QuestionSummary{q(1, -500, 2, 2)},
			answers:    map[int][]soe.AnswerSummary{1: {a(10, -400), a(11, 2)}},
			wantEvents: []string{"main/a/1/11"}, wantStates: []int{1}, wantWM: mins(2)},
		{name: "old question seen for the first time: acceptance of an old answer is not news",
			items:      []soe.QuestionSummary{accepted(q(1, -500, 2, 1))},
			answers:    map[int][]soe.AnswerSummary{1: {acc(a(10, -400))}},
			wantStates: []int{1}, wantWM: mins(2)},
		{name: "old question seen for the first time: a new accepted answer is news",
			items:      []soe.QuestionSummary{accepted(q(1, -500, 2, 1))},
			answers:    map[int][]soe.AnswerSummary{1: {acc(a(10, 1))}},
			wantEvents: []string{"main/a/1/10", "main/acc/1/10"}, wantStates: []int{1}, wantWM: mins(2)},
		{name: "answers older than the window are not new", items: []soe.QuestionSummary{q(1, -120, 2, 2)},
			stored:     map[int]qState{1: seen(q(1, -120, -90, 0), false, 0)},
			answers:    map[int][]soe.AnswerSummary{1: {a(10, -6), a(11, -5)}},
			wantEvents: []string{"main/a/1/11"}, wantStates: []int{1}, wantWM: mins(2)},
		{name: "nothing created at or before the floor is new",
			window: windowOf(scopeState{Initialized: true, Watermark: t0, Floor: mins(-2)}, 5*time.Minute),
			items:  []soe.QuestionSummary{q(1, -2, -2, 0), q(2, -1, 2, 2)},
			stored: map[int]qState{2: seen(q(2, -1, -1, 0), true, 0)},
			// Question 2 is known, so inside the window only its answer after the floor is new.
			answers:    map[int][]soe.AnswerSummary{2: {a(20, -2), a(21, -1)}},
			wantEvents: []string{"main/a/2/21"}, wantStates: []int{1, 2}, wantWM: mins(2)},
		{name: "question gone when its answers were read", items: []soe.QuestionSummary{q(1, 1, 2, 1)},
			wantEvents: []string{"main/q/1"}, wantStates: []int{1}, wantWM: mins(2)},
		{name: "events oldest first, question before answers at the same time",
			items:      []soe.QuestionSummary{q(3, 2, 2, 0), q(2, 1, 1, 0), q(1, -120, 1, 2)},
			stored:     map[int]qState{1: seen(q(1, -120, -90, 0), true, 0)},
			answers:    map[int][]soe.AnswerSummary{1: {a(10, 0), a(11, 1)}},
			wantEvents: []string{"main/q/2", "main/a/1/10", "main/q/3"}, wantStates: []int{1, 2, 3}, wantWM: mins(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.window
			if w == (window{}) {
				w = testWindow
			}
			d := diffFeed(feedDiff{scope: soe.MainSite(), window: w, items: tt.items, stored: tt.stored, answers: tt.answers, now: localNow})
			if got := eventIDs(d.events); !slices.Equal(got, tt.wantEvents) {
				t.Errorf("events %v, want %v", got, tt.wantEvents)
			}
			if got := slices.Sorted(maps.Keys(d.states)); !slices.Equal(got, tt.wantStates) {
				t.Errorf("states written for %v, want %v", got, tt.wantStates)
			}
			if !d.watermark.Equal(tt.wantWM) {
				t.Errorf("watermark %v, want %v", d.watermark, tt.wantWM)
			}
			for _, ev := range d.events {
				if !ev.Created.Equal(localNow) || ev.Scope != soe.MainSite() || ev.Question == nil {
					t.Errorf("event %s: %+v", ev.ID, ev)
				}
			}
		})
	}
}

func TestDiffFeedState(t *testing.T) {
	old := q(1, -120, -90, 1)
	stored := map[int]qState{1: seen(old, true, 0, 10)}
	tests := []struct {
		name    string
		item    soe.QuestionSummary
		answers map[int][]soe.AnswerSummary
		want    qState
	}{
		{"answers read: complete list and accepted answer", accepted(q(1, -120, 3, 2)),
			map[int][]soe.AnswerSummary{1: {a(11, 3), acc(a(10, -100))}},
			qState{LastActivity: mins(3), AnswerCount: 2, IsAnswered: true, Answers: []int{10, 11}, Accepted: 10, Full: true, Seen: localNow}},
		{"changed, answers not read: kept but no longer complete", q(1, -120, 3, 2), nil,
			qState{LastActivity: mins(3), AnswerCount: 2, Answers: []int{10}, Full: false, Seen: localNow}},
		{"unknown question, answers not read", q(2, 1, 1, 0), nil,
			qState{LastActivity: mins(1), Seen: localNow}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := diffFeed(feedDiff{scope: soe.MainSite(), window: testWindow, items: []soe.QuestionSummary{tt.item},
				stored: stored, answers: tt.answers, now: localNow})
			got, ok := d.states[tt.item.ID]
			if !ok {
				t.Fatalf("state not written: %+v", d.states)
			}
			if !got.LastActivity.Equal(tt.want.LastActivity) || got.AnswerCount != tt.want.AnswerCount ||
				got.IsAnswered != tt.want.IsAnswered || !slices.Equal(got.Answers, tt.want.Answers) ||
				got.Accepted != tt.want.Accepted || got.Full != tt.want.Full || !got.Seen.Equal(tt.want.Seen) {
				t.Errorf("state\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDiffFeedAnswersEvent(t *testing.T) {
	answers := []soe.AnswerSummary{a(13, 3), a(11, 1), a(12, 1), a(10, -100)}
	in := feedDiff{scope: soe.TeamScope("platform"), window: testWindow, items: []soe.QuestionSummary{q(1, -120, 3, 4)},
		stored:  map[int]qState{1: seen(q(1, -120, -90, 1), true, 0, 10)},
		answers: map[int][]soe.AnswerSummary{1: answers}, now: localNow}
	d := diffFeed(in)
	if len(d.events) != 1 {
		t.Fatalf("events %v", eventIDs(d.events))
	}
	ev := d.events[0]
	var ids []int
	for _, a := range ev.Answers {
		ids = append(ids, a.ID)
	}
	if ev.ID != "team:platform/a/1/11" || ev.Kind != EventAnswers || !slices.Equal(ids, []int{11, 12, 13}) || !ev.At.Equal(mins(3)) {
		t.Errorf("event %s %s answers %v at %v", ev.ID, ev.Kind, ids, ev.At)
	}
	if answers[0].ID != 13 {
		t.Error("diffFeed reordered its input")
	}
}

func TestWindow(t *testing.T) {
	tests := []struct {
		name      string
		st        scopeState
		wantFrom  time.Time
		fresh     []time.Time
		notFresh  []time.Time
		overlap   time.Duration
		watermark time.Time
	}{
		{name: "no watermark: everything is new", st: scopeState{Initialized: true}, overlap: 5 * time.Minute,
			fresh: []time.Time{{}, mins(-1e6), mins(0)}},
		{name: "overlap reaches behind the watermark", st: scopeState{Watermark: t0, Floor: mins(-60)}, overlap: 5 * time.Minute,
			wantFrom: mins(-5), watermark: t0, fresh: []time.Time{mins(-5), mins(-1), mins(10)}, notFresh: []time.Time{mins(-6), mins(-60)}},
		{name: "floor inside the overlap", st: scopeState{Watermark: t0, Floor: mins(-1)}, overlap: 5 * time.Minute,
			wantFrom: mins(-5), watermark: t0, fresh: []time.Time{mins(-1).Add(time.Millisecond), mins(1)}, notFresh: []time.Time{mins(-1), mins(-3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := windowOf(tt.st, tt.overlap)
			if !w.from.Equal(tt.wantFrom) || !w.watermark.Equal(tt.watermark) {
				t.Errorf("window %+v", w)
			}
			for _, at := range tt.fresh {
				if !w.fresh(at) {
					t.Errorf("%v not fresh", at)
				}
			}
			for _, at := range tt.notFresh {
				if w.fresh(at) {
					t.Errorf("%v fresh", at)
				}
			}
		})
	}
}

func TestFeedPages(t *testing.T) {
	tests := []struct {
		name     string
		from     time.Time
		pages    [][]soe.QuestionSummary
		want     []int
		wantDone []bool
		// wantCounts, when set, are the items' answer counts: which
		// listing of a question won.
		wantCounts []int
	}{
		{name: "whole feed without a watermark", from: time.Time{},
			pages: [][]soe.QuestionSummary{{q(3, 0, 3, 0), q(2, -50, -50, 0)}, {q(1, -100, -100, 0)}},
			want:  []int{3, 2, 1}, wantDone: []bool{false, false}},
		{name: "stops at activity older than from", from: mins(-5),
			pages: [][]soe.QuestionSummary{{q(3, 0, 3, 0), q(2, -5, -5, 0), q(1, -100, -6, 0), q(4, 0, 9, 0)}},
			want:  []int{3, 2}, wantDone: []bool{true}},
		{name: "a question on two pages counts once, as first listed", from: mins(-60),
			// Question 2 got an answer while the feed was paged: page 1
			// shows it bumped, page 2 (read later) still at its old place.
			pages: [][]soe.QuestionSummary{{q(2, -50, 1, 1), q(3, -10, -10, 0)}, {q(3, -10, -10, 0), q(2, -50, -50, 0), q(1, -55, -55, 0)}},
			want:  []int{2, 3, 1}, wantDone: []bool{false, false},
			wantCounts: []int{1, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFeedPages(tt.from)
			var done []bool
			for _, p := range tt.pages {
				done = append(done, f.add(p))
			}
			if got := questionIDs(f.items); !slices.Equal(got, tt.want) {
				t.Errorf("items %v, want %v", got, tt.want)
			}
			if !slices.Equal(done, tt.wantDone) {
				t.Errorf("done %v, want %v", done, tt.wantDone)
			}
			var counts []int
			for _, it := range f.items {
				counts = append(counts, it.AnswerCount)
			}
			if tt.wantCounts != nil && !slices.Equal(counts, tt.wantCounts) {
				t.Errorf("answer counts %v, want %v", counts, tt.wantCounts)
			}
		})
	}
}

func TestAnswersToFetch(t *testing.T) {
	goAnswers := Subscription{ID: "s1", Kinds: KindAnswers, Tags: []string{"go"}}
	goAccepted := Subscription{ID: "s2", Kinds: KindAccepted, Tags: []string{"GO"}}
	goQuestions := Subscription{ID: "s3", Kinds: KindQuestions, Tags: []string{"go"}}
	pyAll := Subscription{ID: "s4", Kinds: AllKinds, Tags: []string{"python"}}
	everyTag := Subscription{ID: "s5", Kinds: DefaultKinds}
	asker := map[int][]recipient{7: {{TeamID: team, UserID: "UASKER"}}}
	old := q(1, -120, -90, 1)
	stored := map[int]qState{1: seen(old, true, 0, 10)}
	tests := []struct {
		name  string
		items []soe.QuestionSummary
		in    answerInterest
		want  []int
	}{
		{"unchanged question", []soe.QuestionSummary{old}, answerInterest{subs: []Subscription{goAnswers}}, nil},
		{"no answers", []soe.QuestionSummary{q(2, 1, 1, 0)}, answerInterest{subs: []Subscription{goAnswers}}, nil},
		{"new answer count, answers wanted", []soe.QuestionSummary{q(1, -120, -90, 2)}, answerInterest{subs: []Subscription{goAnswers}}, []int{1}},
		{"bumped, acceptance wanted (tags match case-insensitively)", []soe.QuestionSummary{q(1, -120, 3, 1)}, answerInterest{subs: []Subscription{goAccepted}}, []int{1}},
		{"accepted flag changed", []soe.QuestionSummary{accepted(q(1, -120, -90, 1))}, answerInterest{subs: []Subscription{everyTag}}, []int{1}},
		{"only questions wanted", []soe.QuestionSummary{q(1, -120, 3, 2)}, answerInterest{subs: []Subscription{goQuestions}}, nil},
		{"other tags wanted", []soe.QuestionSummary{q(1, -120, 3, 2)}, answerInterest{subs: []Subscription{pyAll}}, nil},
		{"asker alert", []soe.QuestionSummary{q(1, -120, 3, 2)}, answerInterest{askers: asker}, []int{1}},
		{"asker alert of someone else", []soe.QuestionSummary{q(1, -120, 3, 2)}, answerInterest{askers: map[int][]recipient{8: asker[7]}}, nil},
		{"unknown question with answers, in feed order",
			[]soe.QuestionSummary{q(5, -300, 4, 1), q(1, -120, -90, 1), q(3, -300, 2, 3)}, answerInterest{subs: []Subscription{everyTag}}, []int{5, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := answersToFetch(tt.items, stored, tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFirstLook(t *testing.T) {
	noActivity := q(3, -20, 0, 0)
	noActivity.LastActivityDate = nil
	states, wm := firstLook([]soe.QuestionSummary{q(1, -100, 2, 1), accepted(q(2, -50, 5, 1)), noActivity}, localNow)
	if !wm.Equal(mins(5)) || len(states) != 3 {
		t.Fatalf("watermark %v, states %+v", wm, states)
	}
	if s := states[2]; !s.LastActivity.Equal(mins(5)) || s.AnswerCount != 1 || !s.IsAnswered || s.Full || !s.Seen.Equal(localNow) {
		t.Errorf("state %+v", s)
	}
	if s := states[3]; !s.LastActivity.Equal(mins(-20)) {
		t.Errorf("no lastActivityDate: %+v", s)
	}
	if _, wm := firstLook(nil, localNow); !wm.IsZero() {
		t.Errorf("empty feed: watermark %v", wm)
	}
}

// soeTruth is what SOE holds in a pure cycle: the feed pages, the answers
// of each question, and the questions gone by the time their answers are
// read.
type soeTruth struct {
	pages   [][]soe.QuestionSummary
	answers map[int][]soe.AnswerSummary
	gone    map[int]bool
}

// pureCycle is pollScope without I/O: read the feed, choose and read the
// answers, diff. It also returns the answers it read.
func pureCycle(truth soeTruth, st scopeState, stored map[int]qState, in answerInterest) (diffResult, map[int][]soe.AnswerSummary) {
	w := windowOf(st, 5*time.Minute)
	feed := newFeedPages(w.from)
	for _, p := range truth.pages {
		if feed.add(p) {
			break
		}
	}
	read := map[int][]soe.AnswerSummary{}
	for _, id := range answersToFetch(feed.items, stored, in) {
		if !truth.gone[id] {
			read[id] = truth.answers[id]
		}
	}
	return diffFeed(feedDiff{scope: soe.MainSite(), window: w, items: feed.items, stored: stored, answers: read, now: localNow}), read
}

// commit applies a diff like commitCycle does.
func commit(st scopeState, stored map[int]qState, d diffResult) (scopeState, map[int]qState) {
	next := maps.Clone(stored)
	if next == nil {
		next = map[int]qState{}
	}
	maps.Copy(next, d.states)
	if d.watermark.After(st.Watermark) {
		st.Watermark = d.watermark
	}
	return st, next
}

func TestPureCycleDuplicatesAcrossPages(t *testing.T) {
	// Question 2 is bumped (new answer) while the feed is paged: it is on
	// page 1 and, stale, on page 2. It makes one question event and one
	// answers event.
	truth := soeTruth{
		pages:   [][]soe.QuestionSummary{{q(2, 1, 3, 1), q(3, 1, 1, 0)}, {q(3, 1, 1, 0), q(2, 1, 1, 0)}},
		answers: map[int][]soe.AnswerSummary{2: {a(20, 3)}},
	}
	st := scopeState{Initialized: true, Watermark: t0, Floor: mins(-60)}
	in := answerInterest{subs: []Subscription{{Kinds: AllKinds}}}
	d, _ := pureCycle(truth, st, nil, in)
	want := []string{"main/q/2", "main/q/3", "main/a/2/20"}
	if got := eventIDs(d.events); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if s := d.states[2]; !s.LastActivity.Equal(mins(3)) || s.AnswerCount != 1 || !slices.Equal(s.Answers, []int{20}) {
		t.Errorf("question 2 state from its stale listing: %+v", s)
	}
}

func TestPureCycleTwiceIsQuiet(t *testing.T) {
	truth := soeTruth{
		pages: [][]soe.QuestionSummary{{accepted(q(1, -120, 4, 2)), q(2, 1, 3, 1)}, {q(3, -300, 2, 1), q(4, -200, -90, 3)}},
		answers: map[int][]soe.AnswerSummary{
			1: {a(10, -100), acc(a(11, 4))}, 2: {a(20, 3)}, 3: {a(30, 2)}, 4: {a(40, -150)},
		},
		gone: map[int]bool{3: true},
	}
	st := scopeState{Initialized: true, Watermark: t0, Floor: mins(-60)}
	stored := map[int]qState{1: seen(q(1, -120, -90, 1), true, 0, 10)}
	in := answerInterest{subs: []Subscription{{Kinds: AllKinds}}}
	d, read := pureCycle(truth, st, stored, in)
	want := []string{"main/q/2", "main/a/2/20", "main/a/1/11", "main/acc/1/11"}
	if got := eventIDs(d.events); !slices.Equal(got, want) {
		t.Fatalf("first cycle: events %v, want %v", got, want)
	}
	st, stored = commit(st, stored, d)
	again, _ := pureCycle(truth, st, stored, in)
	if len(again.events) != 0 || len(again.states) != 0 {
		t.Fatalf("second cycle: events %v, states %v", eventIDs(again.events), again.states)
	}
	// Even re-reading every answer read the first time finds nothing new.
	reread := diffFeed(feedDiff{scope: soe.MainSite(), window: windowOf(st, 5*time.Minute), items: truth.pages[0],
		stored: stored, answers: read, now: localNow})
	if len(reread.events) != 0 {
		t.Fatalf("re-read answers: events %v", eventIDs(reread.events))
	}
}

// fuzzBytes hands out the fuzzer's bytes (zeros once they run out).
type fuzzBytes []byte

func (b *fuzzBytes) next() int {
	if len(*b) == 0 {
		return 0
	}
	v := (*b)[0]
	*b = (*b)[1:]
	return int(v)
}

// fuzzScenario builds a scope's state, its stored questions, what SOE holds
// and who listens from the fuzzer's bytes.
func fuzzScenario(data []byte) (scopeState, map[int]qState, soeTruth, answerInterest) {
	b := fuzzBytes(data)
	wm := mins(-b.next() % 60)
	st := scopeState{Initialized: true, Watermark: wm}
	if f := b.next() % 4; f > 0 {
		st.Floor = wm.Add(-time.Duration(b.next()%120) * time.Minute)
	}
	truth := soeTruth{answers: map[int][]soe.AnswerSummary{}, gone: map[int]bool{}}
	stored := map[int]qState{}
	var items []soe.QuestionSummary
	for range 1 + b.next()%12 {
		id := 1 + b.next()%16
		if slices.ContainsFunc(items, func(x soe.QuestionSummary) bool { return x.ID == id }) {
			continue
		}
		created := -b.next() % 150
		n := b.next() % 4
		it := q(id, created, created+b.next()%150, n)
		it.Owner.ID = 1 + b.next()%3
		it.Tags[0].Name = []string{"go", "k8s", "py"}[b.next()%3]
		it.IsDeleted = b.next()%8 == 0
		var ids []int
		for k := range n {
			ans := a(id*10+k, created+b.next()%150)
			if b.next()%4 == 0 {
				ans = acc(ans)
				it.IsAnswered = true
			}
			truth.answers[id] = append(truth.answers[id], ans)
			ids = append(ids, ans.ID)
		}
		truth.gone[id] = b.next()%8 == 0
		switch b.next() % 3 {
		case 1: // stored as it is now, answers partly known
			stored[id] = seen(it, b.next()%2 == 0, 0, ids[:min(len(ids), b.next()%4)]...)
		case 2: // stored as it was before some activity
			old := q(id, created, created, b.next()%4)
			stored[id] = seen(old, b.next()%2 == 0, 0, ids[:min(len(ids), b.next()%4)]...)
		}
		items = append(items, it)
	}
	slices.SortStableFunc(items, func(x, y soe.QuestionSummary) int { return lastActivity(&y).Compare(lastActivity(&x)) })
	size := 1 + b.next()%4
	for len(items) > 0 {
		k := min(size, len(items))
		page := slices.Clone(items[:k])
		items = items[k:]
		if n := len(truth.pages); n > 0 && b.next()%2 == 0 {
			prev := truth.pages[n-1]
			page = append([]soe.QuestionSummary{prev[len(prev)-1]}, page...) // the feed shifted while paged
		}
		truth.pages = append(truth.pages, page)
	}
	in := answerInterest{askers: map[int][]recipient{}}
	if b.next()%2 == 0 {
		in.askers[1] = []recipient{{TeamID: team, UserID: "UASKER"}}
	}
	if kinds := Kind(b.next() % 8); kinds != 0 {
		sub := Subscription{Kinds: kinds}
		if b.next()%2 == 0 {
			sub.Tags = []string{"go"}
		}
		in.subs = append(in.subs, sub)
	}
	return st, stored, truth, in
}

// FuzzDiffFeedTwice checks the diff's invariants: events come oldest first,
// once each, and never repeat what was stored; the watermark never goes
// back; and a second cycle over the same feed, after the first one's
// commit, finds nothing (even when it re-reads every answer the first one
// read).
func FuzzDiffFeedTwice(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{10, 1, 30, 5, 3, 20, 2, 10, 1, 0, 7, 4, 40, 0, 2, 1, 0, 1, 1})
	f.Add([]byte(strings.Repeat("\x05\x02\x09\x11\x03\x28\x01\x00\x02\x00\x13\x04\x02\x01\x00", 12)))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, stored, truth, in := fuzzScenario(data)
		d, read := pureCycle(truth, st, stored, in)
		checkDiff(t, st, stored, d)
		st2, stored2 := commit(st, stored, d)
		again, _ := pureCycle(truth, st2, stored2, in)
		if len(again.events) != 0 || len(again.states) != 0 {
			t.Fatalf("second cycle: events %v, states %v", eventIDs(again.events), again.states)
		}
		feed := newFeedPages(windowOf(st2, 5*time.Minute).from)
		for _, p := range truth.pages {
			if feed.add(p) {
				break
			}
		}
		reread := diffFeed(feedDiff{scope: soe.MainSite(), window: windowOf(st2, 5*time.Minute), items: feed.items,
			stored: stored2, answers: read, now: localNow})
		if len(reread.events) != 0 {
			t.Fatalf("re-read answers: events %v", eventIDs(reread.events))
		}
	})
}

func checkDiff(t *testing.T, st scopeState, stored map[int]qState, d diffResult) {
	t.Helper()
	if d.watermark.Before(st.Watermark) {
		t.Fatalf("watermark went back: %v < %v", d.watermark, st.Watermark)
	}
	ids := map[string]bool{}
	for i, ev := range d.events {
		if ids[ev.ID] {
			t.Fatalf("event %s twice", ev.ID)
		}
		ids[ev.ID] = true
		if i > 0 && ev.At.Before(d.events[i-1].At) {
			t.Fatalf("events out of order: %v", eventIDs(d.events))
		}
		old, known := stored[ev.Question.ID]
		switch ev.Kind {
		case EventQuestion:
			if known {
				t.Fatalf("known question %d announced", ev.Question.ID)
			}
		case EventAnswers:
			for _, a := range ev.Answers {
				if slices.Contains(old.Answers, a.ID) {
					t.Fatalf("stored answer %d announced again", a.ID)
				}
			}
		case EventAccepted:
			if ev.Answers[0].ID == old.Accepted {
				t.Fatalf("stored acceptance of %d announced again", old.Accepted)
			}
		}
	}
}
