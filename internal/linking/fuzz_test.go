package linking

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/vault"
)

// FuzzCallbackQuery sends arbitrary query strings to the link endpoints
// (GET /oauth/callback, GET and POST /link/{id}). Whatever arrives: no
// panic, never a success page, a cookie or a redirect, nothing stored, and
// queryOK only lets through well-formed, bounded, printable values.
// (internal/reliability runs the same attacks against the whole bot.)
func FuzzCallbackQuery(f *testing.F) {
	for _, s := range []string{
		"", "state=", "code=abc&state=" + strings.Repeat("a", 43), "state=%00", "state=%ff%fe", "state=a%0Ab",
		"state=%zz", "error=access_denied&state=" + strings.Repeat("b", 43), "access_token=x&state=y",
		"state=" + strings.Repeat("A", 2049), "a=1&a=2&a=3;b=4", "code=%E2%80%AE&state=%E2%80%8B",
	} {
		f.Add(s)
	}
	db, err := store.Open(filepath.Join(f.TempDir(), "fuzz.db"), store.Options{Timeout: time.Second, Buckets: Buckets(), Migrations: Migrations()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	keys, err := vault.NewKeyring(testKey(9))
	if err != nil {
		f.Fatal(err)
	}
	svc, err := New(Config{PublicURL: "https://bot.example", SOEURL: "https://soe.example"}, db, keys,
		soe.OAuthConfig{SiteURL: "https://soe.example", ClientID: "1"}, nil, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	h := svc.Handler()
	stored := func() int {
		n := 0
		_ = db.View(context.Background(), func(tx store.Tx) error {
			for _, b := range Buckets() {
				n += tx.Bucket(b).Len()
			}
			return nil
		})
		return n
	}

	f.Fuzz(func(t *testing.T, raw string) {
		if queryOK(raw) {
			q, err := url.ParseQuery(raw)
			if err != nil {
				t.Fatalf("queryOK accepted unparsable %q", raw)
			}
			for k, vs := range q {
				for _, v := range append(vs, k) {
					if len(v) > maxQueryValue || strings.ContainsAny(v, "\x00\r\n") {
						t.Fatalf("queryOK accepted %q", v)
					}
				}
			}
		}
		before := stored()
		for _, target := range []struct{ method, path string }{
			{http.MethodGet, "/oauth/callback"},
			{http.MethodGet, "/link/" + strings.Repeat("a", 43)},
			{http.MethodPost, "/link/" + strings.Repeat("a", 43)},
		} {
			req := httptest.NewRequestWithContext(t.Context(), target.method, "https://bot.example"+target.path, nil)
			req.URL.RawQuery = raw
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code < 400 {
				t.Fatalf("%s %s?%q answered %d", target.method, target.path, raw, rec.Code)
			}
			if rec.Header().Get("Set-Cookie") != "" || rec.Header().Get("Location") != "" {
				t.Fatalf("%s %s?%q set a cookie or redirected", target.method, target.path, raw)
			}
		}
		if after := stored(); after != before {
			t.Fatalf("query %q changed the store (%d → %d keys)", raw, before, after)
		}
	})
}
