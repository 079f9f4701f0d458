package soefake_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/soe/soefake"
)

// TestBasicBusiness drives the fake in Stack Overflow for Teams
// Basic/Business mode: the API under /v3/teams/{team}, personal access
// tokens, no OAuth and no private teams; every exchange is held to
// openapi-basic-business.json.
func TestBasicBusiness(t *testing.T) {
	s := newServer(t, soefake.Options{Seed: true, BasicBusiness: "acme"})
	if want := s.URL() + "/v3/teams/acme"; s.APIURL() != want {
		t.Fatalf("APIURL %q, want %q", s.APIURL(), want)
	}
	if want := s.URL() + "/c/acme"; s.SiteURL() != want {
		t.Fatalf("SiteURL %q, want %q", s.SiteURL(), want)
	}
	read := s.MintPAT(1, false)
	write := s.MintPAT(1, true)
	revoked := s.MintPAT(1, true)
	s.RevokeToken(revoked)
	q := `{"title":"How do I configure pod disruption budgets?","body":"Details here.","tags":["kubernetes"]}`
	tests := []struct {
		name, method, path, token, body string
		status                          int
		contains                        string
	}{
		{"me", "GET", "/users/me", read, "", 200, `"email":"alice@acme.example"`},
		{"profile on the team site", "GET", "/users/me", read, "", 200, `/c/acme/users/1/alice`},
		{"revoked", "GET", "/users/me", revoked, "", 401, "Invalid access token"},
		{"no token", "GET", "/questions", "", "", 401, "Invalid access token"},
		{"questions", "GET", "/questions", read, "", 200, `/c/acme/questions/`},
		{"communities live in the team", "GET", "/communities", read, "", 200, `"name":"Cloud Native"`},
		{"no private teams inside", "GET", "/teams/platform/questions", write, "", 404, ""},
		{"read-only PAT cannot write", "POST", "/questions", read, q, 403, "write access"},
		{"write PAT", "POST", "/questions", write, q, 201, `/c/acme/questions/`},
		{"search", "GET", "/search?query=kubernetes", read, "", 200, `"type":"question"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, s.APIURL()+tc.path, tc.token, tc.body)
			if r.status != tc.status || !strings.Contains(r.body, tc.contains) {
				t.Fatalf("got %d %s; want %d containing %q", r.status, r.body, tc.status, tc.contains)
			}
		})
	}
	for _, path := range []string{"/api/v3/users/me", "/oauth?client_id=4242", "/v3/teams/other/users/me"} {
		if r := do(t, "GET", s.URL()+path, read, ""); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404 (not a Basic/Business endpoint)", path, r.status)
		}
	}
}

// TestBasicBusinessValidatorCatchesViolations: the Basic/Business document
// is the one applied (its paths are /teams/{team}/…, under /v3).
func TestBasicBusinessValidatorCatchesViolations(t *testing.T) {
	v, err := soefake.SharedBasicBusinessValidator()
	v = mustSpec(t, v, err)
	okUser := `{"id":1,"accountId":null,"name":"A","avatarUrl":"x","webUrl":"y","reputation":1,"role":"Registered"}`
	tests := []struct {
		name, path, body string
		wantErr          string
	}{
		{"valid me", "/v3/teams/acme/users/me", okUser, ""},
		{"extra property", "/v3/teams/acme/users/me", strings.TrimSuffix(okUser, "}") + `,"bogus":1}`, "bogus"},
		{"Enterprise path", "/api/v3/users/me", okUser, "no matching operation"},
		{"main-site path", "/v3/users/me", okUser, "no matching operation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "http://fake"+tc.path, nil)
			req.Header.Set("Authorization", "Bearer abc")
			err := v.Validate(req, nil, 200, http.Header{"Content-Type": {"application/json"}}, []byte(tc.body))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}
