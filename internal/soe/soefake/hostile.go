package soefake

import (
	"fmt"

	"github.com/soebot/soebot/internal/soe"
)

// Controls that plant hostile content (display names, user group names, tag
// descriptions) for the output-injection tests of internal/reliability.
// Questions and answers already take any text through AddQuestion and
// AddAnswer.

// SetUserName changes the display name the API returns for user id (the
// login, used by as= and the login cookie, stays).
func (s *Server) SetUserName(id int, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		panic(fmt.Sprintf("soefake: no user %d", id))
	}
	u.Name = name
}

// SetUserEmail changes the email address of user id ("" hides it, as SOE
// does for accounts without one).
func (s *Server) SetUserEmail(id int, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		panic(fmt.Sprintf("soefake: no user %d", id))
	}
	u.Email = email
}

// SetGroupName changes the name of user group id.
func (s *Server) SetGroupName(id int, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[id]
	if g == nil {
		panic(fmt.Sprintf("soefake: no user group %d", id))
	}
	g.Name = name
}

// SetTagDescription sets the description (excerpt) of a tag, creating the
// tag if needed.
func (s *Server) SetTagDescription(scope soe.Scope, tag, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tagLocked(s.siteFor(scope), tag, s.opts.Now()).Description = description
}
