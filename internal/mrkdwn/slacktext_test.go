package mrkdwn

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func testNames(id string) string {
	return map[string]string{"UALICE": "Alice Anderson", "UBOB": "bob"}[id]
}

func TestSlackToMarkdown(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "How do I deploy?", "How do I deploy?"},
		{"bold", "this is *important* ok", "this is **important** ok"},
		{"italic", "an _italic_ word", "an *italic* word"},
		{"strike", "~gone~ now", "~~gone~~ now"},
		{"nested", "*bold _and italic_*", "**bold *and italic***"},
		{"intraword stars stay", "2*3*4 and snake_case_name", "2*3*4 and snake_case_name"},
		{"spaced stars stay", "a * b * c", "a * b * c"},
		{"double star stays", "**not slack bold**", "**not slack bold**"},
		{"unclosed", "*open but never closed", "*open but never closed"},
		{"punctuation around", "(*yes*), _ok_.", "(**yes**), *ok*."},
		{"link with label", "see <https://example.com/a?b=1&amp;c=2|the docs>", "see [the docs](https://example.com/a?b=1&c=2)"},
		{"bare link", "<https://example.com>", "<https://example.com>"},
		{"label same as url", "<https://example.com|https://example.com>", "<https://example.com>"},
		{"label with brackets", "<https://x.io/(a)|a [b]>", `[a \[b\]](https://x.io/%28a%29)`},
		{"mailto", "<mailto:bob@acme.example|bob@acme.example>", "<mailto:bob@acme.example>"},
		{"mention resolved", "ping <@UALICE> please", "ping @Alice Anderson please"},
		{"mention with name, resolved", "<@UBOB|robert> hi", "@bob hi"},
		{"mention unknown with name", "<@UZED|zed>", "@zed"},
		{"mention unknown", "<@UZED>", "@UZED"},
		{"channel", "in <#C123|general>", "in #general"},
		{"channel without name", "in <#C123>", "in #channel"},
		{"specials", "<!here> <!channel> <!everyone>", "@here @channel @everyone"},
		{"subteam", "<!subteam^S1|@platform> help", "@platform help"},
		{"date", "<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"},
		{"entities", "a &lt;b&gt; &amp;amp; c &amp; d", "a <b> &amp; c & d"},
		{"escaped sequence stays literal", "&lt;!channel&gt;", "<!channel>"},
		{"inline code keeps stars", "run `make *all*` now", "run `make *all*` now"},
		{"inline code entities", "`a &lt; b &amp;&amp; c`", "`a < b && c`"},
		{"star inside code not closing", "*x `a*b` y*", "**x `a*b` y**"},
		{"stars inside link", "*see <https://x.io/*a*|here>*", "**see [here](https://x.io/*a*)**"},
		{"code block", "look:\n```go run .\nexit 1```\ndone", "look:\n```\ngo run .\nexit 1\n```\ndone"},
		{"inline code block", "before ```x := 1``` after", "before\n```\nx := 1\n```\nafter"},
		{"code block keeps formatting", "```*a* _b_ <https://x.io|x>```", "```\n*a* _b_ x\n```"},
		{"unterminated fence", "```not code", "```not code"},
		{"line breaks", "one\ntwo\n\nthree", "one  \ntwo\n\nthree"},
		{"crlf", "one\r\ntwo", "one  \ntwo"},
		{"bullets", "list:\n• a\n• b\n    ◦ c", "list:  \n- a  \n- b  \n    - c"},
		{"quote", "&gt; quoted _text_\nreply", "> quoted *text*  \nreply"},
		{"heading escaped", "# not a heading\n#general", "\\# not a heading  \n#general"},
		{"emoji", "done :tada:", "done :tada:"},
		{"unicode", "*überprüfen* _日本_", "**überprüfen** *日本*"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SlackToMarkdown(tt.in, testNames); got != tt.want {
				t.Errorf("SlackToMarkdown(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSlackToPlain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"How do I *deploy* to <https://k8s.example|the cluster>?", "How do I deploy to the cluster?"},
		{"ask <@UALICE> about `kubectl`\nand more", "ask @Alice Anderson about kubectl and more"},
		{"a &lt; b &amp;&amp; c", "a < b && c"},
		{"```code```  x", "code x"},
		{"<https://x.io>", "https://x.io"},
	}
	for _, tt := range tests {
		if got := SlackToPlain(tt.in, testNames); got != tt.want {
			t.Errorf("SlackToPlain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSlackMentions(t *testing.T) {
	got := SlackMentions("<@UALICE> and <@UBOB|bob>, <@UALICE> again, <@bad id> <@U1\n>")
	if want := []string{"UALICE", "UBOB"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("SlackMentions = %q, want %q", got, want)
	}
}

func TestTitleFromSlack(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\n\n*Deploys fail* with <https://x.io|error 42>\nmore text", "Deploys fail with error 42"},
		{"• first item\nsecond", "first item"},
		{":tada:\n---\nreal line", ":tada:"},
		{strings.Repeat("word ", 40), strings.TrimSpace(strings.Repeat("word ", 29)) + "…"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := TitleFromSlack(tt.in, testNames, 150); got != tt.want {
			t.Errorf("titleFromSlack(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSlackToMarkdown checks the converter never panics, keeps UTF-8 valid,
// is deterministic, and resolves every well-formed control sequence (so no
// Slack mention or broadcast survives into the Markdown).
func FuzzSlackToMarkdown(f *testing.F) {
	for _, s := range []string{
		"*bold* _it_ ~s~ `code` ```block```",
		"<@UALICE> <@UBOB|bob> <#C1|general> <!here> <https://x.io|x> &lt;&gt;&amp;",
		"• a\n    ◦ b\n&gt; quote\n# heading",
		"*a _b ~c `d` e~ f_ g*",
		"``````", "<>", "<|>", "*_~", "&amp;lt;@U1&amp;gt;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SlackToMarkdown(in, testNames)
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of valid input %q: %q", in, out)
		}
		if again := SlackToMarkdown(in, testNames); again != out {
			t.Fatalf("not deterministic: %q then %q", out, again)
		}
		plain := SlackToPlain(in, testNames)
		if strings.Contains(plain, "\n") {
			t.Fatalf("plain text has a newline: %q", plain)
		}
		if strings.Contains(in, "&") {
			return // entities may legitimately decode to "<@…"
		}
		for i := range len(in) {
			if in[i] == '<' && controlEnd(in, i) < 0 {
				return // a bare '<' stays literal in code
			}
		}
		for _, bad := range []string{"<@", "<!", "<#"} {
			if strings.Contains(out, bad) || strings.Contains(plain, bad) {
				t.Fatalf("%s survived: %q -> %q / %q", bad, in, out, plain)
			}
		}
	})
}

// TestSlackToMarkdownLinear guards against quadratic blow-ups on long,
// hostile messages (Slack allows 40 000 characters).
func TestSlackToMarkdownLinear(t *testing.T) {
	for _, unit := range []string{"*_~", "*a ", "<@U1", "`*", "<<>", "&lt;*x", "```"} {
		in := strings.Repeat(unit, 40000/len(unit))
		start := time.Now()
		SlackToMarkdown(in, testNames)
		SlackToPlain(in, testNames)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%q×%d took %v", unit, 40000/len(unit), d)
		}
	}
}

func TestCutRunes(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"fits", 10, "fits"},
		{"exactly", 7, "exactly"},
		{"cut here ok", 4, "cut"},
		{"cut  here", 5, "cut"},
		{"überall", 3, "übe"},
		{"", 3, ""},
	}
	for _, tt := range tests {
		if got := CutRunes(tt.in, tt.n); got != tt.want {
			t.Errorf("CutRunes(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
