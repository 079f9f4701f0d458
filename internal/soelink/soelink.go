// Package soelink parses the web URLs of Stack Overflow Enterprise posts
// (questions, answers and articles, on the main site or under /c/<team>/)
// into the scope and ids the API needs. Link previews (internal/features/
// unfurl) and search's Share buttons (internal/features/search) use it.
//
// It is not part of internal/soe: soe is the API client and knows nothing
// of the site's web pages; and a team in a URL is checked with the /soe
// grammar's team slug rule (router.ValidTeamSlug), which soe cannot import.
package soelink

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

// Kinds of SOE post a link can point at (the first three are the kinds of
// soe.SearchResult).
const (
	Question = soe.ResultQuestion
	Answer   = soe.ResultAnswer
	Article  = soe.ResultArticle
	// ShareLink is an answer share link (/a/{answerId}): it does not say
	// which question the answer belongs to, and API v3 cannot fetch an
	// answer without it, so the site's own redirect is asked first.
	ShareLink = "answer share link"
)

// Link is an SOE post link, parsed.
type Link struct {
	Scope      soe.Scope
	Kind       string // Question, Answer, Article or ShareLink
	QuestionID int    // questions and answers
	AnswerID   int    // answers and share links
	ArticleID  int    // articles
}

// MaxID bounds ids so that parsing never overflows and junk is refused.
const MaxID = 1<<31 - 1

// Site is the parsed SOE site root (SOE_URL) that links are matched against.
// The zero Site recognises no link.
type Site struct {
	scheme string
	host   string // lower-case host[:port], default ports removed
	path   string // path prefix without trailing slash ("" at the root)
}

// ParseSite parses the configured SOE site URL; ok is false when it is not
// an absolute http(s) URL (then no link is ever recognised).
func ParseSite(raw string) (Site, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Site{}, false
	}
	return Site{scheme: u.Scheme, host: normHost(u), path: strings.TrimRight(u.EscapedPath(), "/")}, true
}

// ShareLinkURL is the answer share link of l, rebuilt from its ids alone
// (nothing of the URL a person typed is passed on): /a/{answerId} on the
// site, under /c/{team} for a private team.
func (s Site) ShareLinkURL(l Link) string {
	prefix := s.scheme + "://" + s.host + s.path
	if l.Scope.IsTeam() {
		prefix += "/c/" + url.PathEscape(l.Scope.Team)
	}
	return prefix + "/a/" + strconv.Itoa(l.AnswerID)
}

// IsZero reports a site that recognises no link.
func (s Site) IsZero() bool { return s.host == "" }

func normHost(u *url.URL) string {
	host, port := u.Hostname(), u.Port()
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		if strings.Contains(host, ":") { // IPv6 literal
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}

// Parse recognises links to SOE posts on site:
//
//	/questions/{id}[/{slug}]              a question
//	/questions/{id}/{slug}#{answerId}     an answer (the fragment names it)
//	/questions/{id}/{slug}/{answerId}     an answer (SOE's answer webUrl form)
//	/q/{id}                               a question (share link)
//	/articles/{id}[/{slug}]               an article
//	/a/{answerId}[/{userId}]              an answer share link (resolved
//	                                      through the site's redirect)
//
// and the same under /c/{team}/ for a private team. Anything else (another
// host, another path) is ignored.
func (s Site) Parse(raw string) (Link, bool) {
	if s.host == "" || len(raw) > 2048 {
		return Link{}, false
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || normHost(u) != s.host {
		return Link{}, false
	}
	p := u.EscapedPath()
	if s.path != "" {
		rest, ok := strings.CutPrefix(p, s.path)
		if !ok || (rest != "" && rest[0] != '/') {
			return Link{}, false
		}
		p = rest
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	var l Link
	if len(segs) >= 2 && segs[0] == "c" {
		if !router.ValidTeamSlug(segs[1]) {
			return Link{}, false
		}
		l.Scope = soe.TeamScope(strings.ToLower(segs[1]))
		segs = segs[2:]
	}
	if len(segs) < 2 || len(segs) > 4 {
		return Link{}, false
	}
	id, ok := linkID(segs[1])
	if !ok {
		return Link{}, false
	}
	switch segs[0] {
	case "questions":
		l.Kind, l.QuestionID = Question, id
		if len(segs) == 4 {
			aid, ok := linkID(segs[3])
			if !ok {
				return Link{}, false
			}
			l.Kind, l.AnswerID = Answer, aid
		} else if aid, ok := linkID(u.Fragment); ok {
			l.Kind, l.AnswerID = Answer, aid
		}
	case "q":
		if len(segs) > 3 { // /q/{id}[/{userId}]
			return Link{}, false
		}
		l.Kind, l.QuestionID = Question, id
	case "a":
		if len(segs) > 3 { // /a/{id}[/{userId}]
			return Link{}, false
		}
		l.Kind, l.AnswerID = ShareLink, id
	case "articles":
		if len(segs) > 3 {
			return Link{}, false
		}
		l.Kind, l.ArticleID = Article, id
	default:
		return Link{}, false
	}
	return l, true
}

// linkID parses a positive decimal id (digits only, no sign, bounded).
func linkID(s string) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > MaxID {
		return 0, false
	}
	return n, true
}
