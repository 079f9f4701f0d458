package search

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

func testRouter() *router.Router { return router.New(router.Config{}, router.Deps{}) }

// askButtons builds the ask feature's button as the ask feature does (its
// action id and value are in the goldens).
type askButtons struct{}

func (askButtons) AskButton(suffix, label string, scope soe.Scope, tags []string, title string) *slack.ButtonBlockElement {
	v := blockkit.Value(struct {
		Scope string   `json:"s,omitempty"`
		Tags  []string `json:"t,omitempty"`
		Title string   `json:"q,omitempty"`
	}{scope.Key(), tags, title})
	return blockkit.Button("ask_open:"+suffix, label, v)
}

func TestParseSearch(t *testing.T) {
	long := strings.Repeat("word ", 150)
	tests := []struct {
		in, query, team string
		trimmed         bool
	}{
		{in: "restart deployment", query: "restart deployment"},
		{in: "  restart \n  deployment  ", query: "restart deployment"},
		{in: "etcd latency team platform", query: "etcd latency", team: "platform"},
		{in: "etcd latency TEAM Platform", query: "etcd latency", team: "platform"},
		{in: "team platform etcd latency", query: "etcd latency", team: "platform"},
		{in: "how to join a team", query: "how to join a team"},
		{in: "onboarding team process docs", query: "onboarding team process docs"},
		{in: "team platform", query: "team platform"},
		{in: "team", query: "team"},
		{in: `"exact phrase" [go]`, query: `"exact phrase" [go]`},
		{in: "a &lt; b &amp;&amp; <@U123|bob> in <#C1|general>", query: "a < b && @bob in #general"},
		{in: "*restart* `kubectl` <https://x.example|the docs>", query: "restart kubectl the docs"},
		{in: "", query: ""},
		{in: long, query: strings.TrimSpace(long)[:499], trimmed: true},
	}
	for _, tt := range tests {
		q, team, trimmed := parseSearch(tt.in)
		if q != tt.query || team != tt.team || trimmed != tt.trimmed {
			t.Errorf("parseSearch(%.40q) = %q, %q, %v; want %q, %q, %v", tt.in, q, team, trimmed, tt.query, tt.team, tt.trimmed)
		}
		if n := utf8.RuneCountInString(q); n > maxSearchQuery {
			t.Errorf("query of %d runes", n)
		}
	}
}

// FuzzCleanQuery: any Slack text gives a valid, bounded, one-line query.
func FuzzCleanQuery(f *testing.F) {
	for _, s := range []string{"<@U1|a> <#C1|b> <https://x|y> &lt;!channel&gt;", "<<<>>>", "<!subteam^S|@x>", "\xff<", "```a\nb```"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, _ := cleanQuery(s)
		if !utf8.ValidString(q) || utf8.RuneCountInString(q) > maxSearchQuery || strings.ContainsAny(q, "\n\r") {
			t.Fatalf("cleanQuery(%q) = %q", s, q)
		}
	})
}

func TestKeywords(t *testing.T) {
	for in, want := range map[string]string{
		"@alice how do we store terraform state securely?":      "store terraform state securely",
		"Is C++ or C# better? see https://x.example/a #general": "c++ c# better see",
		"the THE the": "",
		"one two three four five six seven eight nine ten": "one two three four five six seven eight",
	} {
		if got := keywords(in); got != want {
			t.Errorf("keywords(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSOEPageFor(t *testing.T) {
	for slackPage, want := range map[int][2]int{1: {1, 0}, 2: {1, 5}, 3: {1, 10}, 4: {2, 0}, 5: {2, 5}, 7: {3, 0}} {
		p, off := soePageFor(slackPage)
		if p != want[0] || off != want[1] {
			t.Errorf("soePageFor(%d) = %d, %d; want %v", slackPage, p, off, want)
		}
	}
}

func TestPageValueFitsAButton(t *testing.T) {
	q := strings.Repeat(`"\`, 250) // every character doubles in JSON
	v := pageValue(soe.TeamScope("platform"), q, 3)
	if len(v) > maxSearchValue {
		t.Fatalf("value of %d bytes", len(v))
	}
	var st searchState
	if err := json.Unmarshal([]byte(v), &st); err != nil || st.Page != 3 || st.Scope != "team:platform" {
		t.Fatalf("value %s decodes to %+v, %v", v, st, err)
	}
}

func searchFixture() []soe.SearchResult {
	return []soe.SearchResult{
		{Type: soe.ResultQuestion, ID: 101, Title: "How do I restart a Kubernetes deployment without downtime?",
			Snippet: "Our payments API runs as a Deployment with 3 replicas. I need to pick up a new <b>ConfigMap</b>. What is the safest way to restart all pods without dropping requests &amp; keep SLOs?",
			WebURL:  "https://acme.example/questions/101/how-do-i-restart", Tags: []string{"kubernetes", "kubectl"},
			Owner: &soe.UserSummary{ID: 1, Name: "Alice Anderson"}, Score: 12, AnswerCount: 2, HasAcceptedAnswer: true},
		{Type: soe.ResultAnswer, ID: 103, ParentQuestionID: 101, Title: "How do I restart a Kubernetes deployment without downtime?",
			Snippet: "Use a rolling restart: kubectl rollout restart deployment/payments-api", WebURL: "https://acme.example/questions/101/how-do-i-restart/103#103",
			Tags: []string{"kubernetes"}, Owner: &soe.UserSummary{ID: 3, Name: "Carol Chen"}, Score: 15, IsAccepted: true},
		{Type: soe.ResultArticle, ID: 140, Title: "On-call handbook &amp; escalation", Snippet: "Primary and secondary rotate weekly.",
			WebURL: "https://acme.example/articles/140/on-call-handbook", Tags: []string{"oncall", "kubernetes"}, Score: 14},
		{Type: soe.ResultQuestion, ID: 104, Title: "<!channel> Pods stuck in <@U999> CrashLoopBackOff",
			Snippet: "&lt;!here&gt; <script>alert(1)</script> exec format error " + strings.Repeat("lorem ipsum ", 40),
			WebURL:  "https://acme.example/questions/104", Tags: []string{"kubernetes"}, Owner: &soe.UserSummary{Name: "Mallory <!everyone>"}, Score: -1},
		{Type: soe.ResultQuestion, ID: 105, Title: "Unanswered one", WebURL: "https://acme.example/questions/105", Tags: []string{"go"}, Score: 1, AnswerCount: 1},
	}
}

func TestRenderSearchGolden(t *testing.T) {
	x := New(Config{SiteURL: "https://acme.example"}, Deps{Router: testRouter(), Asker: askButtons{}})
	res := &searchResults{Scope: soe.MainSite(), Query: "restart kubernetes", Page: 1, Total: 23, HasMore: true, Items: searchFixture()}
	golden.Message(t, "search_results", x.render(res, renderSearchOpts{}))

	res2 := &searchResults{Scope: soe.TeamScope("platform"), Query: "restart kubernetes", Page: 2, Total: 7, Items: searchFixture()[:2]}
	golden.Message(t, "search_page2_team", x.render(res2, renderSearchOpts{trimmed: true}))

	golden.Message(t, "search_none", x.render(&searchResults{Scope: soe.MainSite(), Query: "<!channel> nothing", Page: 1}, renderSearchOpts{}))

	noAsk := New(Config{}, Deps{Router: testRouter()})
	golden.Message(t, "search_none_noask", noAsk.render(&searchResults{Scope: soe.MainSite(), Query: "nothing", Page: 1}, renderSearchOpts{}))
	golden.Message(t, "search_past_end", noAsk.render(&searchResults{Scope: soe.MainSite(), Query: "kubernetes", Page: 4, Total: 15}, renderSearchOpts{}))
}

func TestRenderSearchEscapesAndLimits(t *testing.T) {
	x := New(Config{SiteURL: "https://acme.example"}, Deps{Router: testRouter(), Asker: askButtons{}})
	q := strings.Repeat("<!channel> ", 60)
	m := x.render(&searchResults{Scope: soe.MainSite(), Query: q, Page: 1, Total: 5, Items: searchFixture()}, renderSearchOpts{})
	js := string(golden.Marshal(t, m.Blocks))
	for _, bad := range []string{"<!channel>", "<@U999>", "<!here>", "<!everyone>", "<script>"} {
		if strings.Contains(js, bad) || strings.Contains(m.Text, bad) {
			t.Errorf("rendered search contains live %s", bad)
		}
	}
	if len(m.Blocks) > 50 {
		t.Errorf("%d blocks", len(m.Blocks))
	}
	for _, blk := range m.Blocks {
		if s, ok := blk.(*slack.SectionBlock); ok && s.Text != nil {
			if n := utf8.RuneCountInString(s.Text.Text); n > 3000 {
				t.Errorf("section of %d runes", n)
			}
		}
		if a, ok := blk.(*slack.ActionBlock); ok {
			for _, el := range a.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok && len(btn.Value) > 2000 {
					t.Errorf("button %s value of %d", btn.ActionID, len(btn.Value))
				}
			}
		}
	}
}

func TestSharedPostValue(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{`{"s":"main","k":"question","i":5}`, true},
		{`{"s":"team:platform","k":"answer","i":6,"q":5}`, true},
		{`{"s":"main","k":"answer","i":6}`, false},
		{`{"s":"main","k":"article","i":0}`, false},
		{`{"s":"nope","k":"question","i":5}`, false},
		{`{"s":"main","k":"user","i":5}`, false},
		{`{"s":"team:a/b","k":"question","i":5}`, false},
	} {
		var v sharedPost
		_ = json.Unmarshal([]byte(tt.in), &v)
		if _, ok := v.link(); ok != tt.ok {
			t.Errorf("%s: ok=%v, want %v", tt.in, ok, tt.ok)
		}
	}
}

// Security #6: "Open in Stack Overflow" always fits in a button, even for a
// long query that escapes to many times its length.
func TestSearchURLFitsAButton(t *testing.T) {
	x := New(Config{SiteURL: "https://acme.example"}, Deps{Router: testRouter()})
	for _, q := range []string{"helm rollback", strings.Repeat("🦄", 500), strings.Repeat("é", 2000), strings.Repeat("x", 5000)} {
		u := x.searchURL(soe.TeamScope("platform"), q)
		if len(u) > blockkit.MaxURL || !strings.HasPrefix(u, "https://acme.example/c/platform/search?q=") {
			t.Errorf("searchURL(%.10q…) is %d bytes: %.80s", q, len(u), u)
		}
	}
	if u := x.searchURL(soe.MainSite(), "helm rollback"); u != "https://acme.example/search?q=helm+rollback" {
		t.Errorf("short query: %s", u)
	}
}
