package soefake

import (
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

type searchHit struct {
	kind     string // question | answer | article
	score    int    // post score
	rel      int    // relevance
	created  time.Time
	activity time.Time
	id       int
	item     any
}

var tagQueryRE = regexp.MustCompile(`\[([^\]]+)\]`)

// search implements GET /search: all query terms must appear in the title,
// body or tags; "[tag]" restricts to a tag; "is:question|answer|article"
// restricts the type. Sort: relevance (default), newest, active, score.
func (s *Server) search(w http.ResponseWriter, c *apiCtx) {
	pg, ok := paging(w, c.q, []string{"relevance", "newest", "active", "score"}, "relevance", "desc")
	if !ok {
		return
	}
	pg.noOrder = true
	pg.order = "desc"
	query := strings.ToLower(c.q.Get("query"))
	var tags []string
	for _, m := range tagQueryRE.FindAllStringSubmatch(query, -1) {
		tags = append(tags, strings.TrimSpace(m[1]))
	}
	query = tagQueryRE.ReplaceAllString(query, " ")
	var kinds, terms []string
	for _, f := range strings.Fields(query) {
		if k, ok := strings.CutPrefix(f, "is:"); ok {
			kinds = append(kinds, k)
			continue
		}
		terms = append(terms, f)
	}
	st := c.site
	match := func(kind, title, body string, postTags []string) (int, bool) {
		if len(kinds) > 0 && !slices.Contains(kinds, kind) {
			return 0, false
		}
		for _, t := range tags {
			if !slices.Contains(postTags, t) {
				return 0, false
			}
		}
		lt, lb := strings.ToLower(title), strings.ToLower(body)
		rel := 0
		for _, term := range terms {
			hit := 0
			hit += 3 * strings.Count(lt, term)
			hit += strings.Count(lb, term)
			for _, pt := range postTags {
				if pt == term {
					hit += 2
				}
			}
			if hit == 0 {
				return 0, false
			}
			rel += hit
		}
		return rel, true
	}
	var hits []searchHit
	for _, q := range st.questions {
		if rel, ok := match("question", q.Title, q.BodyMarkdown, q.Tags); ok {
			hits = append(hits, searchHit{kind: "question", score: q.Score, rel: rel, created: q.Created, activity: q.LastActivity, id: q.ID,
				item: map[string]any{"type": "question", "questionId": q.ID, "answerCount": len(q.AnswerIDs),
					"hasAcceptedAnswer": q.AcceptedAnswerID != 0, "viewCount": q.ViewCount,
					"title": q.Title, "snippet": snippet(q.BodyMarkdown, terms), "tags": s.tagsJSON(st, q.Tags),
					"owner": s.userJSON(s.users[q.AuthorID]), "creationDate": fmtTime(q.Created), "score": q.Score,
					"webUrl": s.sitePrefix(st) + "/questions/" + itoa(q.ID) + "/" + slug(q.Title)}})
		}
	}
	for _, a := range st.answers {
		q := st.questions[a.QuestionID]
		if rel, ok := match("answer", q.Title, a.BodyMarkdown, q.Tags); ok {
			hits = append(hits, searchHit{kind: "answer", score: a.Score, rel: rel, created: a.Created, activity: a.LastActivity, id: a.ID,
				item: map[string]any{"type": "answer", "answerId": a.ID, "parentQuestionId": q.ID, "isAccepted": q.AcceptedAnswerID == a.ID,
					"title": q.Title, "snippet": snippet(a.BodyMarkdown, terms), "tags": s.tagsJSON(st, q.Tags),
					"owner": s.userJSON(s.users[a.AuthorID]), "creationDate": fmtTime(a.Created), "score": a.Score,
					"webUrl": s.sitePrefix(st) + "/questions/" + itoa(q.ID) + "/" + slug(q.Title) + "/" + itoa(a.ID) + "#" + itoa(a.ID)}})
		}
	}
	for _, ar := range st.articles {
		if rel, ok := match("article", ar.Title, ar.BodyMarkdown, ar.Tags); ok {
			words := len(strings.Fields(ar.BodyMarkdown))
			hits = append(hits, searchHit{kind: "article", score: ar.Score, rel: rel, created: ar.Created, activity: ar.Created, id: ar.ID,
				item: map[string]any{"type": "article", "articleId": ar.ID, "viewCount": ar.ViewCount, "articleType": ar.Type,
					"readTimeInMinutes": max(1, words/200),
					"title":             ar.Title, "snippet": snippet(ar.BodyMarkdown, terms), "tags": s.tagsJSON(st, ar.Tags),
					"owner": s.userJSON(s.users[ar.AuthorID]), "creationDate": fmtTime(ar.Created), "score": ar.Score,
					"webUrl": s.sitePrefix(st) + "/articles/" + itoa(ar.ID) + "/" + slug(ar.Title)}})
		}
	}
	slices.SortFunc(hits, func(a, b searchHit) int {
		var c int
		switch pg.sort {
		case "newest":
			c = b.created.Compare(a.created)
		case "active":
			c = b.activity.Compare(a.activity)
		case "score":
			c = b.score - a.score
		default:
			c = b.rel - a.rel
			if c == 0 {
				c = b.score - a.score
			}
		}
		if c == 0 {
			c = b.id - a.id
		}
		return c
	})
	items := []any{}
	for _, h := range window(hits, pg) {
		items = append(items, h.item)
	}
	writeJSON(w, 200, pg.envelope(len(hits), items))
}

// snippet returns ~200 characters of plain text around the first term.
func snippet(md string, terms []string) string {
	text := strings.Join(strings.Fields(strings.NewReplacer("```", " ", "`", "", "#", "", "*", "").Replace(md)), " ")
	start := 0
	lt := strings.ToLower(text)
	for _, t := range terms {
		if i := strings.Index(lt, t); i >= 0 {
			start = max(0, i-60)
			break
		}
	}
	for start > 0 && !utf8.RuneStart(text[start]) {
		start--
	}
	out := text[start:]
	if utf8.RuneCountInString(out) > 200 {
		r := []rune(out)
		out = string(r[:200]) + "…"
	}
	if start > 0 {
		out = "…" + out
	}
	return html.EscapeString(out)
}
