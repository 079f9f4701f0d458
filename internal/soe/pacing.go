package soe

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// SOE's documented per-token limits: a burst throttle of 50 requests per 2 s
// and a token bucket of 5000 refilled with 100 every 60 s.
const (
	burstCalls       = 50
	burstWindow      = 2 * time.Second
	bucketRefill     = 100
	bucketRefillTime = 60 * time.Second
	// lowBucket is the x-token-bucket-calls-left level below which the
	// client slows down to the sustainable refill rate.
	lowBucket = 100

	// pacerSafety keeps our pace 10% under the server's so that network
	// jitter between our clock and SOE's never tips a request over.
	pacerSafety = 0.9
)

// The normal pace keeps every 2 s window (not only the average) under the
// burst throttle: a limiter lets through at most burst + window×rate calls
// in any window, so burst 5 and 20/s give 5 + 40 = 45 = 90% of 50. (Burst 45
// at 22.5/s allowed 90 calls in 2 s; found by internal/reliability.)
var (
	normalBurst = 5
	normalRate  = rate.Limit((pacerSafety*burstCalls - float64(normalBurst)) / burstWindow.Seconds()) // 20/s
	slowRate    = rate.Limit(bucketRefill / bucketRefillTime.Seconds())                               // ~1.67/s
)

// pacer paces the requests made with one token.
type pacer struct {
	lim *rate.Limiter

	mu           sync.Mutex
	blockedUntil time.Time
	slow         bool
	bucket       Throttle // last token bucket headers (budget.go)
}

func newPacer() *pacer {
	return &pacer{lim: rate.NewLimiter(normalRate, normalBurst)}
}

// wait blocks until a request may be sent or ctx is done. When the pace
// leaves no room for the request before ctx's deadline it says so at once,
// with a *PacedError naming the wait, instead of sleeping into the deadline.
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	until := p.blockedUntil
	p.mu.Unlock()
	if d := time.Until(until); d > 0 {
		if tooLate(ctx, d) {
			return &PacedError{RetryAfter: d}
		}
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
	}
	r := p.lim.Reserve()
	d := r.Delay()
	if tooLate(ctx, d) {
		r.Cancel()
		return &PacedError{RetryAfter: d}
	}
	if err := sleepCtx(ctx, d); err != nil {
		r.Cancel()
		return err
	}
	return nil
}

// tooLate reports whether waiting d would pass ctx's deadline.
func tooLate(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Now().Add(d).After(dl)
}

// pause makes every request with this token wait at least d.
func (p *pacer) pause(d time.Duration) {
	if d <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := time.Now().Add(d); t.After(p.blockedUntil) {
		p.blockedUntil = t
	}
}

// observe adapts the pace to the throttle headers of a response.
func (p *pacer) observe(h http.Header) {
	if left, ok := headerInt(h, "x-burst-throttle-calls-left"); ok && left <= 0 {
		if secs, ok := headerFloat(h, "x-burst-throttle-seconds-until-full"); ok {
			// One call comes back after 1/25 s; don't wait for the whole refill.
			p.pause(min(secondsDur(secs), burstWindow/burstCalls*2))
		}
	}
	left, ok := headerInt(h, "x-token-bucket-calls-left")
	if !ok {
		return
	}
	if left <= 0 {
		if secs, ok := headerFloat(h, "x-token-bucket-seconds-until-next-refill"); ok {
			p.pause(secondsDur(secs))
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recordBucket(h, left)
	switch {
	case left < lowBucket && !p.slow:
		p.slow = true
		p.lim.SetLimit(slowRate)
		p.lim.SetBurst(1)
	case left >= 2*lowBucket && p.slow:
		p.slow = false
		p.lim.SetLimit(normalRate)
		p.lim.SetBurst(normalBurst)
	}
}

// rateLimitWait derives how long to wait after a 429 from Retry-After or,
// failing that, the SOE throttle headers. def is used when nothing is given.
func rateLimitWait(h http.Header, def time.Duration) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
			return secondsDur(secs)
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(time.Until(t), 0)
		}
	}
	if left, ok := headerInt(h, "x-token-bucket-calls-left"); ok && left <= 0 {
		if secs, ok := headerFloat(h, "x-token-bucket-seconds-until-next-refill"); ok {
			return secondsDur(secs)
		}
	}
	if left, ok := headerInt(h, "x-burst-throttle-calls-left"); ok && left <= 0 {
		if secs, ok := headerFloat(h, "x-burst-throttle-seconds-until-full"); ok {
			return secondsDur(secs)
		}
	}
	return def
}

func headerInt(h http.Header, k string) (int, bool) {
	f, ok := headerFloat(h, k)
	if !ok {
		return 0, false
	}
	return int(math.Floor(f)), true
}

func headerFloat(h http.Header, k string) (float64, bool) {
	v := strings.TrimSpace(h.Get(k))
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func secondsDur(secs float64) time.Duration {
	if secs <= 0 {
		return 0
	}
	if secs > 3600 {
		secs = 3600
	}
	return time.Duration(secs * float64(time.Second))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pacerRegistry holds one pacer per token, bounded by an LRU.
// Tokens are only kept as SHA-256 digests.
type pacerRegistry struct {
	mu  sync.Mutex
	max int
	ll  *list.List // of *pacerEntry, most recent first
	m   map[string]*list.Element
}

type pacerEntry struct {
	key string
	p   *pacer
}

func newPacerRegistry(size int) *pacerRegistry {
	return &pacerRegistry{max: size, ll: list.New(), m: make(map[string]*list.Element)}
}

func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16])
}

func (r *pacerRegistry) get(token string) *pacer {
	key := tokenKey(token)
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.m[key]; ok {
		r.ll.MoveToFront(el)
		return el.Value.(*pacerEntry).p
	}
	p := newPacer()
	r.m[key] = r.ll.PushFront(&pacerEntry{key: key, p: p})
	for r.ll.Len() > r.max {
		last := r.ll.Back()
		r.ll.Remove(last)
		delete(r.m, last.Value.(*pacerEntry).key)
	}
	return p
}
