package soefake

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/soe"
)

type pendingAuth struct {
	clientID, redirectURI, state, challenge string
	scopes                                  []string
	userID                                  int
	created                                 time.Time
}

type authCode struct {
	clientID, redirectURI, challenge string
	scopes                           []string
	userID                           int
	expires                          time.Time
}

var knownScopes = []string{soe.ScopeWriteAccess, soe.ScopeNoExpiry, soe.ScopeAccessTeam, "read_inbox", "private_info"}

var errorPage = template.Must(template.New("err").Parse(`<!DOCTYPE html>
<html><head><title>Error - Acme Stack Overflow</title></head>
<body><h1>Application authorization failed</h1><p class="error">{{.}}</p></body></html>`))

var consentPage = template.Must(template.New("consent").Parse(`<!DOCTYPE html>
<html><head><title>Authorizing Application - Acme Stack Overflow</title></head>
<body>
<h1>Authorizing Application</h1>
<p>Logged in as <strong id="user">{{.User}}</strong>.</p>
<p>The application <strong>{{.ClientID}}</strong> would like to:</p>
<ul>{{range .Scopes}}<li class="scope">{{.}}</li>{{else}}<li class="scope">read your content (read-only)</li>{{end}}</ul>
<form method="POST" action="/oauth/approve">
<input type="hidden" name="request" value="{{.Request}}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>`))

func oauthError(w http.ResponseWriter, msg string) int {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = errorPage.Execute(w, msg)
	return http.StatusBadRequest
}

func (s *Server) redirectAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if s.opts.RedirectDomain == "" {
		if host == "localhost" {
			return true
		}
		ip := net.ParseIP(host)
		return ip != nil && ip.IsLoopback()
	}
	d := strings.ToLower(strings.TrimPrefix(s.opts.RedirectDomain, "."))
	if h, _, err := net.SplitHostPort(d); err == nil {
		d = h
	}
	return host == d || strings.HasSuffix(host, "."+d)
}

func parseScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// oauthAuthorize serves GET /oauth.
func (s *Server) oauthAuthorize(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	if q.Get("client_id") != s.opts.ClientID {
		return oauthError(w, "Unknown client_id: no API application is registered with that id.")
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" {
		return oauthError(w, "redirect_uri is not configured.")
	}
	if !s.redirectAllowed(redirect) {
		return oauthError(w, "redirect_uri is not under the API application's domain.")
	}
	if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
		return oauthError(w, "A PKCE code_challenge with code_challenge_method=S256 is required.")
	}
	scopes := parseScopes(q.Get("scope"))
	for _, sc := range scopes {
		if !slices.Contains(knownScopes, sc) {
			return oauthError(w, fmt.Sprintf("Unknown scope %q.", sc))
		}
	}
	login := q.Get("as")
	if login == "" {
		if c, err := r.Cookie("login"); err == nil {
			login = c.Value
		}
	}
	if login == "" {
		login = "alice"
	}
	s.mu.Lock()
	u := s.userByNameLocked(login)
	if u == nil {
		s.mu.Unlock()
		return oauthError(w, fmt.Sprintf("No such user %q is logged in.", login))
	}
	p := &pendingAuth{clientID: q.Get("client_id"), redirectURI: redirect, state: q.Get("state"),
		challenge: q.Get("code_challenge"), scopes: scopes, userID: u.ID, created: s.opts.Now()}
	if s.opts.AutoApprove {
		loc := s.issueCodeLocked(p)
		s.mu.Unlock()
		http.Redirect(w, r, loc, http.StatusFound)
		return http.StatusFound
	}
	id := randomString(18)
	s.pending[id] = p
	name := u.Name
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = consentPage.Execute(w, map[string]any{"User": name, "ClientID": p.clientID, "Scopes": scopes, "Request": id})
	return http.StatusOK
}

// issueCodeLocked creates a single-use code valid for 10 minutes and
// returns the redirect location.
func (s *Server) issueCodeLocked(p *pendingAuth) string {
	code := randomString(24)
	s.codes[code] = &authCode{clientID: p.clientID, redirectURI: p.redirectURI, challenge: p.challenge,
		scopes: p.scopes, userID: p.userID, expires: s.opts.Now().Add(10 * time.Minute)}
	return withQuery(p.redirectURI, url.Values{"code": {code}, "state": {p.state}})
}

func withQuery(base string, v url.Values) string {
	u, _ := url.Parse(base)
	q := u.Query()
	for k, vv := range v {
		q[k] = vv
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// oauthApprove serves POST /oauth/approve (decision=approve|deny).
func (s *Server) oauthApprove(w http.ResponseWriter, r *http.Request) int {
	if err := r.ParseForm(); err != nil {
		return oauthError(w, "Bad request.")
	}
	s.mu.Lock()
	id := r.PostForm.Get("request")
	p := s.pending[id]
	delete(s.pending, id)
	if p == nil || s.opts.Now().Sub(p.created) > 10*time.Minute {
		s.mu.Unlock()
		return oauthError(w, "This authorization request has expired; please start again.")
	}
	var loc string
	if r.PostForm.Get("decision") == "approve" {
		loc = s.issueCodeLocked(p)
	} else {
		loc = withQuery(p.redirectURI, url.Values{"error": {"access_denied"}, "state": {p.state}})
	}
	s.mu.Unlock()
	http.Redirect(w, r, loc, http.StatusFound)
	return http.StatusFound
}

func tokenError(w http.ResponseWriter, msg string) int {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error_message": msg})
	return http.StatusBadRequest
}

// oauthToken serves POST /oauth/access_token/json (parameters in the form
// body or the query string, as SOE's own clients do both).
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) int {
	if err := r.ParseForm(); err != nil {
		return tokenError(w, "Invalid request")
	}
	f := r.Form
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Get("client_id") != s.opts.ClientID {
		return tokenError(w, "Invalid client_id")
	}
	code := f.Get("code")
	ac := s.codes[code]
	if code == "" || ac == nil {
		return tokenError(w, "No authorization code found")
	}
	delete(s.codes, code) // single use, whatever happens next
	if !s.opts.Now().Before(ac.expires) {
		return tokenError(w, "Authorization code has expired")
	}
	if ac.clientID != f.Get("client_id") {
		return tokenError(w, "Authorization code was issued to another client")
	}
	if ac.redirectURI != f.Get("redirect_uri") {
		return tokenError(w, "redirect_uri does not match the authorization request")
	}
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(ac.challenge)) != 1 {
		return tokenError(w, "Invalid code_verifier")
	}
	tok := s.mintLocked(ac.userID, ac.scopes)
	resp := map[string]any{"access_token": tok}
	if !slices.Contains(ac.scopes, soe.ScopeNoExpiry) {
		resp["expires"] = 86400
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(resp)
	return http.StatusOK
}
