package soefake

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/soe"
)

type fakeGroup struct {
	ID          int
	Name        string
	Description string
	Members     []int
}

type fakeCommunity struct {
	ID          int
	Name        string
	Description string
	Members     []int
	Tags        []string
}

type fakeTag struct {
	ID          int
	Name        string
	Description string
	Created     time.Time
	SMEUsers    []int
	SMEGroups   []int
	Watchers    []int
	HasSynonyms bool
}

type fakeAnswer struct {
	ID           int
	QuestionID   int
	AuthorID     int
	BodyMarkdown string
	Score        int
	Created      time.Time
	LastActivity time.Time
}

type fakeArticle struct {
	ID           int
	Type         string
	Title        string
	BodyMarkdown string
	Tags         []string
	AuthorID     int
	Score        int
	ViewCount    int
	Created      time.Time
}

// site is the content of one scope: the main site or a private team.
type site struct {
	scope     soe.Scope
	tags      map[int]*fakeTag
	tagByName map[string]*fakeTag
	questions map[int]*FakeQuestion
	answers   map[int]*fakeAnswer
	articles  map[int]*fakeArticle
}

func (s *Server) ensureSite(sc soe.Scope) *site {
	if st := s.sites[sc.Key()]; st != nil {
		return st
	}
	st := &site{scope: sc, tags: map[int]*fakeTag{}, tagByName: map[string]*fakeTag{},
		questions: map[int]*FakeQuestion{}, answers: map[int]*fakeAnswer{}, articles: map[int]*fakeArticle{}}
	s.sites[sc.Key()] = st
	return st
}

func (s *Server) newID() int {
	s.nextID++
	return s.nextID
}

// tagLocked returns the tag called name, creating it if needed.
func (s *Server) tagLocked(st *site, name string, created time.Time) *fakeTag {
	name = strings.ToLower(strings.TrimSpace(name))
	if t := st.tagByName[name]; t != nil {
		return t
	}
	t := &fakeTag{ID: s.newID(), Name: name, Created: created}
	st.tags[t.ID] = t
	st.tagByName[name] = t
	return t
}

func (s *Server) siteFor(scope soe.Scope) *site {
	st := s.sites[scope.Key()]
	if st == nil {
		panic(fmt.Sprintf("soefake: unknown scope %s", scope))
	}
	return st
}

// AddQuestion adds a question as authorID (tags are created as needed) and
// returns its id.
func (s *Server) AddQuestion(scope soe.Scope, authorID int, title, bodyMarkdown string, tags ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addQuestionLocked(scope, authorID, title, bodyMarkdown, s.opts.Now(), tags...).ID
}

func (s *Server) addQuestionLocked(scope soe.Scope, authorID int, title, body string, at time.Time, tags ...string) *FakeQuestion {
	st := s.siteFor(scope)
	q := &FakeQuestion{ID: s.newID(), Scope: scope, Title: title, BodyMarkdown: body, AuthorID: authorID,
		Created: at, LastActivity: at, AnswerIDs: []int{}}
	for _, t := range tags {
		q.Tags = append(q.Tags, s.tagLocked(st, t, at).Name)
	}
	st.questions[q.ID] = q
	return q
}

// AddAnswer adds an answer by authorID; the question's lastActivityDate and
// answerCount move. It returns the answer id (0 if the question is unknown).
func (s *Server) AddAnswer(scope soe.Scope, questionID, authorID int, bodyMarkdown string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.addAnswerLocked(scope, questionID, authorID, bodyMarkdown, s.opts.Now())
	if a == nil {
		return 0
	}
	return a.ID
}

func (s *Server) addAnswerLocked(scope soe.Scope, qid, authorID int, body string, at time.Time) *fakeAnswer {
	st := s.siteFor(scope)
	q := st.questions[qid]
	if q == nil {
		return nil
	}
	a := &fakeAnswer{ID: s.newID(), QuestionID: qid, AuthorID: authorID, BodyMarkdown: body, Created: at, LastActivity: at}
	st.answers[a.ID] = a
	q.AnswerIDs = append(q.AnswerIDs, a.ID)
	if at.After(q.LastActivity) {
		q.LastActivity = at
	}
	return a
}

// AcceptAnswer marks answerID as the accepted answer of questionID.
func (s *Server) AcceptAnswer(scope soe.Scope, questionID, answerID int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.siteFor(scope)
	if q := st.questions[questionID]; q != nil && st.answers[answerID] != nil {
		q.AcceptedAnswerID = answerID
		q.LastActivity = s.opts.Now()
	}
}

// QuestionByID returns a copy of a stored question.
func (s *Server) QuestionByID(scope soe.Scope, id int) (FakeQuestion, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.sites[scope.Key()]
	if st == nil || st.questions[id] == nil {
		return FakeQuestion{}, false
	}
	q := *st.questions[id]
	q.Tags = slices.Clone(q.Tags)
	q.AnswerIDs = slices.Clone(q.AnswerIDs)
	return q, true
}

// Users returns the users, by id.
func (s *Server) Users() []FakeUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]FakeUser, 0, len(s.users))
	for _, u := range s.users {
		c := *u
		c.Teams = slices.Clone(u.Teams)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b FakeUser) int { return a.ID - b.ID })
	return out
}

// UserByName finds a user by login ("alice") or display name ("Alice
// Anderson"), case-insensitively. It panics if there is none (test helper).
func (s *Server) UserByName(name string) FakeUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userByNameLocked(name); u != nil {
		c := *u
		c.Teams = slices.Clone(u.Teams)
		return c
	}
	panic("soefake: no user named " + name)
}

func (s *Server) userByNameLocked(name string) *FakeUser {
	for _, u := range s.users {
		if strings.EqualFold(u.Login, name) || strings.EqualFold(u.Name, name) {
			return u
		}
	}
	return nil
}

// SetTagSMEs replaces the SMEs (users and user groups) of a tag, creating
// the tag if needed.
func (s *Server) SetTagSMEs(scope soe.Scope, tag string, userIDs, groupIDs []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tagLocked(s.siteFor(scope), tag, s.opts.Now())
	t.SMEUsers = slices.Clone(userIDs)
	t.SMEGroups = slices.Clone(groupIDs)
}

func (s *Server) isMember(u *FakeUser, team string) bool {
	return u != nil && slices.Contains(u.Teams, team)
}

func (q *FakeQuestion) isAnswered(st *site) bool {
	if q.AcceptedAnswerID != 0 {
		return true
	}
	for _, id := range q.AnswerIDs {
		if a := st.answers[id]; a != nil && a.Score > 0 {
			return true
		}
	}
	return false
}
