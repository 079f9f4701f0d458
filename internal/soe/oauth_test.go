package soe_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

const redirect = "http://127.0.0.1:8089/oauth/callback"

var noRedirects = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// get fetches u without following redirects, within the test's context.
func get(t *testing.T, u string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return noRedirects.Do(req)
}

func oauthCfg(f *soefake.Server) soe.OAuthConfig {
	return soe.OAuthConfig{SiteURL: f.URL() + "/", ClientID: f.ClientID(), RedirectURL: redirect}
}

// authorize drives the fake's consent page like a browser and returns the
// callback URL SOE redirected to.
func authorize(t *testing.T, f *soefake.Server, authURL, login, decision string) *url.URL {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, authURL, nil)
	if login != "" {
		req.AddCookie(&http.Cookie{Name: "login", Value: login})
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusFound {
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return loc
	}
	var page strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		page.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(page.String(), "Authorizing Application") {
		t.Fatalf("consent page: %d %s", resp.StatusCode, page.String())
	}
	m := regexp.MustCompile(`name="request" value="([^"]+)"`).FindStringSubmatch(page.String())
	if m == nil {
		t.Fatal("no request id on the consent page")
	}
	form := url.Values{"request": {m[1]}, "decision": {decision}}.Encode()
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, f.URL()+"/oauth/approve", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp2, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusFound {
		t.Fatalf("approve: %d", resp2.StatusCode)
	}
	loc, _ := url.Parse(resp2.Header.Get("Location"))
	return loc
}

func TestAuthCodeURL(t *testing.T) {
	cfg := soe.OAuthConfig{SiteURL: "https://acme.stackenterprise.co/", ClientID: "4242", RedirectURL: "https://bot.example.com/oauth/callback"}
	v := soe.GenerateVerifier()
	u, err := url.Parse(cfg.AuthCodeURL("xyz", v, []string{soe.ScopeWriteAccess, soe.ScopeNoExpiry}))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(v))
	q := u.Query()
	want := map[string]string{
		"client_id": "4242", "redirect_uri": "https://bot.example.com/oauth/callback", "scope": "write_access,no_expiry",
		"state": "xyz", "code_challenge": base64.RawURLEncoding.EncodeToString(sum[:]), "code_challenge_method": "S256",
	}
	if u.Scheme+"://"+u.Host+u.Path != "https://acme.stackenterprise.co/oauth" {
		t.Fatalf("endpoint %s", u)
	}
	for k, w := range want {
		if q.Get(k) != w {
			t.Errorf("%s = %q, want %q", k, q.Get(k), w)
		}
	}
	if strings.Contains(u.String(), v) {
		t.Fatal("verifier in the URL")
	}
	if u2, _ := url.Parse(cfg.AuthCodeURL("s", v, nil)); u2.Query().Has("scope") {
		t.Fatal("empty scope should be omitted (read-only token)")
	}
}

func TestPKCERoundTrip(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, soefake.Options{}, soe.Config{})
	cfg := oauthCfg(e.fake)

	verifier := soe.GenerateVerifier()
	cb := authorize(t, e.fake, cfg.AuthCodeURL("state-123", verifier, []string{soe.ScopeWriteAccess, soe.ScopeAccessTeam}), "bob", "approve")
	if cb.Scheme+"://"+cb.Host+cb.Path != redirect || cb.Query().Get("state") != "state-123" || cb.Query().Get("code") == "" {
		t.Fatalf("callback %s", cb)
	}
	start := time.Now()
	tok, err := cfg.Exchange(ctx, cb.Query().Get("code"), verifier)
	if err != nil {
		t.Fatal(err)
	}
	if d := tok.Expiry.Sub(start); d < 24*time.Hour-time.Minute || d > 24*time.Hour+time.Minute {
		t.Fatalf("expiry in %v, want 24h", d)
	}
	if strings.Contains(tok.String(), tok.AccessToken) {
		t.Fatal("Token.String leaks")
	}
	team := e.svc.Client(soe.TeamScope("security"), tok.AccessToken)
	me, err := team.Me(ctx)
	if err != nil || me.Name != "Bob Brown" {
		t.Fatalf("Me = %+v, %v", me, err)
	}
	if _, err := team.CreateQuestion(ctx, soe.QuestionInput{Title: "Do we need MFA for the VPN break-glass account?", Body: "Asking for an audit.", Tags: []string{"vault"}}); err != nil {
		t.Fatalf("write with write_access: %v", err)
	}

	// The code is single-use.
	_, err = cfg.Exchange(ctx, cb.Query().Get("code"), verifier)
	var oe *soe.OAuthError
	if !errors.As(err, &oe) || oe.Status != 400 || oe.Message != "No authorization code found" {
		t.Fatalf("reuse: %v", err)
	}

	// no_expiry: "expires" omitted => zero Expiry. Default user (alice) via as=.
	v2 := soe.GenerateVerifier()
	cb = authorize(t, e.fake, cfg.AuthCodeURL("s2", v2, []string{soe.ScopeNoExpiry})+"&as=carol", "", "approve")
	tok2, err := cfg.Exchange(ctx, cb.Query().Get("code"), v2)
	if err != nil || !tok2.Expiry.IsZero() || tok2.Expired(time.Now().AddDate(10, 0, 0)) {
		t.Fatalf("no_expiry token %v, %v", tok2, err)
	}
	c := e.svc.Client(soe.MainSite(), tok2.AccessToken)
	if me, err := c.Me(ctx); err != nil || me.Name != "Carol Chen" {
		t.Fatalf("as=carol: %+v %v", me, err)
	}
	// Read-only token: writes are refused with ErrWriteAccess.
	if _, err := c.CreateQuestion(ctx, soe.QuestionInput{Title: "Can a read-only token post this?", Body: "No.", Tags: []string{"go"}}); !errors.Is(err, soe.ErrWriteAccess) {
		t.Fatalf("read-only write: %v", err)
	}

	// Denied consent.
	cb = authorize(t, e.fake, cfg.AuthCodeURL("s3", soe.GenerateVerifier(), nil), "", "deny")
	if cb.Query().Get("error") != "access_denied" || cb.Query().Get("state") != "s3" || cb.Query().Has("code") {
		t.Fatalf("deny: %s", cb)
	}
}

func TestOAuthExchangeErrors(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := soefake.New(soefake.Options{Seed: true, AutoApprove: true, Now: clock})
	defer f.Close()
	cfg := oauthCfg(f)
	getCode := func(v string) string {
		cb := authorize(t, f, cfg.AuthCodeURL("s", v, nil), "", "")
		return cb.Query().Get("code")
	}
	tests := []struct {
		name   string
		mutate func(cfg *soe.OAuthConfig, code, verifier *string)
		want   string
	}{
		{"wrong verifier", func(_ *soe.OAuthConfig, _, v *string) { *v = soe.GenerateVerifier() }, "Invalid code_verifier"},
		{"wrong redirect", func(c *soe.OAuthConfig, _, _ *string) { c.RedirectURL = "http://127.0.0.1:1/other" }, "redirect_uri does not match the authorization request"},
		{"unknown client", func(c *soe.OAuthConfig, _, _ *string) { c.ClientID = "999" }, "Invalid client_id"},
		{"unknown code", func(_ *soe.OAuthConfig, code, _ *string) { *code = "bogus" }, "No authorization code found"},
		{"expired code", func(_ *soe.OAuthConfig, _, _ *string) {
			mu.Lock()
			now = now.Add(11 * time.Minute)
			mu.Unlock()
		}, "Authorization code has expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := soe.GenerateVerifier()
			code := getCode(v)
			c := cfg
			tc.mutate(&c, &code, &v)
			_, err := c.Exchange(ctx, code, v)
			var oe *soe.OAuthError
			if !errors.As(err, &oe) || oe.Message != tc.want || oe.Status != 400 {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), code) || strings.Contains(err.Error(), v) {
				t.Fatal("code or verifier in the error")
			}
			if tc.name == "expired code" && !oe.CodeExpired() {
				t.Fatal("CodeExpired false")
			}
		})
	}
}

func TestOAuthAuthorizeRefusals(t *testing.T) {
	f := soefake.New(soefake.Options{Seed: true, AutoApprove: true, RedirectDomain: "bot.example.com"})
	defer f.Close()
	v := soe.GenerateVerifier()
	tests := []struct {
		name     string
		cfg      soe.OAuthConfig
		extra    string
		status   int
		contains string
	}{
		{"registered domain", soe.OAuthConfig{SiteURL: f.URL(), ClientID: f.ClientID(), RedirectURL: "https://bot.example.com/oauth/callback"}, "", 302, ""},
		{"subdomain", soe.OAuthConfig{SiteURL: f.URL(), ClientID: f.ClientID(), RedirectURL: "https://eu.bot.example.com/cb"}, "", 302, ""},
		{"other domain", soe.OAuthConfig{SiteURL: f.URL(), ClientID: f.ClientID(), RedirectURL: "https://evil.example.net/cb"}, "", 400, "redirect_uri"},
		{"lookalike domain", soe.OAuthConfig{SiteURL: f.URL(), ClientID: f.ClientID(), RedirectURL: "https://notbot.example.com/cb"}, "", 400, "redirect_uri"},
		{"loopback not registered", soe.OAuthConfig{SiteURL: f.URL(), ClientID: f.ClientID(), RedirectURL: redirect}, "", 400, "redirect_uri"},
		{"unknown client", soe.OAuthConfig{SiteURL: f.URL(), ClientID: "1", RedirectURL: "https://bot.example.com/cb"}, "", 400, "client_id"},
		{"unknown user", soe.OAuthConfig{SiteURL: f.URL(), ClientID: f.ClientID(), RedirectURL: "https://bot.example.com/cb"}, "&as=mallory", 400, "mallory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := get(t, tc.cfg.AuthCodeURL("s", v, []string{soe.ScopeWriteAccess})+tc.extra)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			buf := make([]byte, 2048)
			n, _ := resp.Body.Read(buf)
			b.Write(buf[:n])
			if resp.StatusCode != tc.status || !strings.Contains(b.String(), tc.contains) {
				t.Fatalf("%d %s", resp.StatusCode, b.String())
			}
		})
	}
	// Without PKCE the fake refuses.
	resp, err := get(t, f.URL()+"/oauth?client_id="+f.ClientID()+"&redirect_uri=https://bot.example.com/cb&state=s")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("no PKCE: %d", resp.StatusCode)
	}
}

func TestTokenResponseParsing(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		expiry  time.Duration // 0 => never
		wantErr string
	}{
		{"expiring number", 200, `{"access_token":"abc","expires":86400}`, 24 * time.Hour, ""},
		{"expiring string", 200, `{"access_token":"abc","expires":"3600"}`, time.Hour, ""},
		{"no_expiry omitted", 200, `{"access_token":"abc"}`, 0, ""},
		{"no_expiry zero", 200, `{"access_token":"abc","expires":0}`, 0, ""},
		{"no_expiry null", 200, `{"access_token":"abc","expires":null}`, 0, ""},
		{"bad expires", 200, `{"access_token":"abc","expires":"soon"}`, 0, "invalid expires"},
		{"error message", 400, `{"error_message":"Authorization code has expired"}`, 0, "Authorization code has expired"},
		{"error message with 200", 200, `{"error_message":"No authorization code found"}`, 0, "No authorization code found"},
		{"oauth2 style error", 400, `{"error":"invalid_grant","error_description":"bad code"}`, 0, "bad code"},
		{"html error", 500, `<html>Oops</html>`, 0, "Oops"},
		{"empty 200", 200, ``, 0, "no access token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got url.Values
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				got = r.PostForm
				if r.URL.Path != "/oauth/access_token/json" || r.Method != http.MethodPost {
					w.WriteHeader(http.StatusNotFound)
					return
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			cfg := soe.OAuthConfig{SiteURL: srv.URL, ClientID: "7", RedirectURL: "https://bot.example.com/cb"}
			start := time.Now()
			tok, err := cfg.Exchange(context.Background(), "the-code", "the-verifier")
			if got.Get("client_id") != "7" || got.Get("code") != "the-code" || got.Get("redirect_uri") != "https://bot.example.com/cb" || got.Get("code_verifier") != "the-verifier" {
				t.Fatalf("form %v", got)
			}
			if tc.wantErr != "" {
				var oe *soe.OAuthError
				if !errors.As(err, &oe) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "the-code") || strings.Contains(err.Error(), "the-verifier") {
					t.Fatal("secret in error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.expiry == 0 {
				if !tok.Expiry.IsZero() {
					t.Fatalf("expiry %v, want none", tok.Expiry)
				}
				return
			}
			if d := tok.Expiry.Sub(start); d < tc.expiry-time.Minute || d > tc.expiry+time.Minute {
				t.Fatalf("expiry in %v, want %v", d, tc.expiry)
			}
		})
	}
}
