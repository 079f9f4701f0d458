// Package mrkdwn turns untrusted text (SOE titles, names, HTML bodies) into
// Slack mrkdwn that cannot ping anyone or smuggle links: the only control
// sequences in the output are the ones the caller adds on purpose.
package mrkdwn

import "strings"

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape makes s inert in Slack mrkdwn: &, < and > are entity-encoded, which is
// all Slack needs to stop <!channel>, <@U…> and <url|label> sequences.
func Escape(s string) string { return escaper.Replace(s) }

// Link renders a Slack link <url|label> whose label is escaped and whose URL
// cannot break out of the angle brackets.
func Link(url, label string) string {
	if url == "" {
		return Escape(label)
	}
	u := strings.NewReplacer("<", "%3C", ">", "%3E", "|", "%7C", " ", "%20").Replace(url)
	if label == "" {
		return "<" + u + ">"
	}
	// A label may not contain '|' or '>' unescaped; Escape covers '>', '|' is
	// harmless after the first separator but keep it readable.
	return "<" + u + "|" + Escape(label) + ">"
}

// Mention renders a Slack user mention for a Slack user ID (U…/W…).
func Mention(slackUserID string) string { return "<@" + slackUserID + ">" }

// Code renders s as inline code. Backticks inside would end the span early, so
// they are replaced by a look-alike.
func Code(s string) string {
	return "`" + strings.ReplaceAll(Escape(s), "`", "ˋ") + "`"
}

// Truncate cuts s to at most n runes on a word boundary, adding "…" when it
// cut. It never splits an HTML/Slack entity such as &amp;.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	cut := n - 1
	// Do not split an entity (&...;) that began within the last 8 runes.
	for i := cut - 1; i >= 0 && i >= cut-8; i-- {
		if r[i] == ';' {
			break
		}
		if r[i] == '&' {
			cut = i
			break
		}
	}
	// Prefer a word boundary in the last 20% of the text.
	for i := cut; i > cut*4/5; i-- {
		if r[i] == ' ' || r[i] == '\n' {
			cut = i
			break
		}
	}
	return strings.TrimRight(string(r[:cut]), " \n") + "…"
}
