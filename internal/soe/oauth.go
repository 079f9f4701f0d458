package soe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// OAuth scopes understood by SOE. No scope at all means a read-only token
// that expires after 24 hours.
const (
	ScopeWriteAccess = "write_access"
	ScopeNoExpiry    = "no_expiry"
	ScopeAccessTeam  = "access_team"
)

// OAuthConfig describes soebot's SOE "API application". SiteURL is the SOE
// site root (e.g. https://acme.stackenterprise.co), not the API base.
type OAuthConfig struct {
	SiteURL     string
	ClientID    string
	RedirectURL string
	HTTPClient  *http.Client
}

// Token is an SOE access token. There are no refresh tokens: when it
// expires the user must authorize again.
type Token struct {
	AccessToken string
	// Expiry is zero when the token never expires (no_expiry scope).
	Expiry time.Time
	// Scopes as reported by the token endpoint, if it reports them (SOE
	// does not document it; remember what you asked for).
	Scopes []string
}

// String never reveals the token.
func (t *Token) String() string {
	if t == nil {
		return "<nil>"
	}
	if t.Expiry.IsZero() {
		return "soe.Token(no expiry)"
	}
	return "soe.Token(expires " + t.Expiry.UTC().Format(time.RFC3339) + ")"
}

// Expired reports whether the token has expired at now (with no leeway).
func (t *Token) Expired(now time.Time) bool {
	return t != nil && !t.Expiry.IsZero() && !now.Before(t.Expiry)
}

// HasScope reports whether the token endpoint reported scope s.
func (t *Token) HasScope(s string) bool {
	for _, x := range t.Scopes {
		if x == s {
			return true
		}
	}
	return false
}

// OAuthError is an error from the SOE OAuth token endpoint, e.g.
// {"error_message":"Authorization code has expired"}.
type OAuthError struct {
	Status  int
	Message string
}

func (e *OAuthError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "token exchange failed"
	}
	return fmt.Sprintf("SOE sign-in failed: %s [HTTP %d]", msg, e.Status)
}

// CodeExpired reports whether the authorization code had expired (the user
// took too long; start again).
func (e *OAuthError) CodeExpired() bool {
	return strings.Contains(strings.ToLower(e.Message), "expired")
}

// GenerateVerifier returns a fresh PKCE code verifier.
func GenerateVerifier() string { return oauth2.GenerateVerifier() }

func (o OAuthConfig) site() string { return strings.TrimRight(o.SiteURL, "/") }

// AuthCodeURL returns the URL to send the user to:
// {SiteURL}/oauth?client_id&redirect_uri&scope=a,b&state&code_challenge&code_challenge_method=S256.
// SOE uses /oauth (not /oauth/authorize) and comma-separated scopes.
func (o OAuthConfig) AuthCodeURL(state, verifier string, scopes []string) string {
	cfg := oauth2.Config{
		ClientID:    o.ClientID,
		RedirectURL: o.RedirectURL,
		Endpoint:    oauth2.Endpoint{AuthURL: o.site() + "/oauth"},
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if len(scopes) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("scope", strings.Join(scopes, ",")))
	}
	return cfg.AuthCodeURL(state, opts...)
}

// Exchange trades an authorization code for a token:
// POST {SiteURL}/oauth/access_token/json with client_id, code, redirect_uri
// and code_verifier as a form. Errors are *OAuthError; neither the code nor
// the token ever appears in them.
func (o OAuthConfig) Exchange(ctx context.Context, code, verifier string) (*Token, error) {
	form := url.Values{
		"client_id":     {o.ClientID},
		"code":          {code},
		"redirect_uri":  {o.RedirectURL},
		"code_verifier": {verifier},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.site()+"/oauth/access_token/json", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("soe: oauth exchange: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("soe: oauth exchange: %w", ctx.Err())
		}
		return nil, fmt.Errorf("soe: oauth exchange: %w", &transportError{err: scrubErr(scrubErr(err, code), verifier)})
	}
	defer func() { _ = resp.Body.Close() }() // all of it was read: nothing to report
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("soe: oauth exchange: %w", &transportError{err: err})
	}
	return parseTokenResponse(resp.StatusCode, body, start, code)
}

func parseTokenResponse(status int, body []byte, now time.Time, code string) (*Token, error) {
	var raw struct {
		AccessToken  string          `json:"access_token"`
		Expires      json.RawMessage `json:"expires"`
		Scope        json.RawMessage `json:"scope"`
		ErrorMessage string          `json:"error_message"`
		Error        string          `json:"error"`
		ErrorDesc    string          `json:"error_description"`
	}
	trimmed := bytes.TrimSpace(body)
	jsonErr := json.Unmarshal(trimmed, &raw)
	if status != http.StatusOK || jsonErr != nil || raw.AccessToken == "" ||
		raw.ErrorMessage != "" || raw.Error != "" {
		msg := raw.ErrorMessage
		if msg == "" {
			msg = raw.ErrorDesc
		}
		if msg == "" {
			msg = raw.Error
		}
		if msg == "" && jsonErr != nil {
			msg = truncateText(string(trimmed), 200)
		}
		if msg == "" {
			msg = "no access token in response"
		}
		if raw.AccessToken != "" {
			msg = scrub(msg, raw.AccessToken)
		}
		if status == http.StatusOK {
			status = http.StatusBadGateway // a 200 without a token is no success
		}
		return nil, fmt.Errorf("soe: oauth exchange: %w", &OAuthError{Status: status, Message: scrub(msg, code)})
	}
	t := &Token{AccessToken: raw.AccessToken}
	secs, err := parseExpires(raw.Expires)
	if err != nil {
		return nil, fmt.Errorf("soe: oauth exchange: %w", &OAuthError{Status: status, Message: err.Error()})
	}
	if secs > 0 {
		t.Expiry = now.Add(time.Duration(secs) * time.Second)
	}
	t.Scopes = parseScopeField(raw.Scope)
	return t, nil
}

// parseExpires accepts a number or numeric string of seconds; absent, null
// or 0 mean "never expires".
func parseExpires(raw json.RawMessage) (int64, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, nil
	}
	if uq, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(uq)
		if s == "" {
			return 0, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 10*365*24*3600 {
		return 0, errors.New("invalid expires value in token response")
	}
	return int64(f), nil
}

func parseScopeField(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil
	}
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}
