package soefake

import "github.com/soebot/soebot/internal/soe"

// EditQuestion changes a stored question (title, score, closed, obsolete…)
// as SOE would after an edit, a vote or a close: its lastActivityDate moves
// to now. It reports whether there was such a question.
func (s *Server) EditQuestion(scope soe.Scope, id int, edit func(q *FakeQuestion)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.siteFor(scope).questions[id]
	if q == nil {
		return false
	}
	edit(q)
	q.LastActivity = s.opts.Now()
	return true
}
