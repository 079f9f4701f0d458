package mrkdwn

import (
	"strings"
	"unicode/utf8"
)

// Truncate cuts s to at most n runes on a word boundary, adding "…" when it
// cut. It never splits an HTML/Slack entity such as &amp;.
//
// s is mrkdwn (already escaped). Truncate also never cuts inside a <url|label>
// link: a link that does not fit is reduced to as much of its label as fits,
// as plain text. If the cut leaves a ``` code block open it is closed, still
// within n runes. The result is never longer than n runes, and for n > 0 and
// non-empty s it is never empty. Unbalanced inline markers (*, _, ~, `) are
// left alone: Slack shows them literally.
func Truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n == 1 {
		return "…"
	}
	toks := tokenize(s, n)
	out, fences := cutTokens(toks, n-1)
	if fences%2 == 0 {
		return out + "…"
	}
	// Reserve room for "\n```" to close the block we cut open.
	out, fences = cutTokens(toks, n-5)
	if fences%2 == 0 {
		return out + "…"
	}
	return out + "…\n```"
}

type tokKind uint8

const (
	tRune tokKind = iota
	tSpace
	tFence
	tLink
)

type token struct {
	text  string
	width int // runes
	kind  tokKind
	label string // tLink: the (escaped) label, "" for a bare <url>
}

// tokenize splits escaped mrkdwn into units a cut must not split: entities,
// ``` fences, <…> links, and single runes (spaces marked as such). It stops
// one token after the first token that takes the total width past limit (so
// the caller can see what follows the cut).
func tokenize(s string, limit int) []token {
	toks := make([]token, 0, min(len(s), limit+2))
	w, past := 0, 0
	for i := 0; i < len(s) && past < 2; {
		t := nextToken(s[i:])
		toks = append(toks, t)
		i += len(t.text)
		if w += t.width; w > limit {
			past++
		}
	}
	return toks
}

// nextToken returns the token at the start of s (non-empty).
func nextToken(s string) token {
	switch s[0] {
	case '<':
		if j := strings.IndexAny(s[1:], "<>"); j >= 0 && s[1+j] == '>' {
			link := s[:j+2]
			label := ""
			if p := strings.IndexByte(link, '|'); p >= 0 {
				label = link[p+1 : len(link)-1]
			}
			return token{text: link, width: utf8.RuneCountInString(link), kind: tLink, label: label}
		}
	case '&':
		if j := entityLen(s); j > 0 {
			return token{text: s[:j], width: j}
		}
	case '`':
		if strings.HasPrefix(s, "```") {
			return token{text: "```", width: 3, kind: tFence}
		}
	case ' ', '\n', '\t':
		return token{text: s[:1], width: 1, kind: tSpace}
	}
	_, size := utf8.DecodeRuneInString(s)
	return token{text: s[:size], width: 1}
}

// entityLen returns the length of the character reference at the start of s
// (&name; or &#123; or &#x1F;), or 0.
func entityLen(s string) int {
	for i := 1; i < len(s) && i <= 32; i++ {
		c := s[i]
		switch {
		case c == ';':
			if i == 1 {
				return 0
			}
			return i + 1
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '#' && i == 1:
		default:
			return 0
		}
	}
	return 0
}

// cutTokens joins the longest prefix of toks that fits in budget runes,
// preferring to end at a space within the last 20%, reducing a link that does
// not fit to its label, and dropping trailing whitespace. It returns the text
// and the number of ``` fences in it.
func cutTokens(toks []token, budget int) (string, int) {
	var kept []token
	w := 0
	boundary := false // the first token left out is whitespace
	for i, t := range toks {
		if w+t.width <= budget {
			kept = append(kept, t)
			w += t.width
			continue
		}
		boundary = t.kind == tSpace
		if t.kind == tLink && t.label != "" {
			// The link does not fit: keep what fits of its label as text.
			whole := true
			for _, lt := range tokenize(t.label, budget-w) {
				if w+lt.width > budget {
					boundary = lt.kind == tSpace
					whole = false
					break
				}
				kept = append(kept, lt)
				w += lt.width
			}
			if whole {
				boundary = i+1 < len(toks) && toks[i+1].kind == tSpace
			}
		}
		break
	}
	if !boundary {
		// Back off to the last space if that keeps at least 80% of the budget.
		acc := w
		for j := len(kept) - 1; j >= 0; j-- {
			acc -= kept[j].width // width of kept[:j]
			if acc < budget*4/5 {
				break
			}
			if kept[j].kind == tSpace {
				kept = kept[:j]
				break
			}
		}
	}
	for len(kept) > 0 && kept[len(kept)-1].kind == tSpace {
		kept = kept[:len(kept)-1]
	}
	var b strings.Builder
	fences := 0
	for _, t := range kept {
		if t.kind == tFence {
			fences++
		}
		b.WriteString(t.text)
	}
	return b.String(), fences
}
