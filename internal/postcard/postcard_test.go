package postcard

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soelink"
	"github.com/soebot/soebot/internal/soetext"
)

func cardFixtures() map[string]*Card {
	return map[string]*Card{
		"unfurl_question": {Kind: soelink.Question, Scope: soe.MainSite(), Title: "How do I restart a Kubernetes deployment without downtime?",
			URL: "https://acme.example/questions/101/how-do-i-restart", Score: 12, AnswerCount: 2, Accepted: true,
			Tags: []string{"kubernetes", "kubectl"}, Author: "Alice Anderson", AuthorURL: "https://acme.example/users/1",
			Body:    "<p>Our payments API runs as a Deployment with 3 replicas.</p><p>What is the <strong>safest</strong> way?</p><pre><code>kubectl rollout restart deployment/payments-api\nkubectl rollout status deployment/payments-api\nline 3\nline 4\nline 5\nline 6\n</code></pre><p>More text after the code.</p>",
			BaseURL: "https://acme.example"},
		"unfurl_answer": {Kind: soelink.Answer, Scope: soe.MainSite(), Title: "How do I restart a Kubernetes deployment without downtime?",
			URL: "https://acme.example/questions/101/how-do-i-restart/103#103", Score: 15, Accepted: true, AnswerCount: 2,
			Tags: []string{"kubernetes"}, Author: "Carol Chen", AuthorURL: "https://acme.example/users/3",
			Body: `<p>Use a rolling restart, see <a href="/articles/140">the handbook</a>.</p>`, BaseURL: "https://acme.example"},
		"unfurl_article_team": {Kind: soelink.Article, Scope: soe.TeamScope("platform"), Title: "Platform cluster inventory",
			URL: "https://acme.example/c/platform/articles/150/platform-cluster-inventory", Score: 3, ArticleType: "knowledgeArticle",
			Tags: []string{"kubernetes"}, Author: "Carol Chen", Body: "<p>Production: prod-eu-1, prod-us-1.</p>"},
		"unfurl_hostile": {Kind: soelink.Question, Scope: soe.MainSite(), Title: "<!channel> &lt;@U999&gt; urgent",
			URL: "javascript:alert(1)", Closed: true, Tags: []string{"<!here>", "a`b"}, Author: "<@U999|admin>",
			AuthorURL: "https://acme.example/users/9>|x", Body: "<p>&lt;!everyone&gt; <a href=\"https://evil.example/?q=|<!channel>\">click</a></p>" + strings.Repeat("<p>line</p>", 20)},
	}
}

func TestRenderCardGolden(t *testing.T) {
	for name, c := range cardFixtures() {
		golden.Message(t, name, chat.Message{Text: soetext.Title(c.Title, 150), Blocks: Render(c)})
	}
}

func TestRenderCardEscapes(t *testing.T) {
	c := cardFixtures()["unfurl_hostile"]
	js := string(golden.Marshal(t, Render(c)))
	for _, bad := range []string{"<!channel>", "<@U999", "<!here>", "<!everyone>", "javascript:"} {
		if strings.Contains(js, bad) {
			t.Errorf("card contains live %s: %s", bad, js)
		}
	}
	for _, blk := range Render(c) {
		if s, ok := blk.(*slack.SectionBlock); ok && utf8.RuneCountInString(s.Text.Text) > 3000 {
			t.Error("section too long")
		}
	}
}

func TestFirstLines(t *testing.T) {
	tests := []struct {
		in       string
		n, max   int
		want     string
		fencesOK bool
	}{
		{in: "a\nb\nc", n: 5, max: 100, want: "a\nb\nc"},
		{in: "a\nb\nc\nd", n: 2, max: 100, want: "a\nb\n…"},
		{in: "x\n```\ncode1\ncode2\n```\ny", n: 3, max: 100, want: "x\n```\ncode1\n```\n…"},
		{in: "\n\n", n: 3, max: 100, want: ""},
		{in: "a\n\nb\n\nc", n: 2, max: 100, want: "a\n\nb\n…"},
		{in: strings.Repeat("word ", 50), n: 2, max: 20, want: "word word word word…"},
	}
	for _, tt := range tests {
		got := firstLines(tt.in, tt.n, tt.max)
		if got != tt.want {
			t.Errorf("firstLines(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if strings.Count(got, "```")%2 != 0 {
			t.Errorf("firstLines(%q) left a code block open: %q", tt.in, got)
		}
	}
}
