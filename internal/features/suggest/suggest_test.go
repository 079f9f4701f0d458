package suggest

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/channels"
	"github.com/soebot/soebot/internal/chat"
	goldenpkg "github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/soe"
)

func golden(t *testing.T, name string, m chat.Message) {
	t.Helper()
	responseType := "ephemeral"
	if m.InChannel {
		responseType = "in_channel"
	}
	goldenpkg.JSON(t, name, map[string]any{"text": m.Text, "blocks": m.Blocks, "response_type": responseType})
}

var hostile = &soe.Question{QuestionSummary: soe.QuestionSummary{
	ID: 7, Title: "Why does <!channel> &amp; <@U999> restart?", WebURL: "https://acme.example/questions/7/why",
	Body: "<p>Because <code>&lt;!here&gt;</code>.</p>", AnswerCount: 2, Score: 5,
}}

func TestSuggestMessagesGolden(t *testing.T) {
	hits := []hit{
		{ID: 1, Title: "How do I restart a Kubernetes deployment without downtime?", URL: "https://acme.example/questions/1/how", Answers: 2, Accepted: true, Score: 12},
		{ID: 7, Title: hostile.Title, URL: hostile.WebURL, Answers: 1, Score: 1},
	}
	ask := blockkit.Button("ask_open:suggest", "Ask on Stack Overflow", `{"q":"How do I restart"}`)
	golden(t, "suggest_suggestion", suggestion(soe.MainSite(), hits, "CGENERAL", "1.2", ask, "/soe"))
	golden(t, "suggest_shared", sharedCard(soe.MainSite(), hostile, "UBOB"))
	golden(t, "suggest_config_on", setMessage("UALICE", true, "/soe"))
	golden(t, "suggest_config_off", setMessage("UALICE", false, "/soe"))
	golden(t, "suggest_config_show_on", showMessage(true, "/soe"))
	golden(t, "suggest_config_show_off", showMessage(false, "/soe"))
}

func TestStrongHitsAndThreshold(t *testing.T) {
	items := []soe.SearchResult{
		{Type: soe.ResultQuestion, ID: 1, Title: "accepted", WebURL: "https://x/1", AnswerCount: 2, HasAcceptedAnswer: true, Score: 1},
		{Type: soe.ResultQuestion, ID: 2, Title: "unanswered", WebURL: "https://x/2", AnswerCount: 0, Score: 50},
		{Type: soe.ResultQuestion, ID: 3, Title: "upvoted", WebURL: "https://x/3", AnswerCount: 1, Score: 6},
		{Type: soe.ResultAnswer, ID: 40, ParentQuestionID: 3, Title: "upvoted", WebURL: "https://x/3#40", Score: 9},
		{Type: soe.ResultArticle, ID: 5, Title: "article", WebURL: "https://x/a/5", Score: 99},
		{Type: soe.ResultQuestion, ID: 6, Title: "weak", WebURL: "https://x/6", AnswerCount: 1, Score: 1},
	}
	ids := func(hs []hit) (out []int) {
		for _, h := range hs {
			out = append(out, h.ID)
		}
		return out
	}
	for _, tc := range []struct {
		notHelpful int
		want       []int
	}{
		{0, []int{1, 3}},
		{1, []int{3}}, // threshold 5
		{2, []int{3}}, // 7: the upvoted answer of question 3 (9) carries it… once
		{5, nil},      // 13
	} {
		got := ids(strongHits(items, threshold(channels.Suggest{NotHelpful: tc.notHelpful})))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("not helpful %d: %v, want %v", tc.notHelpful, got, tc.want)
		}
	}
	if threshold(channels.Suggest{NotHelpful: 1000}) != baseThreshold+maxRaise {
		t.Error("the raise is not capped")
	}
}

func TestCandidate(t *testing.T) {
	person := slackevents.MessageEvent{User: "UALICE", Channel: "CGENERAL", ChannelType: "channel", Text: "q?", TimeStamp: "1.1"}
	with := func(f func(*slackevents.MessageEvent)) *slackevents.MessageEvent { e := person; f(&e); return &e }
	for _, tc := range []struct {
		name string
		ev   *slackevents.MessageEvent
		raw  string
		want bool
	}{
		{"a person's message", &person, "", true},
		{"private channel", with(func(e *slackevents.MessageEvent) { e.ChannelType = "group" }), "", true},
		{"DM", with(func(e *slackevents.MessageEvent) { e.ChannelType = "im" }), "", false},
		{"thread reply", with(func(e *slackevents.MessageEvent) { e.ThreadTimeStamp = "0.9" }), "", false},
		{"edit", with(func(e *slackevents.MessageEvent) { e.SubType = "message_changed" }), "", false},
		{"bot", with(func(e *slackevents.MessageEvent) { e.BotID = "B1" }), "", false},
		{"no user", with(func(e *slackevents.MessageEvent) { e.User = "" }), "", false},
		{"external user", with(func(e *slackevents.MessageEvent) { e.UserTeam = "TOTHER" }), "", false},
		{"Slack Connect", &person, `{"is_ext_shared_channel":true}`, false},
	} {
		env := &chat.Envelope{TeamID: "T1", Raw: []byte(tc.raw)}
		if got := candidate(env, tc.ev); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestShareValueFitsAButton(t *testing.T) {
	v, _ := json.Marshal(shareValue{Scope: "team:a-very-long-team-slug", ID: 123456789, Channel: "C0123456789", TS: "1700000000.123456"})
	if len(v) > 2000 {
		t.Fatal("value too long")
	}
	_ = slack.OptionBlockObject{}
}

func TestSearchTerms(t *testing.T) {
	for in, want := range map[string]string{
		"hey, how do I restart a kubernetes deployment without downtime?": "restart kubernetes deployment without downtime",
		"<@U1> any idea why `go test` hangs? ```code```":                  "go test hangs",
	} {
		if got := searchTerms(in); got != want {
			t.Errorf("searchTerms(%q) = %q, want %q", in, got, want)
		}
	}
}
