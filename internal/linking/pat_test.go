package linking

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

// patEnv is a linking service for Stack Overflow for Teams Basic/Business.
func patEnv(t *testing.T) *tenv {
	return newEnv(t, func(c *Config, o *soefake.Options) { c.PersonalTokens = true; o.BasicBusiness = "acme" })
}

func (e *tenv) postPAT(linkURL, token string, write bool, origin string) page {
	e.t.Helper()
	form := url.Values{"token": {token}}
	if write {
		form.Set("write", "yes")
	}
	req, _ := http.NewRequestWithContext(e.t.Context(), http.MethodPost, linkURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return do(e.t, http.DefaultClient, req)
}

var pageNoise = regexp.MustCompile(`(http://)?127\.0\.0\.1:\d+|/link/[A-Za-z0-9_-]{43}`)

// pageGolden compares an HTML page with its golden file, without ports and link ids.
func pageGolden(t *testing.T, name, body string) {
	t.Helper()
	clean := pageNoise.ReplaceAllStringFunc(body, func(s string) string {
		if strings.HasPrefix(s, "/link/") {
			return "/link/LINK-ID"
		}
		if strings.HasPrefix(s, "http://") {
			return "http://HOST"
		}
		return "HOST"
	})
	golden.Assert(t, "testdata/golden/"+name+".html", []byte(clean))
}

func TestPATPageAndOutcomes(t *testing.T) {
	e := patEnv(t)
	alice := e.soe.UserByName("alice").ID
	u := e.begin("UALICE", soe.MainSite(), &Resume{Text: "experts go"})
	p := get(t, http.DefaultClient, u)
	if p.Status != http.StatusOK {
		t.Fatalf("%d %s", p.Status, p.Body)
	}
	pageGolden(t, "pat_page", p.Body)

	tests := []struct {
		name   string
		token  string
		origin string
		status int
		want   string
	}{
		{"cross-site", e.soe.MintPAT(alice, true), "https://evil.example", http.StatusForbidden, "only be sent from the soebot link page"},
		{"empty", "  ", e.public, http.StatusBadRequest, "Paste your personal access token"},
		{"spaces inside", "abc def", e.public, http.StatusBadRequest, "does not look like"},
		{"too long", strings.Repeat("a", maxPATLen+1), e.public, http.StatusBadRequest, "does not look like"},
		{"refused by SOE", "wrong-token", e.public, http.StatusBadRequest, "did not accept this token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := e.postPAT(u, tc.token, true, tc.origin)
			if p.Status != tc.status || !strings.Contains(p.Body, tc.want) {
				t.Fatalf("%d %s", p.Status, p.Body)
			}
			if tc.token != "" && strings.Contains(p.Body, "value=\""+tc.token) {
				t.Fatal("the token was echoed")
			}
		})
	}
	pageGolden(t, "pat_page_refused", e.postPAT(u, "wrong-token", false, e.public).Body)
	if n := e.countLinks(); n != 0 {
		t.Fatalf("%d links after refusals", n)
	}

	pat := e.soe.MintPAT(alice, false)
	p = e.postPAT(u, pat, false, e.public)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Connected as Alice Anderson (read-only") || strings.Contains(p.Body, pat) {
		t.Fatalf("%d %s", p.Status, p.Body)
	}
	e.waitHooks(1)
	if e.resume[0] == nil || e.resume[0].Text != "experts go" {
		t.Fatalf("resume %+v", e.resume[0])
	}
	ls := e.links("UALICE")
	if len(ls) != 1 || ls[0].AccessState != AccessReadOnly || !ls[0].Expiry.IsZero() {
		t.Fatalf("links %+v", ls)
	}
	c, _, err := e.svc.Client(t.Context(), team, "UALICE", soe.MainSite())
	if err != nil {
		t.Fatal(err)
	}
	if me, err := c.Me(t.Context()); err != nil || me.ID != alice {
		t.Fatalf("stored token does not work: %v", err)
	}
	if strings.Contains(e.logs.String(), pat) || strings.Contains(e.slack.allDMText(), pat) {
		t.Fatal("the token reached the logs or Slack")
	}
	// Used once.
	if p := e.postPAT(u, e.soe.MintPAT(alice, true), true, e.public); p.Status != http.StatusNotFound {
		t.Fatalf("reused link: %d", p.Status)
	}
}

func TestPATWriteHintAndExpiredLink(t *testing.T) {
	e := patEnv(t)
	carol := e.soe.UserByName("carol").ID
	u := e.begin("UCAROL", soe.MainSite(), nil)
	if p := e.postPAT(u, e.soe.MintPAT(carol, true), true, ""); p.Status != http.StatusOK || !strings.Contains(p.Body, "read-write requested") {
		t.Fatalf("%d %s", p.Status, p.Body)
	}
	if ls := e.links("UCAROL"); len(ls) != 1 || ls[0].AccessState != AccessWriteRequested {
		t.Fatalf("links %+v", ls)
	}
	u = e.begin("UBOB", soe.MainSite(), nil)
	e.advance(e.svc.cfg.PendingTTL + 1)
	if p := e.postPAT(u, e.soe.MintPAT(e.soe.UserByName("bob").ID, true), true, ""); p.Status != http.StatusGone {
		t.Fatalf("expired link: %d %s", p.Status, p.Body)
	}
	// There is no OAuth callback on Basic/Business.
	if p := get(t, http.DefaultClient, e.public+"/oauth/callback?state=x"); p.Status != http.StatusNotFound {
		t.Fatalf("callback: %d", p.Status)
	}
}
