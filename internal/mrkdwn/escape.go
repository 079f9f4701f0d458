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
	"net"
	neturl "net/url"
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
	if !strings.HasPrefix(u, "mailto:") {
		label = honestLabel(u, label)
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

// ChannelMention is <#C…> for a plausible channel id, inert text otherwise.
func ChannelMention(id string) string {
	ok := len(id) >= 3 && len(id) <= 32 && (id[0] == 'C' || id[0] == 'G' || id[0] == 'D')
	for i := 1; ok && i < len(id); i++ {
		c := id[i]
		ok = c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if !ok {
		return Escape("#" + id)
	}
	return "<#" + id + ">"
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

// honestLabel returns label, or target itself when label looks like a URL
// or a host name other than target's: an SOE post must not show
// "https://<your SOE>/login" as the label of a link to somewhere else.
func honestLabel(target, label string) string {
	host, ok := labelHost(label)
	if !ok {
		return label
	}
	u, err := neturl.Parse(target)
	if err != nil || !sameHost(u.Hostname(), host) {
		return target
	}
	return label
}

// labelHost is the host name a link label shows, if it looks like a URL
// ("https://x.example/…", "//x.example", "www.x.example") or a bare host
// name with a common top-level domain ("x.com", "x.example/path"); code
// such as "rate.Limiter" or "setup.py" is not taken for a host.
func labelHost(label string) (string, bool) {
	s := strings.ToLower(strings.TrimSpace(label))
	explicit := false
	if i := strings.Index(s, "://"); i >= 0 {
		s, explicit = s[i+3:], true
	} else if strings.HasPrefix(s, "//") {
		s, explicit = s[2:], true
	}
	if j := strings.IndexAny(s, "/?#"); j >= 0 {
		s = s[:j]
	}
	if at := strings.LastIndexByte(s, '@'); at >= 0 { // user@host shows host
		s = s[at+1:]
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	s = strings.TrimSuffix(s, ".")
	explicit = explicit || strings.HasPrefix(s, "www.")
	if !hostLike(s) {
		return "", false
	}
	if !explicit && net.ParseIP(s) == nil && !commonTLD(s[strings.LastIndexByte(s, '.')+1:]) {
		return "", false
	}
	return s, true
}

// commonTLD reports the top-level domains a bare label is taken as a host
// name for.
func commonTLD(tld string) bool {
	switch tld {
	case "com", "net", "org", "io", "co", "dev", "app", "edu", "gov", "info", "biz", "cloud", "ai", "us", "uk", "de",
		"example", "test", "local", "internal", "corp":
		return true
	}
	return false
}

// hostLike: dot-separated labels of letters, digits and '-', the last one
// at least two letters (a top-level domain) or an IPv4 address.
func hostLike(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.ContainsFunc(p, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r > 0x7f)
		}) {
			return false
		}
	}
	if net.ParseIP(s) != nil {
		return true
	}
	tld := parts[len(parts)-1]
	return len(tld) >= 2 && !strings.ContainsFunc(tld, func(r rune) bool { return r >= '0' && r <= '9' || r == '-' })
}

func sameHost(a, b string) bool {
	a = strings.TrimSuffix(strings.ToLower(a), ".")
	b = strings.TrimSuffix(strings.ToLower(b), ".")
	return a == b || strings.TrimPrefix(a, "www.") == strings.TrimPrefix(b, "www.")
}
