package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}))
	defer srv.Close()
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ln, _ := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	free := ln.Addr().String()
	ln.Close()

	for _, tc := range []struct {
		name, addr string
		code       int
		out, errs  string
	}{
		{"healthy", srv.Listener.Addr().String(), 0, "ok", ""},
		{"all interfaces means loopback", ":" + port, 0, "ok", ""},
		{"unhealthy", sick.Listener.Addr().String(), 1, "", "status 503"},
		{"nothing listens", free, 1, "", "healthcheck:"},
		{"bad address", "8080", 1, "", "bad HTTP_ADDR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runBot(t, map[string]string{"HTTP_ADDR": tc.addr}, "healthcheck")
			if code != tc.code || strings.TrimSpace(out) != tc.out || !strings.Contains(errs, tc.errs) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errs, tc.code, tc.out, tc.errs)
			}
		})
	}
}
