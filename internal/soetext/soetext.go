// Package soetext is how Stack Overflow things read in Slack mrkdwn, for
// every feature that shows them (search, unfurl, the App Home, whoami): post
// titles, vote and answer counts, tag lists, and a linked SOE account.
// Every SOE string is escaped (internal/mrkdwn) before it is returned.
package soetext

import (
	"fmt"
	"html"
	"strings"
	"unicode/utf8"

	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
)

// TitleLen is the usual length, in runes, of a post title in a list.
const TitleLen = 200

// Title decodes a (possibly HTML-escaped) SOE title for use as a link
// label (mrkdwn.Link escapes it): one line, cut to n runes.
func Title(s string, n int) string {
	s = strings.Join(strings.Fields(html.UnescapeString(s)), " ")
	if s == "" {
		s = "(untitled)"
	}
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n-1]) + "…"
	}
	return s
}

// Votes is "1 vote", "-1 vote", "3 votes".
func Votes(n int) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d vote", n)
	}
	return fmt.Sprintf("%d votes", n)
}

// Answers is "1 answer", "0 answers".
func Answers(n int) string {
	if n == 1 {
		return "1 answer"
	}
	return fmt.Sprintf("%d answers", n)
}

// Tags shows at most limit tags as code spans, then "+N" for the rest.
func Tags(tags []string, limit int) string {
	var out []string
	for i, t := range tags {
		if i == limit {
			out = append(out, fmt.Sprintf("+%d", len(tags)-limit))
			break
		}
		out = append(out, mrkdwn.Code(mrkdwn.Truncate(t, 40)))
	}
	return strings.Join(out, " ")
}

// Account is the linked SOE user: their name, linked to their profile.
func Account(l linking.Link) string {
	name := l.SOEName
	if name == "" {
		name = fmt.Sprintf("user %d", l.SOEUserID)
	}
	if l.SOEProfileURL != "" {
		return mrkdwn.Link(l.SOEProfileURL, name)
	}
	return mrkdwn.Escape(name)
}

// Expiry says when the link's token expires.
func Expiry(l linking.Link) string {
	if l.Expiry.IsZero() {
		return "never expires"
	}
	return "expires " + l.Expiry.UTC().Format("2006-01-02 15:04 UTC")
}
