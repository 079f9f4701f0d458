package report

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

var t0 = time.Date(2025, 3, 31, 12, 0, 0, 0, time.UTC)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		in, tag, team string
		days          int
		problem       string
	}{
		{in: "", days: 30},
		{in: "[Go]", tag: "go", days: 30},
		{in: "go days 90 team platform", tag: "go", days: 90, team: "platform"},
		{in: "days 365", days: 365},
		{in: "go days 366", problem: "from 1 to 365"},
		{in: "go days 0", problem: "from 1 to 365"},
		{in: "go days -3", problem: "from 1 to 365"},
		{in: "go days many", problem: "from 1 to 365"},
		{in: "go days", problem: "how many days"},
		{in: "go rust", problem: "one tag at a time"},
		{in: "<!here>", problem: "characters tags cannot contain"},
		{in: "go team", problem: "team"},
	}
	for _, tt := range tests {
		tag, days, team, problem := parseArgs(router.Fields(tt.in))
		if tt.problem != "" {
			if !strings.Contains(problem, tt.problem) {
				t.Errorf("%q: problem %q, want %q", tt.in, problem, tt.problem)
			}
			continue
		}
		if problem != "" || tag != tt.tag || days != tt.days || team != tt.team {
			t.Errorf("%q: %q %d %q %q", tt.in, tag, days, team, problem)
		}
	}
}

func q(id int, age time.Duration, answers int) soe.QuestionSummary {
	return soe.QuestionSummary{ID: id, Title: fmt.Sprintf("Question %d <b>", id), WebURL: fmt.Sprintf("https://acme.example/questions/%d", id),
		CreationDate: t0.Add(-age), AnswerCount: answers}
}

func TestComputeStats(t *testing.T) {
	day := 24 * time.Hour
	qs := []soe.QuestionSummary{q(1, 20*day, 0), q(2, 19*day, 2), q(3, 10*day, 1), q(4, 9*day, 0), q(5, 2*day, 1),
		q(6, 1*day, 0), q(7, 25*day, 0), q(8, 26*day, 0), q(9, 27*day, 0), q(10, 28*day, 0)}
	first := map[int]time.Time{2: t0.Add(-19*day + 2*time.Hour), 3: t0.Add(-10*day + 6*time.Hour), 5: t0.Add(-2*day + 4*time.Hour)}
	st := computeStats(qs, 1, first, t0.Add(-30*day), t0)
	if st.Asked != 10 || st.Answered != 3 || st.Accepted != 1 {
		t.Errorf("counts %d %d %d", st.Asked, st.Answered, st.Accepted)
	}
	if st.MedianFirstAnswer != 4*time.Hour || st.FirstAnswerSample != 3 {
		t.Errorf("median %v over %d", st.MedianFirstAnswer, st.FirstAnswerSample)
	}
	var ids []int
	for _, o := range st.Oldest {
		ids = append(ids, o.ID)
	}
	if fmt.Sprint(ids) != "[10 9 8 7 1]" {
		t.Errorf("oldest unanswered %v", ids)
	}
	if len(st.Weeks) != 5 {
		t.Fatalf("%d weeks for 30 days", len(st.Weeks))
	}
	asked, answered := 0, 0
	for _, w := range st.Weeks {
		asked, answered = asked+w.Asked, answered+w.Answered
	}
	if asked != 10 || answered != 3 || st.Weeks[4].Asked != 2 || st.Weeks[4].Answered != 1 {
		t.Errorf("weeks %+v", st.Weeks)
	}
	if m := median([]time.Duration{4, 1, 3, 2}); m != 2 {
		t.Errorf("even median %v", m)
	}
	if s := sampleAnswered(qs, 2); len(s) != 2 || s[0].ID != 2 || s[1].ID != 3 {
		t.Errorf("sample %v", s)
	}
}

func TestChartPNG(t *testing.T) {
	st := computeStats([]soe.QuestionSummary{q(1, 3*24*time.Hour, 1), q(2, 10*24*time.Hour, 0), q(3, 11*24*time.Hour, 2)}, 0, nil, t0.Add(-30*24*time.Hour), t0)
	b, err := chartPNG("kubernetes", st.Weeks)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 768 || r.Dy() != 384 {
		t.Errorf("chart is %v", r)
	}
	orange := false
	for y := 0; y < img.Bounds().Dy() && !orange; y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			if r, g, bl, _ := img.At(x, y).RGBA(); r>>8 == 0xf4 && g>>8 == 0x80 && bl>>8 == 0x24 {
				orange = true
				break
			}
		}
	}
	if !orange {
		t.Error("no 'asked' bar drawn")
	}
	if p := os.Getenv("REPORT_CHART_OUT"); p != "" { // look at it: REPORT_CHART_OUT=/tmp/c.png go test -run TestChartPNG
		_ = os.WriteFile(p, b, 0o600)
	}
	_ = image.Rect
}

func TestRenderGolden(t *testing.T) {
	day := 24 * time.Hour
	two := 4
	zero := 0
	tag := &soe.TagSummary{ID: 1, Name: "kubernetes", WebURL: "https://acme.example/questions/tagged/kubernetes", WatcherCount: 4, SubjectMatterExpertCount: &two}
	qs := []soe.QuestionSummary{q(1, 20*day, 0), q(2, 19*day, 2), q(3, 10*day, 1), q(4, 9*day, 0)}
	st := computeStats(qs, 1, map[int]time.Time{2: t0.Add(-19*day + 3*time.Hour)}, t0.Add(-30*day), t0)
	full := &tagReport{Typed: "kubernetes", Scope: soe.MainSite(), Days: 30, Tag: tag,
		Users: []people.Person{{ID: 1, Name: "Alice"}, {ID: 2, Name: "Bob"}}, Groups: []people.Group{{ID: 1, Name: "Platform <!here> Team", Members: []people.Person{{ID: 3}, {ID: 4}}}},
		People: 4, Stats: st, Channels: []string{"CGENERAL", "COPS"}}
	golden.Message(t, "report_tag", renderTag(full, "/soe"))
	bare := &tagReport{Typed: "terraform", Scope: soe.TeamScope("platform"), Days: 7,
		Tag:   &soe.TagSummary{ID: 2, Name: "terraform", SubjectMatterExpertCount: &zero},
		Stats: computeStats(nil, 0, nil, t0.Add(-7*day), t0)}
	golden.Message(t, "report_tag_empty", renderTag(bare, "/soe"))
	off := *bare
	off.SMEDisabled = true
	golden.Message(t, "report_tag_smes_off", renderTag(&off, "/soe"))
	golden.Message(t, "report_no_tag", renderTag(&tagReport{Typed: "kuberntes", Scope: soe.MainSite(), Suggestions: []string{"kubernetes"}}, "/soe"))
	top := &topReport{Scope: soe.MainSite(), Days: 30, Asked: 12, Tags: []topTag{
		{Tag: soe.TagSummary{Name: "terraform", SubjectMatterExpertCount: &zero}, Unanswered: 3},
		{Tag: soe.TagSummary{Name: "kubernetes", SubjectMatterExpertCount: &two}, Unanswered: 1},
		{Tag: soe.TagSummary{Name: "legacy"}, Unanswered: 1},
	}}
	golden.Message(t, "report_top", renderTop(top, "/soe"))
	golden.Message(t, "report_top_none", renderTop(&topReport{Scope: soe.MainSite(), Days: 30, Asked: 4}, "/soe"))
	golden.Message(t, "report_usage", New(Config{}, Deps{}).usage("days must be a number from 1 to 365"))
}

// TestReportCallsAreBounded counts what one report costs on SOE for a tag
// with 500 questions in the window (docs/benchmarks.md).
func TestReportCallsAreBounded(t *testing.T) {
	var mu sync.Mutex
	now := t0.Add(-40 * 24 * time.Hour)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	fake := soefake.New(soefake.Options{Seed: true, Now: clock})
	defer fake.Close()
	main := soe.MainSite()
	for i := range 500 {
		mu.Lock()
		now = t0.Add(-30*24*time.Hour + time.Duration(i)*80*time.Minute)
		mu.Unlock()
		id := fake.AddQuestion(main, 1, fmt.Sprintf("Question number %d about the load balancer", i), "Body of the question.", "loadtest")
		if i%3 == 0 {
			fake.AddAnswer(main, id, 2, "An answer.")
		}
	}
	mu.Lock()
	now = t0
	mu.Unlock()
	fake.SetTagSMEs(main, "loadtest", []int{5}, []int{1})
	c := soe.NewService(soe.Config{APIURL: fake.APIURL()}).Client(main, fake.MintToken(1))
	f := New(Config{}, Deps{People: people.New(people.Config{}, nil, nil), Now: func() time.Time { return t0 }})
	before := len(fake.Requests())
	r, err := f.gatherTag(context.Background(), "T1", c, "loadtest", 30)
	if err != nil {
		t.Fatal(err)
	}
	calls := len(fake.Requests()) - before
	if r.Stats.Asked != 500 || r.Stats.Answered != 167 || r.Stats.FirstAnswerSample != maxFirstAnswers {
		t.Errorf("figures: %+v", r.Stats)
	}
	// tag by name (1–2) + SMEs (1) + 5 pages of 100 + accepted (1) + 20 first answers
	want := 2 + 1 + 5 + 1 + maxFirstAnswers
	t.Logf("a report on a tag with 500 questions in the window cost %d SOE calls", calls)
	if calls > want {
		t.Errorf("%d SOE calls, want at most %d", calls, want)
	}
	// The bound holds whatever the window holds.
	if most := 3 + 1 + maxQuestionPages + 1 + maxFirstAnswers; most != 35 {
		t.Errorf("documented bound changed: %d", most)
	}
}
