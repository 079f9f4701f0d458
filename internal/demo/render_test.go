package demo

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
)

func testRenderer() Renderer {
	names := map[string]string{"UALICE": "alice", "UBOB": "bob"}
	return Renderer{Name: func(id string) (string, bool) { n, ok := names[id]; return n, ok }}
}

func blocksJSON(t *testing.T, bs ...slack.Block) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(bs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRendererBlocks(t *testing.T) {
	md := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
	}
	pt := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	btn := slack.NewButtonBlockElement("go", "v", pt("Open"))
	btn.URL = "https://so.example/q/1"
	for _, tc := range []struct {
		name   string
		blocks []slack.Block
		want   []string
		not    []string
	}{
		{"header", []slack.Block{slack.NewHeaderBlock(pt("Experts on go"))}, []string{"# Experts on go"}, nil},
		{"mentions by name", []slack.Block{slack.NewSectionBlock(md("ask <@UALICE> or <@UBOB>"), nil, nil)}, []string{"ask @alice or @bob"}, []string{"<@"}},
		{"unknown mention keeps the id", []slack.Block{slack.NewSectionBlock(md("<@UZED>"), nil, nil)}, []string{"@UZED"}, nil},
		{"labelled mention untouched", []slack.Block{slack.NewSectionBlock(md("<@UALICE|ally>"), nil, nil)}, []string{"@ally"}, nil},
		{"links", []slack.Block{slack.NewSectionBlock(md("see <https://so.example/q/1|the question>"), nil, nil)}, []string{"the question (https://so.example/q/1)"}, nil},
		{"entities decoded", []slack.Block{slack.NewSectionBlock(md("a &lt;b&gt; &amp; c"), nil, nil)}, []string{"a <b> & c"}, []string{"&lt;", "&amp;"}},
		{"escaped injection stays inert text", []slack.Block{slack.NewSectionBlock(md("&lt;!channel&gt; &lt;@UALICE&gt;"), nil, nil)}, []string{"<!channel> <@UALICE>"}, []string{"@alice"}},
		{"fields", []slack.Block{slack.NewSectionBlock(nil, []*slack.TextBlockObject{md("*Score*"), md("12")}, nil)}, []string{"*Score* | 12"}, nil},
		{"context", []slack.Block{slack.NewContextBlock("", md("by <@UBOB>"), md("2 answers"))}, []string{"by @bob · 2 answers"}, nil},
		{"buttons in brackets", []slack.Block{slack.NewActionBlock("a", btn, slack.NewButtonBlockElement("x", "v", pt("Share")))}, []string{"[Open](https://so.example/q/1) [Share]"}, nil},
		{"divider", []slack.Block{slack.NewDividerBlock()}, []string{"---"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := testRenderer().Blocks(blocksJSON(t, tc.blocks...))
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("contains %q:\n%s", n, got)
				}
			}
		})
	}
}

func TestRendererMessageAndView(t *testing.T) {
	r := testRenderer()
	if got := r.Message(slackfake.Message{Text: "hi <@UALICE> &amp; you"}); got != "hi @alice & you" {
		t.Errorf("text-only message: %q", got)
	}
	if got := r.Blocks(json.RawMessage("not json")); got != "" {
		t.Errorf("invalid JSON rendered %q", got)
	}
	v := &slackfake.View{Title: "Ask a question", Blocks: blocksJSON(t, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "hello <@UBOB>", false, false), nil, nil))}
	if got := r.View(v); got != "== Ask a question ==\nhello @bob" {
		t.Errorf("view: %q", got)
	}
	if got := Box("h", "a\nb"); got != "  ┌ h\n  │ a\n  │ b\n  └\n" {
		t.Errorf("box: %q", got)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:1/link/abcdefghijklmnop":          "http://127.0.0.1:1/link/abcdef…",
		"http://127.0.0.1:1/oauth/callback?code=S&state=T":  "http://127.0.0.1:1/oauth/callback?…",
		"http://127.0.0.1:2/oauth?client_id=1&state=SECRET": "http://127.0.0.1:2/oauth?…",
		"::": "(URL)",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsePage(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:1/link/abc")
	p := parsePage(`<html><head><title>Connect · soebot</title><style>h1{}</style></head><body>
<h1>Connect</h1><div><p>You are <strong>@alice</strong>.</p>
<form method="post" action="/link/abc"><input type="hidden" name="request" value="r1">
<button type="submit" name="decision" value="approve">Approve</button><button name="decision" value="deny">Deny</button></form></div></body></html>`, base)
	if p.Title != "Connect · soebot" {
		t.Errorf("title %q", p.Title)
	}
	if strings.Join(p.Text, "|") != "Connect|You are @alice." {
		t.Errorf("text %q", p.Text)
	}
	method, action, vals, ok := p.submit("approve")
	if !ok || method != "POST" || action != "http://127.0.0.1:1/link/abc" || vals.Get("request") != "r1" || vals.Get("decision") != "approve" {
		t.Errorf("submit: %v %s %s %v", ok, method, action, vals)
	}
	if _, _, _, ok := p.submit("Continue"); ok {
		t.Error("found a Continue button that is not there")
	}
}

func TestButtonURLAndQuestionID(t *testing.T) {
	btn := slack.NewButtonBlockElement("c", "", slack.NewTextBlockObject(slack.PlainTextType, "Connect", false, false))
	btn.URL = "http://x/link/1"
	raw := blocksJSON(t, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "<http://so/questions/42/title|q>", false, false), nil, nil), slack.NewActionBlock("a", btn))
	if got := buttonURL(raw, "Connect"); got != "http://x/link/1" {
		t.Errorf("buttonURL = %q", got)
	}
	if got := buttonURL(raw, "Reconnect"); got != "" {
		t.Errorf("buttonURL(Reconnect) = %q", got)
	}
	if got := firstQuestionID(slackfake.Message{Blocks: raw}); got != 42 {
		t.Errorf("firstQuestionID = %d", got)
	}
}
