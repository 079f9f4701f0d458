package linking

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/vault"
)

func TestLinkHappyPath(t *testing.T) {
	e := newEnv(t)
	c := e.browser("alice")
	resume := &Resume{Text: "whoami", ChannelID: "CGENERAL", ResponseURL: "https://hooks.slack.test/r/1"}
	u := e.begin("UALICE", soe.MainSite(), resume)
	if !strings.HasPrefix(u, e.public+"/link/") || len(strings.TrimPrefix(u, e.public+"/link/")) < 22 {
		t.Fatalf("link URL %q", u)
	}
	p := get(t, c, u)
	for _, want := range []string{"Acme", "@alice", "Continue", `action="` + u + `"`, strings.TrimPrefix(e.soe.URL(), "http://"), "main site"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("link page lacks %q:\n%s", want, p.Body)
		}
	}
	if e.countLinks() != 0 {
		t.Fatal("GET bound something")
	}
	if p.Header.Get("Cache-Control") != "no-store" || p.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers: %v", p.Header)
	}

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Cookie flags (http PUBLIC_URL: non-Secure soebot_link).
	var sc *http.Cookie
	for _, ck := range resp.Request.Response.Cookies() {
		if ck.Name == "soebot_link" {
			sc = ck
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Domain != "" || sc.Secure {
		t.Fatalf("browser cookie: %+v", sc)
	}
	// The authorize URL the bot built.
	au, _ := url.Parse(resp.Request.Response.Header.Get("Location"))
	q := au.Query()
	if au.Path != "/oauth" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
		q.Get("redirect_uri") != e.public+"/oauth/callback" || q.Get("scope") != "write_access,no_expiry" || q.Get("state") == "" {
		t.Fatalf("authorize URL %s", au)
	}

	p = get(t, c, resp.Header.Get("Location"))
	if p.Status != 200 || !strings.Contains(p.Body, "Connected") || !strings.Contains(p.Body, "close this tab") {
		t.Fatalf("callback: %d %s", p.Status, p.Body)
	}
	ls := e.links("UALICE")
	if len(ls) != 1 {
		t.Fatalf("links: %+v", ls)
	}
	l := ls[0]
	alice := e.soe.UserByName("alice")
	if l.SOEUserID != alice.ID || l.SOEName != "Alice Anderson" || !l.WriteAccess || !l.Expiry.IsZero() || l.Invalid ||
		l.AccessState != AccessWriteRequested || l.Access() != "read-write requested" ||
		l.SOEEmail != "alice@acme.example" || l.SOEProfileURL == "" || l.Scope != soe.MainSite() {
		t.Fatalf("link %+v", l)
	}
	if dms := e.slack.DMs("UALICE"); len(dms) != 1 || !strings.Contains(dms[0], "Connected as Alice Anderson (read-write requested, main site). Stack Overflow does not say which access it granted") {
		t.Fatalf("DMs %q", dms)
	}
	e.waitHooks(1)
	if r := e.resume[0]; r == nil || *r != *resume {
		t.Fatalf("resume %+v", r)
	}
	// The token works.
	cl, _, err := e.svc.Client(context.Background(), team, "UALICE", soe.MainSite())
	if err != nil {
		t.Fatal(err)
	}
	if me, err := cl.Me(context.Background()); err != nil || me.ID != alice.ID {
		t.Fatalf("me %+v %v", me, err)
	}
	if id, ok, err := e.svc.SlackUserFor(context.Background(), team, soe.MainSite(), alice.ID); err != nil || !ok || id != "UALICE" {
		t.Fatalf("SlackUserFor %q %v %v", id, ok, err)
	}
	if sl, _ := e.svc.ScopeLinks(context.Background(), soe.MainSite()); len(sl) != 1 {
		t.Fatalf("ScopeLinks %+v", sl)
	}
	// Second use of the link page and of the callback fail.
	if p := get(t, c, u); p.Status != http.StatusNotFound {
		t.Fatalf("reused link page: %d", p.Status)
	}
}

func TestTeamLinkAndHTTPSCookie(t *testing.T) {
	e := newEnv(t)
	p := e.link("UALICE", "alice", soe.TeamScope("platform"))
	if p.Status != 200 {
		t.Fatalf("%d %s", p.Status, p.Body)
	}
	ls := e.links("UALICE")
	if len(ls) != 1 || ls[0].Scope != soe.TeamScope("platform") || !strings.Contains(strings.Join(ls[0].Scopes, ","), "access_team") {
		t.Fatalf("%+v", ls)
	}
	if dms := e.slack.DMs("UALICE"); !strings.Contains(dms[0], "(read-write requested, team platform)") {
		t.Fatalf("%q", dms)
	}

	// With an https PUBLIC_URL the cookie is __Host- and Secure.
	cfg := e.cfg
	cfg.PublicURL = "https://bot.example.com"
	svc, err := New(cfg, e.db, e.keys, soe.OAuthConfig{SiteURL: e.soe.URL(), ClientID: "x"}, e.api, e.slack, e.log)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := svc.Begin(context.Background(), team, "UBOB", soe.MainSite(), nil)
	if !strings.HasPrefix(u, "https://bot.example.com/link/") {
		t.Fatal(u)
	}
	rec := newRecorder(t, svc, http.MethodPost, strings.Replace(u, "https://bot.example.com", "http://internal:8080", 1), nil)
	var ck *http.Cookie
	for _, c := range rec.Result().Cookies() {
		ck = c
	}
	if rec.Code != http.StatusSeeOther || ck == nil || ck.Name != "__Host-soebot_link" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
		t.Fatalf("%d %+v", rec.Code, ck)
	}
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if loc.Query().Get("redirect_uri") != "https://bot.example.com/oauth/callback" {
		t.Fatal(loc)
	}
}

func TestConcurrentCallbacksConsumeOnce(t *testing.T) {
	e := newEnv(t)
	c := e.browser("alice")
	cb := e.continueFlow(c, e.begin("UALICE", soe.MainSite(), nil))
	const n = 50
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, cb, nil)
			resp, err := c.Do(req)
			if err != nil {
				statuses <- -1
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	close(statuses)
	ok, refused := 0, 0
	for s := range statuses {
		switch {
		case s == 200:
			ok++
		case s >= 400 && s < 500:
			refused++
		default:
			t.Errorf("status %d", s)
		}
	}
	if ok != 1 || refused != n-1 || e.countLinks() != 1 {
		t.Fatalf("ok=%d refused=%d links=%d", ok, refused, e.countLinks())
	}
}

func TestCallbackRefusals(t *testing.T) {
	type tc struct {
		name   string
		run    func(e *tenv) page
		status int
		want   string // in the page
		dm     bool   // the Slack user is told
	}
	cases := []tc{
		{"replayed callback (same state and code)", func(e *tenv) page {
			c := e.browser("alice")
			cb := e.continueFlow(c, e.begin("UALICE", soe.MainSite(), nil))
			if p := get(e.t, c, cb); p.Status != 200 {
				e.t.Fatalf("first: %d", p.Status)
			}
			_, _ = e.svc.UnlinkAll(context.Background(), team, "UALICE")
			return get(e.t, c, cb)
		}, 400, "already used", false},
		{"replayed code with a fresh state", func(e *tenv) page {
			c := e.browser("alice")
			cb1 := e.continueFlow(c, e.begin("UALICE", soe.MainSite(), nil))
			get(e.t, c, cb1)
			_, _ = e.svc.UnlinkAll(context.Background(), team, "UALICE")
			cb2 := e.continueFlow(c, e.begin("UALICE", soe.MainSite(), nil))
			u1, _ := url.Parse(cb1)
			u2, _ := url.Parse(cb2)
			q := u2.Query()
			q.Set("code", u1.Query().Get("code"))
			u2.RawQuery = q.Encode()
			return get(e.t, c, u2.String())
		}, 502, "refused the sign-in", true},
		{"state from another user's browser", func(e *tenv) page {
			c := e.browser("alice")
			cb := e.continueFlow(c, e.begin("UALICE", soe.MainSite(), nil))
			other := e.browser("bob")
			e.continueFlow(other, e.begin("UBOB", soe.MainSite(), nil)) // bob has a cookie of his own
			p := get(e.t, other, cb)
			// The owner can still finish: a wrong browser does not consume the state.
			if p2 := get(e.t, c, cb); p2.Status != 200 {
				e.t.Fatalf("owner could not finish: %d %s", p2.Status, p2.Body)
			}
			_, _ = e.svc.UnlinkAll(context.Background(), team, "UALICE")
			return p
		}, 400, "different browser", true},
		{"callback without cookie", func(e *tenv) page {
			c := e.browser("alice")
			cb := e.continueFlow(c, e.begin("UALICE", soe.MainSite(), nil))
			return get(e.t, http.DefaultClient, cb)
		}, 400, "different browser", true},
		{"unknown state", func(e *tenv) page {
			return get(e.t, e.browser("alice"), e.public+"/oauth/callback?code=x&state="+randomID())
		}, 400, "already used", false},
		{"missing state", func(e *tenv) page {
			return get(e.t, e.browser("alice"), e.public+"/oauth/callback?code=x")
		}, 400, "missing its state", false},
		{"implicit-flow token in the callback", func(e *tenv) page {
			c := e.browser("alice")
			cb := e.continueFlow(c, e.begin("UALICE", soe.MainSite(), nil))
			return get(e.t, c, cb+"&access_token=abc")
		}, 400, "authorization-code", false},
		{"expired pending link", func(e *tenv) page {
			c := e.browser("alice")
			u := e.begin("UALICE", soe.MainSite(), nil)
			e.advance(11 * time.Minute)
			if p := get(e.t, c, u); p.Status != http.StatusGone {
				e.t.Fatalf("GET expired: %d", p.Status)
			}
			req, _ := http.NewRequestWithContext(e.t.Context(), http.MethodPost, u, nil)
			return do(e.t, c, req)
		}, 410, "expired", false},
		{"expired state", func(e *tenv) page {
			c := e.browser("alice")
			cb := e.continueFlow(c, e.begin("UALICE", soe.MainSite(), nil))
			e.advance(11 * time.Minute)
			return get(e.t, c, cb)
		}, 410, "expired", true},
		{"tampered verifier", func(e *tenv) page {
			c := e.browser("alice")
			cb := e.continueFlow(c, e.begin("UALICE", soe.MainSite(), nil))
			tamper(e, bucketStates, func(m map[string]any) {
				v := m["verifier"].(string)
				m["verifier"] = v[:len(v)-4] + "AAA="
			})
			return get(e.t, c, cb)
		}, 400, "could not be verified", true},
		{"verifier sealed with another key", func(e *tenv) page {
			// Continue is served by a bot with another TOKEN_KEY (a restart
			// mid-flow); the callback by the usual one.
			c := e.browser("alice")
			u := e.begin("UALICE", soe.MainSite(), nil)
			k2, _ := vault.NewKeyring(testKey(2), testKey(1))
			rec := newRecorder(e.t, e.newService(k2), http.MethodPost, u, nil)
			pu, _ := url.Parse(e.public)
			c.Jar.SetCookies(pu, rec.Result().Cookies())
			req, _ := http.NewRequestWithContext(e.t.Context(), http.MethodGet, rec.Header().Get("Location"), nil)
			resp, err := c.Do(req)
			if err != nil {
				e.t.Fatal(err)
			}
			resp.Body.Close()
			return get(e.t, c, resp.Header.Get("Location"))
		}, 400, "could not be verified", true},
		{"email mismatch (bob signs in on alice's link)", func(e *tenv) page {
			return e.link("UALICE", "bob", soe.MainSite())
		}, 403, "same email", true},
		{"consent denied", func(e *tenv) page {
			c := e.browser("alice")
			cb := e.continueFlow(c, e.begin("UALICE", soe.MainSite(), nil))
			u, _ := url.Parse(cb)
			q := url.Values{"error": {"access_denied"}, "state": {u.Query().Get("state")}}
			p := get(e.t, c, e.public+"/oauth/callback?"+q.Encode())
			if p2 := get(e.t, c, cb); p2.Status != 400 { // the state was consumed
				e.t.Fatalf("state survived a denial: %d", p2.Status)
			}
			return p
		}, 403, "did not allow", true},
		{"slack users.info fails during email check", func(e *tenv) page {
			e.slack.set(func(f *fakeSlack) { f.infoErr = errors.New("boom") })
			c := e.browser("alice")
			u := e.begin("UALICE", soe.MainSite(), nil)
			return get(e.t, c, e.continueFlow(c, u))
		}, 502, "could not check", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			p := c.run(e)
			if p.Status != c.status || !strings.Contains(strings.ToLower(p.Body), strings.ToLower(c.want)) {
				t.Fatalf("got %d, want %d with %q:\n%s", p.Status, c.status, c.want, p.Body)
			}
			if n := e.countLinks(); n != 0 {
				t.Fatalf("%d links stored", n)
			}
			failDM := false
			for _, d := range e.slack.DMs("UALICE") {
				if strings.Contains(d, "did not work") {
					failDM = true
				}
			}
			if failDM != c.dm {
				t.Fatalf("failure DM sent=%v, want %v: %q", failDM, c.dm, e.slack.DMs("UALICE"))
			}
		})
	}
}

// TestEmailMatchPolicy: with LINK_REQUIRE_EMAIL_MATCH a link completes only
// when both addresses are known and equal (case-insensitive); an unknown
// address on either side is a refusal that says why and what to do, the
// Slack user is told, and nothing is stored.
func TestEmailMatchPolicy(t *testing.T) {
	cases := []struct {
		name    string
		off     bool
		slack   string // the Slack user's email ("-" leaves it as seeded)
		login   string // who signs in at SOE
		soe     string // that SOE user's email ("-" leaves it)
		status  int
		want    string
		pageSay string // on the link page, before SOE
	}{
		{"match", false, "-", "alice", "-", 200, "Connected", ""},
		{"case-insensitive match with spaces", false, " Alice@ACME.example ", "alice", "-", 200, "Connected", ""},
		{"mismatch (bob signs in on alice's link)", false, "-", "bob", "-", 403, "same email address", ""},
		{"slack email unknown, colleague signs in", false, "", "bob", "-", 403, "cannot see the email address", "cannot see the email address"},
		{"slack email unknown, the user signs in", false, "", "alice", "-", 403, "LINK_REQUIRE_EMAIL_MATCH=false", "Ask your Slack or soebot administrator"},
		{"soe email unknown", false, "-", "alice", "", 403, "did not tell soebot the email address", ""},
		{"soe email unknown, someone else", false, "-", "bob", "", 403, "did not tell soebot the email address", ""},
		{"check off: mismatch passes", true, "-", "bob", "-", 200, "Connected", "email check is switched off"},
		{"check off: unknown emails pass", true, "", "bob", "", 200, "Connected", "email check is switched off"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config, _ *soefake.Options) { c.RequireEmailMatch = !tc.off })
			if tc.slack != "-" {
				e.slack.set(func(f *fakeSlack) { f.users["UALICE"].Profile.Email = tc.slack })
			}
			if tc.soe != "-" {
				e.soe.SetUserEmail(e.soe.UserByName(tc.login).ID, tc.soe)
			}
			c := e.browser(tc.login)
			u := e.begin("UALICE", soe.MainSite(), nil)
			lp := get(t, c, u)
			if !strings.Contains(lp.Body, tc.pageSay) {
				t.Fatalf("link page lacks %q:\n%s", tc.pageSay, lp.Body)
			}
			// When Slack shows no address the page refuses before SOE, with
			// no Continue button; the callback still refuses if the page is
			// skipped.
			slackUnknown := tc.slack == "" && !tc.off
			if refused := lp.Status == 403 && !strings.Contains(lp.Body, "<form"); refused != slackUnknown {
				t.Fatalf("link page %d (refused=%v, want %v):\n%s", lp.Status, refused, slackUnknown, lp.Body)
			}
			p := get(t, c, e.continueFlow(c, u))
			if p.Status != tc.status || !strings.Contains(p.Body, tc.want) {
				t.Fatalf("callback %d, want %d with %q:\n%s", p.Status, tc.status, tc.want, p.Body)
			}
			if tc.status == 200 {
				return
			}
			if n := e.countLinks(); n != 0 {
				t.Fatalf("%d links stored", n)
			}
			if dms := e.slack.DMs("UALICE"); len(dms) != 1 || !strings.Contains(dms[0], "did not work") {
				t.Fatalf("the Slack user was not told: %q", dms)
			}
		})
	}
}

// tamper rewrites the single record of bucket (JSON) with f.
func tamper(e *tenv, bucket []byte, f func(map[string]any)) {
	e.t.Helper()
	err := e.db.Update(context.Background(), func(tx store.Tx) error {
		b := tx.Bucket(bucket)
		k, v := b.Cursor().First()
		if k == nil {
			return errors.New("no record")
		}
		var m map[string]any
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		f(m)
		nv, _ := json.Marshal(m)
		return b.Put(append([]byte(nil), k...), nv)
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func TestStoredTokenProtection(t *testing.T) {
	ctx := context.Background()
	t.Run("tampered ciphertext", func(t *testing.T) {
		e := newEnv(t)
		e.link("UALICE", "alice", soe.MainSite())
		tamper(e, bucketLinks, func(m map[string]any) {
			b := []byte(m["token"].(string))
			b[10] ^= 1
			m["token"] = string(b)
		})
		_, l, err := e.svc.Client(ctx, team, "UALICE", soe.MainSite())
		if !errors.Is(err, ErrLinkInvalid) || l == nil || !l.Invalid {
			t.Fatalf("%v %+v", err, l)
		}
		if ls := e.links("UALICE"); !ls[0].Invalid {
			t.Fatal("not marked invalid")
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		e := newEnv(t)
		e.link("UALICE", "alice", soe.MainSite())
		k2, _ := vault.NewKeyring(testKey(2))
		if _, _, err := e.newService(k2).Client(ctx, team, "UALICE", soe.MainSite()); !errors.Is(err, ErrLinkInvalid) {
			t.Fatal(err)
		}
	})
	t.Run("ciphertext moved to another user", func(t *testing.T) {
		e := newEnv(t)
		e.link("UALICE", "alice", soe.MainSite())
		err := e.db.Update(context.Background(), func(tx store.Tx) error {
			b := tx.Bucket(bucketLinks)
			var rec linkRecord
			_ = json.Unmarshal(b.Get([]byte(linkKey(team, "UALICE", soe.MainSite()))), &rec)
			rec.UserID = "UMALLORY"
			v, _ := json.Marshal(&rec)
			return b.Put([]byte(linkKey(team, "UMALLORY", soe.MainSite())), v)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.Client(ctx, team, "UMALLORY", soe.MainSite()); !errors.Is(err, ErrLinkInvalid) {
			t.Fatal(err)
		}
		if _, _, err := e.svc.Client(ctx, team, "UALICE", soe.MainSite()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("expiry passed", func(t *testing.T) {
		e := newEnv(t, func(c *Config, _ *soefake.Options) { c.NoExpiry = false })
		e.link("UALICE", "alice", soe.MainSite())
		l := e.links("UALICE")[0]
		if l.Expiry.IsZero() || time.Until(l.Expiry) < 23*time.Hour {
			t.Fatalf("expiry %v", l.Expiry)
		}
		if _, _, err := e.svc.Client(ctx, team, "UALICE", soe.MainSite()); err != nil {
			t.Fatal(err)
		}
		e.advance(25 * time.Hour)
		if _, _, err := e.svc.Client(ctx, team, "UALICE", soe.MainSite()); !errors.Is(err, ErrLinkInvalid) {
			t.Fatal(err)
		}
		if !e.links("UALICE")[0].Invalid {
			t.Fatal("not marked invalid")
		}
		if sl, _ := e.svc.ScopeLinks(ctx, soe.MainSite()); len(sl) != 0 {
			t.Fatal("expired link offered to the poller")
		}
	})
	t.Run("not linked", func(t *testing.T) {
		e := newEnv(t)
		if _, _, err := e.svc.Client(ctx, team, "UALICE", soe.MainSite()); !errors.Is(err, ErrNotLinked) {
			t.Fatal(err)
		}
	})
}

// TestNoSecretsInLogsOrDatabase links with a real token from the fake SOE and
// greps every log line (debug level), the raw database file, the pages and
// the DMs for the token, the code, the verifier, the state and the link id.
func TestNoSecretsInLogsOrDatabase(t *testing.T) {
	e := newEnv(t)
	c := e.browser("alice")
	linkURL := e.begin("UALICE", soe.MainSite(), &Resume{Text: "whoami", ResponseURL: "https://hooks.slack.test/secret-hook"})
	linkID := strings.TrimPrefix(linkURL, e.public+"/link/")
	var bodies []string
	bodies = append(bodies, get(t, c, linkURL).Body)
	cb := e.continueFlow(c, linkURL)
	cu, _ := url.Parse(cb)
	code, state := cu.Query().Get("code"), cu.Query().Get("state")
	var verifier string
	err := e.db.View(context.Background(), func(tx store.Tx) error {
		var st stateRecord
		if _, err := store.GetJSON(tx, bucketStates, hashKey(state), &st); err != nil {
			return err
		}
		v, err := e.keys.Open(st.Verifier, stateAAD(hashKey(state)))
		verifier = string(v)
		return err
	})
	if err != nil || len(verifier) < 43 {
		t.Fatalf("verifier: %v", err)
	}
	bodies = append(bodies, get(t, c, cb).Body, get(t, c, cb).Body) // success, then a refused replay
	var token string
	_ = e.db.View(context.Background(), func(tx store.Tx) error {
		var rec linkRecord
		_, _ = store.GetJSON(tx, bucketLinks, linkKey(team, "UALICE", soe.MainSite()), &rec)
		tok, err := e.keys.Open(rec.Token, linkAAD(team, "UALICE", soe.MainSite()))
		token = string(tok)
		return err
	})
	if len(token) < 16 {
		t.Fatal("no token")
	}
	// Use the token once (a success and a failure) so client logs are included.
	cl, _, _ := e.svc.Client(context.Background(), team, "UALICE", soe.MainSite())
	_, _ = cl.Me(context.Background())
	e.soe.RevokeToken(token)
	if _, err := cl.Me(context.Background()); !errors.Is(err, soe.ErrUnauthorized) {
		t.Fatalf("revoked token: %v", err)
	}
	e.waitHooks(1)
	_ = e.svc.Close(context.Background())

	raw, err := os.ReadFile(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "linked") {
		t.Fatalf("logs were not captured:\n%s", logs)
	}
	everything := map[string]string{"logs": logs, "database": string(raw), "pages": strings.Join(bodies, "\n"), "DMs": e.slack.allDMText()}
	secrets := map[string]string{"token": token, "code": code, "verifier": verifier, "state": state, "link id": linkID, "response_url": "secret-hook"}
	for where, text := range everything {
		for what, s := range secrets {
			if what == "link id" && where == "pages" {
				continue // the link page posts back to its own URL
			}
			if strings.Contains(text, s) {
				t.Errorf("the %s appears in the %s", what, where)
			}
		}
	}
}

func TestURLsComeFromPublicURL(t *testing.T) {
	e := newEnv(t)
	u := e.begin("UALICE", soe.MainSite(), nil)
	path := strings.TrimPrefix(u, e.public)
	hostile := func(method string) *http.Request {
		req, _ := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, nil)
		req.Host = "evil.example"
		req.Header.Set("X-Forwarded-Host", "evil.example")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("Forwarded", "host=evil.example;proto=https")
		return req
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	p := do(t, c, hostile(http.MethodGet))
	if p.Status != 200 || strings.Contains(p.Body, "evil") || !strings.Contains(p.Body, `action="`+e.public+"/link/") {
		t.Fatalf("page: %d\n%s", p.Status, p.Body)
	}
	p = do(t, c, hostile(http.MethodPost))
	loc, _ := url.Parse(p.Header.Get("Location"))
	if p.Status != http.StatusSeeOther || strings.Contains(loc.String(), "evil") || loc.Query().Get("redirect_uri") != e.public+"/oauth/callback" ||
		!strings.HasPrefix(loc.String(), e.soe.URL()+"/oauth?") {
		t.Fatalf("redirect: %d %s", p.Status, loc)
	}
	// A cross-site form post is refused.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.begin("UALICE", soe.MainSite(), nil), nil)
	req.Header.Set("Origin", "https://evil.example")
	if p := do(t, c, req); p.Status != http.StatusForbidden {
		t.Fatalf("cross-origin POST: %d", p.Status)
	}
}

func TestBadQueries(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("a", 2049)
	for _, q := range []string{
		"state=" + long,
		"code=" + long + "&state=x",
		"state=%00abc",
		"state=%ff%fe",
		"state=a%0Ab",
		"state=%zz",
	} {
		for _, path := range []string{"/oauth/callback?", "/link/" + randomID() + "?"} {
			if p := get(t, http.DefaultClient, e.public+path+q); p.Status != 400 {
				t.Errorf("%s%s: %d", path, q[:min(len(q), 20)], p.Status)
			}
		}
	}
	for _, p := range []string{"/link/short", "/link/" + strings.Repeat("x", 43)} {
		if r := get(t, http.DefaultClient, e.public+p); r.Status != 404 {
			t.Errorf("%s: %d", p, r.Status)
		}
	}
}

func TestRotateKeys(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.link("UALICE", "alice", soe.MainSite())
	e.link("UCAROL", "carol", soe.TeamScope("platform"))
	k1 := e.keys
	ring, err := vault.NewKeyring(testKey(2), testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	svc2 := e.newService(ring)
	n, err := svc2.RotateKeys(ctx)
	if err != nil || n != 2 {
		t.Fatalf("rotated %d %v", n, err)
	}
	if n, _ := svc2.RotateKeys(ctx); n != 0 {
		t.Fatalf("second rotation re-encrypted %d", n)
	}
	only2, _ := vault.NewKeyring(testKey(2))
	svc3 := e.newService(only2)
	for _, who := range []struct {
		user  string
		scope soe.Scope
	}{{"UALICE", soe.MainSite()}, {"UCAROL", soe.TeamScope("platform")}} {
		c, _, err := svc3.Client(ctx, team, who.user, who.scope)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Me(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The old key alone no longer opens anything.
	if _, _, err := e.newService(k1).Client(ctx, team, "UALICE", soe.MainSite()); !errors.Is(err, ErrLinkInvalid) {
		t.Fatal(err)
	}
	// A record no key opens is reported and marked invalid.
	e2 := newEnv(t)
	e2.link("UALICE", "alice", soe.MainSite())
	other, _ := vault.NewKeyring(testKey(3))
	if n, err := e2.newService(other).RotateKeys(ctx); err == nil || n != 0 {
		t.Fatalf("%d %v", n, err)
	}
	if !e2.links("UALICE")[0].Invalid {
		t.Fatal("undecryptable link not marked invalid")
	}
}

func TestSweep(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		e.begin("UALICE", soe.MainSite(), nil)
	}
	c := e.browser("alice")
	e.continueFlow(c, e.begin("UBOB", soe.MainSite(), nil)) // one state record
	if n, err := e.svc.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("fresh: %d %v", n, err)
	}
	e.advance(11 * time.Minute)
	fresh := e.begin("UCAROL", soe.MainSite(), nil)
	n, err := e.svc.Sweep(context.Background())
	if err != nil || n != 4 {
		t.Fatalf("swept %d %v", n, err)
	}
	if p := get(t, c, fresh); p.Status != 200 {
		t.Fatalf("fresh link swept: %d", p.Status)
	}
}

func TestUnlinkAndIndex(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.link("UALICE", "alice", soe.MainSite())
	e.link("UALICE", "alice", soe.TeamScope("platform"))
	e.link("UBOB", "bob", soe.MainSite())
	if ls := e.links("UALICE"); len(ls) != 2 || ls[0].Scope != soe.MainSite() || ls[1].Scope != soe.TeamScope("platform") {
		t.Fatalf("%+v", ls)
	}
	alice := e.soe.UserByName("alice").ID
	if ok, err := e.svc.Unlink(ctx, team, "UALICE", soe.MainSite()); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, _ := e.svc.Unlink(ctx, team, "UALICE", soe.MainSite()); ok {
		t.Fatal("unlinked twice")
	}
	if _, ok, _ := e.svc.SlackUserFor(ctx, team, soe.MainSite(), alice); ok {
		t.Fatal("index entry left behind")
	}
	if id, ok, _ := e.svc.SlackUserFor(ctx, team, soe.TeamScope("platform"), alice); !ok || id != "UALICE" {
		t.Fatal("team index lost")
	}
	if _, ok, _ := e.svc.SlackUserFor(ctx, "TOTHER", soe.TeamScope("platform"), alice); ok {
		t.Fatal("index crosses Slack teams")
	}
	if err := e.svc.Invalidate(ctx, team, "UBOB", soe.MainSite(), "revoked"); err != nil {
		t.Fatal(err)
	}
	if sl, _ := e.svc.ScopeLinks(ctx, soe.MainSite()); len(sl) != 0 {
		t.Fatalf("invalid link offered: %+v", sl)
	}
	if l := e.links("UBOB")[0]; !l.Invalid || l.InvalidReason != "revoked" {
		t.Fatalf("%+v", l)
	}
	if n, err := e.svc.UnlinkAll(ctx, team, "UALICE"); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	if n, _ := e.svc.UnlinkAll(ctx, team, "UALICE"); n != 0 {
		t.Fatal(n)
	}
	if len(e.links("UBOB")) != 1 {
		t.Fatal("bob's link touched")
	}
}

func TestBeginValidates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, c := range []struct {
		team, user string
		scope      soe.Scope
	}{{"", "U1", soe.MainSite()}, {team, "", soe.MainSite()}, {team, "U1", soe.TeamScope("a/b")}} {
		if _, err := e.svc.Begin(ctx, c.team, c.user, c.scope, nil); err == nil {
			t.Errorf("Begin(%q,%q,%v) accepted", c.team, c.user, c.scope)
		}
	}
	// Link ids are unique and long.
	seen := map[string]bool{}
	for range 100 {
		u := e.begin("UALICE", soe.MainSite(), nil)
		if seen[u] {
			t.Fatal("duplicate link id")
		}
		seen[u] = true
	}
}
