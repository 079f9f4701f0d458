package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/chat"
	goldenpkg "github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/soe"
)

func golden(t *testing.T, name string, m chat.Message) {
	t.Helper()
	goldenpkg.JSON(t, name, map[string]any{"text": m.Text, "blocks": m.Blocks})
}

var at = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func fixtureQuestion() *QuestionInfo {
	return &QuestionInfo{ID: 173, Title: "Why does <!channel> &amp; <@U999> break our pods?",
		URL:  "https://acme.example/questions/173/why-pods",
		Tags: []string{"kubernetes", "go"}, Owner: Person{ID: 10, Name: "Judy <!here> Jones", URL: "https://acme.example/users/10"},
		BodyHTML: "<p>Every hour the pod restarts. <script>alert(1)</script> See <a href=\"https://k8s.io/docs\">the docs</a> &lt;!everyone&gt;.</p><pre><code>kubectl get pods</code></pre>"}
}

func fixtureAnswers(n int) []AnswerInfo {
	var out []AnswerInfo
	for i := range n {
		out = append(out, AnswerInfo{ID: 200 + i, URL: "https://acme.example/a/" + string(rune('0'+i)),
			Owner:    Person{ID: 5, Name: "Erin <@U123> Evans", URL: "https://acme.example/users/5"},
			BodyHTML: "<p>Check the <strong>liveness probe</strong>; it kills the pod after 3 failures.</p>"})
	}
	return out
}

func TestRenderGolden(t *testing.T) {
	q := fixtureQuestion()
	team := soe.TeamScope("platform")
	cases := []struct {
		name   string
		ev     Event
		reason string
	}{
		{"notify_card_question", Event{ID: "main/q/173", Kind: EventQuestion, Scope: soe.MainSite(), Question: q, At: at}, "channel"},
		{"notify_card_question_expert", Event{ID: "main/q/173", Kind: EventQuestion, Scope: soe.MainSite(), Question: q, At: at}, "expert"},
		{"notify_card_answer", Event{ID: "main/a/173/200", Kind: EventAnswers, Scope: soe.MainSite(), Question: q, Answers: fixtureAnswers(1)}, "channel"},
		{"notify_card_answers_grouped", Event{ID: "team:platform/a/173/200", Kind: EventAnswers, Scope: team, Question: q, Answers: fixtureAnswers(7)}, "channel"},
		{"notify_card_answer_asker", Event{ID: "main/a/173/200", Kind: EventAnswers, Scope: soe.MainSite(), Question: q, Answers: fixtureAnswers(2)}, "asker"},
		{"notify_card_accepted", Event{ID: "main/acc/173/200", Kind: EventAccepted, Scope: soe.MainSite(), Question: q, Answers: fixtureAnswers(1)}, "channel"},
		{"notify_card_accepted_asker", Event{ID: "main/acc/173/200", Kind: EventAccepted, Scope: soe.MainSite(), Question: q, Answers: fixtureAnswers(1)}, "asker"},
		{"notify_card_paused", Event{ID: "pause/x", Kind: EventPaused, Scope: team, Notice: &Notice{Channels: []string{"CGENERAL", "COPS"}, Tags: []string{"go", "*"}}}, "notice"},
		{"notify_card_disabled", Event{ID: "gone/x", Kind: EventDisabled, Notice: &Notice{Channels: []string{"CGENERAL"}, Tags: []string{"go", "kubernetes"}, Reason: "is_archived"}}, "notice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := Render(&c.ev, c.reason, "/soe")
			golden(t, c.name, m)
			checkSafe(t, m)
		})
	}
}

// checkSafe fails when SOE content reached Slack as a live control sequence.
func checkSafe(t *testing.T, m chat.Message) {
	t.Helper()
	js, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	all := m.Text + string(js)
	for _, bad := range []string{"<!channel>", "<!here>", "<!everyone>", "<@U999>", "<@U123>", "<script"} {
		if strings.Contains(all, bad) {
			t.Errorf("live %s in %s", bad, all)
		}
	}
	if len(m.Blocks) > 50 {
		t.Errorf("%d blocks", len(m.Blocks))
	}
}

// FuzzRender: whatever SOE sends, a card has no live mention and at most 50
// blocks, and each section fits Slack's limits.
func FuzzRender(f *testing.F) {
	f.Add("Title <!channel>", "<p>body <@U1></p>", "Name <!here>", "https://x.example/q/1", "go", 3)
	f.Add("&lt;!channel&gt;", "&amp;lt;script&amp;gt;", "", "javascript:alert(1)", "c++", 0)
	f.Add(strings.Repeat("é", 400), strings.Repeat("<b>x</b>", 2000), "\u202eevil", "https://a|b>c", "", 60)
	f.Fuzz(func(t *testing.T, title, body, name, url, tag string, answers int) {
		answers = max(0, min(answers, 100))
		q := &QuestionInfo{ID: 1, Title: title, URL: url, Tags: []string{tag}, Owner: Person{ID: 1, Name: name, URL: url}, BodyHTML: body}
		var as []AnswerInfo
		for i := range answers {
			as = append(as, AnswerInfo{ID: i + 2, URL: url, Owner: Person{ID: 2, Name: name, URL: url}, BodyHTML: body})
		}
		for _, k := range []EventKind{EventQuestion, EventAnswers, EventAccepted} {
			for _, reason := range []string{"channel", "asker", "expert"} {
				m := Render(&Event{Kind: k, Scope: soe.MainSite(), Question: q, Answers: as}, reason, "/soe")
				js, _ := json.Marshal(m.Blocks)
				all := m.Text + string(js)
				for _, bad := range []string{"<!", "<@", "<#"} {
					if strings.Contains(all, bad) {
						t.Fatalf("%s in %s", bad, all)
					}
				}
				if len(m.Blocks) > 50 {
					t.Fatalf("%d blocks", len(m.Blocks))
				}
			}
		}
	})
}

func TestParseKindAndNames(t *testing.T) {
	for w, k := range map[string]Kind{"questions": KindQuestions, "Answers": KindAnswers, "accepted": KindAccepted, "all": AllKinds} {
		if got, ok := ParseKind(w); !ok || got != k {
			t.Errorf("%s: %v", w, got)
		}
	}
	if _, ok := ParseKind("go"); ok {
		t.Error("go is a tag")
	}
	if DefaultKinds.String() != "questions, answers" || AllKinds.String() != "questions, answers, accepted answers" {
		t.Error(DefaultKinds.String(), AllKinds.String())
	}
	if mrkdwn.ChannelMention("C123") != "<#C123>" || strings.Contains(mrkdwn.ChannelMention("C1> <!channel"), "<!") {
		t.Error("ChannelMention")
	}
}
