package soefake

import (
	"net/http"
	"testing"
	"time"
)

func TestThrottleLimits(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	th := &throttle{burst: burstMax, burstAt: t0, bucket: bucketMax, bucketAt: t0}
	// Burst: 50 immediate calls pass, the 51st does not.
	for i := range 50 {
		if !th.take(t0) {
			t.Fatalf("call %d refused", i+1)
		}
	}
	if th.take(t0) {
		t.Fatal("51st call within the burst window allowed")
	}
	h := http.Header{}
	th.writeHeaders(h, t0)
	if h.Get(headerBurstL) != "0" || h.Get(headerBurstF) != "2" || h.Get(headerBucketL) != "4950" {
		t.Fatalf("headers after burst: %v", h)
	}
	if got := th.retryAfter(t0); got != "1" {
		t.Fatalf("retryAfter = %s", got)
	}
	// 40 ms later one call is available again (25/s).
	if !th.take(t0.Add(40 * time.Millisecond)) {
		t.Fatal("burst did not refill at 25/s")
	}

	// Bucket: drain to 0 slowly enough for the burst not to matter.
	tb := &throttle{burst: burstMax, burstAt: t0, bucket: 3, bucketAt: t0}
	now := t0
	for range 3 {
		now = now.Add(time.Second)
		if !tb.take(now) {
			t.Fatal("bucket call refused")
		}
	}
	now = now.Add(time.Second)
	if tb.take(now) {
		t.Fatal("empty bucket allowed a call")
	}
	h = http.Header{}
	tb.writeHeaders(h, now)
	if h.Get(headerBucketL) != "0" || h.Get(headerBucketN) != "56" {
		t.Fatalf("bucket headers: %v", h)
	}
	// After the refill (60 s after the last refill point) 100 calls come back.
	now = t0.Add(60 * time.Second)
	if !tb.take(now) {
		t.Fatal("bucket did not refill")
	}
	h = http.Header{}
	tb.writeHeaders(h, now)
	if h.Get(headerBucketL) != "99" {
		t.Fatalf("after refill: %v", h)
	}
	if want := "3000"; h.Get(headerBucketF) != want { // 4901 missing => 50 refills => 60 + 49*60 s
		t.Fatalf("seconds until full = %s, want %s", h.Get(headerBucketF), want)
	}
}

func TestNormalizeRoute(t *testing.T) {
	tests := map[string]string{
		"/questions":                     "/questions",
		"/questions/12/answers":          "/questions/{id}/answers",
		"/questions/{questionId}":        "/questions/{id}",
		"/users/by-email/a@b.example":    "/users/by-email/{id}",
		"/users/by-email/{email}":        "/users/by-email/{id}",
		"/tags/7/subject-matter-experts": "/tags/{id}/subject-matter-experts",
	}
	for in, want := range tests {
		if got := normalizeRoute(in); got != want {
			t.Errorf("normalizeRoute(%q) = %q, want %q", in, got, want)
		}
	}
	m := normalizeStatusKeys(map[string]int{"post /teams/platform/questions": 500, "GET /api/v3/questions/{questionId}": 404})
	if m["POST /questions"] != 500 || m["GET /questions/{id}"] != 404 {
		t.Fatalf("normalizeStatusKeys = %v", m)
	}
}
