// Package linking connects a Slack user to their own Stack Overflow Enterprise
// account: the browser flow (link page → SOE OAuth with PKCE → callback), the
// encrypted token store, and the lookups every feature uses to act as the
// user (Client, ScopeLinks, SlackUserFor).
//
// Security properties (see docs in README and reliability-security.md §1–3):
//
//   - A link URL carries ≥256 bits of randomness, is bound to the Slack team
//     and user that asked, expires after Config.PendingTTL and works once: it
//     is consumed when the user presses Continue (POST), which moves it to an
//     OAuth state record bound to the browser by a cookie.
//   - The callback consumes the state record in one bbolt transaction (read
//     and delete), so a state or code can never be used twice. No network
//     call happens inside a transaction.
//   - Only hashes of link ids, states and the browser cookie are stored; the
//     PKCE verifier, the resume data and the tokens are sealed with the vault
//     (AES-256-GCM) with the record's identity as additional data.
//   - Every URL shown is built from Config.PublicURL, never from request headers.
//   - Tokens, codes, verifiers and states are never logged or shown.
//   - With Config.RequireEmailMatch a link completes only when the Slack and
//     the SOE email addresses are both known and equal; Continue must be a
//     same-origin POST (net/http CrossOriginProtection, Origin: null refused).
//   - Unknown ids and states are answered from read-only transactions; only
//     a live one takes the write lock. Config.Limiter limits every endpoint
//     per client. See docs/security.md.
package linking

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/vault"
)

// Errors returned by Client and friends.
var (
	// ErrNotLinked: the Slack user has no link for that scope.
	ErrNotLinked = errors.New("linking: no Stack Overflow account connected")
	// ErrLinkInvalid: the link exists but must be reconnected (token revoked,
	// expired or undecryptable). The *Link is returned alongside it.
	ErrLinkInvalid = errors.New("linking: Stack Overflow connection needs reconnecting")
)

// Bucket names.
var (
	bucketLinks   = []byte("links")        // team/user/scopeKey → linkRecord
	bucketBySOE   = []byte("links_by_soe") // team/scopeKey/soeUserID → Slack user id
	bucketPending = []byte("pending_links")
	bucketStates  = []byte("oauth_states")
)

// Buckets are the top-level buckets this package uses (pass to store.Open).
func Buckets() [][]byte {
	return [][]byte{bucketLinks, bucketBySOE, bucketPending, bucketStates}
}

// Migrations are this package's schema steps (pass to store.Open). Version 1
// creates the buckets; later features append versions 2, 3, ….
func Migrations() []store.Migration {
	return []store.Migration{{
		Version: 1,
		Name:    "linking: links, links_by_soe, pending_links, oauth_states",
		Up: func(tx store.Tx) error {
			for _, b := range Buckets() {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return nil
		},
	}}
}

// Link is one Slack user's connection to an SOE account in one scope.
type Link struct {
	TeamID, UserID string // Slack
	Scope          soe.Scope
	SOEUserID      int
	SOEAccountID   *int
	SOEName        string
	SOEEmail       string
	SOEProfileURL  string
	// AccessState is what is known about write access (see RecordWrite).
	AccessState AccessState
	// WriteAccess is false only when the link is known to be read-only
	// (AccessState AccessReadOnly): writes are worth trying otherwise.
	WriteAccess   bool
	Scopes        []string  // requested (SOE does not say which it granted)
	Expiry        time.Time // zero: never expires
	CreatedAt     time.Time
	Invalid       bool
	InvalidReason string
}

// AccessState is what soebot knows about a link's write access. SOE's token
// response does not say which scopes it granted, so a link that asked for
// write_access is AccessWriteRequested until a write shows the truth
// (Service.RecordWrite).
type AccessState string

// The access states; each is also the text to show.
const (
	AccessReadOnly       AccessState = "read-only"            // write access not requested, or a write was refused
	AccessWriteRequested AccessState = "read-write requested" // requested; no write has succeeded or been refused yet
	AccessReadWrite      AccessState = "read-write"           // a write succeeded
)

func (a AccessState) valid() bool {
	return a == AccessReadOnly || a == AccessWriteRequested || a == AccessReadWrite
}

// Access is the text for what is known about the link's access:
// "read-write", "read-write requested" or "read-only". (A Link built by hand
// without AccessState reads as WriteAccess says.)
func (l *Link) Access() string {
	switch {
	case l.AccessState.valid():
		return string(l.AccessState)
	case l.WriteAccess:
		return string(AccessReadWrite)
	}
	return string(AccessReadOnly)
}

// Config configures the Service.
type Config struct {
	PublicURL         string // the bot's external base URL (no trailing slash)
	SOEURL            string // SOE site root, shown on the link page
	WriteAccess       bool   // request write_access
	NoExpiry          bool   // request no_expiry
	RequireEmailMatch bool   // refuse when Slack and SOE emails are both known and differ
	PendingTTL        time.Duration
	Now               func() time.Time
	// HookTimeout bounds each OnLinked hook (default 60s).
	HookTimeout time.Duration
	// Limiter, when set, limits the link pages and the OAuth callback per
	// client; a client over the limit gets HTTP 429 with Retry-After.
	Limiter RequestLimiter
	// PersonalTokens: Stack Overflow for Teams Basic/Business, where there
	// is no OAuth: the link page asks for a personal access token (pat.go).
	PersonalTokens bool
}

// RequestLimiter decides whether a request may be served now, and if not,
// when to come back (*ratelimit.Limiter is one).
type RequestLimiter interface {
	Allow(r *http.Request) (ok bool, retryAfter time.Duration)
}

// Resume is the command to answer once the user has linked.
type Resume struct {
	Text        string `json:"text"` // the original /soe text
	ChannelID   string `json:"channel_id"`
	ResponseURL string `json:"response_url"`
}

// Service is the linking service. It is safe for concurrent use.
type Service struct {
	cfg   Config
	db    store.Store
	keys  *vault.Keyring
	oauth soe.OAuthConfig
	api   *soe.Service
	slack chat.Slack
	log   *slog.Logger

	secureCookie bool
	cookieName   string
	publicOrigin string
	csrf         *http.CrossOriginProtection
	soeHost      string
	soeSite      string // host and path of SOEURL, e.g. stackoverflowteams.com/c/acme
	soeOrig      string

	mu     sync.Mutex
	hooks  []func(ctx context.Context, l Link, r *Resume)
	hookWG sync.WaitGroup
	closed bool
}

// New builds the service. api and slack may be nil for offline tools (key
// rotation); the HTTP flow needs them.
func New(cfg Config, db store.Store, keys *vault.Keyring, oauth soe.OAuthConfig, api *soe.Service, slack chat.Slack, log *slog.Logger) (*Service, error) {
	if db == nil || keys == nil {
		return nil, errors.New("linking: a store and a keyring are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PendingTTL <= 0 {
		cfg.PendingTTL = 10 * time.Minute
	}
	if cfg.HookTimeout <= 0 {
		cfg.HookTimeout = 60 * time.Second
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Service{cfg: cfg, db: db, keys: keys, oauth: oauth, api: api, slack: slack, log: log}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("linking: PublicURL must be an absolute http(s) URL")
		}
		s.secureCookie = u.Scheme == "https"
		s.publicOrigin = u.Scheme + "://" + u.Host
	}
	s.csrf = http.NewCrossOriginProtection()
	if s.publicOrigin != "" {
		// Behind a proxy that rewrites Host, Origin == Host does not hold for
		// the real page; its origin is PUBLIC_URL's.
		if err := s.csrf.AddTrustedOrigin(s.publicOrigin); err != nil {
			return nil, fmt.Errorf("linking: PublicURL: %w", err)
		}
	}
	if s.secureCookie {
		s.cookieName = "__Host-soebot_link"
	} else {
		s.cookieName = "soebot_link"
	}
	if cfg.SOEURL == "" {
		cfg.SOEURL = oauth.SiteURL
		s.cfg.SOEURL = oauth.SiteURL
	}
	if u, err := url.Parse(cfg.SOEURL); err == nil && u.Host != "" {
		s.soeHost = u.Host
		s.soeSite = u.Host + strings.TrimRight(u.Path, "/")
		s.soeOrig = u.Scheme + "://" + u.Host
	} else {
		s.soeHost, s.soeSite = cfg.SOEURL, cfg.SOEURL
	}
	if s.oauth.RedirectURL == "" && cfg.PublicURL != "" {
		s.oauth.RedirectURL = cfg.PublicURL + "/oauth/callback"
	}
	return s, nil
}

func (s *Service) soeOrigin() string { return s.soeOrig }

// OnLinked registers f to run after every successful link (in its own
// goroutine, with a bounded context). r is nil when there is nothing to resume.
func (s *Service) OnLinked(f func(ctx context.Context, l Link, r *Resume)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks = append(s.hooks, f)
}

// Close waits (bounded by ctx) for running OnLinked hooks and stops new ones.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.hookWG.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) runHooks(l Link, r *Resume) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	hooks := append([]func(context.Context, Link, *Resume){}, s.hooks...)
	s.hookWG.Add(len(hooks))
	s.mu.Unlock()
	for _, h := range hooks {
		go func() {
			defer s.hookWG.Done()
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.HookTimeout)
			defer cancel()
			defer func() {
				if p := recover(); p != nil {
					s.log.Error("OnLinked hook panicked", "panic", fmt.Sprint(p))
				}
			}()
			h(ctx, l, r)
		}()
	}
}

// --- records ------------------------------------------------------------------

// linkRecord is what the links bucket stores (JSON).
type linkRecord struct {
	V             int    `json:"v"`
	TeamID        string `json:"team"`
	UserID        string `json:"user"`
	Scope         string `json:"scope"` // soe.Scope.Key()
	SOEUserID     int    `json:"soe_user_id"`
	SOEAccountID  *int   `json:"soe_account_id,omitempty"`
	SOEName       string `json:"soe_name"`
	SOEEmail      string `json:"soe_email,omitempty"`
	SOEProfileURL string `json:"soe_profile_url,omitempty"`
	// Access is the AccessState; records stored before it have only
	// write_access, which then only says write access was requested.
	Access        AccessState `json:"access,omitempty"`
	WriteAccess   bool        `json:"write_access"` // kept = (Access != read-only), for older binaries
	Scopes        []string    `json:"scopes,omitempty"`
	Expiry        time.Time   `json:"expiry,omitzero"`
	CreatedAt     time.Time   `json:"created_at"`
	Invalid       bool        `json:"invalid,omitempty"`
	InvalidReason string      `json:"invalid_reason,omitempty"`
	Token         []byte      `json:"token"` // vault-sealed, AAD = linkAAD
}

func (r *linkRecord) link() (Link, error) {
	sc, err := soe.ParseScopeKey(r.Scope)
	if err != nil {
		return Link{}, err
	}
	access := r.accessState()
	return Link{
		TeamID: r.TeamID, UserID: r.UserID, Scope: sc, SOEUserID: r.SOEUserID, SOEAccountID: r.SOEAccountID,
		SOEName: r.SOEName, SOEEmail: r.SOEEmail, SOEProfileURL: r.SOEProfileURL,
		AccessState: access, WriteAccess: access != AccessReadOnly,
		Scopes: append([]string(nil), r.Scopes...), Expiry: r.Expiry, CreatedAt: r.CreatedAt,
		Invalid: r.Invalid, InvalidReason: r.InvalidReason,
	}, nil
}

// accessState decodes Access, falling back for records stored before it:
// their write_access was what had been requested, never a confirmed grant.
func (r *linkRecord) accessState() AccessState {
	if r.Access.valid() {
		return r.Access
	}
	if r.WriteAccess {
		return AccessWriteRequested
	}
	return AccessReadOnly
}

// setAccess stores a and the write_access flag older binaries read.
func (r *linkRecord) setAccess(a AccessState) {
	r.Access, r.WriteAccess = a, a != AccessReadOnly
}

// pendingRecord is a link created by Begin and not yet continued.
type pendingRecord struct {
	TeamID  string    `json:"team"`
	UserID  string    `json:"user"`
	Scope   string    `json:"scope"`
	Resume  []byte    `json:"resume,omitempty"` // sealed JSON Resume, AAD = pendingAAD
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// stateRecord is an OAuth flow in progress (after Continue).
type stateRecord struct {
	TeamID   string    `json:"team"`
	UserID   string    `json:"user"`
	Scope    string    `json:"scope"`
	Resume   []byte    `json:"resume,omitempty"` // sealed, AAD = stateAAD
	Verifier []byte    `json:"verifier"`         // sealed, AAD = stateAAD
	Browser  string    `json:"browser"`          // sha256 of the browser cookie nonce
	Scopes   []string  `json:"scopes"`           // requested
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
}

func linkKey(team, user string, scope soe.Scope) string {
	return team + "/" + user + "/" + scope.Key()
}

func bySOEKey(team string, scope soe.Scope, soeUserID int) string {
	return fmt.Sprintf("%s/%s/%d", team, scope.Key(), soeUserID)
}

func linkAAD(team, user string, scope soe.Scope) []byte {
	return []byte("soebot/link/v1|" + team + "|" + user + "|" + scope.Key())
}

func pendingAAD(key string) []byte { return []byte("soebot/pending/v1|" + key) }
func stateAAD(key string) []byte   { return []byte("soebot/state/v1|" + key) }

// hashKey is the storage key for a secret identifier (link id, state).
func hashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// randomID returns 256 bits of randomness, base64url without padding (43 chars).
func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validID reports whether s looks like a randomID (so junk never reaches the DB).
func validID(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validScope(scope soe.Scope) error {
	if _, err := soe.ParseScopeKey(scope.Key()); err != nil {
		return err
	}
	return nil
}

// --- Begin --------------------------------------------------------------------

// Begin creates a pending link for (team, user, scope) and returns the URL
// to show the user: {PublicURL}/link/{id}. resume, if not nil, is answered
// after linking (see OnLinked).
func (s *Service) Begin(ctx context.Context, teamID, userID string, scope soe.Scope, resume *Resume) (string, error) {
	if teamID == "" || userID == "" {
		return "", errors.New("linking: team and user are required")
	}
	if err := validScope(scope); err != nil {
		return "", err
	}
	if s.cfg.PublicURL == "" {
		return "", errors.New("linking: PublicURL is not configured")
	}
	id := randomID()
	key := hashKey(id)
	now := s.cfg.Now()
	rec := pendingRecord{TeamID: teamID, UserID: userID, Scope: scope.Key(), Created: now, Expires: now.Add(s.cfg.PendingTTL)}
	if resume != nil {
		sealed, err := s.sealJSON(resume, pendingAAD(key))
		if err != nil {
			return "", err
		}
		rec.Resume = sealed
	}
	if err := s.db.Update(ctx, func(tx store.Tx) error { return store.PutJSON(tx, bucketPending, key, &rec) }); err != nil {
		return "", fmt.Errorf("linking: save pending link: %w", err)
	}
	s.log.InfoContext(ctx, "link started", "team", teamID, "user", userID, "scope", scope.Key())
	return s.cfg.PublicURL + "/link/" + id, nil
}

func (s *Service) sealJSON(v any, aad []byte) ([]byte, error) {
	b, err := jsonMarshal(v)
	if err != nil {
		return nil, err
	}
	return s.keys.Seal(b, aad)
}

// --- queries ------------------------------------------------------------------

func (s *Service) getRecord(ctx context.Context, team, user string, scope soe.Scope) (*linkRecord, error) {
	var rec linkRecord
	var found bool
	err := s.db.View(ctx, func(tx store.Tx) error {
		var err error
		found, err = store.GetJSON(tx, bucketLinks, linkKey(team, user, scope), &rec)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("linking: read link: %w", err)
	}
	if !found {
		return nil, nil
	}
	return &rec, nil
}

// Client returns an SOE client acting as the user in scope. Errors:
// ErrNotLinked; ErrLinkInvalid (with the link) when the link is marked
// invalid, its expiry has passed or its token cannot be decrypted (in the
// last two cases the link is marked invalid now).
func (s *Service) Client(ctx context.Context, teamID, userID string, scope soe.Scope) (*soe.Client, *Link, error) {
	rec, err := s.getRecord(ctx, teamID, userID, scope)
	if err != nil {
		return nil, nil, err
	}
	if rec == nil {
		return nil, nil, ErrNotLinked
	}
	c, l, err := s.clientFromRecord(ctx, rec)
	return c, l, err
}

func (s *Service) clientFromRecord(ctx context.Context, rec *linkRecord) (*soe.Client, *Link, error) {
	l, err := rec.link()
	if err != nil {
		return nil, nil, fmt.Errorf("linking: bad link record: %w", err)
	}
	if l.Invalid {
		return nil, &l, ErrLinkInvalid
	}
	if !l.Expiry.IsZero() && !s.cfg.Now().Before(l.Expiry) {
		s.markInvalid(ctx, &l, "the connection expired")
		return nil, &l, ErrLinkInvalid
	}
	tok, err := s.keys.Open(rec.Token, linkAAD(rec.TeamID, rec.UserID, l.Scope))
	if err != nil {
		s.log.ErrorContext(ctx, "stored token cannot be decrypted (wrong TOKEN_KEY or tampered record)",
			"team", l.TeamID, "user", l.UserID, "scope", l.Scope.Key())
		s.markInvalid(ctx, &l, "the stored token could not be decrypted")
		return nil, &l, ErrLinkInvalid
	}
	if s.api == nil {
		return nil, &l, errors.New("linking: no SOE service configured")
	}
	return s.api.Client(l.Scope, string(tok)), &l, nil
}

func (s *Service) markInvalid(ctx context.Context, l *Link, reason string) {
	if err := s.Invalidate(ctx, l.TeamID, l.UserID, l.Scope, reason); err != nil {
		s.log.WarnContext(ctx, "could not mark link invalid", "err", err)
	}
	l.Invalid, l.InvalidReason = true, reason
}

// ClientFor returns a client with l's token (l as returned by ScopeLinks or
// Links). It re-reads the link, so an unlinked or invalidated link fails.
func (s *Service) ClientFor(ctx context.Context, l Link) (*soe.Client, error) {
	rec, err := s.getRecord(ctx, l.TeamID, l.UserID, l.Scope)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, ErrNotLinked
	}
	c, _, err := s.clientFromRecord(ctx, rec)
	return c, err
}

// Links lists the user's links, main site first, then teams by slug.
func (s *Service) Links(ctx context.Context, teamID, userID string) ([]Link, error) {
	prefix := []byte(teamID + "/" + userID + "/")
	var out []Link
	err := s.db.View(ctx, func(tx store.Tx) error {
		c := tx.Bucket(bucketLinks).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var rec linkRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				s.log.WarnContext(ctx, "skipping unreadable link record", "err", err)
				continue
			}
			l, err := rec.link()
			if err != nil {
				continue
			}
			out = append(out, l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("linking: list links: %w", err)
	}
	sortLinks(out)
	return out, nil
}

// ScopeLinks lists every usable link for scope, across all Slack teams
// (invalid and expired links are left out).
func (s *Service) ScopeLinks(ctx context.Context, scope soe.Scope) ([]Link, error) {
	key := scope.Key()
	now := s.cfg.Now()
	var out []Link
	err := s.db.View(ctx, func(tx store.Tx) error {
		return tx.Bucket(bucketLinks).ForEach(func(k, v []byte) error {
			if !strings.HasSuffix(string(k), "/"+key) {
				return nil
			}
			var rec linkRecord
			// A record that does not decode is skipped, as are invalid and expired links.
			usable := json.Unmarshal(v, &rec) == nil && rec.Scope == key && !rec.Invalid &&
				(rec.Expiry.IsZero() || now.Before(rec.Expiry))
			if !usable {
				return nil
			}
			if l, err := rec.link(); err == nil {
				out = append(out, l)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("linking: list scope links: %w", err)
	}
	return out, nil
}

// SlackUserFor maps an SOE user in scope back to the Slack user of team who
// linked it (exactly, through the links_by_soe index).
func (s *Service) SlackUserFor(ctx context.Context, teamID string, scope soe.Scope, soeUserID int) (string, bool, error) {
	var user string
	err := s.db.View(ctx, func(tx store.Tx) error {
		v := tx.Bucket(bucketBySOE).Get([]byte(bySOEKey(teamID, scope, soeUserID)))
		if v == nil {
			return nil
		}
		var rec linkRecord
		ok, err := store.GetJSON(tx, bucketLinks, linkKey(teamID, string(v), scope), &rec)
		if err != nil || !ok || rec.SOEUserID != soeUserID {
			return err
		}
		user = string(v)
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("linking: look up SOE user: %w", err)
	}
	return user, user != "", nil
}

// --- changes ------------------------------------------------------------------

// Invalidate marks the link invalid (it stays listed, with reason, until the
// user reconnects or unlinks). A missing link is not an error.
func (s *Service) Invalidate(ctx context.Context, teamID, userID string, scope soe.Scope, reason string) error {
	err := s.db.Update(ctx, func(tx store.Tx) error {
		var rec linkRecord
		key := linkKey(teamID, userID, scope)
		ok, err := store.GetJSON(tx, bucketLinks, key, &rec)
		if err != nil || !ok || rec.Invalid {
			return err
		}
		rec.Invalid, rec.InvalidReason = true, reason
		return store.PutJSON(tx, bucketLinks, key, &rec)
	})
	if err != nil {
		return fmt.Errorf("linking: invalidate: %w", err)
	}
	s.log.InfoContext(ctx, "link marked invalid", "team", teamID, "user", userID, "scope", scope.Key(), "reason", reason)
	return nil
}

// RecordWrite records what a write made with the user's link for scope
// showed about its access: ok=true after SOE accepted a write (the link is
// AccessReadWrite), ok=false after SOE refused one for lack of write access
// (errors.Is(err, soe.ErrWriteAccess): the link is AccessReadOnly). Other
// failures say nothing about access: do not call it for them. A missing link
// is not an error, and an unchanged state writes nothing (so calling it after
// every write is cheap). A new link (Begin … callback) starts again from
// what was requested.
func (s *Service) RecordWrite(ctx context.Context, teamID, userID string, scope soe.Scope, ok bool) error {
	want := AccessReadOnly
	if ok {
		want = AccessReadWrite
	}
	rec, err := s.getRecord(ctx, teamID, userID, scope)
	if err != nil || rec == nil || rec.accessState() == want {
		return err
	}
	changed := false
	err = s.db.Update(ctx, func(tx store.Tx) error {
		var rec linkRecord
		key := linkKey(teamID, userID, scope)
		found, err := store.GetJSON(tx, bucketLinks, key, &rec)
		if err != nil || !found || rec.accessState() == want {
			return err
		}
		rec.setAccess(want)
		changed = true
		return store.PutJSON(tx, bucketLinks, key, &rec)
	})
	if err != nil {
		return fmt.Errorf("linking: record write access: %w", err)
	}
	if changed {
		s.log.InfoContext(ctx, "link access learned", "team", teamID, "user", userID, "scope", scope.Key(), "access", string(want))
	}
	return nil
}

// Unlink deletes the user's link for scope; it reports whether there was one.
func (s *Service) Unlink(ctx context.Context, teamID, userID string, scope soe.Scope) (bool, error) {
	var found bool
	err := s.db.Update(ctx, func(tx store.Tx) error {
		var err error
		found, err = deleteLink(tx, linkKey(teamID, userID, scope))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("linking: unlink: %w", err)
	}
	if found {
		s.log.InfoContext(ctx, "unlinked", "team", teamID, "user", userID, "scope", scope.Key())
	}
	return found, nil
}

// UnlinkAll deletes every link of the user and returns how many there were.
func (s *Service) UnlinkAll(ctx context.Context, teamID, userID string) (int, error) {
	prefix := []byte(teamID + "/" + userID + "/")
	n := 0
	err := s.db.Update(ctx, func(tx store.Tx) error {
		n = 0
		var keys []string
		c := tx.Bucket(bucketLinks).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, string(k))
		}
		for _, k := range keys {
			ok, err := deleteLink(tx, k)
			if err != nil {
				return err
			}
			if ok {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("linking: unlink all: %w", err)
	}
	if n > 0 {
		s.log.InfoContext(ctx, "unlinked all", "team", teamID, "user", userID, "count", n)
	}
	return n, nil
}

// deleteLink removes a link and its index entry (if it still points here).
func deleteLink(tx store.Tx, key string) (bool, error) {
	b := tx.Bucket(bucketLinks)
	v := b.Get([]byte(key))
	if v == nil {
		return false, nil
	}
	var rec linkRecord
	if err := json.Unmarshal(v, &rec); err == nil {
		if sc, err := soe.ParseScopeKey(rec.Scope); err == nil {
			if err := deleteIndex(tx, rec.TeamID, sc, rec.SOEUserID, rec.UserID); err != nil {
				return false, err
			}
		}
	}
	return true, b.Delete([]byte(key))
}

func deleteIndex(tx store.Tx, team string, scope soe.Scope, soeUserID int, slackUser string) error {
	ib := tx.Bucket(bucketBySOE)
	ik := []byte(bySOEKey(team, scope, soeUserID))
	if cur := ib.Get(ik); cur != nil && string(cur) == slackUser {
		return ib.Delete(ik)
	}
	return nil
}

// storeLink writes rec (replacing any previous link of the same user and
// scope) and updates the SOE → Slack index.
func (s *Service) storeLink(ctx context.Context, rec *linkRecord, scope soe.Scope) error {
	return s.db.Update(ctx, func(tx store.Tx) error { return putLinkTx(tx, rec, scope) })
}

// putLinkTx is storeLink inside a transaction the caller holds.
func putLinkTx(tx store.Tx, rec *linkRecord, scope soe.Scope) error {
	key := linkKey(rec.TeamID, rec.UserID, scope)
	var old linkRecord
	ok, err := store.GetJSON(tx, bucketLinks, key, &old)
	if err != nil {
		return err
	}
	if ok && old.SOEUserID != rec.SOEUserID {
		if err := deleteIndex(tx, old.TeamID, scope, old.SOEUserID, old.UserID); err != nil {
			return err
		}
	}
	if err := store.PutJSON(tx, bucketLinks, key, rec); err != nil {
		return err
	}
	return tx.Bucket(bucketBySOE).Put([]byte(bySOEKey(rec.TeamID, scope, rec.SOEUserID)), []byte(rec.UserID))
}
