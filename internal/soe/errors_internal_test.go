package soe

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseErrorBody(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string // substring of Error()
		kind   string // problem | status
	}{
		{"problem", 404, `{"type":"/v3/errors/user/not-found","title":"User not found","status":404,"detail":"User ID 40000 not found"}`, "User not found: User ID 40000 not found", "problem"},
		{"validation", 400, `{"errors":{"Title":["The Title field is required."]},"title":"One or more validation errors occurred.","status":400,"traceId":"00-1"}`, "The Title field is required.", "problem"},
		{"loose errors", 400, `{"title":"x","errors":{"Body":"too long"}}`, "too long", "problem"},
		{"detail only", 400, `{"detail":"Title cannot be longer than 150 characters."}`, "Title cannot be longer than 150 characters.", "problem"},
		{"plain text", 401, "Invalid access token", "invalid access token", "status"},
		{"json without problem fields", 500, `{"foo":1}`, "internal server error", "status"},
		{"empty", 503, "", "service unavailable", "status"},
		{"array", 400, `[1,2]`, "bad request", "status"},
		{"long html", 502, "<html>" + strings.Repeat("x", 2000) + "</html>", "…", "status"},
	}
	for _, tc := range tests {
		err := parseErrorBody(tc.status, []byte(tc.body), "")
		var pe *ProblemError
		var se *StatusError
		switch tc.kind {
		case "problem":
			if !errors.As(err, &pe) {
				t.Errorf("%s: %T", tc.name, err)
				continue
			}
		case "status":
			if !errors.As(err, &se) || len(se.Body) > maxErrorBody+len("…") {
				t.Errorf("%s: %T %v", tc.name, err, err)
				continue
			}
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q lacks %q", tc.name, err.Error(), tc.want)
		}
	}
}

// FuzzParseErrorBody: the error-body parser must never panic, always return
// a classified error with the right status, keep bounded valid UTF-8 text
// and never reveal the token. Seed corpus: testdata/fuzz/FuzzParseErrorBody.
func FuzzParseErrorBody(f *testing.F) {
	f.Add(400, []byte(`{"errors":{"Title":["The Title field is required."]},"title":"One or more validation errors occurred.","status":400}`))
	f.Add(401, []byte("Invalid access token"))
	f.Add(403, []byte(`{"type":"/v3/errors/forbidden","title":"Forbidden Action","status":403}`))
	f.Add(422, []byte(`{"title":"Subject matter experts feature not enabled","status":"422"}`))
	f.Add(500, []byte{0xff, 0xfe, '{'})
	const token = "TOKEN-abc123"
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 400 + (status%100+100)%100
		}
		body = append(body, []byte(" "+token)...)
		err := parseErrorBody(status, body, token)
		if err == nil {
			t.Fatal("nil error")
		}
		msg := err.Error()
		if strings.Contains(msg, token) {
			t.Fatalf("token leaked: %q", msg)
		}
		var pe *ProblemError
		var se *StatusError
		switch {
		case errors.As(err, &pe):
			if pe.Status != status {
				t.Fatalf("status %d != %d", pe.Status, status)
			}
			for k, v := range pe.Errors {
				if strings.Contains(k, token) || strings.Contains(strings.Join(v, ""), token) {
					t.Fatal("token in field errors")
				}
			}
		case errors.As(err, &se):
			if se.Status != status || !utf8.ValidString(se.Body) || len(se.Body) > maxErrorBody+len("…") {
				t.Fatalf("bad status error %+v", se)
			}
		default:
			t.Fatalf("unexpected type %T", err)
		}
		if (status == 404) != errors.Is(err, ErrNotFound) || (status == 401) != errors.Is(err, ErrUnauthorized) {
			t.Fatalf("sentinel mapping wrong for %d", status)
		}
	})
}
