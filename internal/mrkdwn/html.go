package mrkdwn

import (
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

const (
	// maxInputBytes caps the HTML we parse. SOE bodies are at most ~30 000
	// characters of Markdown; the rendered HTML stays well below this, and
	// the result is far beyond what one Slack message can hold anyway.
	maxInputBytes = 128 << 10
	// maxDepth is the element nesting past which a subtree is rendered as
	// flat text. Real posts nest a handful of levels; this bounds the cost
	// of the string building per level. (The parser itself refuses more than
	// 512 open elements; see fallbackText.)
	maxDepth = 32
	// maxListIndent is the list nesting level past which items stop being
	// indented further.
	maxListIndent = 4
	indent        = "    "
)

// FromHTMLBase converts SOE post HTML (question, answer and article bodies,
// search snippets) to Slack mrkdwn. Relative links are dropped to their
// label unless baseURL, an absolute http(s) URL, resolves them.
//
// Paragraphs become blank-line separated blocks, <br> a newline, <strong>/<b>
// *x*, <em>/<i> _x_, <del>/<s> ~x~, inline <code> `x`, <pre> a ``` block,
// <a href> <url|label> (http, https and mailto only), lists "• item" /
// "1. item" with nested lists indented, <blockquote> "> " lines, headings a
// *bold line*, <img> <src|image: alt> or [image: alt], <hr> "———", and
// table rows cells joined by " | ". Other elements contribute their text;
// script, style and similar contribute nothing.
//
// Entities are decoded exactly once (by the HTML parser) and the text is then
// escaped for Slack, so "&amp;lt;" in the HTML shows as "&lt;" in Slack.
// The result satisfies the package invariant (see the package comment).
func FromHTMLBase(s, baseURL string) string {
	r := &renderer{base: parseBase(baseURL)}
	return emit(r.render(s))
}

// Excerpt renders s like FromHTMLBase, flattened to a single line without
// formatting markers (code blocks become inline text, lists "• a • b"), and
// cut to at most n runes on a word boundary with "…" (see Truncate): never
// inside an entity, never inside a link (a link that does not fit is reduced
// to its label). n <= 0 gives "".
func Excerpt(s string, n int) string {
	if n <= 0 {
		return ""
	}
	r := &renderer{plain: true}
	return Truncate(emit(collapse(r.render(s))), n)
}

// parseBase returns baseURL parsed if it is an absolute http(s) URL.
func parseBase(baseURL string) *url.URL {
	if baseURL == "" {
		return nil
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil
	}
	return u
}

// renderer builds an intermediate form: unescaped, sanitized text with the
// markers it adds itself (* _ ~ ` ``` > • …) and links encoded between the
// sentinel runes linkOpen url linkSep label linkClose. emit escapes the text
// and turns the sentinels into Link calls at the very end, so escaping happens
// once and no structural step (prefixing, trimming, cutting) can split an
// entity.
type renderer struct {
	base                 *url.URL
	plain                bool // Excerpt: no formatting markers, no quote prefixes
	bold, italic, strike int  // active formatting (nested markers are dropped)
	quote                int  // blockquote nesting
	lists                int  // list nesting
}

func (r *renderer) render(s string) string {
	s = capInput(s, maxInputBytes)
	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(s), ctx)
	if err != nil {
		// Nesting deeper than the parser accepts: plain text is all we offer.
		return fallbackText(s)
	}
	root := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	for _, n := range nodes {
		root.AppendChild(n)
	}
	return strings.TrimSpace(r.children(root, 0, "\n\n"))
}

// emit escapes the intermediate text and turns sentinel-delimited links into
// Slack links.
func emit(raw string) string {
	var b strings.Builder
	b.Grow(len(raw) + len(raw)/8)
	for {
		i := strings.IndexRune(raw, linkOpen)
		if i < 0 {
			b.WriteString(Escape(raw))
			break
		}
		b.WriteString(Escape(raw[:i]))
		raw = raw[i+len(string(linkOpen)):]
		j := strings.IndexRune(raw, linkSep)
		k := strings.IndexRune(raw, linkClose)
		if j < 0 || k < j {
			continue // cannot happen; the stray sentinels are removed below
		}
		b.WriteString(Link(raw[:j], raw[j+len(string(linkSep)):k]))
		raw = raw[k+len(string(linkClose)):]
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case quoteMark:
			return '>'
		case linkOpen, linkSep, linkClose:
			return -1
		}
		return r
	}, b.String())
}

func isBlock(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Pre, atom.Blockquote, atom.Ul, atom.Ol, atom.Menu, atom.Li,
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Hr, atom.Table,
		atom.Dl, atom.Dt, atom.Dd, atom.Section, atom.Article, atom.Aside, atom.Header,
		atom.Footer, atom.Nav, atom.Main, atom.Figure, atom.Figcaption, atom.Details,
		atom.Summary, atom.Address, atom.Fieldset, atom.Legend, atom.Form, atom.Center,
		atom.Hgroup, atom.Caption, atom.Tr, atom.Search:
		return true
	}
	return false
}

// skipped elements contribute nothing: their text is not user-visible prose.
func skipped(n *html.Node) bool {
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Template, atom.Head, atom.Title, atom.Noscript,
		atom.Iframe, atom.Object, atom.Embed, atom.Svg, atom.Canvas, atom.Audio, atom.Video,
		atom.Select, atom.Datalist, atom.Input, atom.Textarea:
		return true
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

// fixText cleans text from the document for use outside code: sanitized, and
// backticks replaced by a look-alike so that literal backticks in prose can
// never open a code span or block.
func fixText(s string) string {
	return strings.ReplaceAll(sanitize(s), "`", "ˋ")
}

// children renders the children of n as blocks joined by sep; runs of inline
// content between block children form anonymous paragraphs.
func (r *renderer) children(n *html.Node, depth int, sep string) string {
	var parts []string
	in := &inline{}
	flush := func() {
		if s := in.String(); s != "" {
			parts = append(parts, s)
		}
		in = &inline{}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && isBlock(c.DataAtom) {
			flush()
			if s := r.block(c, depth+1); s != "" {
				parts = append(parts, s)
			}
			continue
		}
		r.inline(c, in, depth+1)
	}
	flush()
	return strings.Join(parts, sep)
}

func (r *renderer) block(n *html.Node, depth int) string {
	if depth > maxDepth {
		return flatText(n)
	}
	switch n.DataAtom {
	case atom.Pre:
		return r.pre(n)
	case atom.Blockquote:
		return r.blockquote(n, depth)
	case atom.Ul, atom.Ol, atom.Menu:
		return r.list(n, depth)
	case atom.Li:
		r.lists++
		defer func() { r.lists-- }()
		return r.item(n, "•", depth)
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return r.heading(n, depth)
	case atom.Hr:
		if r.plain {
			return ""
		}
		return "———"
	case atom.Table:
		return r.table(n, depth)
	case atom.Tr:
		return r.row(n, depth)
	case atom.Dl:
		return r.children(n, depth, "\n")
	case atom.Dd:
		s := r.children(n, depth, "\n")
		if r.plain {
			return s
		}
		return prefixLines(s, indent, "", false)
	}
	return r.children(n, depth, "\n\n")
}

// flatText is the text of n's subtree on one line, for subtrees nested too
// deep to render structurally.
func flatText(n *html.Node) string {
	var b strings.Builder
	textContent(n, &b, true)
	return collapse(fixText(b.String()))
}

// textContent appends the text of n's subtree to b: <br> and block
// boundaries become newlines, images their alt text when alt is set, and
// skipped elements nothing.
func textContent(n *html.Node, b *strings.Builder, alt bool) {
	switch n.Type {
	case html.TextNode:
		b.WriteString(n.Data)
		return
	case html.ElementNode:
	default:
		return
	}
	if skipped(n) {
		return
	}
	switch n.DataAtom {
	case atom.Br:
		b.WriteByte('\n')
		return
	case atom.Img:
		if alt {
			b.WriteString(" " + attr(n, "alt") + " ")
		}
		return
	}
	blk := isBlock(n.DataAtom)
	if blk {
		b.WriteByte('\n')
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		textContent(c, b, alt)
	}
	if blk {
		b.WriteByte('\n')
	}
}

func (r *renderer) pre(n *html.Node) string {
	var b strings.Builder
	textContent(n, &b, false)
	s := strings.ReplaceAll(sanitize(b.String()), "\r", "")
	// Drop blank lines at both ends and trailing blanks; keep indentation.
	lines := strings.Split(s, "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	s = strings.Join(lines, "\n")
	if s == "" {
		return ""
	}
	if r.plain {
		return strings.ReplaceAll(s, "`", "ˋ")
	}
	return "```\n" + breakFences(s) + "\n```"
}

// breakFences replaces every backtick in a run of three or more with a
// look-alike, so code cannot close the ``` block it is in.
func breakFences(s string) string {
	if !strings.Contains(s, "```") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '`' {
			j := strings.IndexByte(s[i:], '`')
			if j < 0 {
				j = len(s) - i
			}
			b.WriteString(s[i : i+j])
			i += j
			continue
		}
		j := i
		for j < len(s) && s[j] == '`' {
			j++
		}
		if j-i >= 3 {
			b.WriteString(strings.Repeat("ˋ", j-i))
		} else {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}

func (r *renderer) blockquote(n *html.Node, depth int) string {
	r.quote++
	s := r.children(n, depth, "\n\n")
	r.quote--
	if s == "" || r.plain || r.quote > 0 {
		// Slack shows one level of quote only: the outermost one prefixes.
		return s
	}
	return prefixLines(s, string(quoteMark)+" ", string(quoteMark), true)
}

// prefixLines puts prefix before every line of s, or blank before empty
// lines. Unless all is set, lines inside ``` blocks are left alone (the
// fences themselves are prefixed), so indenting does not change code.
func prefixLines(s, prefix, blank string, all bool) string {
	lines := strings.Split(s, "\n")
	code := false
	for i, l := range lines {
		// Only this package writes "```" (see breakFences, fixText), always
		// on a fence line of its own.
		fence := strings.Contains(l, "```")
		switch {
		case code && !fence && !all:
		case l == "":
			lines[i] = blank
		default:
			lines[i] = prefix + l
		}
		if fence {
			code = !code
		}
	}
	return strings.Join(lines, "\n")
}

func (r *renderer) list(n *html.Node, depth int) string {
	ordered := n.DataAtom == atom.Ol
	num := 1
	if ordered {
		if v, err := strconv.Atoi(strings.TrimSpace(attr(n, "start"))); err == nil && v >= 0 && v < 1e9 {
			num = v
		}
	}
	r.lists++
	defer func() { r.lists-- }()
	var items []string
	in := &inline{}
	flush := func() {
		if s := in.String(); s != "" {
			items = append(items, s)
		}
		in = &inline{}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch {
		case c.Type == html.ElementNode && c.DataAtom == atom.Li:
			flush()
			marker := "•"
			if ordered {
				marker = strconv.Itoa(num) + "."
				num++
			}
			if s := r.item(c, marker, depth+1); s != "" {
				items = append(items, s)
			}
		case c.Type == html.ElementNode && isBlock(c.DataAtom):
			flush()
			s := r.block(c, depth+1)
			if s == "" {
				continue
			}
			if (c.DataAtom == atom.Ul || c.DataAtom == atom.Ol) && !r.plain && r.lists <= maxListIndent {
				// A list directly inside a list belongs to the item before it.
				s = prefixLines(s, indent, "", false)
			}
			items = append(items, s)
		default:
			r.inline(c, in, depth+1)
		}
	}
	flush()
	return strings.Join(items, "\n")
}

func (r *renderer) item(n *html.Node, marker string, depth int) string {
	s := r.children(n, depth, "\n")
	if s == "" {
		return ""
	}
	pad := indent
	if r.plain || r.lists > maxListIndent {
		pad = ""
	}
	// Indent every line (fence-aware), then put the marker on the first.
	return marker + " " + strings.TrimPrefix(prefixLines(s, pad, "", false), pad)
}

func (r *renderer) heading(n *html.Node, depth int) string {
	r.bold++
	in := &inline{}
	r.inlineChildren(n, in, depth)
	r.bold--
	s := collapse(in.String())
	if s == "" || r.plain {
		return s
	}
	return "*" + s + "*"
}

func (r *renderer) table(n *html.Node, depth int) string {
	var rows []string
	var walk func(n *html.Node, depth int)
	walk = func(n *html.Node, depth int) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			switch c.DataAtom {
			case atom.Thead, atom.Tbody, atom.Tfoot:
				if depth < maxDepth {
					walk(c, depth+1)
				}
			case atom.Tr:
				if s := r.row(c, depth+1); s != "" {
					rows = append(rows, s)
				}
			case atom.Caption, atom.Colgroup, atom.Col:
				if s := r.cell(c, depth+1); s != "" {
					rows = append(rows, s)
				}
			default:
				if s := r.block(c, depth+1); s != "" {
					rows = append(rows, s)
				}
			}
		}
	}
	walk(n, depth)
	return strings.Join(rows, "\n")
}

func (r *renderer) row(n *html.Node, depth int) string {
	var cells []string
	empty := true
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode || (c.DataAtom != atom.Td && c.DataAtom != atom.Th) {
			continue
		}
		s := r.cell(c, depth+1)
		if s != "" {
			empty = false
		}
		cells = append(cells, s)
	}
	if empty {
		return ""
	}
	return strings.TrimSpace(strings.Join(cells, " | "))
}

// cell renders n's content on one line.
func (r *renderer) cell(n *html.Node, depth int) string {
	if depth > maxDepth {
		return flatText(n)
	}
	in := &inline{}
	r.inlineChildren(n, in, depth)
	return collapse(in.String())
}

// inline is a whitespace-collapsing builder for inline content.
type inline struct {
	b     strings.Builder
	space bool // whitespace seen since the last content written
	lead  bool // whitespace seen before any content
	nl    int  // newlines at the end of b
	block bool // a block was rendered into this inline run
}

func (in *inline) markSpace() {
	if in.b.Len() == 0 {
		in.lead = true
	} else {
		in.space = true
	}
}

func (in *inline) flushSpace() {
	if in.space && in.nl == 0 {
		in.b.WriteByte(' ')
	}
	in.space = false
}

// text appends text, collapsing whitespace runs to one space.
func (in *inline) text(s string) {
	for _, c := range s {
		if isSpace(c) {
			in.markSpace()
			continue
		}
		in.flushSpace()
		in.b.WriteRune(c)
		in.nl = 0
	}
}

// raw appends s (non-empty, no leading/trailing whitespace) as is.
func (in *inline) raw(s string) {
	if s == "" {
		return
	}
	in.flushSpace()
	in.b.WriteString(s)
	in.nl = 0
}

// lineBreak ends the line (<br>); a second one in a row makes a blank line,
// more are ignored.
func (in *inline) lineBreak() {
	in.space = false
	if in.b.Len() > 0 && in.nl < 2 {
		in.b.WriteByte('\n')
		in.nl++
	}
}

// newline writes newlines until the text ends with limit of them.
func (in *inline) newline(limit int) {
	in.space = false
	for in.b.Len() > 0 && in.nl < limit {
		in.b.WriteByte('\n')
		in.nl++
	}
}

func (in *inline) String() string { return strings.TrimRight(in.b.String(), "\n") }

func (r *renderer) inlineChildren(n *html.Node, in *inline, depth int) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		r.inline(c, in, depth+1)
	}
}

func (r *renderer) inline(n *html.Node, in *inline, depth int) {
	switch n.Type {
	case html.TextNode:
		in.text(fixText(n.Data))
		return
	case html.ElementNode:
	default:
		return
	}
	if skipped(n) {
		return
	}
	if depth > maxDepth {
		in.text(flatText(n))
		return
	}
	if isBlock(n.DataAtom) {
		s := r.block(n, depth)
		if s == "" {
			return
		}
		if r.plain {
			in.markSpace()
			in.raw(s)
			in.markSpace()
			return
		}
		in.newline(2)
		in.raw(s)
		in.newline(2)
		in.block = true
		return
	}
	switch n.DataAtom {
	case atom.Br:
		if r.plain {
			in.markSpace()
		} else {
			in.lineBreak()
		}
	case atom.Img:
		in.raw(r.image(n))
	case atom.A:
		r.anchor(n, in, depth)
	case atom.B, atom.Strong:
		r.wrap(n, in, depth, "*", &r.bold)
	case atom.I, atom.Em:
		r.wrap(n, in, depth, "_", &r.italic)
	case atom.S, atom.Del, atom.Strike:
		r.wrap(n, in, depth, "~", &r.strike)
	case atom.Code, atom.Kbd, atom.Samp, atom.Tt:
		r.code(n, in)
	default:
		r.inlineChildren(n, in, depth)
	}
}

// wrap renders n's children between marker characters. Each line is wrapped
// separately (Slack formatting does not span lines); when n contains blocks
// or the same formatting is already active, or in plain mode, the markers
// are dropped.
func (r *renderer) wrap(n *html.Node, in *inline, depth int, marker string, active *int) {
	if r.plain || *active > 0 {
		r.inlineChildren(n, in, depth)
		return
	}
	*active++
	sub := &inline{}
	r.inlineChildren(n, sub, depth)
	*active--
	if sub.lead {
		in.markSpace()
	}
	s := sub.String()
	if sub.block {
		in.newline(2)
		in.raw(s)
		in.newline(2)
		in.block = true
		return
	}
	if s != "" {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			if l != "" {
				lines[i] = marker + l + marker
			}
		}
		in.raw(strings.Join(lines, "\n"))
	}
	if sub.space {
		in.markSpace()
	}
}

func (r *renderer) code(n *html.Node, in *inline) {
	var b strings.Builder
	textContent(n, &b, false)
	raw := b.String()
	s := collapse(sanitize(raw))
	if s == "" {
		if raw != "" {
			in.markSpace()
		}
		return
	}
	s = strings.ReplaceAll(s, "`", "ˋ")
	if r.plain {
		in.text(s)
		return
	}
	in.raw("`" + s + "`")
}

func (r *renderer) anchor(n *html.Node, in *inline, depth int) {
	href, ok := r.resolve(attr(n, "href"))
	if !ok {
		r.inlineChildren(n, in, depth)
		return
	}
	var b strings.Builder
	textContent(n, &b, true)
	label := collapse(sanitize(b.String()))
	if !strings.HasPrefix(href, "mailto:") {
		label = honestLabel(href, label)
	}
	// Whitespace around the link text (not around image alt text) belongs
	// outside the link.
	b.Reset()
	textContent(n, &b, false)
	raw := b.String()
	if raw != "" && isSpace(rune(raw[0])) {
		in.markSpace()
	}
	in.raw(string(linkOpen) + href + string(linkSep) + label + string(linkClose))
	if raw != "" && isSpace(rune(raw[len(raw)-1])) {
		in.markSpace()
	}
}

func (r *renderer) image(n *html.Node) string {
	alt := collapse(fixText(attr(n, "alt")))
	label := "image"
	if alt != "" {
		label = "image: " + alt
	}
	if !r.plain {
		if src, ok := r.resolve(attr(n, "src")); ok {
			return string(linkOpen) + src + string(linkSep) + label + string(linkClose)
		}
	}
	return "[" + label + "]"
}

// resolve turns an href/src into an absolute http(s) or mailto URL, safe to
// put between the link sentinels, or reports false.
func (r *renderer) resolve(href string) (string, bool) {
	// Like browsers: strip tabs and newlines anywhere, C0 and space at ends.
	href = strings.Map(func(c rune) rune {
		if c == '\t' || c == '\n' || c == '\r' {
			return -1
		}
		return c
	}, href)
	href = strings.TrimFunc(href, func(c rune) bool { return c <= ' ' })
	if href == "" {
		return "", false
	}
	u, err := url.Parse(href)
	if err != nil {
		return "", false
	}
	if u.Scheme == "" {
		if r.base == nil {
			return "", false
		}
		u = r.base.ResolveReference(u)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return "", false
		}
	case "mailto":
		if u.Opaque == "" && u.Path == "" {
			return "", false
		}
	default:
		return "", false
	}
	return linkURL(u.String())
}

// fallbackText is the text of s, a line per block, for documents the parser
// refuses (nesting deeper than 512 elements).
func fallbackText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		switch tt := z.Next(); tt {
		case html.ErrorToken:
			var lines []string
			for _, l := range strings.Split(fixText(b.String()), "\n") {
				if l = collapse(l); l != "" {
					lines = append(lines, l)
				}
			}
			return strings.Join(lines, "\n")
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch {
			case a == atom.Script || a == atom.Style:
				if tt == html.StartTagToken {
					skip++
				} else if skip > 0 {
					skip--
				}
			case a == atom.Br || isBlock(a):
				b.WriteByte('\n')
			}
		}
	}
}

// Plain renders a plain SOE string (title, display name, tag name, search
// snippet) as inert mrkdwn text: HTML entities are decoded exactly once (SOE
// strings arrive HTML-escaped, sometimes more than once — the remaining
// escaping is shown as is), control, bidi-override and zero-width characters
// are removed, newlines and whitespace runs become single spaces, and the
// result is escaped, so "<!channel>" comes out as "&lt;!channel&gt;".
// Markup is not interpreted: tags in s are shown as text.
func Plain(s string) string {
	return Escape(cleanInline(html.UnescapeString(s)))
}
