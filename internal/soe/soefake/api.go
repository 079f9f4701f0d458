package soefake

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/soebot/soebot/internal/soe"
)

type apiCtx struct {
	user  *FakeUser
	token *tokenInfo
	scope soe.Scope
	site  *site
	body  []byte
	now   time.Time
	q     url.Values
}

func itoa(i int) string { return strconv.Itoa(i) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type problem struct {
	Type    string              `json:"type"`
	Title   string              `json:"title"`
	Status  int                 `json:"status"`
	Detail  string              `json:"detail,omitempty"`
	TraceID string              `json:"traceId"`
	Errors  map[string][]string `json:"errors,omitempty"`
}

func traceID() string { return "00-" + strings.ReplaceAll(randomString(16), "-", "a") + "-01" }

func writeProblem(w http.ResponseWriter, status int, typ, title, detail string) {
	writeJSON(w, status, problem{Type: typ, Title: title, Status: status, Detail: detail, TraceID: traceID()})
}

func writeValidation(w http.ResponseWriter, errs map[string][]string) {
	writeJSON(w, http.StatusBadRequest, problem{Type: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
		Title: "One or more validation errors occurred.", Status: 400, TraceID: traceID(), Errors: errs})
}

func writeUnauthorized(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("Invalid access token"))
}

func notFound(w http.ResponseWriter, what string, id any) {
	writeProblem(w, http.StatusNotFound, "/v3/errors/"+strings.ToLower(what)+"/not-found", what+" not found",
		fmt.Sprintf("%s ID %v not found", what, id))
}

func forbidden(w http.ResponseWriter, detail string) {
	writeProblem(w, http.StatusForbidden, "/v3/errors/forbidden", "Forbidden Action", detail)
}

// routeLocked dispatches an authenticated API request. s.mu is held.
func (s *Server) routeLocked(w *httptest.ResponseRecorder, r *http.Request, c *apiCtx, rest string) {
	if c.scope.IsTeam() {
		st := s.sites[c.scope.Key()]
		if st == nil {
			// 403 (documented on every operation) rather than an undocumented
			// 404; it also does not reveal which teams exist.
			forbidden(w, fmt.Sprintf("Team %q does not exist or you are not a member.", c.scope.Team))
			return
		}
		if !c.token.has(soe.ScopeAccessTeam) {
			forbidden(w, fmt.Sprintf("This access token lacks the access_team scope needed for team %q.", c.scope.Team))
			return
		}
		if !s.isMember(c.user, c.scope.Team) {
			forbidden(w, fmt.Sprintf("You are not a member of team %q.", c.scope.Team))
			return
		}
	}
	c.site = s.sites[c.scope.Key()]
	c.q = r.URL.Query()
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	if write && !c.token.has(soe.ScopeWriteAccess) {
		forbidden(w, "This action requires an access token with write access (write_access scope).")
		return
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	id := func(i int) (int, bool) {
		if i >= len(segs) {
			return 0, false
		}
		n, err := strconv.Atoi(segs[i])
		if err != nil || n < 1 || n > math.MaxInt32 {
			writeValidation(w, map[string][]string{"id": {fmt.Sprintf("The value '%s' is not valid.", segs[i])}})
			return 0, false
		}
		return n, true
	}
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost
	n := len(segs)
	if s.voteRouteLocked(w, c, r.Method, segs, id) {
		return
	}
	switch {
	case segs[0] == "users" && n == 2 && segs[1] == "me" && get:
		s.getUser(w, c, c.user.ID)
	case segs[0] == "users" && n == 1 && get:
		s.listUsers(w, c)
	case segs[0] == "users" && n == 3 && segs[1] == "by-email" && get:
		if !c.user.Admin {
			forbidden(w, "Only administrators can look up users by email.")
			return
		}
		email, _ := url.PathUnescape(segs[2])
		for _, u := range s.users {
			if strings.EqualFold(u.Email, email) {
				s.getUser(w, c, u.ID)
				return
			}
		}
		writeProblem(w, http.StatusNotFound, "/v3/errors/user/not-found", "User not found", "No user with that email address.")
	case segs[0] == "users" && n == 2 && get:
		if uid, ok := id(1); ok {
			s.getUser(w, c, uid)
		}
	case segs[0] == "user-groups" && n == 1 && get:
		s.listGroups(w, c)
	case segs[0] == "user-groups" && n == 2 && get:
		if gid, ok := id(1); ok {
			g := s.groups[gid]
			if g == nil {
				notFound(w, "UserGroup", gid)
				return
			}
			writeJSON(w, 200, s.groupJSON(g))
		}
	case segs[0] == "questions" && n == 1 && get:
		s.listQuestions(w, c)
	case segs[0] == "questions" && n == 1 && post:
		s.createQuestion(w, c)
	case segs[0] == "questions" && n == 2 && get:
		if qid, ok := id(1); ok {
			q := c.site.questions[qid]
			if q == nil {
				notFound(w, "Question", qid)
				return
			}
			q.ViewCount++
			writeJSON(w, 200, s.questionFull(c.site, q))
		}
	case segs[0] == "questions" && n == 3 && segs[2] == "answers" && (get || post):
		qid, ok := id(1)
		if !ok {
			return
		}
		q := c.site.questions[qid]
		if q == nil {
			notFound(w, "Question", qid)
			return
		}
		if get {
			s.listAnswers(w, c, q)
		} else {
			s.createAnswer(w, c, q)
		}
	case segs[0] == "questions" && n == 4 && segs[2] == "answers" && get:
		qid, ok := id(1)
		if !ok {
			return
		}
		aid, ok := id(3)
		if !ok {
			return
		}
		a := c.site.answers[aid]
		if a == nil || a.QuestionID != qid {
			notFound(w, "Answer", aid)
			return
		}
		writeJSON(w, 200, s.answerFull(c.site, a))
	case segs[0] == "tags" && n == 1 && get:
		s.listTags(w, c)
	case segs[0] == "tags" && n >= 4 && n <= 5 && segs[2] == "subject-matter-experts" && segs[3] == "users" &&
		(n == 4 && post || n == 5 && r.Method == http.MethodDelete):
		tid, ok := id(1)
		if !ok {
			return
		}
		uid := 0
		if n == 5 {
			if uid, ok = id(4); !ok {
				return
			}
		}
		s.changeSMEUsers(w, c, tid, uid)
	case segs[0] == "tags" && n >= 2 && n <= 3 && get:
		tid, ok := id(1)
		if !ok {
			return
		}
		t := c.site.tags[tid]
		if t == nil {
			notFound(w, "Tag", tid)
			return
		}
		switch {
		case n == 2:
			full := tagFullJSON{tagJSON: s.tagJSON(c.site, t)}
			if !s.smesOff {
				full.SMEs = s.smeJSON(t)
			}
			writeJSON(w, 200, full)
		case segs[2] == "subject-matter-experts":
			if s.smesOff {
				writeProblem(w, http.StatusUnprocessableEntity, "/v3/errors/sme/disabled",
					"Subject matter experts feature not enabled", "The subject matter experts feature is not enabled on this site.")
				return
			}
			writeJSON(w, 200, s.smeJSON(t))
		case segs[2] == "tag-watchers":
			writeJSON(w, 200, map[string]any{"users": s.userList(t.Watchers)})
		default:
			notFound(w, "Route", rest)
		}
	case segs[0] == "search" && n == 1 && get:
		s.search(w, c)
	case segs[0] == "articles" && n == 2 && get:
		if aid, ok := id(1); ok {
			a := c.site.articles[aid]
			if a == nil {
				notFound(w, "Article", aid)
				return
			}
			writeJSON(w, 200, s.articleJSON(c.site, a))
		}
	case segs[0] == "communities" && !c.scope.IsTeam() && n == 1 && get:
		s.listCommunities(w, c)
	case segs[0] == "communities" && !c.scope.IsTeam() && n == 2 && get:
		if cid, ok := id(1); ok {
			for _, cm := range s.communities {
				if cm.ID == cid {
					members := []map[string]any{}
					for _, uid := range cm.Members {
						u := s.users[uid]
						members = append(members, map[string]any{"id": u.ID, "name": u.Name,
							"memberSince": fmtTime(c.now.AddDate(0, -6, 0)), "isSme": false})
					}
					writeJSON(w, 200, struct {
						Members []map[string]any `json:"members"`
						communityJSON
					}{members, s.communityJSON(cm)})
					return
				}
			}
			notFound(w, "Community", cid)
		}
	default:
		writeProblem(w, http.StatusNotFound, "/v3/errors/not-found", "Not found", "No such endpoint: "+r.Method+" "+rest)
	}
}

// --- JSON models (exactly the OpenAPI properties; no extras) ----------------

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func fmtTimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := fmtTime(t)
	return &s
}

type userJSON struct {
	ID         int    `json:"id"`
	AccountID  *int   `json:"accountId"`
	Name       string `json:"name"`
	AvatarURL  string `json:"avatarUrl"`
	WebURL     string `json:"webUrl"`
	Reputation int    `json:"reputation"`
	Role       string `json:"role"`
}

func (s *Server) userJSON(u *FakeUser) userJSON {
	acc := u.AccountID
	return userJSON{ID: u.ID, AccountID: &acc, Name: u.Name, AvatarURL: s.URL() + "/avatars/" + u.Login + ".png",
		WebURL: s.SiteURL() + "/users/" + itoa(u.ID) + "/" + u.Login, Reputation: u.Reputation, Role: u.Role}
}

func (s *Server) userList(ids []int) []userJSON {
	out := []userJSON{}
	for _, id := range ids {
		if u := s.users[id]; u != nil {
			out = append(out, s.userJSON(u))
		}
	}
	return out
}

type userDetailsJSON struct {
	Communities []communityJSON `json:"communities"`
	ExternalID  *string         `json:"externalId"`
	Department  *string         `json:"department"`
	JobTitle    *string         `json:"jobTitle"`
	Email       *string         `json:"email"`
	userJSON
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) getUser(w http.ResponseWriter, c *apiCtx, id int) {
	u := s.users[id]
	if u == nil {
		writeProblem(w, http.StatusNotFound, "/v3/errors/user/not-found", "User not found", fmt.Sprintf("User ID %d not found", id))
		return
	}
	d := userDetailsJSON{Communities: []communityJSON{}, ExternalID: strPtr("acme-" + u.Login),
		Department: strPtr(u.Department), JobTitle: strPtr(u.JobTitle), userJSON: s.userJSON(u)}
	if c.user.Admin || c.user.ID == u.ID {
		d.Email = strPtr(u.Email)
	}
	for _, cm := range s.communities {
		if slices.Contains(cm.Members, u.ID) {
			d.Communities = append(d.Communities, s.communityJSON(cm))
		}
	}
	writeJSON(w, 200, d)
}

type userFullJSON struct {
	ExternalID *string `json:"externalId"`
	Department *string `json:"department"`
	JobTitle   *string `json:"jobTitle"`
	Email      *string `json:"email"`
	userJSON
}

func (s *Server) listUsers(w http.ResponseWriter, c *apiCtx) {
	pg, ok := paging(w, c.q, []string{"reputation"}, "reputation", "desc")
	if !ok {
		return
	}
	var us []*FakeUser
	for _, u := range s.users {
		if !c.scope.IsTeam() || s.isMember(u, c.scope.Team) {
			us = append(us, u)
		}
	}
	slices.SortFunc(us, func(a, b *FakeUser) int { return pg.cmp(a.Reputation-b.Reputation, a.ID-b.ID) })
	items := []userFullJSON{}
	for _, u := range window(us, pg) {
		j := userFullJSON{ExternalID: strPtr("acme-" + u.Login), Department: strPtr(u.Department),
			JobTitle: strPtr(u.JobTitle), userJSON: s.userJSON(u)}
		if c.user.Admin || c.user.ID == u.ID {
			j.Email = strPtr(u.Email)
		}
		items = append(items, j)
	}
	writeJSON(w, 200, pg.envelope(len(us), items))
}

type groupJSON struct {
	ID          int        `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Users       []userJSON `json:"users"`
}

func (s *Server) groupJSON(g *fakeGroup) groupJSON {
	return groupJSON{ID: g.ID, Name: g.Name, Description: g.Description, Users: s.userList(g.Members)}
}

func (s *Server) listGroups(w http.ResponseWriter, c *apiCtx) {
	pg, ok := paging(w, c.q, []string{"name", "size"}, "name", "asc")
	if !ok {
		return
	}
	var gs []*fakeGroup
	for _, g := range s.groups {
		gs = append(gs, g)
	}
	sortByNameOrSize(gs, pg, func(g *fakeGroup) (int, string, int) { return g.ID, g.Name, len(g.Members) })
	items := []groupJSON{}
	for _, g := range window(gs, pg) {
		items = append(items, s.groupJSON(g))
	}
	writeJSON(w, 200, pg.envelope(len(gs), items))
}

type tagJSON struct {
	ID                       int    `json:"id"`
	Name                     string `json:"name"`
	Description              string `json:"description"`
	PostCount                int    `json:"postCount"`
	SubjectMatterExpertCount *int   `json:"subjectMatterExpertCount"`
	WatcherCount             int    `json:"watcherCount"`
	CreationDate             string `json:"creationDate"`
	HasSynonyms              bool   `json:"hasSynonyms"`
	WebURL                   string `json:"webUrl"`
}

type smeJSON struct {
	Users      []userJSON  `json:"users"`
	UserGroups []groupJSON `json:"userGroups"`
}

type tagFullJSON struct {
	SMEs *smeJSON `json:"subjectMatterExperts,omitempty"`
	tagJSON
}

func (s *Server) smeUserIDs(t *fakeTag) []int {
	var ids []int
	for _, id := range t.SMEUsers {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, gid := range t.SMEGroups {
		if g := s.groups[gid]; g != nil {
			for _, id := range g.Members {
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
		}
	}
	return ids
}

func (s *Server) smeJSON(t *fakeTag) *smeJSON {
	out := &smeJSON{Users: s.userList(t.SMEUsers), UserGroups: []groupJSON{}}
	for _, gid := range t.SMEGroups {
		if g := s.groups[gid]; g != nil {
			out.UserGroups = append(out.UserGroups, s.groupJSON(g))
		}
	}
	return out
}

func (s *Server) sitePrefix(st *site) string {
	if st.scope.IsTeam() {
		return s.URL() + "/c/" + st.scope.Team
	}
	return s.SiteURL()
}

func (st *site) postCount(tag string) int {
	n := 0
	for _, q := range st.questions {
		if slices.Contains(q.Tags, tag) {
			n++
		}
	}
	for _, a := range st.articles {
		if slices.Contains(a.Tags, tag) {
			n++
		}
	}
	return n
}

func (s *Server) tagJSON(st *site, t *fakeTag) tagJSON {
	j := tagJSON{ID: t.ID, Name: t.Name, Description: t.Description, PostCount: st.postCount(t.Name),
		WatcherCount: len(t.Watchers), CreationDate: fmtTime(t.Created), HasSynonyms: t.HasSynonyms,
		WebURL: s.sitePrefix(st) + "/questions/tagged/" + url.PathEscape(t.Name)}
	if !s.smesOff {
		n := len(s.smeUserIDs(t))
		j.SubjectMatterExpertCount = &n
	}
	return j
}

func (s *Server) tagsJSON(st *site, names []string) []tagJSON {
	out := []tagJSON{}
	for _, n := range names {
		if t := st.tagByName[n]; t != nil {
			out = append(out, s.tagJSON(st, t))
		}
	}
	return out
}

func (s *Server) listTags(w http.ResponseWriter, c *apiCtx) {
	pg, ok := paging(w, c.q, []string{"name", "postCount", "creationDate"}, "postCount", "desc")
	if !ok {
		return
	}
	var hasSmes, hasSyn *bool
	if !boolParam(w, c.q, "hasSmes", &hasSmes) || !boolParam(w, c.q, "hasSynonyms", &hasSyn) {
		return
	}
	partial := strings.ToLower(strings.TrimSpace(c.q.Get("partialName")))
	var ts []*fakeTag
	for _, t := range c.site.tags {
		if partial != "" && !strings.Contains(t.Name, partial) {
			continue
		}
		if hasSmes != nil && (len(s.smeUserIDs(t)) > 0) != *hasSmes {
			continue
		}
		if hasSyn != nil && t.HasSynonyms != *hasSyn {
			continue
		}
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b *fakeTag) int {
		switch pg.sort {
		case "name":
			return pg.cmp(strings.Compare(a.Name, b.Name), 0)
		case "creationDate":
			return pg.cmp(a.Created.Compare(b.Created), a.ID-b.ID)
		}
		return pg.cmp(c.site.postCount(a.Name)-c.site.postCount(b.Name), strings.Compare(b.Name, a.Name))
	})
	items := []tagJSON{}
	for _, t := range window(ts, pg) {
		items = append(items, s.tagJSON(c.site, t))
	}
	writeJSON(w, 200, pg.envelope(len(ts), items))
}

type questionJSON struct {
	ID               int       `json:"id"`
	Title            string    `json:"title"`
	Body             string    `json:"body"`
	Tags             []tagJSON `json:"tags"`
	Owner            userJSON  `json:"owner"`
	CreationDate     string    `json:"creationDate"`
	LastActivityDate *string   `json:"lastActivityDate"`
	Score            int       `json:"score"`
	IsAnswered       bool      `json:"isAnswered"`
	AnswerCount      int       `json:"answerCount"`
	ViewCount        int       `json:"viewCount"`
	WebURL           string    `json:"webUrl"`
	ShareURL         string    `json:"shareUrl"`
	IsDeleted        bool      `json:"isDeleted"`
	IsObsolete       bool      `json:"isObsolete"`
	IsClosed         bool      `json:"isClosed"`
}

type mentionedUser struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

type mentionedGroup struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	MemberCount int    `json:"memberCount"`
}

type questionFullJSON struct {
	Communities []communityJSON `json:"communities"`
	questionJSON
	BodyMarkdown        string           `json:"bodyMarkdown"`
	MentionedUsers      []mentionedUser  `json:"mentionedUsers"`
	MentionedUserGroups []mentionedGroup `json:"mentionedUserGroups"`
	UserIsFollowing     bool             `json:"userIsFollowing"`
	UserHasUpvoted      bool             `json:"userHasUpvoted"`
	UserHasDownvoted    bool             `json:"userHasDownvoted"`
	UserHasBookmarked   bool             `json:"userHasBookmarked"`
}

func (s *Server) questionJSON(st *site, q *FakeQuestion) questionJSON {
	return questionJSON{ID: q.ID, Title: q.Title, Body: renderMarkdown(q.BodyMarkdown), Tags: s.tagsJSON(st, q.Tags),
		Owner: s.userJSON(s.users[q.AuthorID]), CreationDate: fmtTime(q.Created), LastActivityDate: fmtTimePtr(q.LastActivity),
		Score: q.Score, IsAnswered: q.isAnswered(st), AnswerCount: len(q.AnswerIDs), ViewCount: q.ViewCount,
		WebURL: s.sitePrefix(st) + "/questions/" + itoa(q.ID) + "/" + slug(q.Title), ShareURL: s.sitePrefix(st) + "/q/" + itoa(q.ID),
		IsClosed: q.Closed, IsObsolete: q.Obsolete}
}

func (s *Server) questionFull(st *site, q *FakeQuestion) questionFullJSON {
	f := questionFullJSON{Communities: []communityJSON{}, questionJSON: s.questionJSON(st, q), BodyMarkdown: q.BodyMarkdown,
		MentionedUsers: []mentionedUser{}, MentionedUserGroups: []mentionedGroup{}}
	for _, cm := range s.communities {
		if !st.scope.IsTeam() && slices.ContainsFunc(q.Tags, func(t string) bool { return slices.Contains(cm.Tags, t) }) {
			f.Communities = append(f.Communities, s.communityJSON(cm))
		}
	}
	for _, u := range s.users {
		if strings.Contains(q.BodyMarkdown, "@"+u.Login) {
			f.MentionedUsers = append(f.MentionedUsers, mentionedUser{u.ID, u.Name})
		}
	}
	return f
}

func slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 80 {
			break
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func (s *Server) listQuestions(w http.ResponseWriter, c *apiCtx) {
	pg, ok := paging(w, c.q, []string{"activity", "creation", "score"}, "activity", "desc")
	if !ok {
		return
	}
	var isAns, hasAcc *bool
	if !boolParam(w, c.q, "isAnswered", &isAns) || !boolParam(w, c.q, "hasAcceptedAnswer", &hasAcc) {
		return
	}
	tagIDs, ok1 := intsParam(w, c.q, "tagId")
	qIDs, ok2 := intsParam(w, c.q, "questionId")
	authors, ok3 := intsParam(w, c.q, "authorId")
	from, ok4 := timeParam(w, c.q, "from")
	to, ok5 := timeParam(w, c.q, "to")
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return
	}
	var tagNames []string
	for _, id := range tagIDs {
		if t := c.site.tags[id]; t != nil {
			tagNames = append(tagNames, t.Name)
		}
	}
	var qs []*FakeQuestion
	for _, q := range c.site.questions {
		switch {
		case len(tagIDs) > 0 && !slices.ContainsFunc(q.Tags, func(t string) bool { return slices.Contains(tagNames, t) }):
		case len(qIDs) > 0 && !slices.Contains(qIDs, q.ID):
		case len(authors) > 0 && q.AuthorID != authors[0]:
		case isAns != nil && q.isAnswered(c.site) != *isAns:
		case hasAcc != nil && (q.AcceptedAnswerID != 0) != *hasAcc:
		case !from.IsZero() && q.Created.Before(from):
		case !to.IsZero() && q.Created.After(to):
		default:
			qs = append(qs, q)
		}
	}
	slices.SortFunc(qs, func(a, b *FakeQuestion) int {
		switch pg.sort {
		case "creation":
			return pg.cmp(a.Created.Compare(b.Created), a.ID-b.ID)
		case "score":
			return pg.cmp(a.Score-b.Score, a.ID-b.ID)
		}
		return pg.cmp(a.LastActivity.Compare(b.LastActivity), a.ID-b.ID)
	})
	items := []questionJSON{}
	for _, q := range window(qs, pg) {
		items = append(items, s.questionJSON(c.site, q))
	}
	writeJSON(w, 200, pg.envelope(len(qs), items))
}

const disallowedTagChars = "<>&\"'`()[]{}\\/_=~|^@$%*?!"

func (s *Server) createQuestion(w http.ResponseWriter, c *apiCtx) {
	var in struct {
		Title *string   `json:"title"`
		Body  *string   `json:"body"`
		Tags  *[]string `json:"tags"`
	}
	if err := json.Unmarshal(c.body, &in); err != nil {
		writeValidation(w, map[string][]string{"$": {"The JSON value could not be converted to QuestionRequestModel."}})
		return
	}
	errs := map[string][]string{}
	title := ""
	if in.Title != nil {
		title = strings.TrimSpace(*in.Title)
	}
	switch n := utf8.RuneCountInString(title); {
	case n == 0:
		errs["Title"] = append(errs["Title"], "The Title field is required.")
	case n < 15:
		errs["Title"] = append(errs["Title"], "Title must be at least 15 characters.")
	case n > 150:
		errs["Title"] = append(errs["Title"], "Title cannot be longer than 150 characters.")
	}
	body := ""
	if in.Body != nil {
		body = *in.Body
	}
	switch n := utf8.RuneCountInString(strings.TrimSpace(body)); {
	case n == 0:
		errs["Body"] = append(errs["Body"], "The Body field is required.")
	case utf8.RuneCountInString(body) > 30000:
		errs["Body"] = append(errs["Body"], "Body cannot be longer than 30000 characters.")
	}
	var tags []string
	if in.Tags == nil || len(*in.Tags) == 0 {
		errs["Tags"] = append(errs["Tags"], "At least one tag is required.")
	} else {
		if len(*in.Tags) > 5 {
			errs["Tags"] = append(errs["Tags"], "A question can have at most 5 tags.")
		}
		for _, t := range *in.Tags {
			t = strings.ToLower(strings.TrimSpace(t))
			switch {
			case t == "":
				errs["Tags"] = append(errs["Tags"], "Tags cannot be empty.")
			case utf8.RuneCountInString(t) > 35:
				errs["Tags"] = append(errs["Tags"], fmt.Sprintf("Tag '%s' is too long; the maximum length is 35 characters.", t))
			case strings.ContainsAny(t, disallowedTagChars+" \t\r\n"):
				errs["Tags"] = append(errs["Tags"], fmt.Sprintf("Tag '%s' contains invalid characters.", t))
			case !slices.Contains(tags, t):
				tags = append(tags, t)
			}
		}
	}
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	for _, q := range c.site.questions {
		if strings.EqualFold(q.Title, title) {
			writeProblem(w, http.StatusBadRequest, "/v3/errors/questions/ValidationErrors", "Question not created",
				"A question with that title already exists; please be more specific.")
			return
		}
	}
	q := s.addQuestionLocked(c.scope, c.user.ID, title, body, c.now, tags...)
	writeJSON(w, http.StatusCreated, s.questionFull(c.site, q))
}

type answerJSON struct {
	ID                    int       `json:"id"`
	QuestionID            int       `json:"questionId"`
	Body                  string    `json:"body"`
	Score                 int       `json:"score"`
	IsAccepted            bool      `json:"isAccepted"`
	IsDeleted             bool      `json:"isDeleted"`
	IsBookmarked          bool      `json:"isBookmarked"`
	IsFollowed            bool      `json:"isFollowed"`
	CreationDate          string    `json:"creationDate"`
	LockedDate            *string   `json:"lockedDate"`
	LastEditDate          *string   `json:"lastEditDate"`
	LastActivityDate      *string   `json:"lastActivityDate"`
	DeletionDate          *string   `json:"deletionDate"`
	Owner                 userJSON  `json:"owner"`
	LastActivityUser      *userJSON `json:"lastActivityUser,omitempty"`
	CommentCount          int       `json:"commentCount"`
	WebURL                *string   `json:"webUrl"`
	ShareLink             *string   `json:"shareLink"`
	UserCanFollow         bool      `json:"userCanFollow"`
	CanBeFollowed         bool      `json:"canBeFollowed"`
	IsSubjectMatterExpert bool      `json:"isSubjectMatterExpert"`
}

type answerFullJSON struct {
	answerJSON
	BodyMarkdown string `json:"bodyMarkdown"`
}

func (s *Server) answerJSON(st *site, a *fakeAnswer) answerJSON {
	q := st.questions[a.QuestionID]
	owner := s.userJSON(s.users[a.AuthorID])
	isSME := false
	for _, tn := range q.Tags {
		if t := st.tagByName[tn]; t != nil && slices.Contains(s.smeUserIDs(t), a.AuthorID) {
			isSME = true
		}
	}
	web := s.sitePrefix(st) + "/questions/" + itoa(q.ID) + "/" + slug(q.Title) + "/" + itoa(a.ID) + "#" + itoa(a.ID)
	share := s.sitePrefix(st) + "/a/" + itoa(a.ID)
	return answerJSON{ID: a.ID, QuestionID: a.QuestionID, Body: renderMarkdown(a.BodyMarkdown), Score: a.Score,
		IsAccepted: q.AcceptedAnswerID == a.ID, CreationDate: fmtTime(a.Created), LastActivityDate: fmtTimePtr(a.LastActivity),
		Owner: owner, LastActivityUser: &owner, WebURL: &web, ShareLink: &share, UserCanFollow: true, CanBeFollowed: true,
		IsSubjectMatterExpert: isSME}
}

func (s *Server) answerFull(st *site, a *fakeAnswer) answerFullJSON {
	return answerFullJSON{answerJSON: s.answerJSON(st, a), BodyMarkdown: a.BodyMarkdown}
}

func (s *Server) listAnswers(w http.ResponseWriter, c *apiCtx, q *FakeQuestion) {
	pg, ok := paging(w, c.q, []string{"score", "modified", "creation"}, "score", "desc")
	if !ok {
		return
	}
	var as []*fakeAnswer
	for _, id := range q.AnswerIDs {
		if a := c.site.answers[id]; a != nil {
			as = append(as, a)
		}
	}
	slices.SortFunc(as, func(a, b *fakeAnswer) int {
		switch pg.sort {
		case "creation":
			return pg.cmp(a.Created.Compare(b.Created), a.ID-b.ID)
		case "modified":
			return pg.cmp(a.LastActivity.Compare(b.LastActivity), a.ID-b.ID)
		}
		return pg.cmp(a.Score-b.Score, b.ID-a.ID)
	})
	items := []answerJSON{}
	for _, a := range window(as, pg) {
		items = append(items, s.answerJSON(c.site, a))
	}
	writeJSON(w, 200, pg.envelope(len(as), items))
}

func (s *Server) createAnswer(w http.ResponseWriter, c *apiCtx, q *FakeQuestion) {
	var in struct {
		Body *string `json:"body"`
	}
	if err := json.Unmarshal(c.body, &in); err != nil || in.Body == nil || strings.TrimSpace(*in.Body) == "" {
		writeValidation(w, map[string][]string{"Body": {"The Body field is required."}})
		return
	}
	if utf8.RuneCountInString(*in.Body) > 30000 {
		writeValidation(w, map[string][]string{"Body": {"Body cannot be longer than 30000 characters."}})
		return
	}
	a := s.addAnswerLocked(c.scope, q.ID, c.user.ID, *in.Body, c.now)
	writeJSON(w, http.StatusCreated, s.answerFull(c.site, a))
}

type communityJSON struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	ID          int       `json:"id"`
	MemberCount int       `json:"memberCount"`
	Tags        []tagJSON `json:"tags"`
}

func (s *Server) communityJSON(cm *fakeCommunity) communityJSON {
	return communityJSON{Name: cm.Name, Description: cm.Description, ID: cm.ID, MemberCount: len(cm.Members),
		Tags: s.tagsJSON(s.sites["main"], cm.Tags)}
}

// sortByNameOrSize orders user groups or communities as their list endpoints
// do: sort=name|size, ties broken by id.
func sortByNameOrSize[T any](xs []T, pg pageReq, key func(T) (id int, name string, size int)) {
	slices.SortFunc(xs, func(a, b T) int {
		ida, na, sa := key(a)
		idb, nb, sb := key(b)
		if pg.sort == "size" {
			return pg.cmp(sa-sb, ida-idb)
		}
		return pg.cmp(strings.Compare(na, nb), ida-idb)
	})
}

func (s *Server) listCommunities(w http.ResponseWriter, c *apiCtx) {
	pg, ok := paging(w, c.q, []string{"name", "size"}, "name", "asc")
	if !ok {
		return
	}
	cs := slices.Clone(s.communities)
	sortByNameOrSize(cs, pg, func(cm *fakeCommunity) (int, string, int) { return cm.ID, cm.Name, len(cm.Members) })
	items := []communityJSON{}
	for _, cm := range window(cs, pg) {
		items = append(items, s.communityJSON(cm))
	}
	writeJSON(w, 200, pg.envelope(len(cs), items))
}

type articleJSON struct {
	Communities       []communityJSON `json:"communities"`
	ID                int             `json:"id"`
	Type              string          `json:"type"`
	Title             string          `json:"title"`
	Body              string          `json:"body"`
	Tags              []tagJSON       `json:"tags"`
	Owner             userJSON        `json:"owner"`
	CreationDate      string          `json:"creationDate"`
	LastActivityDate  *string         `json:"lastActivityDate"`
	Score             int             `json:"score"`
	ViewCount         int             `json:"viewCount"`
	WebURL            string          `json:"webUrl"`
	ShareURL          string          `json:"shareUrl"`
	IsDeleted         bool            `json:"isDeleted"`
	IsObsolete        bool            `json:"isObsolete"`
	IsClosed          bool            `json:"isClosed"`
	BodyMarkdown      string          `json:"bodyMarkdown"`
	UserIsFollowing   bool            `json:"userIsFollowing"`
	UserHasUpvoted    bool            `json:"userHasUpvoted"`
	UserHasDownvoted  bool            `json:"userHasDownvoted"`
	UserCanEdit       bool            `json:"userCanEdit"`
	PermissionsEditBy struct {
		EditableBy       string      `json:"editableBy"`
		EditorUsers      []userJSON  `json:"editorUsers"`
		EditorUserGroups []groupJSON `json:"editorUserGroups"`
	} `json:"permissions"`
}

func (s *Server) articleJSON(st *site, a *fakeArticle) articleJSON {
	j := articleJSON{Communities: []communityJSON{}, ID: a.ID, Type: a.Type, Title: a.Title, Body: renderMarkdown(a.BodyMarkdown),
		Tags: s.tagsJSON(st, a.Tags), Owner: s.userJSON(s.users[a.AuthorID]), CreationDate: fmtTime(a.Created),
		LastActivityDate: fmtTimePtr(a.Created), Score: a.Score, ViewCount: a.ViewCount,
		WebURL: s.sitePrefix(st) + "/articles/" + itoa(a.ID) + "/" + slug(a.Title), ShareURL: s.sitePrefix(st) + "/articles/" + itoa(a.ID),
		BodyMarkdown: a.BodyMarkdown}
	j.PermissionsEditBy.EditableBy = "ownerOnly"
	j.PermissionsEditBy.EditorUsers = []userJSON{}
	j.PermissionsEditBy.EditorUserGroups = []groupJSON{}
	return j
}

// --- paging and parameters ------------------------------------------------------

type pageReq struct {
	page, size  int
	sort, order string
	noOrder     bool
}

func paging(w http.ResponseWriter, q url.Values, sorts []string, defSort, defOrder string) (pageReq, bool) {
	pg := pageReq{page: 1, size: 15, sort: defSort, order: defOrder}
	errs := map[string][]string{}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs["page"] = append(errs["page"], fmt.Sprintf("The value '%s' is not valid for page.", v))
		}
		pg.page = n
	}
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || (n != 15 && n != 30 && n != 50 && n != 100) {
			errs["pageSize"] = append(errs["pageSize"], "The field pageSize must be one of 15, 30, 50, 100.")
		}
		pg.size = n
	}
	if v := q.Get("sort"); v != "" {
		if !slices.Contains(sorts, v) {
			errs["sort"] = append(errs["sort"], fmt.Sprintf("The value '%s' is not valid for sort.", v))
		}
		pg.sort = v
	}
	if v := q.Get("order"); v != "" {
		if v != "asc" && v != "desc" {
			errs["order"] = append(errs["order"], fmt.Sprintf("The value '%s' is not valid for order.", v))
		}
		pg.order = v
	}
	if len(errs) > 0 {
		writeValidation(w, errs)
		return pg, false
	}
	return pg, true
}

// cmp applies the order to a primary comparison with a tie-breaker.
func (pg pageReq) cmp(primary, tie int) int {
	c := primary
	if c == 0 {
		c = tie
	}
	if pg.order == "desc" {
		return -c
	}
	return c
}

func window[T any](all []T, pg pageReq) []T {
	start := (pg.page - 1) * pg.size
	if start >= len(all) || start < 0 {
		return nil
	}
	return all[start:min(len(all), start+pg.size)]
}

func (pg pageReq) envelope(total int, items any) any {
	e := map[string]any{"totalCount": total, "pageSize": pg.size, "page": pg.page,
		"totalPages": (total + pg.size - 1) / pg.size, "sort": pg.sort, "items": items}
	if !pg.noOrder {
		e["order"] = pg.order
	}
	return e
}

func boolParam(w http.ResponseWriter, q url.Values, name string, out **bool) bool {
	v := q.Get(name)
	if v == "" {
		return true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		writeValidation(w, map[string][]string{name: {fmt.Sprintf("The value '%s' is not valid for %s.", v, name)}})
		return false
	}
	*out = &b
	return true
}

func intsParam(w http.ResponseWriter, q url.Values, name string) ([]int, bool) {
	var out []int
	for _, v := range q[name] {
		for _, p := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil {
				writeValidation(w, map[string][]string{name: {fmt.Sprintf("The value '%s' is not valid for %s.", v, name)}})
				return nil, false
			}
			out = append(out, n)
		}
	}
	return out, true
}

func timeParam(w http.ResponseWriter, q url.Values, name string) (time.Time, bool) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, true
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01"} {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	writeValidation(w, map[string][]string{name: {fmt.Sprintf("The value '%s' is not valid for %s.", v, name)}})
	return time.Time{}, false
}

// renderMarkdown is a tiny Markdown→HTML renderer: paragraphs, fenced code
// blocks and inline code. Enough for a fake.
func renderMarkdown(md string) string {
	var b strings.Builder
	lines := strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n")
	var para []string
	flush := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + inlineCode(html.EscapeString(strings.Join(para, "\n"))) + "</p>\n")
			para = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(strings.TrimSpace(l), "```"):
			flush()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, lines[i])
			}
			b.WriteString("<pre><code>" + html.EscapeString(strings.Join(code, "\n")) + "\n</code></pre>\n")
		case strings.TrimSpace(l) == "":
			flush()
		default:
			para = append(para, l)
		}
	}
	flush()
	return b.String()
}

// inlineCode renders inline Markdown of already HTML-escaped text: `code`,
// **bold**, *italic* / _italic_ and [label](http…) links (as SOE's renderer
// does; code spans are left alone).
func inlineCode(s string) string {
	parts := strings.Split(s, "`")
	if len(parts) < 3 {
		return inlineMarkup(s)
	}
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 && i < len(parts)-1 {
			b.WriteString("<code>" + p + "</code>")
		} else {
			if i%2 == 1 {
				b.WriteString("`")
			}
			b.WriteString(inlineMarkup(p))
		}
	}
	return b.String()
}

var (
	mdBold   = regexp.MustCompile(`\*\*([^*\n]+)\*\*`)
	mdItalic = regexp.MustCompile(`(^|[^\w*])[*_]([^*_\n]+)[*_]($|[^\w*])`)
	mdLink   = regexp.MustCompile(`\[([^\]\n]+)\]\((https?://[^)\s"]+)\)`)
)

func inlineMarkup(s string) string {
	s = mdLink.ReplaceAllString(s, `<a href="$2">$1</a>`)
	s = mdBold.ReplaceAllString(s, `<strong>$1</strong>`)
	return mdItalic.ReplaceAllString(s, `$1<em>$2</em>$3`)
}
