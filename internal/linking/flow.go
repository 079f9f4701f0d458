package linking

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// maxQueryValue bounds every query value the link endpoints accept.
const maxQueryValue = 2048

// Handler serves GET /link/{id} (the confirmation page), POST /link/{id}
// (Continue: sets the browser cookie, redirects to SOE) and
// GET /oauth/callback. With Config.PersonalTokens the page asks for a
// personal access token, POST /link/{id} checks and stores it (pat.go), and
// there is no callback.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /link/{id}", s.serveLinkPage)
	if s.cfg.PersonalTokens {
		mux.HandleFunc("POST /link/{id}", s.servePAT)
	} else {
		mux.HandleFunc("POST /link/{id}", s.serveContinue)
		mux.HandleFunc("GET /oauth/callback", s.serveCallback)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.allowed(w, r) {
			return
		}
		if !queryOK(r.URL.RawQuery) {
			s.page(w, http.StatusBadRequest, pageData{Title: "Bad request", Message: "This address is malformed. Start again with /soe link in Slack."})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// allowed answers 429 (and returns false) when the client is over the rate
// limit. Nothing is logged per refusal, so a flood cannot flood the logs.
func (s *Service) allowed(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Limiter == nil {
		return true
	}
	ok, wait := s.cfg.Limiter.Allow(r)
	if ok {
		return true
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.page(w, http.StatusTooManyRequests, pageData{Title: "Too many requests",
		Message: fmt.Sprintf("soebot got too many requests from your network. Please wait %d %s, then reload this page.", secs, unit)})
	return false
}

// queryOK refuses unparsable, overlong or binary query values.
func queryOK(raw string) bool {
	if raw == "" {
		return true
	}
	if len(raw) > 4*maxQueryValue {
		return false
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return false
	}
	for k, vs := range q {
		if !textOK(k) {
			return false
		}
		for _, v := range vs {
			if !textOK(v) {
				return false
			}
		}
	}
	return true
}

func textOK(s string) bool {
	if len(s) > maxQueryValue || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// --- GET /link/{id} -------------------------------------------------------------

func (s *Service) lookupPending(ctx context.Context, id string) (*pendingRecord, error) {
	if !validID(id) {
		return nil, nil
	}
	var rec pendingRecord
	var found bool
	err := s.db.View(ctx, func(tx store.Tx) error {
		var err error
		found, err = store.GetJSON(tx, bucketPending, hashKey(id), &rec)
		return err
	})
	if err != nil || !found {
		return nil, err
	}
	return &rec, nil
}

func (s *Service) serveLinkPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	rec, err := s.lookupPending(ctx, id)
	if err != nil {
		s.log.ErrorContext(ctx, "link page: store error", "err", err)
		s.page(w, http.StatusInternalServerError, pageData{Title: "Something went wrong", Message: "Please try again in a moment."})
		return
	}
	if rec == nil {
		s.page(w, http.StatusNotFound, pageUnknownLink)
		return
	}
	if expiredAt(s.cfg.Now(), rec.Expires) {
		s.page(w, http.StatusGone, pageExpiredLink)
		return
	}
	scope, err := soe.ParseScopeKey(rec.Scope)
	if err != nil {
		s.page(w, http.StatusNotFound, pageUnknownLink)
		return
	}
	who := s.slackWho(ctx, rec.UserID)
	if s.cfg.RequireEmailMatch && who.Known && !who.EmailKnown {
		// The callback would refuse it: say so before the user goes to SOE.
		ferr := slackEmailUnknown()
		s.page(w, ferr.status, pageData{Title: "This link cannot be used", Message: upperFirst(ferr.msg)})
		return
	}
	if s.cfg.PersonalTokens {
		s.patPage(ctx, w, http.StatusOK, id, rec, "")
		return
	}
	s.page(w, http.StatusOK, pageData{
		Title:        "Connect Stack Overflow",
		Confirm:      true,
		Workspace:    who.Workspace,
		SlackUser:    who.Full,
		SlackHandle:  who.Handle,
		SOEHost:      s.soeHost,
		Scope:        describeScope(scope),
		Access:       s.describeAccess(),
		Action:       s.cfg.PublicURL + "/link/" + id,
		NoEmailCheck: !s.cfg.RequireEmailMatch,
	})
}

// slackWho is the Slack user a link connects, as the link page names them.
type slackWho struct {
	Workspace  string // "Acme", or a neutral fallback
	Handle     string // "@alice", or "@U123" when Slack does not answer
	Full       string // "@alice (Alice Anderson)"
	Known      bool   // users.info answered
	EmailKnown bool   // and showed an email address
}

// slackWho asks Slack for the workspace and user names (with neutral
// fallbacks when Slack does not answer).
func (s *Service) slackWho(ctx context.Context, user string) slackWho {
	w := slackWho{Workspace: "your Slack workspace", Handle: "@" + user}
	w.Full = w.Handle
	if s.slack == nil {
		return w
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if t := s.slack.TeamName(ctx); t != "" {
		w.Workspace = t
	}
	u, err := s.slack.UserInfo(ctx, user)
	if err != nil || u == nil {
		return w
	}
	w.Known, w.EmailKnown = true, strings.TrimSpace(u.Profile.Email) != ""
	switch {
	case u.Profile.DisplayName != "":
		w.Handle = "@" + u.Profile.DisplayName
	case u.Name != "":
		w.Handle = "@" + u.Name
	}
	w.Full = w.Handle
	realName := cmp.Or(u.RealName, u.Profile.RealName)
	if realName != "" && !strings.EqualFold("@"+realName, w.Handle) {
		w.Full += " (" + realName + ")"
	}
	return w
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func describeScope(sc soe.Scope) string {
	if sc.IsTeam() {
		return "the private team “" + sc.Team + "”"
	}
	return "the main site"
}

// describeAccess is the access soebot asks for (SOE may grant less).
func (s *Service) describeAccess() string {
	a := "read-only"
	if s.cfg.WriteAccess {
		a = "read-write"
	}
	if s.cfg.NoExpiry {
		return a + " access that does not expire"
	}
	return a + " access for 24 hours"
}

// --- POST /link/{id} --------------------------------------------------------------

var errLinkGone = errors.New("link unknown or used")
var errLinkExpired = errors.New("link expired")

// livePost checks a form post to /link/{id}: from the link page itself
// (not another site), for a live link. It answers the refusal itself.
func (s *Service) livePost(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.crossSite(r) {
		s.page(w, http.StatusForbidden, pageData{Title: "Request refused", Message: "This form can only be sent from the soebot link page."})
		return "", false
	}
	id := r.PathValue("id")
	return id, s.pendingLive(r.Context(), w, id)
}

// serveContinue consumes the link id and starts the OAuth flow. Unknown and
// expired ids are answered from a read-only transaction: only a live id
// (a secret) takes the database's write lock.
func (s *Service) serveContinue(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := s.livePost(w, r)
	if !ok {
		return
	}
	nonce := s.browserNonce(r)
	state, verifier := randomID(), soe.GenerateVerifier()
	pend, err := s.continuePending(ctx, id, nonce, state, verifier)
	if !s.continueOK(ctx, w, err) {
		return
	}
	scope, _ := soe.ParseScopeKey(pend.Scope)
	http.SetCookie(w, &http.Cookie{ //nolint:gosec // G124: Secure exactly when PUBLIC_URL is https (a browser drops a Secure cookie over http); HttpOnly and SameSite=Lax always
		Name: s.cookieName, Value: nonce, Path: "/", MaxAge: int((s.cfg.PendingTTL + time.Hour).Seconds()),
		Secure: s.secureCookie, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	s.log.InfoContext(ctx, "link continued to SOE", "team", pend.TeamID, "user", pend.UserID, "scope", pend.Scope)
	noStore(w)
	http.Redirect(w, r, s.oauth.AuthCodeURL(state, verifier, s.requestScopes(scope)), http.StatusSeeOther)
}

// crossSite reports whether a POST comes from another site. net/http's
// CrossOriginProtection refuses a Sec-Fetch-Site other than same-origin or
// none, and (for browsers without it) an Origin that does not match Host or
// PUBLIC_URL. On top, an Origin that is sent must be PUBLIC_URL's: "null"
// (sandboxed frames, some redirects) and every other origin are refused.
// A request with neither header is not from a browser and passes.
func (s *Service) crossSite(r *http.Request) bool {
	if s.csrf.Check(r) != nil {
		return true
	}
	o := r.Header.Get("Origin")
	return o != "" && (o == "null" || (s.publicOrigin != "" && o != s.publicOrigin))
}

// pendingLive answers the request (and returns false) unless id names a
// pending link that has not expired. It reads only.
func (s *Service) pendingLive(ctx context.Context, w http.ResponseWriter, id string) bool {
	rec, err := s.lookupPending(ctx, id)
	switch {
	case err != nil:
		return s.continueOK(ctx, w, err)
	case rec == nil:
		return s.continueOK(ctx, w, errLinkGone)
	case expiredAt(s.cfg.Now(), rec.Expires):
		return s.continueOK(ctx, w, errLinkExpired)
	}
	return true
}

// browserNonce is the browser binding: this browser's nonce is reused so
// several flows can run side by side in one browser.
func (s *Service) browserNonce(r *http.Request) string {
	if c, err := r.Cookie(s.cookieName); err == nil && validID(c.Value) {
		return c.Value
	}
	return randomID()
}

// continueOK writes the page for a failed Continue and returns false; it
// returns true when err is nil.
func (s *Service) continueOK(ctx context.Context, w http.ResponseWriter, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, errLinkGone):
		s.page(w, http.StatusNotFound, pageUnknownLink)
	case errors.Is(err, errLinkExpired):
		s.page(w, http.StatusGone, pageExpiredLink)
	default:
		s.log.ErrorContext(ctx, "link continue: store error", "err", err)
		s.page(w, http.StatusInternalServerError, pageData{Title: "Something went wrong", Message: "Please run /soe link in Slack again."})
	}
	return false
}

// continuePending consumes the pending link id and stores the OAuth state
// record in one transaction (crypto only inside it; no I/O).
func (s *Service) continuePending(ctx context.Context, id, nonce, state, verifier string) (pendingRecord, error) {
	stateKey := hashKey(state)
	now := s.cfg.Now()
	var pend pendingRecord
	err := s.db.Update(ctx, func(tx store.Tx) error {
		pk := hashKey(id)
		ok, err := store.GetJSON(tx, bucketPending, pk, &pend)
		if err != nil {
			return err
		}
		if !ok {
			return errLinkGone
		}
		// Single use: the link id is consumed now, whatever happens next.
		if err := tx.Bucket(bucketPending).Delete([]byte(pk)); err != nil {
			return err
		}
		if expiredAt(now, pend.Expires) {
			return errLinkExpired
		}
		st, err := s.newState(&pend, pk, stateKey, nonce, verifier, now)
		if err != nil {
			return err
		}
		return store.PutJSON(tx, bucketStates, stateKey, st)
	})
	return pend, err
}

// newState builds the OAuth state record for a continued pending link.
func (s *Service) newState(pend *pendingRecord, pk, stateKey, nonce, verifier string, now time.Time) (*stateRecord, error) {
	scope, err := soe.ParseScopeKey(pend.Scope)
	if err != nil {
		return nil, errLinkGone
	}
	st := &stateRecord{
		TeamID: pend.TeamID, UserID: pend.UserID, Scope: pend.Scope,
		Browser: hashKey(nonce), Scopes: s.requestScopes(scope),
		Created: now, Expires: now.Add(s.cfg.PendingTTL),
	}
	if st.Verifier, err = s.keys.Seal([]byte(verifier), stateAAD(stateKey)); err != nil {
		return nil, err
	}
	if len(pend.Resume) > 0 {
		// Re-seal the resume data for the state record.
		if plain, err := s.keys.Open(pend.Resume, pendingAAD(pk)); err == nil {
			if st.Resume, err = s.keys.Seal(plain, stateAAD(stateKey)); err != nil {
				return nil, err
			}
		}
	}
	return st, nil
}

// requestScopes lists the OAuth scopes to ask for.
func (s *Service) requestScopes(scope soe.Scope) []string {
	var out []string
	if s.cfg.WriteAccess {
		out = append(out, soe.ScopeWriteAccess)
	}
	if s.cfg.NoExpiry {
		out = append(out, soe.ScopeNoExpiry)
	}
	if scope.IsTeam() {
		out = append(out, soe.ScopeAccessTeam)
	}
	return out
}

// --- GET /oauth/callback ------------------------------------------------------------

// flowError is a failed callback: what the page and the DM say.
type flowError struct {
	status int
	title  string
	msg    string // plain text, shown on the page and in the DM
	reason string // for logs (never secrets)
}

func (s *Service) serveCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	if q.Has("access_token") || q.Has("token") {
		s.page(w, http.StatusBadRequest, pageData{Title: "Bad request", Message: "soebot only accepts the authorization-code flow. Start again with /soe link in Slack."})
		return
	}
	state := q.Get("state")
	if state == "" || !validID(state) {
		s.page(w, http.StatusBadRequest, pageData{Title: "Sign-in not recognised", Message: "This sign-in answer is missing its state or is malformed. Start again with /soe link in Slack."})
		return
	}
	nonce := ""
	if c, err := r.Cookie(s.cookieName); err == nil {
		nonce = c.Value
	}
	rec, ferr := s.consumeState(ctx, state, nonce, q.Get("error"))
	if rec == nil && ferr != nil {
		s.log.WarnContext(ctx, "link callback refused", "reason", ferr.reason)
		s.page(w, ferr.status, pageData{Title: ferr.title, Message: ferr.msg})
		return
	}
	if ferr == nil {
		ferr = s.complete(ctx, w, rec, state, q.Get("code"))
		if ferr == nil {
			return
		}
	}
	s.log.WarnContext(ctx, "link failed", "team", rec.TeamID, "user", rec.UserID, "scope", rec.Scope, "reason", ferr.reason)
	s.page(w, ferr.status, pageData{Title: ferr.title, Message: ferr.msg})
	s.dm(ctx, rec.UserID, ":warning: Connecting your Stack Overflow account did not work: "+mrkdwn.Escape(ferr.msg))
}

func flowStoreError() *flowError {
	return &flowError{http.StatusInternalServerError, "Something went wrong", "soebot could not read its database. Please try again.", "store error"}
}

func flowUnknownState() *flowError {
	return &flowError{http.StatusBadRequest, "Link already used or unknown",
		"this sign-in link was already used, has expired or is unknown. Run /soe link in Slack for a new one.", "unknown or used state"}
}

func flowOtherBrowser() *flowError {
	return &flowError{http.StatusBadRequest, "Different browser",
		"the sign-in finished in a different browser (or with cookies blocked) than the one that started it. Run /soe link in Slack and finish in the same browser.",
		"browser cookie missing or mismatched"}
}

// consumeState checks the state and this browser's binding read-only, then
// reads and deletes the state record in one write transaction. It returns
// the record (for the DM) together with a flowError when the flow must stop;
// rec == nil means nobody can be told. Unknown states and wrong browsers
// never take the write lock (and a wrong browser does not consume the state:
// the browser that started the flow may still finish it).
func (s *Service) consumeState(ctx context.Context, state, nonce, oauthErr string) (*stateRecord, *flowError) {
	key := hashKey(state)
	rec, err := s.lookupState(ctx, key)
	switch {
	case err != nil:
		s.log.ErrorContext(ctx, "link callback: store error", "err", err)
		return nil, flowStoreError()
	case rec == nil:
		return nil, flowUnknownState()
	case nonce == "" || subtle.ConstantTimeCompare([]byte(hashKey(nonce)), []byte(rec.Browser)) != 1:
		return rec, flowOtherBrowser()
	}
	rec, err = s.deleteState(ctx, key)
	switch {
	case err != nil:
		s.log.ErrorContext(ctx, "link callback: store error", "err", err)
		return nil, flowStoreError()
	case rec == nil: // consumed by a concurrent callback
		return nil, flowUnknownState()
	}
	return rec, stateProblem(s.cfg.Now(), rec, oauthErr)
}

// lookupState reads the state record under key (nil when there is none).
func (s *Service) lookupState(ctx context.Context, key string) (*stateRecord, error) {
	var rec stateRecord
	var found bool
	err := s.db.View(ctx, func(tx store.Tx) error {
		var err error
		found, err = store.GetJSON(tx, bucketStates, key, &rec)
		return err
	})
	if err != nil || !found {
		return nil, err
	}
	return &rec, nil
}

// deleteState reads and deletes the state record under key in one
// transaction, so exactly one callback gets it.
func (s *Service) deleteState(ctx context.Context, key string) (*stateRecord, error) {
	var rec stateRecord
	var found bool
	err := s.db.Update(ctx, func(tx store.Tx) error {
		var err error
		if found, err = store.GetJSON(tx, bucketStates, key, &rec); err != nil || !found {
			return err
		}
		return tx.Bucket(bucketStates).Delete([]byte(key))
	})
	if err != nil || !found {
		return nil, err
	}
	return &rec, nil
}

// stateProblem is why a consumed state cannot complete (nil when it can).
func stateProblem(now time.Time, rec *stateRecord, oauthErr string) *flowError {
	switch {
	case expiredAt(now, rec.Expires):
		return &flowError{http.StatusGone, "Link expired", "the sign-in took too long and the link expired. Run /soe link in Slack for a new one.", "state expired"}
	case oauthErr == "access_denied":
		return &flowError{http.StatusForbidden, "Access not allowed", "you did not allow soebot to access your Stack Overflow account, so nothing was connected. Run /soe link again if you change your mind.", "consent denied"}
	case oauthErr != "":
		return &flowError{http.StatusBadRequest, "Sign-in failed", "Stack Overflow answered with an error (" + truncate(oauthErr, 60) + "). Run /soe link to try again.", "oauth error param"}
	}
	return nil
}

// dm tells the Slack user something (best effort; never blocks the page long).
func (s *Service) dm(ctx context.Context, user, text string) {
	if s.slack == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, _, err := s.slack.DM(ctx, user, blockkit.Text(text)); err != nil {
		s.log.WarnContext(ctx, "link DM failed", "user", user, "err", err)
	}
}

// errKind names an error class without its text (which could echo input).
func errKind(err error) string {
	switch {
	case errors.Is(err, soe.ErrUnauthorized):
		return "token refused"
	case errors.Is(err, soe.ErrForbidden):
		return "forbidden"
	case errors.Is(err, soe.ErrNotFound):
		return "not found"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case soe.Temporary(err):
		return "unavailable"
	}
	var oe *soe.OAuthError
	if errors.As(err, &oe) {
		return fmt.Sprintf("oauth error HTTP %d", oe.Status)
	}
	return "error"
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func noStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}
