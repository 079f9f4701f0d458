package mrkdwn

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const testBase = "https://soe.example.com/questions/42/title"

func TestFromHTML(t *testing.T) {
	tests := []struct {
		name, in, want string
		base           string
	}{
		{name: "empty", in: "", want: ""},
		{name: "text", in: "just text", want: "just text"},
		{name: "paragraphs", in: "<p>one</p>\n\n<p>two</p>", want: "one\n\ntwo"},
		{name: "br", in: "a<br>b<br/>c", want: "a\nb\nc"},
		{name: "whitespace collapsed", in: "<p>  a \n\t b  </p>", want: "a b"},
		{name: "bold", in: "<strong>x</strong> <b>y</b>", want: "*x* *y*"},
		{name: "italic", in: "<em>x</em> <i>y</i>", want: "_x_ _y_"},
		{name: "strike", in: "<del>x</del> <s>y</s>", want: "~x~ ~y~"},
		{name: "marker spacing", in: "a<b> b </b>c", want: "a *b* c"},
		{name: "empty marker", in: "a<b></b>b<i> </i>c", want: "ab c"},
		{name: "inline code", in: "<code>a &lt; b</code>", want: "`a &lt; b`"},
		{name: "inline code backticks", in: "<code>`x`</code>", want: "`ˋxˋ`"},
		{name: "pre", in: "<pre><code>x &amp;&amp; y\n  z</code></pre>", want: "```\nx &amp;&amp; y\n  z\n```"},
		{name: "pre fence", in: "<pre><code>```\n</code></pre>", want: "```\nˋˋˋ\n```"},
		{name: "prose backticks", in: "a `b` c", want: "a ˋbˋ c"},
		{name: "link", in: `<a href="https://x.example/">x</a>`, want: "<https://x.example/|x>"},
		{name: "link relative no base", in: `<a href="/q/1">x</a>`, want: "x"},
		{name: "link relative base", in: `<a href="/q/1">x</a>`, base: testBase, want: "<https://soe.example.com/q/1|x>"},
		{name: "link bad base", in: `<a href="/q/1">x</a>`, base: "javascript:alert(1)", want: "x"},
		{name: "link javascript", in: `<a href="javascript:alert(1)">x</a>`, base: testBase, want: "x"},
		{name: "link javascript entity", in: `<a href="jav&#x61;script:alert(1)">x</a>`, want: "x"},
		{name: "link javascript newline", in: "<a href=\"java\nscript:alert(1)\">x</a>", want: "x"},
		{name: "link mailto", in: `<a href="mailto:a@b.example">m</a>`, want: "<mailto:a@b.example|m>"},
		{name: "link escaped label", in: `<a href="https://x.example/">&lt;!channel&gt;</a>`, want: "<https://x.example/|&lt;!channel&gt;>"},
		{name: "link empty label", in: `<a href="https://x.example/"></a>`, want: "<https://x.example/>"},
		{name: "ul", in: "<ul><li>a</li><li>b</li></ul>", want: "• a\n• b"},
		{name: "ol", in: "<ol><li>a</li><li>b</li></ol>", want: "1. a\n2. b"},
		{name: "ol start", in: `<ol start="3"><li>a</li></ol>`, want: "3. a"},
		{name: "nested list", in: "<ul><li>a<ul><li>b</li></ul></li></ul>", want: "• a\n    • b"},
		{name: "blockquote", in: "<blockquote><p>a</p><p>b</p></blockquote>", want: "> a\n>\n> b"},
		{name: "heading", in: "<h2>Title <b>x</b></h2><p>t</p>", want: "*Title x*\n\nt"},
		{name: "img", in: `<img src="https://i.example/a.png" alt="A">`, want: "<https://i.example/a.png|image: A>"},
		{name: "img no src", in: `<img alt="A">`, want: "[image: A]"},
		{name: "img no alt", in: `<img src="/a.png">`, want: "[image]"},
		{name: "hr", in: "a<hr>b", want: "a\n\n———\n\nb"},
		{name: "table", in: "<table><tr><th>h1</th><th>h2</th></tr><tr><td>a</td><td>b</td></tr></table>", want: "h1 | h2\na | b"},
		{name: "entity once", in: "&amp;lt;", want: "&amp;lt;"},
		{name: "entities", in: "&lt;b&gt; &amp; &quot;", want: "&lt;b&gt; &amp; \""},
		{name: "raw special is a comment", in: "<!channel>x", want: "x"},
		{name: "escaped special", in: "&lt;!channel&gt;", want: "&lt;!channel&gt;"},
		{name: "raw mention", in: "<@U123>", want: "&lt;@U123&gt;"},
		{name: "raw slack link is a tag", in: "<https://evil|click>x", want: "x"},
		{name: "escaped slack link", in: "&lt;https://evil|click&gt;", want: "&lt;https://evil|click&gt;"},
		{name: "zero width and bidi", in: "a&#x200B;b \u202eevil\u202c", want: "ab evil"},
		{name: "script dropped", in: "a<script>alert(1)</script>b", want: "ab"},
		{name: "style dropped", in: "<style>p{}</style>a", want: "a"},
		{name: "unknown tags keep text", in: "<span>a</span> <foo>b</foo>", want: "a b"},
		{name: "trimmed", in: "\n\n  <p> x </p>  \n", want: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromHTMLBase(tt.in, tt.base)
			if got != tt.want {
				t.Errorf("FromHTMLBase(%q, %q) =\n%q\nwant\n%q", tt.in, tt.base, got, tt.want)
			}
			if err := checkSafe(got); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"empty", "", 10, ""},
		{"n zero", "<p>text</p>", 0, ""},
		{"short", "<p>Hello <b>world</b></p>", 50, "Hello world"},
		{"flattened", "<p>a</p><p>b<br>c</p><ul><li>d</li><li>e</li></ul>", 50, "a b c • d • e"},
		{"code block inline", "<p>Run</p><pre><code>go test\n  ./...</code></pre>", 50, "Run go test ./..."},
		{"no markers", "<h1>T</h1><i>i</i> <s>s</s> <code>c`d</code> <blockquote>q</blockquote>", 50, "T i s cˋd q"},
		{"word boundary", "<p>The quick brown fox jumps over the lazy dog</p>", 20, "The quick brown fox…"},
		{"entity not split", "<p>aaaa &lt;&lt;&lt;&lt;</p>", 9, "aaaa…"},
		{"entity counted escaped", "<p>a &amp; b</p>", 9, "a &amp; b"},
		{"link kept", `<p>See <a href="https://x.example/">docs</a> now</p>`, 40, "See <https://x.example/|docs> now"},
		{"link cut to label", `<p>See <a href="https://x.example/a">the documentation page</a> now</p>`, 25, "See the documentation…"},
		{"relative link is label", `<p><a href="/q/1">question</a></p>`, 40, "question"},
		{"image as text", `<p><img src="https://i.example/a.png" alt="pic"> x</p>`, 40, "[image: pic] x"},
		{"hostile", "&lt;!channel&gt; <@U1> hi", 40, "&lt;!channel&gt; &lt;@U1&gt; hi"},
		{"one rune", "<p>abc</p>", 1, "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Excerpt(tt.in, tt.n)
			if got != tt.want {
				t.Errorf("Excerpt(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
			checkExcerpt(t, got, tt.n)
		})
	}
}

func checkExcerpt(t *testing.T, got string, n int) {
	t.Helper()
	if err := checkSafe(got); err != nil {
		t.Error(err)
	}
	if c := utf8.RuneCountInString(got); c > max(n, 0) {
		t.Errorf("Excerpt has %d runes, want <= %d: %q", c, n, got)
	}
	if strings.ContainsAny(got, "\n`") {
		t.Errorf("Excerpt contains a newline or backtick: %q", got)
	}
}

// TestPathological feeds inputs designed to trigger deep nesting, parser
// edge cases and quadratic behaviour. Each must finish quickly (the bound is
// loose enough for -race on a slow machine; quadratic behaviour on these
// sizes takes far longer) and satisfy the invariant.
func TestPathological(t *testing.T) {
	const size = 128 << 10
	rep := func(s string) string { return strings.Repeat(s, size/len(s)+1)[:size] }
	inputs := map[string]string{
		"nested divs":      strings.Repeat(strings.Repeat("<div>", 500)+"x"+strings.Repeat("</div>", 500), 30),
		"parser limit":     strings.Repeat("<div>", 2000) + "x",
		"misnested":        rep("<b><i>x</b></i>"),
		"adoption agency":  rep("<a href=https://x.example/>x<p>y</a>"),
		"unclosed bold":    rep("<b>x"),
		"nested tables":    rep("<table><tr><td>"),
		"foster parenting": rep("<table>x<b>"),
		"lt":               rep("<"),
		"amp":              rep("&amp;"),
		"nested lists":     rep("<ul><li>x"),
		"nested quotes":    rep("<blockquote>x"),
		"breaks":           rep("a<br>"),
		"fences":           rep("<pre>```\n"),
		"links":            rep("<a href='/x'>y</a>"),
		"formatting":       rep("<b><i><s><em><strong><code>x"),
		"words":            rep("word "),
		"attributes":       "<a " + rep("b=c "),
		"quote list bold":  strings.Repeat("<blockquote><ul><li><b>", 120) + rep("x<br>")[:size/2],
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			full := FromHTMLBase(in, testBase)
			exc := Excerpt(in, 300)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if err := checkSafe(full); err != nil {
				t.Error(err)
			}
			checkExcerpt(t, exc, 300)
		})
	}
}

func TestInputCap(t *testing.T) {
	in := strings.Repeat("é", maxInputBytes) // 2 bytes each: the cap falls inside a rune
	got := FromHTMLBase(in, "")
	if !utf8.ValidString(got) {
		t.Fatal("invalid UTF-8 after cap")
	}
	if n := len(got); n > maxInputBytes {
		t.Errorf("output %d bytes, input cap is %d", n, maxInputBytes)
	}
}
