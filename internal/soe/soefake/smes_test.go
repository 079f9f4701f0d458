package soefake_test

import (
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

func TestChangeSMEUsers(t *testing.T) {
	s := newServer(t, soefake.Options{Seed: true})
	admin := s.MintToken(8, soe.ScopeWriteAccess) // heidi, the admin
	user := s.MintToken(1, soe.ScopeWriteAccess)
	readOnly := s.MintToken(8)
	s.SetTagSMEs(soe.MainSite(), "terraform", nil, nil)
	tagID := tagIDOf(t, s, admin, "terraform")
	base := s.APIURL() + "/tags/" + tagID + "/subject-matter-experts/users"
	tests := []struct {
		name, method, url, token, body string
		status                         int
		contains                       string
	}{
		{"not a moderator", "POST", base, user, "[5]", 403, "moderators"},
		{"read-only token", "POST", base, readOnly, "[5]", 403, "write access"},
		{"add", "POST", base, admin, "[5,6]", 200, `"name":"Erin Evans"`},
		{"unknown user", "POST", base, admin, "[9999]", 400, "9999"},
		{"bad body", "POST", base, admin, `{"x":1}`, 400, ""},
		{"remove", "DELETE", base + "/5", admin, "", 204, ""},
		{"remove not a moderator", "DELETE", base + "/6", user, "", 403, "moderators"},
	}
	for _, tc := range tests {
		r := do(t, tc.method, tc.url, tc.token, tc.body)
		if r.status != tc.status || !strings.Contains(r.body, tc.contains) {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	r := do(t, "GET", s.APIURL()+"/tags/"+tagID+"/subject-matter-experts", admin, "")
	if strings.Contains(r.body, "Erin") || !strings.Contains(r.body, "Frank") {
		t.Fatalf("after add 5,6 and remove 5: %s", r.body)
	}
	s.SetSMEsEnabled(false)
	if r := do(t, "POST", base, admin, "[5]"); r.status != 422 {
		t.Fatalf("SMEs off: %d %s", r.status, r.body)
	}
}

// tagIDOf is the id of the tag called name.
func tagIDOf(t *testing.T, s *soefake.Server, tok, name string) string {
	t.Helper()
	r := do(t, "GET", s.APIURL()+"/tags?partialName="+name, tok, "")
	_, rest, ok := strings.Cut(r.body, `"id":`)
	if !ok {
		t.Fatalf("no tag %s: %s", name, r.body)
	}
	id, _, _ := strings.Cut(rest, ",")
	return id
}
