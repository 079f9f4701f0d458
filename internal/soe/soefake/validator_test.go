package soefake_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestValidatorCatchesViolations is the positive control for the contract
// tests: the validator must reject responses that break the document.
func TestValidatorCatchesViolations(t *testing.T) {
	v := contractValidator(t)
	okUser := `{"id":1,"accountId":null,"name":"A","avatarUrl":"x","webUrl":"y","reputation":1,"role":"Registered"}`
	tests := []struct {
		name    string
		method  string
		path    string
		auth    string
		status  int
		ctype   string
		body    string
		reqBody string
		wantErr string
	}{
		{name: "valid me", method: "GET", path: "/api/v3/users/me", status: 200, ctype: "application/json", body: okUser},
		{name: "extra property", method: "GET", path: "/api/v3/users/me", status: 200, ctype: "application/json",
			body: strings.TrimSuffix(okUser, "}") + `,"bogus":1}`, wantErr: "bogus"},
		{name: "problem+json content type", method: "GET", path: "/api/v3/questions/1", status: 404, ctype: "application/problem+json",
			body: `{"title":"x","status":404}`, wantErr: "Content-Type"},
		{name: "bad date", method: "GET", path: "/api/v3/tags/1", status: 200, ctype: "application/json",
			body: `{"id":1,"name":"go","creationDate":"yesterday"}`, wantErr: "creationDate"},
		{name: "bad page size accepted", method: "GET", path: "/api/v3/questions?pageSize=20", status: 200, ctype: "application/json",
			body: `{"items":[]}`, wantErr: "pageSize"},
		{name: "missing bearer", method: "GET", path: "/api/v3/questions", auth: "-", status: 200, ctype: "application/json",
			body: `{"items":[]}`, wantErr: "bearer"},
		{name: "undocumented status", method: "GET", path: "/api/v3/questions", status: 404, ctype: "application/json",
			body: `{}`, wantErr: "status is not supported"},
		{name: "search item of unknown shape", method: "GET", path: "/api/v3/search?query=x", status: 200, ctype: "application/json",
			body: `{"items":[{"type":"question","questionId":1,"answerId":2}]}`, wantErr: "answerId"},
		{name: "search question ok", method: "GET", path: "/api/v3/search?query=x", status: 200, ctype: "application/json",
			body: `{"items":[{"type":"question","questionId":1,"title":"t","owner":` + okUser + `}]}`},
		{name: "create with extra field", method: "POST", path: "/api/v3/questions", status: 201, ctype: "application/json",
			reqBody: `{"title":"t","body":"b","tags":["go"],"x":1}`, body: `{}`, wantErr: "request"},
		{name: "401 must be text/plain", method: "GET", path: "/api/v3/users/me", status: 401, ctype: "text/plain; charset=utf-8", body: "Invalid access token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequestWithContext(t.Context(), tc.method, "http://fake"+tc.path, strings.NewReader(tc.reqBody))
			if tc.auth != "-" {
				req.Header.Set("Authorization", "Bearer abc")
			}
			if tc.reqBody != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			h := http.Header{"Content-Type": {tc.ctype}}
			err := v.Validate(req, []byte(tc.reqBody), tc.status, h, []byte(tc.body))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("expected an error mentioning %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.wantErr)):
				t.Fatalf("error %q does not mention %q", err, tc.wantErr)
			}
		})
	}
}
