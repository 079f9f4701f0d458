package linking

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/ratelimit"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
	"github.com/soebot/soebot/internal/store"
)

// holdWriteLock starts a write transaction that lasts until the test ends
// (or the returned release is called), and returns once it holds the lock.
func holdWriteLock(t *testing.T, e *tenv) (release func()) {
	t.Helper()
	held, done, finished := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		_ = e.db.Update(context.Background(), func(store.Tx) error {
			close(held)
			<-done
			return nil
		})
	}()
	<-held
	var once bool
	release = func() {
		if !once {
			once = true
			close(done)
			<-finished
		}
	}
	t.Cleanup(release)
	return release
}

// TestUnknownIDsDoNotTakeTheWriteLock: while another request holds bbolt's
// single write lock for a long time, requests with unknown link ids, unknown
// states, expired links and a callback from the wrong browser are still
// answered at once (they only read).
func TestUnknownIDsDoNotTakeTheWriteLock(t *testing.T) {
	e := newEnv(t)
	expired := e.begin("UBOB", soe.MainSite(), nil)
	e.advance(11 * time.Minute)
	owner := e.browser("alice")
	cb := e.continueFlow(owner, e.begin("UALICE", soe.MainSite(), nil))

	release := holdWriteLock(t, e)
	c := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		name, method, url string
		want              int
	}{
		{"link page, unknown id", http.MethodGet, e.public + "/link/" + randomID(), http.StatusNotFound},
		{"continue, unknown id", http.MethodPost, e.public + "/link/" + randomID(), http.StatusNotFound},
		{"continue, expired link", http.MethodPost, expired, http.StatusGone},
		{"callback, unknown state", http.MethodGet, e.public + "/oauth/callback?code=x&state=" + randomID(), http.StatusBadRequest},
		{"callback from another browser", http.MethodGet, cb, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, tc.url, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("not answered while a write transaction was open: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	release()
	// The owner's flow is intact: the wrong browser did not consume it.
	if p := get(t, owner, cb); p.Status != http.StatusOK {
		t.Fatalf("owner's callback after the probes: %d %s", p.Status, p.Body)
	}
}

// TestRateLimitedPerClient: the link pages and the callback share a
// per-client budget; over it, 429 with Retry-After and a friendly page, for
// that client only.
func TestRateLimitedPerClient(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *soefake.Options) {
		c.Limiter = ratelimit.New(ratelimit.Config{Rate: 1, Burst: 3, Now: c.Now})
	})
	h := e.svc.Handler()
	serve := func(method, target, remote string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(t.Context(), method, target, nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	const attacker, other = "198.51.100.7:4000", "203.0.113.9:4000"
	for i, tc := range []struct{ method, target string }{
		{http.MethodGet, "/link/" + randomID()},
		{http.MethodPost, "/link/" + randomID()},
		{http.MethodGet, "/oauth/callback?code=x&state=" + randomID()},
	} {
		if rec := serve(tc.method, tc.target, attacker); rec.Code == http.StatusTooManyRequests {
			t.Fatalf("request %d limited within the burst", i)
		}
	}
	rec := serve(http.MethodGet, "/oauth/callback?state=%00junk", attacker)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" ||
		!strings.Contains(rec.Body.String(), "Please wait 1 second, then reload") || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("over the limit: %d Retry-After=%q\n%s", rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
	}
	// Another client is not affected; the limited one may come back later.
	u := e.begin("UALICE", soe.MainSite(), nil)
	if rec := serve(http.MethodGet, strings.TrimPrefix(u, e.public), other); rec.Code != http.StatusOK {
		t.Fatalf("another client: %d", rec.Code)
	}
	e.advance(time.Second)
	if rec := serve(http.MethodGet, strings.TrimPrefix(u, e.public), attacker); rec.Code != http.StatusOK {
		t.Fatalf("after Retry-After: %d", rec.Code)
	}
}

// TestContinueRefusesCrossSitePosts: the Continue POST is refused from a
// sandboxed frame (Origin: null), from another site as told by
// Sec-Fetch-Site (with or without Origin) and from a foreign Origin; the
// refused link stays usable. The real page's POST passes, also behind a
// proxy that rewrites Host for an https PUBLIC_URL.
func TestContinueRefusesCrossSitePosts(t *testing.T) {
	e := newEnv(t)
	const proxied = "https://bot.example.com"
	cfg := e.cfg
	cfg.PublicURL = proxied
	behindProxy, err := New(cfg, e.db, e.keys, soe.OAuthConfig{SiteURL: e.soe.URL(), ClientID: "x"}, e.api, e.slack, e.log)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		svc     *Service
		headers map[string]string
		want    int
	}{
		{"Origin null (sandboxed iframe)", e.svc, map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"Origin null with Sec-Fetch-Site cross-site", e.svc, map[string]string{"Origin": "null", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"Sec-Fetch-Site cross-site without Origin", e.svc, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"Sec-Fetch-Site same-site without Origin", e.svc, map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"foreign Origin", e.svc, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"foreign Origin claiming same-origin", e.svc, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"}, http.StatusForbidden},
		{"same origin, modern browser", e.svc, map[string]string{"Origin": e.public, "Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
		{"same origin, browser without Sec-Fetch-Site", e.svc, map[string]string{"Origin": e.public}, http.StatusSeeOther},
		{"not a browser (no Origin, no Sec-Fetch-Site)", e.svc, nil, http.StatusSeeOther},
		{"https behind a proxy, modern browser", behindProxy, map[string]string{"Origin": proxied, "Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
		{"https behind a proxy, browser without Sec-Fetch-Site", behindProxy, map[string]string{"Origin": proxied}, http.StatusSeeOther},
		{"https behind a proxy, http Origin", behindProxy, map[string]string{"Origin": "http://bot.example.com"}, http.StatusForbidden},
		{"https behind a proxy, Origin null", behindProxy, map[string]string{"Origin": "null"}, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := tc.svc.Begin(t.Context(), team, "UALICE", soe.MainSite(), nil)
			if err != nil {
				t.Fatal(err)
			}
			path := u[strings.Index(u, "/link/"):]
			post := func(headers map[string]string) *httptest.ResponseRecorder {
				req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "http://internal:8080"+path, nil)
				if tc.svc == e.svc {
					req = httptest.NewRequestWithContext(t.Context(), http.MethodPost, path, nil)
					req.Host = strings.TrimPrefix(e.public, "http://")
				}
				for k, v := range headers {
					req.Header.Set(k, v)
				}
				rec := httptest.NewRecorder()
				tc.svc.Handler().ServeHTTP(rec, req)
				return rec
			}
			rec := post(tc.headers)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d\n%s", rec.Code, tc.want, rec.Body.String())
			}
			if tc.want != http.StatusForbidden {
				return
			}
			if rec.Header().Get("Location") != "" || len(rec.Result().Cookies()) != 0 {
				t.Fatal("a refused POST redirected or set a cookie")
			}
			// The link was not consumed: the real page can still continue.
			if rec := post(nil); rec.Code != http.StatusSeeOther {
				t.Fatalf("the link did not survive the refused POST: %d", rec.Code)
			}
		})
	}
}

// TestLinkPageNamesTheSlackUser: whoever opens a link sees, before anything
// else, which Slack user and workspace it connects, and that only that user
// should continue.
func TestLinkPageNamesTheSlackUser(t *testing.T) {
	cases := []struct {
		name  string
		setup func(f *fakeSlack)
		want  []string
	}{
		{"name and real name", func(f *fakeSlack) { f.users["UALICE"].RealName = "Alice Anderson" }, []string{
			`You are connecting Slack user <strong>@alice (Alice Anderson)</strong> in <strong>Acme</strong>`,
			`Only continue if you are @alice.`, `Not @alice, or did not ask for this?`}},
		{"display name", func(f *fakeSlack) {
			f.users["UALICE"].Profile.DisplayName = "ally"
			f.users["UALICE"].RealName = "Alice Anderson"
		}, []string{
			`Slack user <strong>@ally (Alice Anderson)</strong> in <strong>Acme</strong>`, `Only continue if you are @ally.`}},
		{"hostile names are escaped", func(f *fakeSlack) { f.users["UALICE"].RealName = `<script>x</script>`; f.team = `A&B <i>` }, []string{
			`@alice (&lt;script&gt;x&lt;/script&gt;)`, `in <strong>A&amp;B &lt;i&gt;</strong>`}},
		{"Slack does not answer", func(f *fakeSlack) { f.infoErr = errors.New("down") }, []string{
			`Slack user <strong>@UALICE</strong>`, `Only continue if you are @UALICE.`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.setup != nil {
				e.slack.set(tc.setup)
			}
			p := get(t, e.browser("alice"), e.begin("UALICE", soe.MainSite(), nil))
			if p.Status != http.StatusOK {
				t.Fatalf("%d\n%s", p.Status, p.Body)
			}
			for _, w := range tc.want {
				if !strings.Contains(p.Body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("page:\n%s", p.Body)
			}
		})
	}
}
