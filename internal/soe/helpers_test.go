package soe_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

// contractValidator loads the SOE OpenAPI document once per test binary
// ($SOE_OPENAPI_SPEC or ../shared/soe-v3/openapi.json from the module root).
// Missing: skip locally, FAIL in CI (CI=true).
func contractValidator(t testing.TB) *soefake.OpenAPIValidator {
	t.Helper()
	specVal, specErr := soefake.SharedValidator()
	if specErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("OpenAPI document required in CI: %v", specErr)
		}
		t.Skipf("OpenAPI document unavailable: %v", specErr)
	}
	return specVal
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	fake *soefake.Server
	svc  *soe.Service
	logs *syncBuffer
}

// newEnv starts a seeded fake that validates every request the client sends
// and every response it gets against the OpenAPI document, and a Service
// with fast retries. Contract violations fail the test.
func newEnv(t *testing.T, opts soefake.Options, cfg soe.Config) *env {
	t.Helper()
	v := contractValidator(t)
	opts.Seed = true
	f := soefake.New(opts)
	f.SetValidator(v.Validate)
	t.Cleanup(func() {
		f.Close()
		for _, err := range f.ValidationErrors() {
			t.Errorf("contract violation: %v", err)
		}
	})
	logs := &syncBuffer{}
	cfg.APIURL = f.APIURL()
	cfg.UserAgent = "soebot/test (+https://bot.example.com)"
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = 5 * time.Millisecond
	}
	if cfg.MaxRetryBackoff == 0 {
		cfg.MaxRetryBackoff = 20 * time.Millisecond
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return &env{fake: f, svc: soe.NewService(cfg), logs: logs}
}

func ptr[T any](v T) *T { return &v }

func slogText(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
