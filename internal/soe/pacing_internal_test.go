package soe

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestPacerSlowsDownWhenBucketLow(t *testing.T) {
	p := newPacer()
	if p.lim.Limit() != normalRate || p.lim.Burst() != normalBurst {
		t.Fatalf("initial %v/%d", p.lim.Limit(), p.lim.Burst())
	}
	p.observe(hdr("x-token-bucket-calls-left", "4000"))
	if p.lim.Limit() != normalRate {
		t.Fatal("slowed down with a full bucket")
	}
	p.observe(hdr("x-token-bucket-calls-left", "42", "x-token-bucket-seconds-until-next-refill", "30"))
	if p.lim.Limit() != slowRate || p.lim.Burst() != 1 {
		t.Fatalf("low bucket: %v/%d", p.lim.Limit(), p.lim.Burst())
	}
	// Hysteresis: stays slow until the bucket is comfortably refilled.
	p.observe(hdr("x-token-bucket-calls-left", "150"))
	if p.lim.Limit() != slowRate {
		t.Fatal("sped up too early")
	}
	p.observe(hdr("x-token-bucket-calls-left", "300"))
	if p.lim.Limit() != normalRate || p.lim.Burst() != normalBurst {
		t.Fatal("did not recover")
	}
	// Empty bucket: block until the next refill.
	p.observe(hdr("x-token-bucket-calls-left", "0", "x-token-bucket-seconds-until-next-refill", "30"))
	if d := time.Until(p.blockedUntil); d < 29*time.Second || d > 31*time.Second {
		t.Fatalf("blocked for %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.wait(ctx); err == nil {
		t.Fatal("wait ignored the block")
	}
}

func TestPacerBurstEmptyShortPause(t *testing.T) {
	p := newPacer()
	p.observe(hdr("x-burst-throttle-calls-left", "0", "x-burst-throttle-seconds-until-full", "2"))
	if d := time.Until(p.blockedUntil); d <= 0 || d > 100*time.Millisecond {
		t.Fatalf("burst pause %v", d)
	}
}

func TestRateLimitWait(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"retry-after seconds", hdr("Retry-After", "3"), 3 * time.Second},
		{"bucket empty", hdr("x-token-bucket-calls-left", "0", "x-token-bucket-seconds-until-next-refill", "45"), 45 * time.Second},
		{"burst empty", hdr("x-burst-throttle-calls-left", "0", "x-burst-throttle-seconds-until-full", "2"), 2 * time.Second},
		{"nothing", hdr(), time.Second},
		{"garbage", hdr("Retry-After", "soon", "x-burst-throttle-calls-left", "NaN"), time.Second},
		{"huge capped", hdr("Retry-After", "999999"), time.Hour},
	}
	for _, tc := range tests {
		if got := rateLimitWait(tc.h, time.Second); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPacerRegistryIsBounded(t *testing.T) {
	r := newPacerRegistry(3)
	a := r.get("a")
	r.get("b")
	r.get("c")
	if r.get("a") != a {
		t.Fatal("same token, different pacer")
	}
	r.get("d") // evicts b (least recently used)
	if r.ll.Len() != 3 {
		t.Fatalf("len %d", r.ll.Len())
	}
	if r.get("a") != a {
		t.Fatal("a evicted although recently used")
	}
	for k := range r.m {
		if k == "a" || k == "b" {
			t.Fatal("raw token used as key")
		}
	}
}

func TestAPITime(t *testing.T) {
	tests := map[string]string{
		`"2018-04-08T10:30:21.254Z"`:  "2018-04-08T10:30:21.254Z",
		`"1955-11-12T22:04:00.0"`:     "1955-11-12T22:04:00Z",
		`"2024-01-02T03:04:05+02:00"`: "2024-01-02T01:04:05Z",
		`"2024-01-02"`:                "2024-01-02T00:00:00Z",
		`null`:                        "",
		`"garbage"`:                   "",
	}
	for in, want := range tests {
		var a apiTime
		if err := a.UnmarshalJSON([]byte(in)); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		got := ""
		if a.t != nil {
			got = a.t.Format(time.RFC3339Nano)
		}
		if got != want {
			t.Errorf("%s => %q, want %q", in, got, want)
		}
	}
}

// Issue 21, busy is not broken: a pace that leaves no room before the
// deadline is a *PacedError at once, naming the wait, not a timeout.
func TestPacerSaysBusyBeforeTheDeadline(t *testing.T) {
	p := newPacer()
	p.observe(hdr("x-token-bucket-calls-left", "0", "x-token-bucket-seconds-until-next-refill", "30"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err := p.wait(ctx)
	var pe *PacedError
	if !errors.As(err, &pe) || pe.RetryAfter < 29*time.Second || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("wait = %v after %v, want a PacedError of ~30s at once", err, time.Since(start))
	}
	q := newPacer()
	for range normalBurst { // the burst is used up: the next call must wait ~50ms
		if err := q.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel2 := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel2()
	if err := q.wait(short); !errors.As(err, &pe) {
		t.Fatalf("wait past the deadline = %v, want a PacedError", err)
	}
	if err := q.wait(context.Background()); err != nil {
		t.Fatalf("a refused wait kept its slot: %v", err)
	}
}
