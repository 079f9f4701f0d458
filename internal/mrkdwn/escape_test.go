package mrkdwn

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain text", "plain text"},
		{"a & b < c > d", "a &amp; b &lt; c &gt; d"},
		{"<!channel>", "&lt;!channel&gt;"},
		{"<@U123|bob>", "&lt;@U123|bob&gt;"},
		{"<https://evil|click>", "&lt;https://evil|click&gt;"},
		{"&amp;", "&amp;amp;"},
		{"*bold* _it_ `code`", "*bold* _it_ `code`"},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLink(t *testing.T) {
	tests := []struct{ url, label, want string }{
		{"https://soe.example.com/q/1", "Title", "<https://soe.example.com/q/1|Title>"},
		{"https://soe.example.com/q/1", "", "<https://soe.example.com/q/1>"},
		{"http://x.example/", "a < b & c > d", "<http://x.example/|a &lt; b &amp; c &gt; d>"},
		{"https://x.example/", "<!channel>", "<https://x.example/|&lt;!channel&gt;>"},
		{"https://x.example/", "a | b", "<https://x.example/|a | b>"},
		{"https://x.example/", "two\nlines\t and  spaces ", "<https://x.example/|two lines and spaces>"},
		{"https://x.example/", "rtl \u202eexe.txt\u202c zero\u200bwidth", "<https://x.example/|rtl exe.txt zerowidth>"},
		{"https://x.example/a b|c<d>e", "x", "<https://x.example/a%20b%7Cc%3Cd%3Ee|x>"},
		{"https://x.example/\u202e\u200b", "x", "<https://x.example/%E2%80%AE%E2%80%8B|x>"},
		{"HTTPS://X.example/Path", "x", "<https://X.example/Path|x>"},
		{"  https://x.example/  ", "x", "<https://x.example/|x>"},
		{"mailto:dev@example.com", "mail", "<mailto:dev@example.com|mail>"},
		{"https://x.example/?a=1&b=2", "q", "<https://x.example/?a=1&b=2|q>"},
		// Not a link: only the escaped label is left.
		{"", "<label>", "&lt;label&gt;"},
		{"javascript:alert(1)", "js", "js"},
		{"JavaScript:alert(1)", "js", "js"},
		{"data:text/html,<b>", "data", "data"},
		{"ftp://x.example/", "ftp", "ftp"},
		{"/relative/path", "rel", "rel"},
		{"https://", "empty host", "empty host"},
		{"slack://channel?id=C1", "<!here>", "&lt;!here&gt;"},
		{"javascript:x", "", ""},
	}
	for _, tt := range tests {
		got := Link(tt.url, tt.label)
		if got != tt.want {
			t.Errorf("Link(%q, %q) = %q, want %q", tt.url, tt.label, got, tt.want)
		}
		if err := checkSafe(got); err != nil {
			t.Errorf("Link(%q, %q): %v", tt.url, tt.label, err)
		}
	}
}

func TestMention(t *testing.T) {
	tests := []struct{ id, want string }{
		{"U024BE7LH", "<@U024BE7LH>"},
		{"W0123ABCD", "<@W0123ABCD>"},
		{"U1><!channel", "@U1&gt;&lt;!channel"},
		{"U123|bob", "@U123|bob"},
		{"u123abc", "@u123abc"},
		{"C024BE7LR", "@C024BE7LR"},
		{"U1", "@U1"},
		{"", "@"},
		{"U12 3", "@U12 3"},
	}
	for _, tt := range tests {
		if got := Mention(tt.id); got != tt.want {
			t.Errorf("Mention(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"x := 1", "`x := 1`"},
		{"a`b", "`aˋb`"},
		{"```", "`ˋˋˋ`"},
		{"a < b && c > d", "`a &lt; b &amp;&amp; c &gt; d`"},
		{"<!channel>", "`&lt;!channel&gt;`"},
		{"multi\nline\tcode", "`multi line code`"},
		{"", ""},
		{" \n ", ""},
	}
	for _, tt := range tests {
		if got := Code(tt.in); got != tt.want {
			t.Errorf("Code(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPlain(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "How do I retry?", "How do I retry?"},
		{"raw special", "<!channel> hi", "&lt;!channel&gt; hi"},
		{"escaped special", "&lt;!here&gt;", "&lt;!here&gt;"},
		{"double escaped", "&amp;lt;!channel&amp;gt;", "&amp;lt;!channel&amp;gt;"},
		{"raw mention", "<@U123>", "&lt;@U123&gt;"},
		{"escaped mention", "&lt;@U123&gt;", "&lt;@U123&gt;"},
		{"raw link", "<https://evil|click>", "&lt;https://evil|click&gt;"},
		{"escaped link", "&lt;https://evil|click&gt;", "&lt;https://evil|click&gt;"},
		{"group and date", "<!subteam^S1> <!date^0^{_}|x> <#C1>", "&lt;!subteam^S1&gt; &lt;!date^0^{_}|x&gt; &lt;#C1&gt;"},
		{"ampersand", "Q&amp;A and R&D", "Q&amp;A and R&amp;D"},
		{"quote entities", "&quot;quoted&quot; &#39;single&#39;", "\"quoted\" 'single'"},
		{"tags shown as text", "Use <div> in &lt;body&gt;", "Use &lt;div&gt; in &lt;body&gt;"},
		{"newlines", "line one\nline two\r\nthree\tfour", "line one line two three four"},
		{"spaces", "  lots   of    space  ", "lots of space"},
		{"zero width", "a\u200bb\u200cc\u200dd\u2060e\ufefff", "abcdef"},
		{"zwj emoji kept", "dev 👩\u200d💻", "dev 👩\u200d💻"},
		{"bidi", "\u202eevil\u202c \u2066iso\u2069 \u202aemb\u202d", "evil iso emb"},
		{"controls", "a\x00b\x07c\x7fd\u0085e\u009bf", "abcdef"},
		{"entity-encoded bidi", "&#x202E;gnp.exe", "gnp.exe"},
		{"invalid utf8", "a\xffb", "a\ufffdb"},
		{"nbsp kept", "10&nbsp;km", "10\u00a0km"},
		{"sentinels stripped", "a\ufdd0b\ufdd1c\ufdd2d\ufdd3e", "abcde"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Plain(tt.in)
			if got != tt.want {
				t.Errorf("Plain(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if strings.ContainsAny(got, "<>\n") {
				t.Errorf("Plain(%q) = %q contains < > or newline", tt.in, got)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"fits", "short", 10, "short"},
		{"exact", "12345", 5, "12345"},
		{"zero", "abc", 0, ""},
		{"negative", "abc", -3, ""},
		{"one", "abc", 1, "…"},
		{"word boundary", "hello world again", 13, "hello world…"},
		{"space right after cut", "hello world again", 12, "hello world…"},
		{"hard cut without space", "abcdefghijklmnop", 8, "abcdefg…"},
		{"far boundary ignored", "a bcdefghijklmnopqrstuvwxyz", 12, "a bcdefghij…"},
		{"runes not bytes", "ééééééééé", 5, "éééé…"},
		{"entity not split", "abcd&amp;efgh", 7, "abcd…"},
		{"entity kept whole", "abcd&amp;efgh", 10, "abcd&amp;…"},
		{"lt entity", "x &lt;!channel&gt; y", 8, "x &lt;!…"},
		{"lt entity not split", "x &lt;!channel&gt; y", 5, "x…"},
		{"numeric entity", "abc&#x1F600;def", 6, "abc…"},
		{"link kept whole", "see <https://x.example/|docs> and more text", 33, "see <https://x.example/|docs>…"},
		{"link cut to label", "see <https://x.example/a|the full label here> now", 20, "see the full label…"},
		{"link label whole", "see <https://x.example/a|the label> now and then", 14, "see the label…"},
		{"bare link dropped", "see <https://x.example/abcdef> now", 12, "see…"},
		{"link label with entity", "<https://x.example/|a &amp; b &amp; c>", 8, "a &amp;…"},
		{"fence closed", "```\nline one\nline two\n```", 16, "```\nline…\n```"},
		{"fence dropped when it cannot fit", "ab ```\ncode code\n```", 6, "ab…"},
		{"trailing space trimmed", "abc    def ghi", 8, "abc…"},
		{"newline boundary", "first line\nsecond line", 14, "first line…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Truncate(tt.in, tt.n)
			if got != tt.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
			if c := utf8.RuneCountInString(got); tt.n >= 0 && c > tt.n {
				t.Errorf("Truncate(%q, %d) has %d runes", tt.in, tt.n, c)
			}
		})
	}
}
