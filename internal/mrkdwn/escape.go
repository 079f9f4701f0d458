// Package mrkdwn turns untrusted text (SOE titles, names, HTML bodies) into
// Slack mrkdwn that cannot ping anyone or smuggle links: the only control
// sequences in the output are the ones the caller adds on purpose.
//
// Invariant kept by every function here that takes untrusted input: each '<'
// in the output begins a link this package built, of the form
// <http://…>, <https://…> or <mailto:…> (optionally with a |label), whose URL
// contains no '<', '>', '|' or whitespace and whose label contains no '<' or
// '>'. Nothing produces "<!", "<@" or "<#" except Mention, whose argument must
// be a Slack user ID.
//
// Send the results in mrkdwn text objects with "verbatim": true and never with
// link_names or parse=full, or Slack will auto-link @names and #channels.
package mrkdwn

import (
	"strings"
	"unicode"
)

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape makes s inert in Slack mrkdwn: &, < and > are entity-encoded, which is
// all Slack needs to stop <!channel>, <@U…> and <url|label> sequences.
func Escape(s string) string { return escaper.Replace(s) }

// Link renders a Slack link <url|label> whose label is escaped and whose URL
// cannot break out of the angle brackets.
//
// Only http, https and mailto URLs become links; for any other (or empty) URL
// Link returns the escaped label alone. The label is cleaned like Plain's
// output (no control, bidi or zero-width characters, one line) but not
// entity-decoded. An empty label gives <url>.
func Link(url, label string) string {
	label = cleanInline(label)
	u, ok := linkURL(url)
	if !ok {
		return Escape(label)
	}
	if label == "" {
		return "<" + u + ">"
	}
	// '|' in the label is harmless: Slack splits at the first one, and the URL
	// has none.
	return "<" + u + "|" + Escape(label) + ">"
}

// linkURL checks that raw is an http(s) or mailto URL with something after
// the scheme, lower-cases the scheme and percent-encodes every rune that could
// end the link early or hide in it: < > | whitespace, controls and format
// characters (bidi, zero-width).
func linkURL(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	var scheme string
	for _, s := range []string{"https://", "http://", "mailto:"} {
		if len(raw) > len(s) && strings.EqualFold(raw[:len(s)], s) {
			scheme = s
			break
		}
	}
	if scheme == "" {
		return "", false
	}
	rest := raw[len(scheme):]
	var b strings.Builder
	b.Grow(len(raw) + 8)
	b.WriteString(scheme)
	const hex = "0123456789ABCDEF"
	for _, r := range rest {
		if r == '<' || r == '>' || r == '|' || r == '"' || r == 0xfffd || unicode.IsSpace(r) ||
			unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || dropRune(r) {
			var buf [4]byte
			n := copy(buf[:], string(r))
			for _, c := range buf[:n] {
				b.WriteByte('%')
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String(), true
}

// Mention renders a Slack user mention for a Slack user ID (U…/W…). Anything
// that is not a plausible user ID is rendered as inert, escaped text instead,
// so a bad ID can never become <!channel> or another control sequence.
func Mention(slackUserID string) string {
	if !isUserID(slackUserID) {
		return Escape("@" + cleanInline(slackUserID))
	}
	return "<@" + slackUserID + ">"
}

func isUserID(s string) bool {
	if len(s) < 3 || len(s) > 32 || (s[0] != 'U' && s[0] != 'W') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Code renders s as inline code. Backticks inside would end the span early, so
// they are replaced by a look-alike (ˋ, U+02CB). s is put on one line and
// cleaned like Plain's output; an empty (or all-blank) s gives "".
func Code(s string) string {
	s = cleanInline(s)
	if s == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(Escape(s), "`", "ˋ") + "`"
}
