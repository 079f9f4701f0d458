// Package soefake is an in-memory, loopback-only fake of Stack Overflow
// Enterprise (API v3 + OAuth/PKCE) for tests and local development.
//
// It serves the main site under /api/v3/... and private teams under
// /api/v3/teams/{team}/..., answers 401 as text/plain "Invalid access token",
// other errors as application/json ProblemDetails, sends the five throttle
// headers on every API response and enforces SOE's per-token limits (burst
// 50 per 2 s, bucket 5000 refilled 100 per 60 s). See seed.go for the data.
//
// Who is "logged in" at the fake SOE during OAuth: the query parameter
// as=<login> on GET /oauth, else a cookie login=<login>, else alice.
//
// Throttling always uses the wall clock; Options.Now drives content
// timestamps and token/code expiry.
package soefake

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/soebot/soebot/internal/soe"
)

// Options configures a Server.
type Options struct {
	// ClientID of the registered API application (default "4242").
	ClientID string
	// RedirectDomain is the API application's Domain: redirect_uri hosts must
	// equal it or be a subdomain. "" allows any loopback host (127.0.0.1, ::1, localhost).
	RedirectDomain string
	// AutoApprove skips the consent page.
	AutoApprove bool
	// Now is the clock for content timestamps and token/code expiry (default time.Now).
	Now func() time.Time
	// Seed loads the Acme data set described in seed.go.
	Seed bool
	// BasicBusiness, when set, makes the fake a Stack Overflow for Teams
	// Basic/Business site for the team with this slug: the site is
	// URL()/c/{team}, the API lives under /v3/teams/{team} (as on
	// api.stackoverflowteams.com; there are no private teams inside it),
	// there is no OAuth, and users authenticate with personal access tokens
	// (MintPAT). Its exchanges are held to openapi-basic-business.json
	// (BasicBusinessValidator).
	BasicBusiness string
}

// FakeUser is a user of the fake site.
type FakeUser struct {
	ID         int
	AccountID  int
	Login      string // e.g. "alice" (used by as=, the login cookie, UserByName)
	Name       string // display name, e.g. "Alice Anderson" (what the API returns)
	Email      string // e.g. alice@acme.example
	Role       string // "Registered" or "Admin"
	Admin      bool
	Teams      []string // private team slugs the user belongs to
	JobTitle   string
	Department string
	Reputation int
}

// FakeQuestion is a question as stored by the fake.
type FakeQuestion struct {
	ID               int
	Scope            soe.Scope
	Title            string
	BodyMarkdown     string
	Tags             []string
	AuthorID         int
	AnswerIDs        []int
	AcceptedAnswerID int
	Score            int
	ViewCount        int
	Closed           bool
	Obsolete         bool
	Created          time.Time
	LastActivity     time.Time
}

// Faults injects failures into API requests (OAuth endpoints are unaffected).
type Faults struct {
	// Latency is added before every API response.
	Latency time.Duration
	// ErrorRate (0..1) answers that fraction of API requests with 503 ProblemDetails.
	ErrorRate float64
	// Force429 answers the next N API requests with 429.
	Force429 int
	// DropRate (0..1) hijacks and closes that fraction of connections without a response.
	DropRate float64
	// Status forces a status (with a ProblemDetails body, text/plain for 401)
	// for a route. Keys are "METHOD /path" relative to the scope, with ids as
	// {id} (any {name} is accepted), e.g. "POST /questions",
	// "GET /questions/{id}/answers", "GET /users/by-email/{email}".
	Status map[string]int
}

// RecordedRequest is one request seen by the fake.
type RecordedRequest struct {
	Method    string
	Path      string
	Query     string
	TokenHash string    // HashToken(token), "" when none
	Status    int       // 0 when the connection was dropped
	Time      time.Time // when the request arrived (before any injected latency)
}

// Server is a running fake SOE.
type Server struct {
	opts Options
	ts   *httptest.Server

	mu          sync.Mutex
	users       map[int]*FakeUser
	groups      map[int]*fakeGroup
	communities []*fakeCommunity
	sites       map[string]*site
	nextID      int
	smesOff     bool
	tokens      map[string]*tokenInfo // by HashToken
	codes       map[string]*authCode
	pending     map[string]*pendingAuth
	faults      Faults
	rng         *mrand.Rand
	throttles   map[string]*throttle
	requests    []RecordedRequest
	validator   func(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error
	validErrs   []error
	votes       *voteBook // votes.go; made on first use
}

type tokenInfo struct {
	userID  int
	scopes  []string
	expiry  time.Time // zero: never
	revoked bool
}

func (t *tokenInfo) has(scope string) bool { return slices.Contains(t.scopes, scope) }

// New starts a fake SOE on a loopback port.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = "4242"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:      opts,
		users:     map[int]*FakeUser{},
		groups:    map[int]*fakeGroup{},
		sites:     map[string]*site{},
		nextID:    100,
		tokens:    map[string]*tokenInfo{},
		codes:     map[string]*authCode{},
		pending:   map[string]*pendingAuth{},
		rng:       mrand.New(mrand.NewPCG(42, 4242)), //nolint:gosec // G404: seeded on purpose, so injected faults replay the same way
		throttles: map[string]*throttle{},
	}
	s.ensureSite(soe.MainSite())
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.ts.Start()
	if opts.Seed {
		s.seed()
	}
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// URL is the server root, e.g. http://127.0.0.1:PORT (OAuth lives here).
func (s *Server) URL() string { return s.ts.URL }

// SiteURL is the web site's root, what SOE_URL names: URL() on Enterprise,
// URL()/c/{team} in Basic/Business mode.
func (s *Server) SiteURL() string {
	if t := s.opts.BasicBusiness; t != "" {
		return s.ts.URL + "/c/" + t
	}
	return s.ts.URL
}

// APIURL is the API v3 base: URL()+"/api/v3" on Enterprise,
// URL()+"/v3/teams/{team}" in Basic/Business mode.
func (s *Server) APIURL() string { return s.ts.URL + s.apiPrefix() }

// BasicBusiness reports whether the fake is a Basic/Business site.
func (s *Server) BasicBusiness() bool { return s.opts.BasicBusiness != "" }

// apiPrefix is the path of the API base: /api/v3, or /v3/teams/{team}.
func (s *Server) apiPrefix() string {
	if t := s.opts.BasicBusiness; t != "" {
		return "/v3/teams/" + t
	}
	return "/api/v3"
}

// isAPIPath reports whether p is under the API base.
func (s *Server) isAPIPath(p string) bool {
	pre := s.apiPrefix()
	return p == pre || strings.HasPrefix(p, pre+"/")
}

// ClientID is the client id of the fake's API application.
func (s *Server) ClientID() string { return s.opts.ClientID }

// HashToken is how tokens appear in RecordedRequest.TokenHash.
func HashToken(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// MintPAT issues a personal access token for userID, as a Basic/Business
// user creates one (no expiry; write access only when write is set, a
// Business option).
func (s *Server) MintPAT(userID int, write bool) string {
	scopes := []string{soe.ScopeNoExpiry}
	if write {
		scopes = append(scopes, soe.ScopeWriteAccess)
	}
	return s.MintToken(userID, scopes...)
}

// MintToken issues a token for userID directly (scopes: write_access,
// no_expiry, access_team). Without no_expiry it expires 24 h after Now().
// With access_team it works on the private teams the user belongs to.
func (s *Server) MintToken(userID int, scopes ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mintLocked(userID, scopes)
}

func (s *Server) mintLocked(userID int, scopes []string) string {
	tok := randomString(24)
	ti := &tokenInfo{userID: userID, scopes: slices.Clone(scopes)}
	if !ti.has(soe.ScopeNoExpiry) {
		ti.expiry = s.opts.Now().Add(24 * time.Hour)
	}
	s.tokens[HashToken(tok)] = ti
	return tok
}

// RevokeToken makes token invalid (401).
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ti := s.tokens[HashToken(token)]; ti != nil {
		ti.revoked = true
	}
}

// ExpireToken makes token expired (401), even a no_expiry one.
func (s *Server) ExpireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ti := s.tokens[HashToken(token)]; ti != nil {
		ti.expiry = s.opts.Now().Add(-time.Second)
	}
}

// SetSMEsEnabled switches the subject-matter-experts feature (off: 422 on
// SME endpoints, subjectMatterExpertCount null).
func (s *Server) SetSMEsEnabled(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.smesOff = !on
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Status = normalizeStatusKeys(f.Status)
	s.faults = f
}

// Requests returns all recorded requests, oldest first.
func (s *Server) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// RequestCount counts API requests made with token at or after since.
func (s *Server) RequestCount(token string, since time.Time) int {
	h := HashToken(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.TokenHash == h && !r.Time.Before(since) && s.isAPIPath(r.Path) {
			n++
		}
	}
	return n
}

// SetValidator installs a hook called for every API request/response (e.g.
// an OpenAPI contract check, see OpenAPIValidator). Its errors are
// collected in ValidationErrors.
func (s *Server) SetValidator(v func(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.validator = v
}

// ValidationErrors returns the errors reported by the validator so far.
func (s *Server) ValidationErrors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.validErrs)
}

func (s *Server) record(r *http.Request, tokHash string, status int) {
	s.recordAt(r, tokHash, status, time.Now())
}

// recordAt records a request with the time it arrived: API requests are
// recorded with their arrival, before any injected latency, so that counting
// calls per time window counts what the client sent, as SOE's throttle does.
func (s *Server) recordAt(r *http.Request, tokHash string, status int, arrived time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, RecordedRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		TokenHash: tokHash, Status: status, Time: arrived})
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	bb := s.BasicBusiness() // no OAuth on Basic/Business
	switch {
	case s.isAPIPath(p):
		s.serveAPI(w, r)
	case bb:
		s.servePage(w, r)
	case p == "/oauth" && r.Method == http.MethodGet:
		s.record(r, "", s.oauthAuthorize(w, r))
	case p == "/oauth/approve" && r.Method == http.MethodPost:
		s.record(r, "", s.oauthApprove(w, r))
	case p == "/oauth/access_token/json" && r.Method == http.MethodPost:
		s.record(r, "", s.oauthToken(w, r))
	default:
		s.servePage(w, r)
	}
}

// servePage answers the web site's pages: answer share links, else 404.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if status, ok := s.serveShareLink(w, r); ok {
			s.record(r, "", status)
			return
		}
	}
	http.Error(w, "Page not found", http.StatusNotFound)
	s.record(r, "", http.StatusNotFound)
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// serveAPI applies faults, auth and throttling, routes, validates and writes.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	reqBody, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	tok := bearer(r)
	th := HashToken(tok)

	scope, rest, scopeOK := splitScope(r.URL.Path, s.apiPrefix())
	routeKey := r.Method + " " + normalizeRoute(rest)

	s.mu.Lock()
	f := s.faults
	drop := f.DropRate > 0 && s.rng.Float64() < f.DropRate
	fail := !drop && f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate
	force429 := false
	if !drop && !fail && s.faults.Force429 > 0 {
		s.faults.Force429--
		force429 = true
	}
	forced := f.Status[routeKey]
	s.mu.Unlock()

	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-r.Context().Done():
			t.Stop()
			s.recordAt(r, th, 0, arrived)
			return
		case <-t.C:
		}
	}
	if drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				s.recordAt(r, th, 0, arrived) // before closing, so callers see it once they see the drop
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}

	rec := httptest.NewRecorder()
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		ti := s.tokens[th]
		now := s.opts.Now()
		valid := tok != "" && ti != nil && !ti.revoked && (ti.expiry.IsZero() || now.Before(ti.expiry)) && s.users[ti.userID] != nil
		thr := s.throttleLocked(th)
		allowed := true
		if valid {
			allowed = thr.take(time.Now())
		}
		thr.writeHeaders(rec.Header(), time.Now())
		switch {
		case !valid:
			writeUnauthorized(rec)
		case force429:
			rec.Header().Set("x-burst-throttle-calls-left", "0")
			rec.Header().Set("x-burst-throttle-seconds-until-full", "1")
			rec.Header().Set("Retry-After", "1")
			writeProblem(rec, http.StatusTooManyRequests, "/v3/errors/throttled", "Too many requests", "Rate limit exceeded; slow down.")
		case !allowed:
			rec.Header().Set("Retry-After", thr.retryAfter(time.Now()))
			writeProblem(rec, http.StatusTooManyRequests, "/v3/errors/throttled", "Too many requests", "Rate limit exceeded; slow down.")
		case fail:
			writeProblem(rec, http.StatusServiceUnavailable, "/v3/errors/unavailable", "Service unavailable", "The service is temporarily unavailable.")
		case forced != 0:
			if forced == http.StatusUnauthorized {
				writeUnauthorized(rec)
			} else {
				writeProblem(rec, forced, "/v3/errors/injected", http.StatusText(forced), "Injected failure.")
			}
		case !scopeOK:
			writeProblem(rec, http.StatusNotFound, "/v3/errors/not-found", "Not found", "No such endpoint.")
		default:
			s.routeLocked(rec, r, &apiCtx{user: s.users[ti.userID], token: ti, scope: scope, body: reqBody, now: now}, rest)
		}
	}()

	status := rec.Code
	respBody := rec.Body.Bytes()
	s.mu.Lock()
	v := s.validator
	s.mu.Unlock()
	if v != nil {
		vr := r.Clone(r.Context())
		vr.Body = io.NopCloser(bytes.NewReader(reqBody))
		if err := v(vr, reqBody, status, rec.Header().Clone(), respBody); err != nil {
			s.mu.Lock()
			s.validErrs = append(s.validErrs, err)
			s.mu.Unlock()
		}
	}
	for k, vv := range rec.Header() {
		w.Header()[k] = vv
	}
	w.WriteHeader(status)
	_, _ = w.Write(respBody)
	s.recordAt(r, th, status, arrived)
}

// splitScope splits {prefix}[/teams/{team}]/rest. Under a Basic/Business
// prefix (/v3/teams/{team}) the team is the site itself: there are no
// private teams inside it, so a /teams/ path is not found.
func splitScope(p, prefix string) (soe.Scope, string, bool) {
	rest := strings.TrimPrefix(p, prefix)
	if strings.HasPrefix(rest, "/teams/") {
		if prefix != "/api/v3" {
			return soe.Scope{}, "", false
		}
		seg := strings.TrimPrefix(rest, "/teams/")
		slug, after, _ := strings.Cut(seg, "/")
		if slug == "" {
			return soe.Scope{}, "", false
		}
		return soe.TeamScope(slug), "/" + after, true
	}
	if rest == "" {
		rest = "/"
	}
	return soe.MainSite(), rest, true
}

var braceRE = regexp.MustCompile(`^\{[^}]*\}$`)

// normalizeRoute turns "/questions/12/answers" into "/questions/{id}/answers".
func normalizeRoute(p string) string {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i, sg := range segs {
		if sg == "" {
			continue
		}
		if braceRE.MatchString(sg) || isDigits(sg) || (i > 0 && segs[i-1] == "by-email") {
			segs[i] = "{id}"
		}
	}
	return "/" + strings.Join(segs, "/")
}

func normalizeStatusKeys(m map[string]int) map[string]int {
	if m == nil {
		return nil
	}
	out := make(map[string]int, len(m))
	for k, v := range m {
		method, path, ok := strings.Cut(strings.TrimSpace(k), " ")
		if !ok {
			continue
		}
		path = strings.TrimPrefix(strings.TrimSpace(path), "/api/v3")
		if strings.HasPrefix(path, "/teams/") {
			_, path, _ = splitScope("/api/v3"+path, "/api/v3")
		}
		out[strings.ToUpper(method)+" "+normalizeRoute(path)] = v
	}
	return out
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// --- throttling ---------------------------------------------------------------

const (
	burstMax      = 50.0
	burstPerSec   = 25.0 // 50 per 2 s
	bucketMax     = 5000
	bucketRefill  = 100
	refillEvery   = 60 * time.Second
	headerBurstL  = "x-burst-throttle-calls-left"
	headerBurstF  = "x-burst-throttle-seconds-until-full"
	headerBucketL = "x-token-bucket-calls-left"
	headerBucketF = "x-token-bucket-seconds-until-full"
	headerBucketN = "x-token-bucket-seconds-until-next-refill"
)

type throttle struct {
	burst    float64
	burstAt  time.Time
	bucket   int
	bucketAt time.Time
}

func (s *Server) throttleLocked(key string) *throttle {
	t := s.throttles[key]
	if t == nil {
		now := time.Now()
		t = &throttle{burst: burstMax, burstAt: now, bucket: bucketMax, bucketAt: now}
		s.throttles[key] = t
	}
	return t
}

func (t *throttle) refill(now time.Time) {
	if d := now.Sub(t.burstAt); d > 0 {
		t.burst = min(burstMax, t.burst+d.Seconds()*burstPerSec)
		t.burstAt = now
	}
	if t.bucket >= bucketMax {
		t.bucketAt = now
		return
	}
	if n := int(now.Sub(t.bucketAt) / refillEvery); n > 0 {
		t.bucket = min(bucketMax, t.bucket+n*bucketRefill)
		t.bucketAt = t.bucketAt.Add(time.Duration(n) * refillEvery)
	}
}

func (t *throttle) take(now time.Time) bool {
	t.refill(now)
	if t.burst < 1 || t.bucket < 1 {
		return false
	}
	t.burst--
	t.bucket--
	return true
}

func ceilSecs(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

func (t *throttle) nextRefill(now time.Time) time.Duration {
	if t.bucket >= bucketMax {
		return 0
	}
	return refillEvery - now.Sub(t.bucketAt)
}

func (t *throttle) writeHeaders(h http.Header, now time.Time) {
	t.refill(now)
	h.Set(headerBurstL, itoa(int(t.burst)))
	h.Set(headerBurstF, itoa(ceilSecs(time.Duration((burstMax-t.burst)/burstPerSec*float64(time.Second)))))
	h.Set(headerBucketL, itoa(t.bucket))
	next := t.nextRefill(now)
	full := time.Duration(0)
	if t.bucket < bucketMax {
		missing := (bucketMax - t.bucket + bucketRefill - 1) / bucketRefill
		full = next + time.Duration(missing-1)*refillEvery
	}
	h.Set(headerBucketF, itoa(ceilSecs(full)))
	h.Set(headerBucketN, itoa(ceilSecs(next)))
}

func (t *throttle) retryAfter(now time.Time) string {
	if t.bucket < 1 {
		return itoa(max(1, ceilSecs(t.nextRefill(now))))
	}
	return itoa(max(1, ceilSecs(time.Duration((1-t.burst)/burstPerSec*float64(time.Second)))))
}

// Now is the fake's clock (Options.Now).
func (s *Server) Now() time.Time { return s.opts.Now() }
