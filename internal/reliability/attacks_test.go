package reliability

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
)

// Link-flow attacks against the whole bot, through its real HTTP server.
// internal/linking has unit tests for the same properties
// (TestLinkRefusesSomeoneElsesAccount, TestConcurrentCallbacksConsumeOnce,
// TestCallbackRefusals, TestEmailMatchPolicy, TestURLsComeFromPublicURL,
// TestBadQueries); these prove them as deployed.

// stored counts what the linking buckets hold.
func (r *rig) stored() (links, bySOE, pending, states int) {
	return r.countKeys("links"), r.countKeys("links_by_soe"), r.countKeys("pending_links"), r.countKeys("oauth_states")
}

func (r *rig) noLinks(t *testing.T, what string) {
	t.Helper()
	if l, b, _, _ := r.stored(); l != 0 || b != 0 {
		t.Fatalf("%s: %d links and %d index entries stored, want none", what, l, b)
	}
}

// callbackURL presses Continue on linkURL in browser c (which must not follow
// the redirect to the bot) and returns where SOE sends the browser back.
func (r *rig) callbackURL(t *testing.T, c *http.Client, linkURL string) string {
	t.Helper()
	p := fetch(t, c, http.MethodPost, linkURL)
	loc := p.Header.Get("Location")
	if p.Status != http.StatusFound || !strings.HasPrefix(loc, r.Config.PublicURL+"/oauth/callback?") {
		t.Fatalf("continue: %d, location %q\n%s", p.Status, loc, p.Body)
	}
	return loc
}

func TestAttackForcedLinkingEmailMismatch(t *testing.T) {
	r := start(t)
	// The attacker (bob, and mallory who has no SOE account) runs /soe link
	// and gets the victim, alice, to open the link in her browser, where she
	// is signed in at SOE.
	for _, attacker := range []string{"bob", "mallory"} {
		u := r.linkPrompt(attacker)
		victim := r.browser("alice", true)
		if p := fetch(t, victim, http.MethodGet, u); p.Status != 200 {
			t.Fatalf("link page: %d", p.Status)
		}
		p := fetch(t, victim, http.MethodPost, u)
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "same email") {
			t.Fatalf("%s's link opened by alice: %d\n%s", attacker, p.Status, p.Body)
		}
		r.noLinks(t, attacker+"'s link opened by alice")
		if _, err := r.Slack.WaitDM(waitCtx(t, 5*time.Second), e2e.SlackUser(attacker), "did not work"); err != nil {
			t.Errorf("the attacker's Slack user was not told: %v", err)
		}
		// The link is used up: the victim's tab cannot be replayed.
		if p := fetch(t, victim, http.MethodGet, u); p.Status != http.StatusNotFound {
			t.Errorf("used link page: %d", p.Status)
		}
	}
	r.sees(r.slash("UBOB", e2e.General, "whoami"), "not connected a Stack Overflow account")
	r.sees(r.slash("UALICE", e2e.General, "whoami"), "not connected a Stack Overflow account")
}

// TestAttackForcedLinkingUnknownEmail: a Slack user whose email address the
// bot cannot see (a guest, a hidden address) sends their Connect link to
// alice, who is signed in at SOE. The link page already says it cannot be
// used; pressing Continue anyway ends in a refusal at the callback; nothing
// is stored and the guest is told.
func TestAttackForcedLinkingUnknownEmail(t *testing.T) {
	r := start(t)
	r.Slack.AddUser(slackfake.User{ID: e2e.SlackUser("guest"), Name: "guest", RealName: "Gus Guest"})
	u := r.linkPrompt("guest")
	victim := r.browser("alice", true)
	if p := fetch(t, victim, http.MethodGet, u); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "cannot see the email address") || strings.Contains(p.Body, "<form") {
		t.Fatalf("link page: %d\n%s", p.Status, p.Body)
	}
	p := fetch(t, victim, http.MethodPost, u)
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "LINK_REQUIRE_EMAIL_MATCH=false") {
		t.Fatalf("the guest's link completed by alice: %d\n%s", p.Status, p.Body)
	}
	r.noLinks(t, "the guest's link opened by alice")
	if _, err := r.Slack.WaitDM(waitCtx(t, 5*time.Second), e2e.SlackUser("guest"), "did not work"); err != nil {
		t.Errorf("the guest was not told: %v", err)
	}
	r.sees(r.slash(e2e.SlackUser("guest"), e2e.General, "whoami"), "not connected a Stack Overflow account")
}

func TestAttackStateReplayFiftyConcurrentCallbacks(t *testing.T) {
	// 52 requests from one address: above the per-client limit, which
	// TestAttackFloodIsRateLimited covers.
	r := start(t, func(o *e2e.Options) { o.LinkBurst = 100 })
	u := r.linkPrompt("alice")
	c := r.browser("alice", false)
	cb := r.callbackURL(t, c, u)

	const n = 50
	var wg sync.WaitGroup
	results := make([]page, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, cb, nil)
			if err != nil {
				t.Errorf("callback %d: %v", i, err)
				return
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Errorf("callback %d: %v", i, err)
				return
			}
			results[i] = page{resp.StatusCode, readAll(resp), resp.Header}
		}()
	}
	wg.Wait()
	ok, refused := 0, 0
	for _, p := range results {
		switch {
		case p.Status == 200 && strings.Contains(p.Body, "Connected"):
			ok++
		case p.Status == http.StatusBadRequest && strings.Contains(p.Body, "already used"):
			refused++
		default:
			t.Errorf("unexpected answer %d:\n%s", p.Status, p.Body)
		}
	}
	if ok != 1 || refused != n-1 {
		t.Fatalf("%d callbacks succeeded and %d were refused; want 1 and %d", ok, refused, n-1)
	}
	if l, b, _, s := r.stored(); l != 1 || b != 1 || s != 0 {
		t.Fatalf("stored %d links, %d index entries, %d states; want 1, 1, 0", l, b, s)
	}
	// A replay later is refused too and changes nothing.
	if p := fetch(t, c, http.MethodGet, cb); p.Status != http.StatusBadRequest {
		t.Fatalf("late replay: %d", p.Status)
	}
	if dms := r.Slack.DMs("UALICE"); countMatching(dms, "Connected as") != 1 {
		t.Errorf("alice got %d 'Connected' DMs, want 1", countMatching(dms, "Connected as"))
	}
}

func TestAttackCSRFOnContinueAndCallback(t *testing.T) {
	r := start(t)
	u := r.linkPrompt("alice")

	// Continue posted from another site's page: refused, link not consumed.
	evil := r.browser("alice", false)
	p := fetch(t, evil, http.MethodPost, u, "Origin", "https://evil.example")
	if p.Status != http.StatusForbidden || p.Header.Get("Location") != "" {
		t.Fatalf("cross-site Continue: %d %q", p.Status, p.Header.Get("Location"))
	}
	r.noLinks(t, "cross-site Continue")
	if _, _, pend, _ := r.stored(); pend != 1 {
		t.Fatalf("the link was consumed by a refused request (%d pending)", pend)
	}

	// The real browser continues; the SOE answer arrives in a browser
	// without the cookie (or with a forged one): refused, nothing stored,
	// and the state survives for the browser that started the flow.
	c := r.browser("alice", false)
	cb := r.callbackURL(t, c, u)
	noCookie := &http.Client{Timeout: 10 * time.Second}
	if p := fetch(t, noCookie, http.MethodGet, cb); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "different browser") {
		t.Fatalf("callback without the cookie: %d\n%s", p.Status, p.Body)
	}
	jar, _ := cookiejar.New(nil)
	pu, _ := url.Parse(r.Config.PublicURL)
	jar.SetCookies(pu, []*http.Cookie{{Name: "soebot_link", Value: strings.Repeat("A", 43), Path: "/"}})
	forged := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if p := fetch(t, forged, http.MethodGet, cb); p.Status != http.StatusBadRequest {
		t.Fatalf("callback with a forged cookie: %d\n%s", p.Status, p.Body)
	}
	r.noLinks(t, "callback in another browser")
	if p := fetch(t, c, http.MethodGet, cb); p.Status != 200 || !strings.Contains(p.Body, "Connected") {
		t.Fatalf("the right browser could not finish: %d\n%s", p.Status, p.Body)
	}
	if l, _, _, _ := r.stored(); l != 1 {
		t.Fatalf("%d links after the real callback", l)
	}
}

func TestAttackOpenRedirects(t *testing.T) {
	r := start(t)
	base := r.Config.PublicURL
	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	safe := func(what, loc string) {
		t.Helper()
		if loc == "" || strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") && !strings.HasPrefix(loc, "/\\") {
			return
		}
		if strings.HasPrefix(loc, base+"/") || strings.HasPrefix(loc, r.SOE.URL()+"/") {
			return
		}
		t.Errorf("%s redirects to %q", what, loc)
	}
	for _, path := range []string{
		"/oauth/callback?redirect_uri=https://evil.example/&state=x",
		"/oauth/callback?next=https://evil.example",
		"/link/x?next=//evil.example",
		"//evil.example/",
		"/\\evil.example/",
		"/link/..%2f..%2fevil.example",
		"/link/%2F%2Fevil.example",
		"/oauth/callback/../../evil.example",
		"/link/" + strings.Repeat("a", 43) + "?redirect_uri=https://evil.example",
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		if err != nil {
			continue
		}
		req.Header.Set("X-Forwarded-Host", "evil.example")
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		resp.Body.Close()
		safe(path, resp.Header.Get("Location"))
	}

	// A spoofed Host or X-Forwarded-Host changes neither the form's action
	// nor the redirect_uri sent to SOE: both come from PUBLIC_URL.
	u := r.linkPrompt("alice")
	c := r.browser("alice", false)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(resp)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "evil.example") || !strings.Contains(body, `action="`+u+`"`) {
		t.Fatalf("link page with a spoofed host: %d\n%s", resp.StatusCode, body)
	}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, u, nil)
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	resp, err = (&http.Client{Jar: c.Jar, Timeout: 10 * time.Second, CheckRedirect: plain.CheckRedirect}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	lu, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, r.SOE.URL()+"/oauth?") {
		t.Fatalf("Continue redirects to %q", loc)
	}
	if got := lu.Query().Get("redirect_uri"); got != base+"/oauth/callback" {
		t.Fatalf("redirect_uri = %q, want %s", got, base+"/oauth/callback")
	}
	r.noLinks(t, "open-redirect attempts")
}

// TestAttackFloodIsRateLimited: one address hammering the link pages and the
// callback with made-up ids gets HTTP 429 with Retry-After once over its
// budget (production limits), while the probes and the admin server stay
// available; a spoofed X-Forwarded-For (no TRUSTED_PROXIES) changes nothing.
func TestAttackFloodIsRateLimited(t *testing.T) {
	r := start(t)
	c := &http.Client{Timeout: 10 * time.Second}
	answered, limited := 0, 0
	for i := range 80 {
		target := base(r) + "/link/" + strings.Repeat(string(rune('a'+i%26)), 43)
		if i%2 == 1 {
			target = base(r) + "/oauth/callback?code=x&state=" + strings.Repeat(string(rune('A'+i%26)), 43)
		}
		p := fetch(t, c, http.MethodGet, target, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		switch p.Status {
		case http.StatusTooManyRequests:
			limited++
			if p.Header.Get("Retry-After") == "" || !strings.Contains(p.Body, "Too many requests") {
				t.Fatalf("429 without Retry-After or page: %v\n%s", p.Header, p.Body)
			}
		case http.StatusNotFound, http.StatusBadRequest:
			answered++
		default:
			t.Fatalf("request %d: %d", i, p.Status)
		}
	}
	if limited < 40 || answered < 25 {
		t.Fatalf("%d answered, %d limited of 80; want the burst (30) answered and most of the rest limited", answered, limited)
	}
	for _, u := range []string{base(r) + "/healthz", "http://" + r.App.AdminAddr() + "/metrics"} {
		if p := fetch(t, c, http.MethodGet, u); p.Status != http.StatusOK {
			t.Fatalf("%s during the flood: %d", u, p.Status)
		}
	}
	r.noLinks(t, "the flood")
}

func TestAttackOverlongAndBinaryQueries(t *testing.T) {
	r := start(t)
	u := r.linkPrompt("alice")
	_, _, pendBefore, statesBefore := r.stored()
	long := strings.Repeat("A", 3000)
	huge := strings.Repeat("B", 20000)
	c := &http.Client{Timeout: 10 * time.Second}
	for _, q := range []string{
		"state=" + long,
		"code=" + huge + "&state=" + strings.Repeat("a", 43),
		"state=%00%01%02",
		"state=%ff%fe%fd",
		"code=a%0D%0ASet-Cookie:%20x=y&state=b",
		"state=%zz",
		"error=" + long,
		strings.Repeat("k", 5000) + "=v",
	} {
		for _, target := range []string{base(r) + "/oauth/callback?" + q, u + "?" + q} {
			p := fetch(t, c, http.MethodGet, target)
			if p.Status != http.StatusBadRequest {
				t.Errorf("%.40s…%.60s: %d, want 400", target, q, p.Status)
			}
			if p.Header.Get("Set-Cookie") != "" || p.Header.Get("Location") != "" {
				t.Errorf("%.60s: answered with a cookie or redirect", target)
			}
		}
	}
	// An implicit-flow answer (a token in the URL) is refused outright.
	if p := fetch(t, c, http.MethodGet, base(r)+"/oauth/callback?access_token=stolen&state="+strings.Repeat("a", 43)); p.Status != http.StatusBadRequest {
		t.Errorf("access_token callback: %d", p.Status)
	}
	// Overlong and binary link ids.
	for _, id := range []string{strings.Repeat("x", 5000), "%00%ff", "..", strings.Repeat("a", 44)} {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			if p := fetch(t, c, m, base(r)+"/link/"+id); p.Status != http.StatusNotFound && p.Status != http.StatusBadRequest {
				t.Errorf("%s /link/%.20s: %d", m, id, p.Status)
			}
		}
	}
	r.noLinks(t, "junk queries")
	if _, _, pend, states := r.stored(); pend != pendBefore || states != statesBefore {
		t.Fatalf("junk requests changed the pending links (%d→%d) or states (%d→%d)", pendBefore, pend, statesBefore, states)
	}
	// The real link still works afterwards.
	b := r.browser("alice", true)
	if p := fetch(t, b, http.MethodPost, u); p.Status != 200 || !strings.Contains(p.Body, "Connected") {
		t.Fatalf("link after junk: %d", p.Status)
	}
}

func base(r *rig) string { return r.Config.PublicURL }

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func countMatching[T interface{ Matches(string) bool }](ms []T, match string) int {
	n := 0
	for _, m := range ms {
		if m.Matches(match) {
			n++
		}
	}
	return n
}
