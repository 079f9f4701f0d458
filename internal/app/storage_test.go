package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/vault"
)

func testConfig(t *testing.T, dir string, extra map[string]string) Config {
	t.Helper()
	env := map[string]string{
		"SLACK_APP_TOKEN": "xapp-1", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_API_URL": "http://127.0.0.1:1/api/",
		"SOE_URL": "http://127.0.0.1:2", "SOE_CLIENT_ID": "1", "PUBLIC_URL": "http://127.0.0.1:3",
		"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "DB_PATH": filepath.Join(dir, "soebot.db"),
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newApp(t *testing.T, cfg Config, log *slog.Logger) *App {
	t.Helper()
	ln, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, Options{Listener: ln, Logger: log})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.close(); ln.Close() })
	return a
}

func TestKeyFileCreatedWithWarning(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	a := newApp(t, testConfig(t, dir, nil), slog.New(slog.NewTextHandler(&logs, nil)))
	key := filepath.Join(dir, "soebot.db.key")
	fi, err := os.Stat(key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if !strings.Contains(logs.String(), "TOKEN_KEY is not set") || !strings.Contains(logs.String(), key) {
		t.Fatalf("no warning naming the key file:\n%s", logs.String())
	}
	raw, _ := os.ReadFile(key)
	if strings.Contains(logs.String(), strings.TrimSpace(string(raw))) {
		t.Fatal("key material logged")
	}
	if !a.dbOpen.Load() {
		t.Fatal("store not reported open")
	}
	fi, _ = os.Stat(filepath.Join(dir, "soebot.db"))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("db mode %v", fi.Mode())
	}
	_ = a.close()
	if a.dbOpen.Load() || a.Ready() {
		t.Fatal("closed store still reported ready")
	}
}

func TestBadTokenKeyStops(t *testing.T) {
	dir := t.TempDir()
	ln, _ := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	defer ln.Close()
	_, err := New(context.Background(), testConfig(t, dir, map[string]string{"TOKEN_KEY": "c2hvcnQ="}), Options{Listener: ln})
	if err == nil || !strings.Contains(err.Error(), "TOKEN_KEY") || strings.Contains(err.Error(), "c2hvcnQ") {
		t.Fatalf("%v", err)
	}
}

func TestSecondInstanceFailsFast(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, nil)
	newApp(t, cfg, nil)
	ln, _ := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	defer ln.Close()
	start := time.Now()
	_, err := New(context.Background(), cfg, Options{Listener: ln})
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), cfg.DBPath) || time.Since(start) > 3*time.Second {
		t.Fatalf("%v after %v", err, time.Since(start))
	}
}

func TestCorruptDatabaseStops(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, nil)
	junk := bytes.Repeat([]byte("not a bolt file "), 1024)
	if err := os.WriteFile(cfg.DBPath, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, _ := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	defer ln.Close()
	_, err := New(context.Background(), cfg, Options{Listener: ln})
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), cfg.DBPath) {
		t.Fatalf("%v", err)
	}
	if b, _ := os.ReadFile(cfg.DBPath); !bytes.Equal(b, junk) {
		t.Fatal("corrupt file was modified")
	}
}

func TestBackupEndpointGuards(t *testing.T) {
	dir := t.TempDir()
	a := newApp(t, testConfig(t, dir, nil), nil)
	good, err := AdminToken(a.keys, "backup", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := vault.NewKeyring(bytes.Repeat([]byte{5}, 32))
	wrongKey, _ := AdminToken(other, "backup", time.Now())
	stale, _ := AdminToken(a.keys, "backup", time.Now().Add(-10*time.Minute))
	otherPurpose, _ := AdminToken(a.keys, "restore", time.Now())
	cases := []struct {
		name, remote, token string
		header              [2]string
		want                int
	}{
		{"loopback with token", "127.0.0.1:5555", good, [2]string{}, 200},
		{"ipv6 loopback", "[::1]:5555", good, [2]string{}, 200},
		{"remote address", "10.1.2.3:5555", good, [2]string{}, 403},
		{"through a proxy", "127.0.0.1:5555", good, [2]string{"X-Forwarded-For", "203.0.113.9"}, 403},
		{"no token", "127.0.0.1:5555", "", [2]string{}, 403},
		{"token from another key", "127.0.0.1:5555", wrongKey, [2]string{}, 403},
		{"stale token", "127.0.0.1:5555", stale, [2]string{}, 403},
		{"token for another purpose", "127.0.0.1:5555", otherPurpose, [2]string{}, 403},
		{"garbage token", "127.0.0.1:5555", "!!!", [2]string{}, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/admin/backup", nil)
			req.RemoteAddr = c.remote
			if c.token != "" {
				req.Header.Set(adminHeader, c.token)
			}
			if c.header[0] != "" {
				req.Header.Set(c.header[0], c.header[1])
			}
			rec := httptest.NewRecorder()
			a.adminMux.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d", rec.Code, c.want)
			}
			if c.want == 200 && (rec.Body.Len() == 0 || rec.Header().Get("Content-Length") == "") {
				t.Fatal("empty backup")
			}
		})
	}
}

func TestLinkRoutesMounted(t *testing.T) {
	a := newApp(t, testConfig(t, t.TempDir(), nil), nil)
	for _, p := range []string{"/link/unknownunknownunknownunknownunknownunkno", "/oauth/callback?state=x"} {
		rec := httptest.NewRecorder()
		a.mux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, p, nil))
		if rec.Code == http.StatusNotFound && !strings.Contains(rec.Body.String(), "soebot") {
			t.Errorf("%s not routed to linking: %d", p, rec.Code)
		}
	}
}

// TestAdminEndpointsOffThePublicListener: HTTP_ADDR serves only the link
// pages, the OAuth callback and the probes; /metrics and /admin/* answer on
// ADMIN_ADDR alone, which does not serve the link pages.
func TestAdminEndpointsOffThePublicListener(t *testing.T) {
	a := newApp(t, testConfig(t, t.TempDir(), nil), nil)
	serve := func(mux *http.ServeMux, path string) int {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
		req.RemoteAddr = "127.0.0.1:5555"
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, tc := range []struct {
		path          string
		public, admin int
	}{
		{"/metrics", 404, 200},
		{"/admin/backup", 404, 403}, // 403: no admin token
		{"/admin/anything", 404, 404},
		{"/healthz", 200, 404},
		{"/readyz", 503, 404}, // not connected to Slack in this test
		{"/link/" + strings.Repeat("a", 43), 404, 404},
		{"/oauth/callback?state=x", 400, 404},
	} {
		if got := serve(a.mux, tc.path); got != tc.public {
			t.Errorf("public %s: %d, want %d", tc.path, got, tc.public)
		}
		if got := serve(a.adminMux, tc.path); got != tc.admin {
			t.Errorf("admin %s: %d, want %d", tc.path, got, tc.admin)
		}
	}
	if a.AdminAddr() == a.HTTPAddr() || !strings.HasPrefix(a.AdminAddr(), "127.0.0.1:") {
		t.Fatalf("admin %s, http %s", a.AdminAddr(), a.HTTPAddr())
	}
}

// TestAdminListenerFromOptions: a pre-bound admin listener is used as is.
func TestAdminListenerFromOptions(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), map[string]string{"ADMIN_ADDR": "127.0.0.1:1"}) // would fail to bind
	ln, _ := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	adm, _ := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	defer ln.Close()
	defer adm.Close()
	a, err := New(context.Background(), cfg, Options{Listener: ln, AdminListener: adm})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.close() }()
	if a.AdminAddr() != adm.Addr().String() {
		t.Fatalf("%s, want %s", a.AdminAddr(), adm.Addr())
	}
}

// TestAdminAddrInUseStops: a taken ADMIN_ADDR stops the bot with a message
// naming it, and the public listener New had opened is closed again.
func TestAdminAddrInUseStops(t *testing.T) {
	taken, _ := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	defer taken.Close()
	free, _ := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	httpAddr := free.Addr().String()
	free.Close()
	cfg := testConfig(t, t.TempDir(), map[string]string{"HTTP_ADDR": httpAddr, "ADMIN_ADDR": taken.Addr().String()})
	_, err := New(context.Background(), cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), "ADMIN_ADDR") {
		t.Fatalf("%v", err)
	}
	ln, err := new(net.ListenConfig).Listen(t.Context(), "tcp", httpAddr)
	if err != nil {
		t.Fatalf("HTTP_ADDR still held after the failed start: %v", err)
	}
	ln.Close()
}

// TestLinkPagesRateLimitedBehindTrustedProxies: the link pages and the
// callback are limited per client; X-Forwarded-For counts only from
// TRUSTED_PROXIES, so a client rotating a spoofed header stays limited while
// clients behind the real proxy each get their own budget. The probes are
// never limited.
func TestLinkPagesRateLimitedBehindTrustedProxies(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8"})
	ln, _ := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	a, err := New(context.Background(), cfg, Options{Listener: ln, LinkBurst: 2, LinkRate: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.close() })
	serve := func(path, remote, xff string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-For", xff)
		rec := httptest.NewRecorder()
		a.mux.ServeHTTP(rec, req)
		return rec
	}
	link := "/link/" + strings.Repeat("a", 43)
	limited := 0
	for i := range 6 {
		rec := serve(link, "198.51.100.7:4000", fmt.Sprintf("203.0.113.%d", i))
		if rec.Code == http.StatusTooManyRequests {
			limited++
			if rec.Header().Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
	}
	if limited != 4 {
		t.Fatalf("%d of 6 spoofing requests limited, want 4 (burst 2)", limited)
	}
	if rec := serve("/oauth/callback?state=x", "198.51.100.7:4000", ""); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("callback from the limited client: %d", rec.Code)
	}
	if rec := serve("/healthz", "198.51.100.7:4000", ""); rec.Code != http.StatusOK {
		t.Fatalf("healthz limited: %d", rec.Code)
	}
	for i := range 6 {
		if rec := serve(link, "10.0.0.1:4000", fmt.Sprintf("203.0.113.%d", i)); rec.Code != http.StatusNotFound {
			t.Fatalf("client %d behind the trusted proxy: %d", i, rec.Code)
		}
	}
}
