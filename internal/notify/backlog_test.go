package notify

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/soe"
)

// TestCrashRestartFoldDeliversEachEventExactlyOnce is the crash property
// with a tiny backlog limit: deliveries are folded while crashes happen;
// each is posted once or carried by a fold posted once.
func TestCrashRestartFoldDeliversEachEventExactlyOnce(t *testing.T) {
	if seed := fixedCrashSeed(t); seed != 0 {
		crashPropertyMode(t, seed, propFold)
		return
	}
	iterations := 8
	if testing.Short() {
		iterations = 3
	}
	for it := range iterations {
		seed := uint64(time.Now().UnixNano()) + uint64(it)
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			crashPropertyMode(t, seed, propFold)
		})
	}
}

// checkFolded: a folded delivery was never posted itself, and the fold
// that carries it was posted once and lists its event.
func checkFolded(t *testing.T, e *env, d Delivery, posted map[string]int) {
	t.Helper()
	if posted[d.ID] != 0 {
		t.Errorf("folded delivery %s was posted too", d.ID)
	}
	if posted[d.FoldedInto] != 1 {
		t.Errorf("fold %s of %s posted %d times", d.FoldedInto, d.ID, posted[d.FoldedInto])
	}
	ctx := context.Background()
	ev, err := e.svc.event(ctx, d.EventID)
	if err != nil || ev == nil {
		t.Fatalf("event of %s: %v", d.ID, err)
	}
	_, foldEvent, _ := strings.Cut(d.FoldedInto, "|")
	fold, err := e.svc.event(ctx, foldEvent)
	if err != nil || fold == nil || fold.Fold == nil {
		t.Fatalf("fold event %s: %v", foldEvent, err)
	}
	for _, it := range fold.Fold.Items {
		if it.Kind == ev.Kind && it.Question.ID == ev.Question.ID {
			return
		}
	}
	t.Errorf("fold %s does not list %s", d.FoldedInto, d.ID)
}

func TestBacklogFoldsAChannelThatFellBehind(t *testing.T) {
	e := newEnv(t)
	e.subscribe("alice", chGeneral, mainSite, DefaultKinds, "go")
	e.subscribe("alice", chOps, mainSite, DefaultKinds, "kubernetes")
	e.cycle()
	tick()
	const n = 70
	for i := range n {
		e.question(mainSite, "judy", fmt.Sprintf("Go question %02d", i), "go")
	}
	for i := range 3 {
		e.question(mainSite, "judy", fmt.Sprintf("Kubernetes question %d", i), "kubernetes")
	}
	st := e.cycle()
	if st.Delivered.Posted != 1+3 {
		t.Fatalf("posted %d, want the fold and 3 cards in ops", st.Delivered.Posted)
	}
	ps := e.posts(chGeneral)
	if len(ps) != 1 {
		t.Fatalf("want one fold message:%s", flat(ps))
	}
	txt := ps[0].Flat()
	for _, want := range []string{"70 new questions", "`go`", "Go question 00", "Go question 14", "and 55 more", "/search?tab=newest&q=%5Bgo%5D"} {
		if !strings.Contains(txt, want) {
			t.Errorf("fold lacks %q:\n%s", want, txt)
		}
	}
	if strings.Contains(txt, "Go question 15") {
		t.Errorf("fold lists more than %d items", maxFoldItems)
	}
	if len(e.posts(chOps)) != 3 {
		t.Fatalf("a channel that did not fall behind is not folded:%s", flat(e.posts(chOps)))
	}
	// Nothing shown twice: later cycles post nothing more.
	e.cycle()
	if len(e.posts(chGeneral)) != 1 {
		t.Fatalf("repeated:%s", flat(e.posts(chGeneral)))
	}
	ds, _ := e.svc.Deliveries(context.Background())
	folded := 0
	for _, d := range ds {
		if d.FoldedInto != "" {
			folded++
		}
		if d.Status != StatusDone {
			t.Errorf("%s is %s", d.ID, d.Status)
		}
	}
	if folded != n {
		t.Fatalf("%d folded, want %d", folded, n)
	}
}

func TestFoldGolden(t *testing.T) {
	since := time.Date(2026, 11, 28, 10, 4, 0, 0, time.UTC)
	var items []FoldItem
	for i := range 20 {
		q := *fixtureQuestion()
		q.ID, q.URL = 173+i, fmt.Sprintf("https://acme.example/questions/%d/q", 173+i)
		it := FoldItem{Kind: EventAnswers, Question: q, Answers: fixtureAnswers(1 + i%5)}
		if i%4 == 0 {
			it = FoldItem{Kind: EventQuestion, Question: q}
		}
		if i == 3 {
			it = FoldItem{Kind: EventAccepted, Question: q, Answers: fixtureAnswers(1)}
		}
		items = append(items, it)
	}
	ev := &Event{ID: "fold/x", Kind: EventFold, Scope: soe.MainSite(), Fold: &Fold{Items: items, Tags: []string{"go", "kubernetes"}, Since: since, SiteURL: "https://acme.example"}}
	m := Render(ev, "channel", "/soe")
	golden(t, "notify_fold", m)
	if len(m.Blocks) > 50 {
		t.Fatalf("%d blocks", len(m.Blocks))
	}
	small := &Event{ID: "fold/y", Kind: EventFold, Fold: &Fold{Items: items[1:4], Tags: []string{"*"}, Since: since}}
	golden(t, "notify_fold_small", Render(small, "channel", "/soe"))
}

func TestFoldSummary(t *testing.T) {
	for _, c := range []struct {
		kinds []EventKind
		want  string
	}{
		{[]EventKind{EventAnswers}, "1 new answer"},
		{[]EventKind{EventQuestion, EventQuestion}, "2 new questions"},
		{[]EventKind{EventQuestion, EventAnswers, EventAccepted}, "1 new question, 1 new answer and 1 accepted answer"},
		{[]EventKind{EventAnswers, EventAccepted, EventAccepted}, "1 new answer and 2 accepted answers"},
	} {
		var items []FoldItem
		for _, k := range c.kinds {
			items = append(items, FoldItem{Kind: k})
		}
		if got := foldSummary(items); got != c.want {
			t.Errorf("%v: %q, want %q", c.kinds, got, c.want)
		}
	}
}
