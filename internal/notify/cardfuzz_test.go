package notify

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/soe"
)

// dateToken is the one <!…> the bot writes itself (the fold's "since").
var dateToken = regexp.MustCompile(`<!date\^\d+\^\{time\}\|[0-9:]+ UTC>`)

// checkLimits fails on a mention SOE text smuggled in, or on a message
// beyond Slack's limits (50 blocks, 3000 characters a section, 4000 of text).
func checkLimits(t *testing.T, m chat.Message) {
	t.Helper()
	js, _ := json.Marshal(m.Blocks)
	all := dateToken.ReplaceAllString(m.Text+string(js), "")
	for _, bad := range []string{"<!", "<@", "<#"} {
		if strings.Contains(all, bad) {
			t.Fatalf("%s in %s", bad, all)
		}
	}
	if len(m.Blocks) > 50 || len([]rune(m.Text)) > 4000 {
		t.Fatalf("%d blocks, %d characters of text", len(m.Blocks), len(m.Text))
	}
	for _, b := range m.Blocks {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil && len([]rune(s.Text.Text)) > 3000 {
			t.Fatalf("a section of %d characters", len([]rune(s.Text.Text)))
		}
	}
}

func FuzzRenderCardsAndFold(f *testing.F) {
	f.Add("Title <!channel>", "<p>body <@U1></p>", "Name <!here>", "https://x.example/questions/1/t", "go", 3)
	f.Add("&lt;!channel&gt;", "&amp;lt;script&amp;gt;", "", "javascript:alert(1)", "c++", 0)
	f.Add(strings.Repeat("é", 400), strings.Repeat("<b>x</b>", 2000), "\u202eevil", "https://a|b>c", "", 500)
	f.Fuzz(func(t *testing.T, title, body, name, url, tag string, n int) {
		n = max(0, min(n, 600))
		q := &QuestionInfo{ID: 1, Title: title, URL: url, Tags: []string{tag}, Owner: Person{ID: 1, Name: name, URL: url}, BodyHTML: body, AnswerCount: n}
		var as []AnswerInfo
		for i := range min(n, 20) {
			as = append(as, AnswerInfo{ID: i + 2, URL: url, Owner: Person{ID: 2, Name: name, URL: url}, BodyHTML: body})
		}
		checkLimits(t, RenderCard(&Card{Scope: soe.MainSite(), State: *q, New: n%2 == 0, Accepted: true}))
		for _, k := range []EventKind{EventAnswers, EventAccepted} {
			checkLimits(t, RenderThreadReply(&Event{Kind: k, Scope: soe.MainSite(), Question: q, Answers: as}))
		}
		var items []FoldItem
		for i := range n {
			items = append(items, FoldItem{Kind: []EventKind{EventQuestion, EventAnswers, EventAccepted}[i%3], Question: *q, Answers: as})
		}
		fold := &Fold{Items: items, Tags: []string{tag, "*"}, Since: time.Unix(1_800_000_000, 0), SiteURL: siteOf(url)}
		checkLimits(t, Render(&Event{Kind: EventFold, Fold: fold}, "channel", "/soe"))
	})
}
