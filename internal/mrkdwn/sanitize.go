package mrkdwn

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentinel runes mark links and quote prefixes inside the intermediate text
// built by the HTML renderer (see html.go): the only places where emit writes
// a raw '<' or '>'. They are Unicode noncharacters, and sanitize strips every
// noncharacter from untrusted input, so input can never forge them.
const (
	linkOpen  = '\uFDD0'
	linkSep   = '\uFDD1'
	linkClose = '\uFDD2'
	quoteMark = '\uFDD3' // emitted as '>'
)

// dropRune reports whether r is never wanted in output: C0/C1 controls other
// than the whitespace ones, bidi embeddings/overrides/isolates, zero-width and
// BOM characters, and noncharacters. U+200D (zero-width joiner) is handled by
// sanitize itself because it is kept inside emoji sequences.
func dropRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v':
		return false
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200b || r == 0x200c || r == 0x2060 || r == 0xfeff:
		return true
	case r >= 0xfdd0 && r <= 0xfdef, r&0xfffe == 0xfffe:
		return true
	}
	return false
}

// emojiish reports whether r can sit on either side of a zero-width joiner in
// an emoji ZWJ sequence (👨‍👩‍👧, 🏳️‍🌈, 👩🏽‍💻).
func emojiish(r rune) bool {
	return r == 0xfe0f || (r >= 0x1f3fb && r <= 0x1f3ff) || unicode.Is(unicode.So, r)
}

// sanitize removes the runes dropRune rejects, keeps U+200D only between two
// emoji, maps \v, \f and U+2028/U+2029 to plain whitespace, and replaces
// invalid UTF-8 with U+FFFD, so the result is always valid UTF-8.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r == 0x200d || r == '\v' || r == '\f' || r == 0x2028 || r == 0x2029 || dropRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	prev := rune(-1)
	for i, r := range s {
		switch {
		case r == 0x200d:
			next, _ := utf8.DecodeRuneInString(s[i+len("\u200d"):])
			if prev >= 0 && emojiish(prev) && emojiish(next) {
				b.WriteRune(r)
			}
			continue
		case r == '\v' || r == '\f':
			r = ' '
		case r == 0x2028 || r == 0x2029:
			r = '\n'
		case r == utf8.RuneError:
			// Either invalid UTF-8 or a literal U+FFFD: both come out as U+FFFD.
		case dropRune(r):
			continue
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

// isSpace reports HTML/ASCII whitespace plus the Unicode line separators. It
// deliberately excludes U+00A0 (no-break space) so &nbsp; survives.
func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\f', '\v', 0x2028, 0x2029:
		return true
	}
	return false
}

// collapse replaces every run of whitespace (see isSpace) with one space and
// trims both ends.
func collapse(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if isSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// cleanInline is sanitize followed by collapse: one line of clean text.
func cleanInline(s string) string { return collapse(sanitize(s)) }

// capInput cuts s to at most limit bytes without splitting a UTF-8 sequence.
func capInput(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
