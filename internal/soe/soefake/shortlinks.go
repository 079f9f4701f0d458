package soefake

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/soebot/soebot/internal/soe"
)

// serveShareLink answers the site's answer share links, /a/{id} and
// /c/{team}/a/{id}, the way the SOE web site does: a redirect to the answer
// inside its question (/questions/{qid}/{slug}/{aid}#{aid}). No login is
// needed for the redirect itself; the page it leads to is the site's.
func (s *Server) serveShareLink(w http.ResponseWriter, r *http.Request) (int, bool) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	scope := soe.MainSite()
	switch bb := s.opts.BasicBusiness; {
	case bb != "" && (len(segs) < 2 || segs[0] != "c" || segs[1] != bb):
		return 0, false // the site is /c/{team}; nothing lives outside it
	case bb != "":
		segs = segs[2:]
	case len(segs) >= 2 && segs[0] == "c":
		scope = soe.TeamScope(segs[1])
		segs = segs[2:]
	}
	if len(segs) < 2 || len(segs) > 3 || segs[0] != "a" {
		return 0, false
	}
	id, err := strconv.Atoi(segs[1])
	if err != nil || id <= 0 {
		return 0, false
	}
	s.mu.Lock()
	st := s.sites[scope.Key()]
	var target string
	if st != nil {
		if a := st.answers[id]; a != nil {
			if q := st.questions[a.QuestionID]; q != nil {
				target = s.sitePrefix(st) + "/questions/" + itoa(q.ID) + "/" + slug(q.Title) + "/" + itoa(a.ID) + "#" + itoa(a.ID)
			}
		}
	}
	s.mu.Unlock()
	if target == "" {
		http.Error(w, "Page not found", http.StatusNotFound)
		return http.StatusNotFound, true
	}
	http.Redirect(w, r, target, http.StatusFound)
	return http.StatusFound, true
}
