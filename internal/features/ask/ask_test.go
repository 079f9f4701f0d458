package ask

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	goldenpkg "github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/soe"
)

func goldenView(t *testing.T, name string, v slack.ModalViewRequest) {
	t.Helper()
	goldenpkg.JSON(t, name, v)
}

var hostileQuestion = &soe.Question{QuestionSummary: soe.QuestionSummary{
	ID: 4242, Title: "Why does <!channel> ping & <@U999> appear?", WebURL: "https://acme.example/questions/4242/why",
	Body: "<p>It happens when I post <code>&lt;!here&gt;</code> in <b>Slack</b>.</p>",
	Tags: []soe.TagSummary{{Name: "slack"}, {Name: "go"}},
}}

func TestAskViewsGolden(t *testing.T) {
	goldenView(t, "ask_modal_empty", formView(askForm{
		Draft: askDraft{Scope: "main"},
		Meta:  askMeta{Channel: "CGENERAL", Response: "https://hooks.example/r/1", Scopes: []string{"main"}},
	}))
	goldenView(t, "ask_modal_prefilled_message", formView(askForm{
		Draft: askDraft{
			Title: "Deploys fail for @carol with exit 1", Body: "**Deploys** fail for @carol with `exit 1`\n\n*Asked from a [Slack message](https://acme.slack.com/archives/C1/p1) by @bob (a thread with 2 replies).*",
			Tags: []string{"kubernetes"}, Scope: "team:platform", Notify: true,
		},
		Meta: askMeta{Channel: "CGENERAL", Scopes: []string{"main", "team:platform"}, Draft: "k", Tail: 1234},
		Note: "Prefilled from a thread started by bob (2 replies). Edit anything before posting.",
	}))
	goldenView(t, "ask_modal_soe_refused", formView(askForm{
		Draft: askDraft{Title: "Which Helm version <!channel>?", Body: "body", Tags: []string{"helm-v4"}, Scope: "main"},
		Meta:  askMeta{Scopes: []string{"main"}},
		Error: ":warning: Stack Overflow did not accept the question; see the notes under the fields below. Nothing was posted.",
		FieldErrors: map[string][]string{
			"title": {"Title must not look like <!channel> spam."},
			"tags":  {"Only moderators can create the tag 'helm-v4'.", "Second <@U1> problem."},
		},
	}))
	goldenView(t, "ask_modal_similar", formView(askForm{
		Draft: askDraft{Title: "How do I restart a kubernetes deployment", Scope: "main"},
		Meta:  askMeta{Channel: "CGENERAL", Scopes: []string{"main"}},
		Similar: []similarQuestion{
			{Title: "How do I restart a Kubernetes deployment without downtime?", URL: "https://acme.example/questions/1/how", Answers: 2, Accepted: true},
			{Title: "Why does <!channel> &amp; <@U999> restart?", URL: "https://acme.example/questions/7/why", Answers: 0},
			{Title: "Found by its answer", URL: "https://acme.example/questions/9/one/10#10", Answers: -1, Accepted: true},
		},
	}))
	goldenView(t, "save_modal", formView(askForm{
		Draft: askDraft{Title: "How do I restart our deployment safely?", Body: "We tried it.\n\n*Asked in [Slack](https://acme.slack.com/archives/C1/p1) by @bob (a thread with 2 replies).*",
			Tags: []string{"kubernetes", "kubectl"}, Scope: "main", Reply: "2.2"},
		Meta:        askMeta{Channel: "CGENERAL", Scopes: []string{"main"}, Thread: "1.1"},
		Note:        "Saving a thread started by bob (2 replies). Edit anything before saving.",
		Replies:     []replyChoice{{TS: "2.2", Label: "carol: Use kubectl rollout restart <!channel>"}, {TS: "3.3", Label: "dave: thanks"}},
		FieldErrors: map[string][]string{"reply": {"That reply is no longer in the thread."}},
	}))
	goldenView(t, "save_answer_edit", savedEditView("Use `kubectl rollout restart`.", `{"q":1}`))
	goldenView(t, "ask_modal_posting", postingView(askDraft{Title: "Why <!channel>?", Scope: "team:platform"}, askMeta{Scopes: []string{"main", "team:platform"}}))
	goldenView(t, "ask_modal_posted", postedView(soe.MainSite(), hostileQuestion, askMeta{}))
	goldenView(t, "ask_modal_loading", loadingView(askMeta{Channel: "C1"}))
}

func TestAskMessagesGolden(t *testing.T) {
	golden(t, "ask_confirmation", confirmation(soe.MainSite(), hostileQuestion, askMeta{Channel: "CGENERAL"}, []string{"UCAROL", "UJUDY"}, ""))
	golden(t, "ask_confirmation_dm_nobody", confirmation(soe.TeamScope("platform"), hostileQuestion, askMeta{},
		nil, "These tags have no subject-matter experts (other than you), so I notified nobody."))
	golden(t, "ask_shared", sharedCard(soe.MainSite(), hostileQuestion, "UALICE"))
	golden(t, "save_thread_card", threadCard(soe.MainSite(), hostileQuestion, "UALICE", "", true))
	golden(t, "save_thread_card_answered", threadCard(soe.TeamScope("platform"), hostileQuestion, "UALICE", "UCAROL", true))
	golden(t, "save_answer_dm", savedAnswerDM("UALICE", hostileQuestion, `{"s":"main","q":4242}`))
	golden(t, "ask_expert_dm", expertDM("UALICE", soe.MainSite(), hostileQuestion, []string{"kubernetes"}))
	golden(t, "ask_expert_dm_tags", expertDM("UALICE", soe.MainSite(), hostileQuestion, []string{"kubernetes", "oncall", "go"}))
	lost := lostDraftMessages(askDraft{Title: "Title <!channel>", Tags: []string{"go"}}, "```code``` & <@U1>", ":warning: Stack Overflow did not answer.")
	if len(lost) != 2 {
		t.Fatalf("%d messages for a short draft", len(lost))
	}
	golden(t, "ask_lost_draft", lost[0])
	golden(t, "ask_lost_draft_body", lost[1])
	long := lostDraftMessages(askDraft{Title: "T"}, strings.Repeat("é", 30000), "x")
	var got []rune
	for _, m := range long[1:] {
		if len(m.Blocks) > 4 {
			t.Fatalf("%d blocks in one message", len(m.Blocks))
		}
		for _, b := range m.Blocks {
			txt := b.(*slack.SectionBlock).Text.Text
			got = append(got, []rune(strings.TrimSuffix(strings.TrimPrefix(txt, "```"), "```"))...)
		}
	}
	if len(got) != 30000 {
		t.Fatalf("the long body came back with %d characters", len(got))
	}
}

func TestAskMessagesEscapeSOEContent(t *testing.T) {
	for name, m := range map[string]any{
		"confirmation": confirmation(soe.MainSite(), hostileQuestion, askMeta{Channel: "C1"}, nil, ""),
		"shared":       sharedCard(soe.MainSite(), hostileQuestion, "UALICE"),
		"dm":           expertDM("UALICE", soe.MainSite(), hostileQuestion, []string{"go"}),
		"posted":       postedView(soe.MainSite(), hostileQuestion, askMeta{}),
		"form": formView(askForm{Draft: askDraft{Title: "<!channel>"}, Error: "x",
			FieldErrors: map[string][]string{"title": {"<!channel> <@U999>"}}}),
	} {
		js := string(mustJSON(t, m))
		for _, bad := range []string{"<!channel>", "<@U999>", "<!here>"} {
			if strings.Contains(js, bad) {
				if name == "form" && strings.Contains(js, `"initial_value":"\u003c!channel\u003e"`) {
					continue // plain_text input value: not mrkdwn
				}
				t.Errorf("%s contains live %s: %s", name, bad, js)
			}
		}
	}
}

func submission(meta askMeta, values map[string]map[string]slack.BlockAction) *slack.View {
	return &slack.View{ID: "V1", PrivateMetadata: meta.encode(), State: &slack.ViewState{Values: values}}
}

func askState(title, body string, tags []string, where string, notify bool) map[string]map[string]slack.BlockAction {
	var opts []slack.OptionBlockObject
	for _, t := range tags {
		opts = append(opts, slack.OptionBlockObject{Value: t})
	}
	s := map[string]map[string]slack.BlockAction{
		askBlockTitle: {askActionTitle: {Value: title}},
		askBlockBody:  {askActionBody: {Value: body}},
		askBlockTags:  {actionAskTags: {SelectedOptions: opts}},
	}
	if where != "" {
		s[askBlockWhere] = map[string]slack.BlockAction{askActionWhere: {SelectedOption: slack.OptionBlockObject{Value: where}}}
	}
	if notify {
		s[askBlockNotify] = map[string]slack.BlockAction{askActionNotify: {SelectedOptions: []slack.OptionBlockObject{{Value: askNotifyValue}}}}
	}
	return s
}

func TestParseSubmission(t *testing.T) {
	main := askMeta{Scopes: []string{"main"}}
	teams := askMeta{Scopes: []string{"main", "team:platform"}}
	good := "How do I roll back a Helm release?"
	tests := []struct {
		name     string
		meta     askMeta
		state    map[string]map[string]slack.BlockAction
		want     askDraft
		problems []string // block ids
		contains string
	}{
		{name: "valid", meta: main, state: askState(good, "body", []string{"Kubernetes", "[helm]", "kubernetes"}, "", true),
			want: askDraft{Title: good, Body: "body", Tags: []string{"kubernetes", "helm"}, Scope: "main", Notify: true}},
		{name: "team", meta: teams, state: askState(good, "body", []string{"go"}, "team:platform", false),
			want: askDraft{Title: good, Body: "body", Tags: []string{"go"}, Scope: "team:platform"}},
		{name: "short title", meta: main, state: askState("  Too short  ", "b", []string{"go"}, "", false),
			problems: []string{askBlockTitle}, contains: "it has 9"},
		{name: "long title", meta: main, state: askState(strings.Repeat("é", 151), "b", []string{"go"}, "", false),
			problems: []string{askBlockTitle}, contains: "at most 150"},
		{name: "empty everything", meta: main, state: askState("", " \n", nil, "", false),
			problems: []string{askBlockBody, askBlockTags, askBlockTitle}},
		{name: "six tags", meta: main, state: askState(good, "b", []string{"a", "b", "c", "d", "e", "f"}, "", false),
			problems: []string{askBlockTags}, contains: "at most 5"},
		{name: "bad tag", meta: main, state: askState(good, "b", []string{"c_sharp"}, "", false),
			problems: []string{askBlockTags}, contains: "c_sharp"},
		{name: "long tag", meta: main, state: askState(good, "b", []string{strings.Repeat("t", 36)}, "", false),
			problems: []string{askBlockTags}, contains: "longer than 35"},
		{name: "scope not offered", meta: teams, state: askState(good, "b", []string{"go"}, "team:security", false),
			problems: []string{askBlockWhere}},
		{name: "body too long with tail", meta: askMeta{Scopes: []string{"main"}, Draft: "kept", Tail: 100}, state: askState(good, strings.Repeat("b", 29950), []string{"go"}, "", false),
			problems: []string{askBlockBody}, contains: "30000"},
		{name: "empty box but tail", meta: askMeta{Scopes: []string{"main"}, Draft: "kept", Tail: 100}, state: askState(good, "", []string{"go"}, "", false),
			want: askDraft{Title: good, Tags: []string{"go"}, Scope: "main"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, problems := parseSubmission(submission(tt.meta, tt.state))
			var keys []string
			for k := range problems {
				keys = append(keys, k)
			}
			sortStrings(keys)
			if len(tt.problems) == 0 {
				if len(problems) > 0 {
					t.Fatalf("problems %q", problems)
				}
				if !reflect.DeepEqual(d, tt.want) {
					t.Fatalf("draft = %+v, want %+v", d, tt.want)
				}
				return
			}
			if !reflect.DeepEqual(keys, tt.problems) {
				t.Fatalf("problems in %q (%q), want %q", keys, problems, tt.problems)
			}
			if tt.contains != "" && !strings.Contains(problems[tt.problems[0]], tt.contains) {
				t.Errorf("problem %q lacks %q", problems[tt.problems[0]], tt.contains)
			}
		})
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestProblemFields(t *testing.T) {
	tests := []struct {
		pe      soe.ProblemError
		fields  map[string][]string
		general []string
	}{
		{pe: soe.ProblemError{Status: 400, Errors: map[string][]string{"Title": {"t1"}, "$.body": {"b1"}, "Tags[2]": {"g1"}, "request.tagNames": {"g2"}}},
			fields: map[string][]string{"title": {"t1"}, "body": {"b1"}, "tags": {"g1", "g2"}}},
		{pe: soe.ProblemError{Status: 400, Errors: map[string][]string{"$": {"bad json"}, "Title": nil}},
			fields: map[string][]string{"title": {"Title is not valid."}}, general: []string{"bad json"}},
		{pe: soe.ProblemError{Status: 400, Title: "Question not created", Detail: "A question with that title already exists; please be more specific."},
			fields: map[string][]string{"title": {"A question with that title already exists; please be more specific."}}},
		{pe: soe.ProblemError{Status: 400, Detail: "Tag 'x' requires 1500 reputation to create."},
			fields: map[string][]string{"tags": {"Tag 'x' requires 1500 reputation to create."}}},
		{pe: soe.ProblemError{Status: 400, Detail: "Something else."}, general: []string{"Something else."}},
		{pe: soe.ProblemError{Status: 400}},
	}
	for _, tt := range tests {
		fields, general := problemFields(&tt.pe)
		if !reflect.DeepEqual(fields, tt.fields) || !reflect.DeepEqual(general, tt.general) {
			t.Errorf("problemFields(%+v) = %q %q, want %q %q", tt.pe, fields, general, tt.fields, tt.general)
		}
	}
}

func TestSplitBody(t *testing.T) {
	short := "fits"
	if box, tail := splitBody(short, 2900); box != short || tail != "" {
		t.Fatalf("short: %q %q", box, tail)
	}
	var lines []string
	for range 100 {
		lines = append(lines, strings.Repeat("a", 59))
	}
	long := strings.Join(lines, "\n")
	box, tail := splitBody(long, 2900)
	if box+tail != long || !strings.HasPrefix(tail, "\n") || len(box) > 2900 || len(box) < 2800 {
		t.Fatalf("lines: box %d, tail %q…", len(box), tail[:5])
	}
	emoji := strings.Repeat("😀", 2000) // 2 UTF-16 units each
	box, tail = splitBody(emoji, 2900)
	if box+tail != emoji || len(utf16.Encode([]rune(box))) > 2900 {
		t.Fatalf("emoji: box has %d units", len(utf16.Encode([]rune(box))))
	}
}

// A submission whose server-side end is gone (its form was open longer than
// drafts are kept) puts the form back saying so, and posts nothing.
func TestSubmitWithLostTailPutsFormBack(t *testing.T) {
	sl := &viewSlack{}
	a := New(Config{}, Deps{Slack: sl})
	p := &posting{env: &chat.Envelope{UserID: "U1"}, viewID: "V1", meta: askMeta{Scopes: []string{"main"}, Draft: "gone", Tail: 100},
		d: askDraft{Title: "How do I roll back a Helm release?", Body: "b"}}
	if a.loadTail(context.Background(), p) {
		t.Fatal("a lost tail was not noticed")
	}
	if len(sl.updates) != 1 || !strings.Contains(flatten(sl.updates[0]), "no longer available") {
		t.Fatalf("form put back = %d updates: %v", len(sl.updates), sl.updates)
	}
	// A tail that is there is added to the body.
	if err := a.tails.Put(context.Background(), "kept", " and the end"); err != nil {
		t.Fatal(err)
	}
	p.meta.Draft = "kept"
	if !a.loadTail(context.Background(), p) || a.body(p) != "b and the end" {
		t.Fatalf("body = %q", a.body(p))
	}
}

// viewSlack records views.update (the rest of Slack is not used).
type viewSlack struct {
	Slack
	updates []slack.ModalViewRequest
}

func (s *viewSlack) UpdateView(_ context.Context, _, _ string, v slack.ModalViewRequest) (*slack.View, error) {
	s.updates = append(s.updates, v)
	return &slack.View{}, nil
}

func flatten(v slack.ModalViewRequest) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestAskMetaFitsPrivateMetadata(t *testing.T) {
	m := askMeta{Channel: "C0123456789", Response: "https://hooks.slack.com/commands/T0123/1234567890123/" + strings.Repeat("x", 24),
		Scopes: make([]string, 0, 50), Draft: newDraftKey(), Tail: 27000}
	for i := range 50 {
		m.Scopes = append(m.Scopes, "team:"+strings.Repeat("s", 40)+string(rune('a'+i%26)))
	}
	if n := len(m.encode()); n > 3000 {
		t.Fatalf("private_metadata is %d characters", n)
	}
	back, ok := decodeAskMeta(m.encode())
	if !ok || !reflect.DeepEqual(back, m) {
		t.Fatal("metadata does not round-trip")
	}
}

func TestSearchTerms(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"How do I restart a Kubernetes deployment?", "restart kubernetes deployment"},
		{"Why does my Go service leak goroutines when the HTTP client times out?", "go service leak goroutines http client times out"},
		{"C# vs. C++: which is faster?", "c# vs c++ faster"},
		{"how do i", ""},
		{"<!channel> node.js crash", "channel node.js crash"},
	} {
		if got := searchTerms(tc.in); got != tc.want {
			t.Errorf("searchTerms(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSimilarFromKeepsQuestionsOnce(t *testing.T) {
	got := similarFrom([]soe.SearchResult{
		{Type: soe.ResultQuestion, ID: 1, Title: "Q1", WebURL: "https://x/q/1", AnswerCount: 2, HasAcceptedAnswer: true},
		{Type: soe.ResultAnswer, ID: 11, ParentQuestionID: 1, Title: "Q1", WebURL: "https://x/q/1#11"},
		{Type: soe.ResultArticle, ID: 5, Title: "A", WebURL: "https://x/a/5"},
		{Type: soe.ResultAnswer, ID: 12, ParentQuestionID: 2, Title: "Q2", WebURL: "https://x/q/2#12", IsAccepted: true},
		{Type: soe.ResultQuestion, ID: 3, Title: "Q3", WebURL: "https://x/q/3"},
		{Type: soe.ResultQuestion, ID: 4, Title: "Q4", WebURL: "https://x/q/4"},
	})
	want := []similarQuestion{
		{Title: "Q1", URL: "https://x/q/1", Answers: 2, Accepted: true},
		{Title: "Q3", URL: "https://x/q/3"},
		{Title: "Q4", URL: "https://x/q/4"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("similarFrom = %+v", got)
	}
}

func TestDebouncerLetsTheLastCallThrough(t *testing.T) {
	b := newDebouncer()
	ctx := t.Context()
	results := make(chan bool, 3)
	for range 3 {
		go func() { _, ok := b.wait(ctx, "V1", 50*time.Millisecond); results <- ok }()
		time.Sleep(10 * time.Millisecond)
	}
	passed := 0
	for range 3 {
		if <-results {
			passed++
		}
	}
	if passed != 1 {
		t.Fatalf("%d calls passed, want 1", passed)
	}
	gen, ok := b.wait(ctx, "V1", time.Millisecond)
	if !ok || !b.current("V1", gen) {
		t.Fatal("a lone call must pass and stay current")
	}
	b.done("V1", gen)
	if len(b.last) != 0 || len(b.wake) != 0 {
		t.Fatal("done must forget the key")
	}
}

func TestFormFromViewKeepsWhatWasTyped(t *testing.T) {
	f := askForm{Draft: askDraft{Title: "Old title here", Body: "b", Tags: []string{"go"}, Scope: "main"},
		Meta: askMeta{Scopes: []string{"main"}}, Note: "Prefilled from x.", Error: ":warning: e"}
	js := mustJSON(t, formView(f))
	var v slack.View
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	v.State = &slack.ViewState{Values: map[string]map[string]slack.BlockAction{askBlockTitle: {askActionTitle: {Value: "New title typed"}}}}
	got := formFromView(&v)
	if got.Draft.Title != "New title typed" || got.Draft.Body != "b" || !reflect.DeepEqual(got.Draft.Tags, []string{"go"}) ||
		got.Note != f.Note || got.Error != f.Error || got.Meta.Scopes[0] != "main" {
		t.Errorf("formFromView = %+v", got)
	}
}

func TestFilesNoteNamesTheFiles(t *testing.T) {
	many := make([]slack.File, 7)
	for i := range many {
		many[i] = slack.File{Name: fmt.Sprintf("f%d.txt", i)}
	}
	for _, c := range []struct {
		name  string
		files []slack.File
		want  string
	}{
		{"none", nil, ""},
		{"one", []slack.File{{Name: "a.png"}}, "*(1 file attached in Slack, not copied here: `a.png`.)*"},
		{"title when no name", []slack.File{{Title: "Screenshot"}}, "*(1 file attached in Slack, not copied here: `Screenshot`.)*"},
		{"backticks cannot break out", []slack.File{{Name: "a`b`.go"}}, "*(1 file attached in Slack, not copied here: `a'b'.go`.)*"},
		{"no names", []slack.File{{}, {}}, "*(2 files attached in Slack, not copied here.)*"},
		{"many", many, "*(7 files attached in Slack, not copied here: `f0.txt`, `f1.txt`, `f2.txt`, `f3.txt`, `f4.txt` and 2 more.)*"},
	} {
		if got := filesNote(c.files); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
