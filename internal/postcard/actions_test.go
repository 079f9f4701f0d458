package postcard

import (
	"testing"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/soe"
)

func TestParseRef(t *testing.T) {
	team := Ref{Scope: soe.TeamScope("platform"), QuestionID: 12, AnswerID: 34}
	for _, tc := range []struct {
		in   string
		want Ref
		ok   bool
	}{
		{"main 12 0", Ref{Scope: soe.MainSite(), QuestionID: 12}, true},
		{team.Value(), team, true},
		{"main 0 0", Ref{}, false},
		{"main 12 -1", Ref{}, false},
		{"main 12", Ref{}, false},
		{"elsewhere 12 0", Ref{}, false},
		{"team:a/b 12 0", Ref{}, false},
		{"main x 0", Ref{}, false},
		{"", Ref{}, false},
	} {
		got, ok := ParseRef(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseRef(f *testing.F) {
	f.Add("main 12 0")
	f.Add("team:platform 12 34")
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := ParseRef(s)
		if !ok {
			return
		}
		if again, ok2 := ParseRef(r.Value()); !ok2 || again != r {
			t.Fatalf("%q → %+v → %q does not round-trip", s, r, r.Value())
		}
	})
}

func score(n int) *int { return &n }

// TestActionRowGolden pins the rows as Slack receives them.
func TestActionRowGolden(t *testing.T) {
	q := Ref{Scope: soe.MainSite(), QuestionID: 12}
	a := Ref{Scope: soe.TeamScope("platform"), QuestionID: 12, AnswerID: 34}
	for name, b := range map[string]slack.Block{
		"row_question":        ActionRow(q, State{}),
		"row_question_scored": ActionRow(q, State{Score: score(3)}),
		"row_answer":          ActionRow(a, State{}),
		"row_answer_accepted": ActionRow(a, State{Score: score(-1), Accepted: true}),
	} {
		golden.JSON(t, name, b)
	}
}

func TestRefresh(t *testing.T) {
	main := soe.MainSite()
	a1 := Ref{Scope: main, QuestionID: 12, AnswerID: 34}
	a2 := Ref{Scope: main, QuestionID: 12, AnswerID: 35}
	other := Ref{Scope: main, QuestionID: 99, AnswerID: 36}
	card := []slack.Block{
		blockkit.Section("answer 34"), ActionRow(a1, State{Score: score(2)}),
		blockkit.Section("answer 35"), ActionRow(a2, State{Score: score(5), Accepted: true}),
		ActionRow(other, State{Accepted: true}),
		blockkit.Actions("notify_q", blockkit.LinkButton("notify_open:12", "Answer on Stack Overflow", "https://acme.example/q/12")),
	}
	out, ok := Refresh(card, a1, State{Score: score(3), Accepted: true})
	if !ok || len(out) != len(card) {
		t.Fatalf("Refresh = %d blocks, %v", len(out), ok)
	}
	if st := rowState(out[1].(*slack.ActionBlock)); *st.Score != 3 || !st.Accepted {
		t.Errorf("clicked row = %+v", st)
	}
	if st := rowState(out[3].(*slack.ActionBlock)); st.Score == nil || *st.Score != 5 || st.Accepted {
		t.Errorf("the other answer keeps its score and loses ✓: %+v", st)
	}
	if st := rowState(out[4].(*slack.ActionBlock)); !st.Accepted {
		t.Error("another question's answer lost its ✓")
	}
	if out[0] != card[0] || out[5] != card[5] {
		t.Error("other blocks changed")
	}
	if _, ok := Refresh(card, Ref{Scope: main, QuestionID: 12}, State{Score: score(1)}); ok {
		t.Error("a card without the question's row was refreshed")
	}
}
