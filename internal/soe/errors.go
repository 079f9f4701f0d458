package soe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Sentinel errors. Use errors.Is; the concrete error is usually a
// *ProblemError or *StatusError carrying the details.
var (
	// ErrUnauthorized: the token is missing, invalid, revoked or expired (HTTP 401).
	// The user must re-authorize.
	ErrUnauthorized = errors.New("soe: invalid or expired access token")
	// ErrForbidden: the token or its user may not do this (HTTP 403).
	ErrForbidden = errors.New("soe: forbidden")
	// ErrNotFound: the resource does not exist or is not visible (HTTP 404).
	ErrNotFound = errors.New("soe: not found")
	// ErrSMEDisabled: the subject-matter-experts feature is off on the site (HTTP 422).
	ErrSMEDisabled = errors.New("soe: subject matter experts feature is not enabled")
	// ErrBadPageSize: a page size other than 15, 30, 50 or 100 (a programming error,
	// reported before any request is sent).
	ErrBadPageSize = errors.New("soe: page size must be 15, 30, 50 or 100")
	// ErrWriteAccess: a write was refused because the token lacks the
	// write_access scope. errors.Is(err, ErrForbidden) is also true.
	ErrWriteAccess = fmt.Errorf("%w: the access token needs write access", ErrForbidden)
)

// ProblemError is an RFC 7807 problem-details error response (SOE answers
// 400/403/404/422 and often 5xx this way).
type ProblemError struct {
	Status  int
	Type    string
	Title   string
	Detail  string
	TraceID string
	// Errors holds ASP.NET field validation errors, e.g. {"Title": ["..."]}.
	Errors map[string][]string

	// write is true when the failed request was a write (POST/PUT/DELETE);
	// used to classify 403s as ErrWriteAccess.
	write bool
}

func (e *ProblemError) Error() string {
	var b strings.Builder
	b.WriteString("SOE: ")
	msg := strings.TrimSpace(e.Title)
	if d := strings.TrimSpace(e.Detail); d != "" {
		if msg != "" && !strings.EqualFold(msg, d) {
			msg += ": " + d
		} else {
			msg = d
		}
	}
	if msg == "" {
		msg = statusText(e.Status)
	}
	b.WriteString(msg)
	if len(e.Errors) > 0 {
		fields := make([]string, 0, len(e.Errors))
		for f := range e.Errors {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		var parts []string
		for _, f := range fields {
			parts = append(parts, e.Errors[f]...)
			if len(e.Errors[f]) == 0 {
				parts = append(parts, f+" is invalid")
			}
		}
		b.WriteString(" (" + strings.Join(parts, "; ") + ")")
	}
	fmt.Fprintf(&b, " [HTTP %d]", e.Status)
	return b.String()
}

// Is maps the HTTP status to the package sentinels (401 ErrUnauthorized,
// 403 ErrForbidden and, for writes, ErrWriteAccess, 404 ErrNotFound,
// 422 ErrSMEDisabled).
func (e *ProblemError) Is(target error) bool {
	if target == ErrWriteAccess {
		return e.Status == 403 && e.write && e.mentionsWriteOrIsGeneric()
	}
	return statusIs(e.Status, target)
}

// mentionsWriteOrIsGeneric reports whether a 403 on a write looks like the
// missing-scope case: the text mentions write access, or SOE's generic
// "Forbidden Action" without any detail (what a read-only token gets).
func (e *ProblemError) mentionsWriteOrIsGeneric() bool {
	txt := strings.ToLower(e.Type + " " + e.Title + " " + e.Detail)
	if strings.Contains(txt, "write") {
		return true
	}
	return strings.TrimSpace(e.Detail) == ""
}

// RateLimitError is returned for HTTP 429 when the request was not (or could
// no longer be) retried. RetryAfter is how long to wait, from the response headers.
type RateLimitError struct{ RetryAfter time.Duration }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("SOE: rate limit exceeded, retry in %s", e.RetryAfter.Round(time.Second))
}

// PacedError is the bot's own pacing of one token (kept under SOE's
// throttles, see pacing.go) leaving no room for a call before its deadline:
// the person's account is busy, nothing is wrong. No request was sent.
type PacedError struct{ RetryAfter time.Duration }

func (e *PacedError) Error() string {
	return fmt.Sprintf("SOE: this account's request pace is used up, retry in %s", e.RetryAfter.Round(time.Second))
}

// StatusError is any other non-2xx response (typically 5xx or a body that is
// not problem details). Body is truncated and never contains the token.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("SOE: %s [HTTP %d]", statusText(e.Status), e.Status)
	}
	return fmt.Sprintf("SOE: %s [HTTP %d]: %s", statusText(e.Status), e.Status, e.Body)
}

// Is maps the HTTP status to the package sentinels like ProblemError.Is.
func (e *StatusError) Is(target error) bool { return statusIs(e.Status, target) }

func statusIs(status int, target error) bool {
	//nolint:errorlint // the Is methods' body: errors.Is hands them each target, a sentinel compared by identity
	switch target {
	case ErrUnauthorized:
		return status == 401
	case ErrForbidden:
		return status == 403
	case ErrNotFound:
		return status == 404
	case ErrSMEDisabled:
		return status == 422
	}
	return false
}

func statusText(status int) string {
	switch status {
	case 400:
		return "bad request"
	case 401:
		return "invalid access token"
	case 403:
		return "forbidden"
	case 404:
		return "not found"
	case 422:
		return "unprocessable request"
	case 429:
		return "too many requests"
	case 500:
		return "internal server error"
	case 502:
		return "bad gateway"
	case 503:
		return "service unavailable"
	case 504:
		return "gateway timeout"
	}
	return "unexpected response"
}

// transportError marks a failure to get any HTTP response (connection
// refused/reset/dropped, TLS, timeouts). It is always temporary.
type transportError struct{ err error }

func (e *transportError) Error() string { return "SOE unreachable: " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// Temporary reports whether the user should simply try again later: 5xx,
// 429, timeouts and connection errors. Context cancellation is not temporary.
func Temporary(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return true
	}
	var pe *ProblemError
	if errors.As(err, &pe) {
		return pe.Status >= 500 || pe.Status == 429 || pe.Status == 408
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status >= 500 || se.Status == 429 || se.Status == 408
	}
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// maxErrorBody bounds the body text kept in a StatusError.
const maxErrorBody = 512

// parseErrorBody turns a non-2xx response into an error: *ProblemError for
// JSON problem details (whatever the Content-Type), *StatusError otherwise.
// token, when non-empty, is scrubbed from any text kept.
func parseErrorBody(status int, body []byte, token string) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var raw struct {
			Type    *string         `json:"type"`
			Title   *string         `json:"title"`
			Status  json.RawMessage `json:"status"`
			Detail  *string         `json:"detail"`
			TraceID *string         `json:"traceId"`
			Errors  json.RawMessage `json:"errors"`
			Message *string         `json:"message"`
			ErrMsg  *string         `json:"error_message"`
		}
		if err := json.Unmarshal(trimmed, &raw); err == nil &&
			(raw.Type != nil || raw.Title != nil || raw.Detail != nil || raw.Errors != nil || raw.Message != nil || raw.ErrMsg != nil) {
			pe := &ProblemError{
				Status:  status,
				Type:    scrub(deref(raw.Type), token),
				Title:   scrub(deref(raw.Title), token),
				Detail:  scrub(deref(raw.Detail), token),
				TraceID: scrub(deref(raw.TraceID), token),
				Errors:  parseFieldErrors(raw.Errors, token),
			}
			if pe.Detail == "" && raw.Message != nil {
				pe.Detail = scrub(*raw.Message, token)
			}
			if pe.Detail == "" && raw.ErrMsg != nil {
				pe.Detail = scrub(*raw.ErrMsg, token)
			}
			return pe
		}
	}
	return &StatusError{Status: status, Body: truncateText(scrub(string(trimmed), token), maxErrorBody)}
}

// parseFieldErrors accepts {"Field": ["msg", ...]} and the looser
// {"Field": "msg"} shape.
func parseFieldErrors(raw json.RawMessage, token string) map[string][]string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			var one string
			if err := json.Unmarshal(v, &one); err == nil {
				list = []string{one}
			}
		}
		for i := range list {
			list[i] = scrub(list[i], token)
		}
		out[scrub(k, token)] = slices.Clip(list)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func scrub(s, token string) string {
	if token == "" || s == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[REDACTED]")
}

func truncateText(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
