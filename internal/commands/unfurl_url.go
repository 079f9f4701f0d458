package commands

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/soebot/soebot/internal/router"

	"github.com/soebot/soebot/internal/soe"
)

// Kinds of SOE post a link can point at.
const (
	postQuestion = "question"
	postAnswer   = "answer"
	postArticle  = "article"
	// postShareLink is an answer share link (/a/{answerId}): it does not say
	// which question the answer belongs to, and API v3 cannot fetch an
	// answer without it, so the site's own redirect is asked first.
	postShareLink = "answer share link"
)

// soeLink is an SOE post link, parsed.
type soeLink struct {
	Scope      soe.Scope
	Kind       string // postQuestion, postAnswer or postArticle
	QuestionID int    // questions and answers
	AnswerID   int    // answers
	ArticleID  int    // articles
}

// maxLinkID bounds ids so that parsing never overflows and junk is refused.
const maxLinkID = 1<<31 - 1

// siteRoot is the parsed SOE_URL that links are matched against.
type siteRoot struct {
	host string // lower-case host[:port], default ports removed
	path string // path prefix without trailing slash ("" at the root)
}

// parseSiteRoot parses the configured SOE site URL; ok is false when it is
// not an absolute http(s) URL (then no link is ever recognised).
func parseSiteRoot(raw string) (siteRoot, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return siteRoot{}, false
	}
	return siteRoot{host: normHost(u), path: strings.TrimRight(u.EscapedPath(), "/")}, true
}

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

// parseSOELink recognises links to SOE posts on site:
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
func parseSOELink(site siteRoot, raw string) (soeLink, bool) {
	if site.host == "" || len(raw) > 2048 {
		return soeLink{}, false
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || normHost(u) != site.host {
		return soeLink{}, false
	}
	p := u.EscapedPath()
	if site.path != "" {
		rest, ok := strings.CutPrefix(p, site.path)
		if !ok || (rest != "" && rest[0] != '/') {
			return soeLink{}, false
		}
		p = rest
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	var l soeLink
	if len(segs) >= 2 && segs[0] == "c" {
		if !router.ValidTeamSlug(segs[1]) {
			return soeLink{}, false
		}
		l.Scope = soe.TeamScope(strings.ToLower(segs[1]))
		segs = segs[2:]
	}
	if len(segs) < 2 || len(segs) > 4 {
		return soeLink{}, false
	}
	id, ok := linkID(segs[1])
	if !ok {
		return soeLink{}, false
	}
	switch segs[0] {
	case "questions":
		l.Kind, l.QuestionID = postQuestion, id
		if len(segs) == 4 {
			aid, ok := linkID(segs[3])
			if !ok {
				return soeLink{}, false
			}
			l.Kind, l.AnswerID = postAnswer, aid
		} else if aid, ok := linkID(u.Fragment); ok {
			l.Kind, l.AnswerID = postAnswer, aid
		}
	case "q":
		if len(segs) > 3 { // /q/{id}[/{userId}]
			return soeLink{}, false
		}
		l.Kind, l.QuestionID = postQuestion, id
	case "a":
		if len(segs) > 3 { // /a/{id}[/{userId}]
			return soeLink{}, false
		}
		l.Kind, l.AnswerID = postShareLink, id
	case "articles":
		if len(segs) > 3 {
			return soeLink{}, false
		}
		l.Kind, l.ArticleID = postArticle, id
	default:
		return soeLink{}, false
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
	if err != nil || n <= 0 || n > maxLinkID {
		return 0, false
	}
	return n, true
}
