package mrkdwn

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Slack message text → Markdown, for questions asked from a Slack message.
//
// Slack stores a message's text as mrkdwn: *bold*, _italic_, ~strike~,
// `code`, ```code blocks```, control sequences in angle brackets (<url|label>,
// <@U123>, <#C123|general>, <!here>) and the three entities &lt; &gt; &amp;
// for literal < > &. SOE wants Markdown, so:
//
//	*bold* → **bold**     _it_ → *it*      ~s~ → ~~s~~
//	<url|label> → [label](url)             <url> → <url>
//	<@U1> / <@U1|bob> → @Display Name      <#C1|general> → #general
//	<!here> → @here        &lt; &gt; &amp; → < > &
//	• item → - item        ```code``` → a fenced block on its own lines
//
// Code keeps its text (only entities and control sequences are resolved).
// Slack shows every newline, Markdown joins lines into paragraphs, so lines
// that follow each other get a hard break (two trailing spaces). A line that
// Markdown would read as a heading ("# x") is escaped.

// SlackToMarkdown converts Slack message text to Markdown. name resolves a
// Slack user id to the name to show ("" when unknown: the name carried in the
// sequence, or the id, is used).
func SlackToMarkdown(text string, name func(userID string) string) string {
	c := slackConv{name: name}
	return c.markdown(text)
}

// SlackToPlain converts Slack text to one line of plain text (for a title):
// mentions and links become names and labels, emphasis markers and code
// backticks are dropped, entities decoded and white space collapsed.
func SlackToPlain(text string, name func(userID string) string) string {
	c := slackConv{name: name, plain: true}
	var b strings.Builder
	for _, line := range strings.Split(normalizeNewlines(text), "\n") {
		b.WriteString(c.line(strings.ReplaceAll(line, "```", "")))
		b.WriteByte(' ')
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// SlackMentions returns the user ids mentioned in text (<@U…>), once each.
func SlackMentions(text string) []string {
	var out []string
	seen := map[string]bool{}
	for rest := text; ; {
		i := strings.Index(rest, "<@")
		if i < 0 {
			return out
		}
		rest = rest[i+2:]
		j := strings.IndexAny(rest, "|>\n")
		if j <= 0 || rest[j] == '\n' {
			continue
		}
		id := rest[:j]
		if validSlackID(id) && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
}

// validSlackID reports whether id looks like a Slack id (users, channels…:
// 2–32 upper-case letters and digits).
func validSlackID(id string) bool {
	if len(id) < 2 || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

type slackConv struct {
	name  func(string) string
	plain bool
}

// markdown converts a whole message: code fences first, the rest line by line.
func (c slackConv) markdown(text string) string {
	text = normalizeNewlines(text)
	var out strings.Builder
	for text != "" {
		i := strings.Index(text, "```")
		if i < 0 {
			c.paragraphs(&out, text)
			break
		}
		j := strings.Index(text[i+3:], "```")
		if j < 0 { // unterminated: Slack shows the backticks as typed
			c.paragraphs(&out, text)
			break
		}
		c.paragraphs(&out, strings.TrimRight(text[:i], " \t"))
		code := text[i+3 : i+3+j]
		text = strings.TrimLeft(text[i+3+j+3:], " \t")
		if s := out.String(); s != "" && !strings.HasSuffix(s, "\n") {
			out.WriteString("\n")
		}
		out.WriteString("```\n")
		lines := strings.Split(strings.Trim(code, "\n"), "\n")
		for k, l := range lines {
			if k > 0 {
				out.WriteString("\n")
			}
			out.WriteString(c.codeText(l))
		}
		out.WriteString("\n```")
		if text != "" && !strings.HasPrefix(text, "\n") {
			out.WriteString("\n")
		}
	}
	return out.String()
}

// paragraphs converts text outside code fences, line by line, joining lines
// that follow each other with Markdown hard breaks.
func (c slackConv) paragraphs(out *strings.Builder, text string) {
	if text == "" {
		return
	}
	lines := strings.Split(text, "\n")
	conv := make([]string, len(lines))
	for i, l := range lines {
		conv[i] = c.blockLine(l)
	}
	for i, l := range conv {
		if i > 0 {
			out.WriteString("\n")
		}
		out.WriteString(l)
		if i+1 < len(conv) && strings.TrimSpace(l) != "" && strings.TrimSpace(conv[i+1]) != "" && !strings.HasSuffix(l, "  ") {
			out.WriteString("  ")
		}
	}
}

// blockLine converts one line, with the line-start rules (bullets, headings).
func (c slackConv) blockLine(l string) string {
	indent := len(l) - len(strings.TrimLeft(l, " \t"))
	body := l[indent:]
	for _, bullet := range []string{"• ", "◦ ", "▪ ", "▫ "} {
		if strings.HasPrefix(body, bullet) {
			return l[:indent] + "- " + c.line(body[len(bullet):])
		}
	}
	conv := c.line(body)
	if isATXHeading(conv) {
		conv = `\` + conv
	}
	return l[:indent] + conv
}

func isATXHeading(s string) bool {
	n := 0
	for n < len(s) && s[n] == '#' {
		n++
	}
	return n >= 1 && n <= 6 && (n == len(s) || s[n] == ' ' || s[n] == '\t')
}

// line converts inline mrkdwn (no newlines). It runs in linear time: code
// spans and control sequences are found once, left to right, and the closer
// of each emphasis marker is looked up in a table built right to left.
func (c slackConv) line(s string) string {
	t := newInlineIndex(s)
	var b strings.Builder
	c.inline(&b, s, t, 0, len(s))
	return b.String()
}

// inlineIndex holds, for one line, the atomic spans (code, control
// sequences) and the next valid emphasis closer of each marker.
type inlineIndex struct {
	spanEnd []int32    // spanEnd[i] > 0: an atomic span starts at i and ends before spanEnd[i]
	next    [3][]int32 // next[k][p]: first valid closer of marker k at or after p, or -1
}

const emphasisMarkers = "*_~"

func newInlineIndex(s string) *inlineIndex {
	n := len(s)
	t := &inlineIndex{spanEnd: make([]int32, n)}
	inSpan := make([]bool, n)
	for i := 0; i < n; {
		end := 0
		switch s[i] {
		case '`':
			if k := strings.IndexByte(s[i+1:], '`'); k > 0 {
				end = i + k + 2
			}
		case '<':
			if j := controlEnd(s, i); j >= 0 {
				end = j + 1
			}
		}
		if end == 0 {
			i++
			continue
		}
		t.spanEnd[i] = int32(end)
		for k := i; k < end; k++ {
			inSpan[k] = true
		}
		i = end
	}
	for k := range emphasisMarkers {
		m := emphasisMarkers[k]
		next := make([]int32, n+1)
		next[n] = -1
		for j := n - 1; j >= 0; j-- {
			next[j] = next[j+1]
			if s[j] == m && !inSpan[j] && j > 0 && s[j-1] != ' ' && s[j-1] != '\t' &&
				!isWordAt(s, j+1) && (j+1 == n || s[j+1] != m) {
				next[j] = int32(j) //nolint:gosec // G115: j < len(s), one line of Slack text, nowhere near 2^31 bytes
			}
		}
		t.next[k] = next
	}
	return t
}

// inline converts s[from:to].
func (c slackConv) inline(b *strings.Builder, s string, t *inlineIndex, from, to int) {
	for i := from; i < to; {
		if end := int(t.spanEnd[i]); end > 0 && end <= to {
			if s[i] == '`' {
				code := c.codeText(s[i+1 : end-1])
				if c.plain {
					b.WriteString(code)
				} else {
					b.WriteString("`" + code + "`")
				}
			} else {
				b.WriteString(c.control(s[i+1:end-1], false))
			}
			i = end
			continue
		}
		switch ch := s[i]; ch {
		case '<': // Slack never sends a bare '<'; keep it inert
			b.WriteString("&lt;")
			i++
			continue
		case '&':
			if r, n := entity(s[i:]); n > 0 {
				b.WriteString(r)
				i += n
				continue
			}
		case '*', '_', '~':
			if j := t.emphasisEnd(s, i, to); j > 0 {
				var opener, closer string
				switch {
				case c.plain:
				case ch == '*':
					opener, closer = "**", "**"
				case ch == '_':
					opener, closer = "*", "*"
				default:
					opener, closer = "~~", "~~"
				}
				b.WriteString(opener)
				c.inline(b, s, t, i+1, j)
				b.WriteString(closer)
				i = j + 1
				continue
			}
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		b.WriteString(s[i : i+n])
		i += n
	}
}

// codeText resolves entities and control sequences inside code, keeping
// everything else as typed.
func (c slackConv) codeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			if j := controlEnd(s, i); j >= 0 {
				b.WriteString(c.control(s[i+1:j], true))
				i = j + 1
				continue
			}
		case '&':
			if r, n := entity(s[i:]); n > 0 {
				b.WriteString(r)
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func entity(s string) (string, int) {
	switch {
	case strings.HasPrefix(s, "&lt;"):
		return "<", 4
	case strings.HasPrefix(s, "&gt;"):
		return ">", 4
	case strings.HasPrefix(s, "&amp;"):
		return "&", 5
	}
	return "", 0
}

func decodeEntities(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if r, n := entity(s[i:]); n > 0 {
			b.WriteString(r)
			i += n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// isWordAt reports whether the rune starting at s[i] is a letter or digit
// (Slack's emphasis markers must not touch one on the outside).
func isWordAt(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isWordBefore(s string, i int) bool {
	if i <= 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// emphasisEnd returns the index (below to) of the marker closing the
// emphasis that opens at s[i], or -1. Slack's rules: the opener is not
// preceded by a letter or digit and is followed by a non-space; the closer is
// preceded by a non-space and not followed by a letter or digit; the text
// between is not empty; code spans and control sequences inside are skipped
// whole. A doubled marker (**x**) is not emphasis.
func (t *inlineIndex) emphasisEnd(s string, i, to int) int {
	m := s[i]
	if isWordBefore(s, i) || (i > 0 && s[i-1] == m) || i+2 >= to || s[i+1] == ' ' || s[i+1] == '\t' || s[i+1] == m {
		return -1
	}
	j := int(t.next[strings.IndexByte(emphasisMarkers, m)][i+2])
	if j < 0 || j >= to {
		return -1
	}
	return j
}

// controlEnd returns the index of the '>' closing the control sequence that
// opens at s[i] ('<'), or -1 when there is none (another '<' first, or no '>').
func controlEnd(s string, i int) int {
	j := strings.IndexAny(s[i+1:], "<>")
	if j < 0 || s[i+1+j] != '>' {
		return -1
	}
	return i + 1 + j
}

// control converts the inside of one <…> sequence.
func (c slackConv) control(seq string, code bool) string {
	target, label, hasLabel := strings.Cut(seq, "|")
	label = decodeEntities(label)
	switch {
	case strings.HasPrefix(target, "@"):
		id := target[1:]
		n := ""
		if c.name != nil && validSlackID(id) {
			n = c.name(id)
		}
		if n == "" {
			n = strings.TrimPrefix(label, "@")
		}
		if n == "" {
			n = id
		}
		return "@" + n
	case strings.HasPrefix(target, "#"):
		if hasLabel && label != "" {
			return "#" + label
		}
		return "#channel"
	case strings.HasPrefix(target, "!"):
		kind := target[1:]
		switch {
		case kind == "here" || kind == "channel" || kind == "everyone":
			return "@" + kind
		case hasLabel && label != "":
			return label
		case strings.HasPrefix(kind, "subteam^"):
			return "@group"
		}
		return ""
	}
	url := decodeEntities(target)
	if !strings.Contains(url, ":") { // not a link: Slack would not produce this
		return "<" + decodeEntities(seq) + ">"
	}
	if c.plain || code {
		if hasLabel && label != "" {
			return label
		}
		return strings.TrimPrefix(url, "mailto:")
	}
	if !hasLabel || label == "" || label == url || "mailto:"+label == url {
		if isAutolinkable(url) {
			return "<" + url + ">"
		}
		return url
	}
	return "[" + MarkdownLabel(label) + "](" + MarkdownURL(url) + ")"
}

func isAutolinkable(u string) bool {
	lower := strings.ToLower(u)
	ok := strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "mailto:")
	return ok && !strings.ContainsAny(u, " <>\t")
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`)

// MarkdownLabel escapes s for the label of a Markdown link ([label](url)).
func MarkdownLabel(s string) string { return labelEscaper.Replace(s) }

var urlEscaper = strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E")

// MarkdownURL escapes s for the URL of a Markdown link ([label](url)).
func MarkdownURL(s string) string { return urlEscaper.Replace(s) }

// TitleFromSlack suggests a question title from Slack text: the plain form
// of its first line that has words, cut at a word boundary to limit runes.
func TitleFromSlack(text string, name func(string) string, limit int) string {
	for _, l := range strings.Split(normalizeNewlines(text), "\n") {
		l = strings.TrimLeft(SlackToPlain(l, name), "-•◦>#*_~ ")
		if strings.IndexFunc(l, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			return CutWords(l, limit)
		}
	}
	return ""
}

// CutWords shortens s to at most limit runes, at a space when there is one in
// the last third, adding "…".
func CutWords(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)[:limit-1]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)*2/3 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:.-") + "…"
}

// CutRunes cuts plain text s to at most n runes (no "…"), trimming the
// spaces the cut leaves.
func CutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n]))
}
