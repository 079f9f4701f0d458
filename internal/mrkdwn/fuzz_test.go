package mrkdwn

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// More seeds live in testdata/fuzz/<FuzzName>/.
var fuzzSeeds = []string{
	"",
	"<p>Hello <b>world</b> &amp;lt;</p>",
	"<!channel> &lt;!here&gt; <@U123> &lt;@U123&gt; <#C1> <!subteam^S1>",
	"<https://evil|click> &lt;https://evil|click&gt;",
	`<a href="javascript:alert(1)">x</a> <a href="/rel">r</a> <a href="https://x.example/a|b>c">y</a>`,
	"<pre><code>```\nx &lt; y\n```</code></pre><code>`</code>",
	"<ul><li>a<ol><li>b</li></ol></li></ul><blockquote><blockquote>q</blockquote></blockquote>",
	`<img src="https://x.example/i.png" alt="&lt;!channel&gt;"><table><tr><td>a</td><td>b</td></tr></table>`,
	"a\u200bb\u202ec\u2066d\ufeff\ufdd0e\ufdd1f\ufdd2g\ufdd3h",
	"<b><i>x</b></i><h1><p>y</h1>",
}

var partialEntity = regexp.MustCompile(`&[#0-9A-Za-z]*$`)

func FuzzFromHTML(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, base := range []string{"", testBase} {
			out := FromHTMLBase(s, base)
			// checkSafe also requires valid UTF-8, which holds even for
			// invalid input (it becomes U+FFFD).
			if err := checkSafe(out); err != nil {
				t.Fatalf("FromHTMLBase(%q, %q) = %q: %v", s, base, out, err)
			}
			if strings.Count(out, "```")%2 != 0 {
				t.Fatalf("FromHTMLBase(%q, %q) = %q: unbalanced ``` fences", s, base, out)
			}
		}
		if out := Plain(s); strings.ContainsAny(out, "<>\n") || !utf8.ValidString(out) {
			t.Fatalf("Plain(%q) = %q", s, out)
		}
	})
}

func FuzzExcerpt(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, 10*i)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= 1000 // keep it interesting; negative n is allowed
		out := Excerpt(s, n)
		if err := checkSafe(out); err != nil {
			t.Fatalf("Excerpt(%q, %d) = %q: %v", s, n, out, err)
		}
		if c := utf8.RuneCountInString(out); c > max(n, 0) {
			t.Fatalf("Excerpt(%q, %d) = %q: %d runes", s, n, out, c)
		}
		if strings.ContainsAny(out, "\n`") {
			t.Fatalf("Excerpt(%q, %d) = %q: newline or backtick", s, n, out)
		}
		if partialEntity.MatchString(strings.TrimSuffix(out, "…")) {
			t.Fatalf("Excerpt(%q, %d) = %q: ends inside an entity", s, n, out)
		}
	})
}

func FuzzTruncate(f *testing.F) {
	f.Add("hello world", 5)
	f.Add("a &amp; b &lt; c", 6)
	f.Add("see <https://x.example/|the label> now", 12)
	f.Add("```\ncode\n```", 7)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= 1000
		out := Truncate(s, n)
		if c := utf8.RuneCountInString(out); c > max(n, 0) {
			t.Fatalf("Truncate(%q, %d) = %q: %d runes", s, n, out, c)
		}
		if n > 0 && s != "" && out == "" {
			t.Fatalf("Truncate(%q, %d) is empty", s, n)
		}
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("Truncate(%q, %d) = %q: invalid UTF-8", s, n, out)
		}
		if out == s {
			return
		}
		if wellEscaped(s) && partialEntity.MatchString(strings.TrimSuffix(strings.TrimSuffix(out, "\n```"), "…")) {
			t.Fatalf("Truncate(%q, %d) = %q: ends inside an entity", s, n, out)
		}
		// Truncating safe mrkdwn keeps it safe and keeps fences balanced.
		if checkSafe(s) == nil {
			if err := checkSafe(out); err != nil {
				t.Fatalf("Truncate(%q, %d) = %q: %v", s, n, out, err)
			}
			if strings.Count(s, "```")%2 == 0 && strings.Count(out, "```")%2 != 0 {
				t.Fatalf("Truncate(%q, %d) = %q: unbalanced fences", s, n, out)
			}
		}
	})
}

// wellEscaped reports whether every '&' in s starts a character reference,
// as in the output of Escape (a bare '&' cannot be "inside an entity").
func wellEscaped(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '&' && entityLen(s[i:]) == 0 {
			return false
		}
	}
	return true
}
