package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

// req is a request as the server sees it; the limiter reads only its
// addresses, so it needs no test-bound context.
func req(remote string, xff ...string) *http.Request {
	r := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/link/x", nil)
	r.RemoteAddr = remote
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	return r
}

func mustPrefixes(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := ParsePrefixes(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLimiterBurstThenRetryAfter(t *testing.T) {
	c := newClock()
	l := New(Config{Rate: 1, Burst: 3, Now: c.now})
	for i := range 3 {
		if ok, _ := l.Allow(req("198.51.100.7:4000")); !ok {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	ok, wait := l.Allow(req("198.51.100.7:4001"))
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("4th request: ok=%v wait=%v, want refused with a wait up to 1s", ok, wait)
	}
	// A refused request does not use up a token: after the wait, one passes.
	c.add(wait)
	if ok, _ := l.Allow(req("198.51.100.7:4002")); !ok {
		t.Fatal("refused after waiting Retry-After")
	}
	// Another address has its own bucket.
	if ok, _ := l.Allow(req("198.51.100.8:4000")); !ok {
		t.Fatal("another client was limited")
	}
}

func TestLimiterIPv6KeyedBySlash64(t *testing.T) {
	c := newClock()
	l := New(Config{Rate: 1, Burst: 2, Now: c.now})
	for _, a := range []string{"[2001:db8:1:2::1]:1", "[2001:db8:1:2:ffff::9]:1"} {
		if ok, _ := l.Allow(req(a)); !ok {
			t.Fatalf("%s refused", a)
		}
	}
	if ok, _ := l.Allow(req("[2001:db8:1:2:abcd::1]:1")); ok {
		t.Fatal("a third address of the same /64 got a fresh bucket")
	}
	if ok, _ := l.Allow(req("[2001:db8:1:3::1]:1")); !ok {
		t.Fatal("another /64 was limited")
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	c := newClock()
	l := New(Config{Rate: 10, Burst: 10, MaxClients: 100, Now: c.now})
	for i := range 1000 {
		l.Allow(req(fmt.Sprintf("10.0.%d.%d:1", i/256, i%256)))
	}
	if n := l.Len(); n != 100 {
		t.Fatalf("%d addresses remembered, want the cap 100", n)
	}
	// Idle addresses are forgotten once their bucket would be full again
	// (burst/rate = 1s).
	c.add(1100 * time.Millisecond)
	l.Allow(req("192.0.2.1:1"))
	if n := l.Len(); n != 1 {
		t.Fatalf("%d addresses remembered after everyone went idle, want 1", n)
	}
}

func TestLimiterKeepsALimitedClientWhileActive(t *testing.T) {
	c := newClock()
	l := New(Config{Rate: 1, Burst: 1, MaxClients: 10, Now: c.now})
	l.Allow(req("203.0.113.5:1"))
	for range 5 {
		c.add(100 * time.Millisecond)
		if ok, _ := l.Allow(req("203.0.113.5:1")); ok {
			t.Fatal("a client over its limit passed (its bucket was forgotten while active)")
		}
	}
}

func TestClientAddr(t *testing.T) {
	trusted := mustPrefixes(t, "10.0.0.0/8, 2001:db8:ffff::/48, 192.0.2.10")
	cases := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"direct client", "198.51.100.7:5000", nil, "198.51.100.7"},
		{"untrusted peer spoofing X-Forwarded-For is ignored", "198.51.100.7:5000", []string{"203.0.113.1"}, "198.51.100.7"},
		{"trusted proxy", "10.1.2.3:5000", []string{"203.0.113.1"}, "203.0.113.1"},
		{"client-supplied prefix is not believed", "10.1.2.3:5000", []string{"6.6.6.6, 203.0.113.1"}, "203.0.113.1"},
		{"two trusted proxies", "10.1.2.3:5000", []string{"203.0.113.1, 10.9.9.9"}, "203.0.113.1"},
		{"several headers in order", "10.1.2.3:5000", []string{"6.6.6.6", "203.0.113.1", "10.9.9.9"}, "203.0.113.1"},
		{"single trusted address", "192.0.2.10:80", []string{"203.0.113.2"}, "203.0.113.2"},
		{"address next to a trusted one", "192.0.2.11:80", []string{"203.0.113.2"}, "192.0.2.11"},
		{"trusted proxy without header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"malformed hop stops at the last trusted hop", "10.1.2.3:5000", []string{"203.0.113.1, garbage"}, "10.1.2.3"},
		{"hop with port", "10.1.2.3:5000", []string{"203.0.113.1:4444"}, "203.0.113.1"},
		{"ipv6 proxy and client", "[2001:db8:ffff::1]:443", []string{"[2001:db8:1::5]:1234"}, "2001:db8:1::5"},
		{"ipv4-mapped peer", "[::ffff:10.1.2.3]:5000", []string{"203.0.113.1"}, "203.0.113.1"},
		{"all hops trusted", "10.1.2.3:5000", []string{"10.4.4.4"}, "10.4.4.4"},
		{"unparsable peer", "pipe", nil, "invalid IP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ClientAddr(req(c.remote, c.xff...), trusted).String(); got != c.want {
				t.Fatalf("ClientAddr = %s, want %s", got, c.want)
			}
		})
	}
	// With no trusted proxies the header never counts.
	if got := ClientAddr(req("10.1.2.3:1", "203.0.113.1"), nil).String(); got != "10.1.2.3" {
		t.Fatalf("no trusted proxies: %s", got)
	}
}

func TestSpoofedForwardedForCannotDodgeTheLimit(t *testing.T) {
	c := newClock()
	l := New(Config{Rate: 1, Burst: 2, TrustedProxies: mustPrefixes(t, "10.0.0.0/8"), Now: c.now})
	passed := 0
	for i := range 10 {
		if ok, _ := l.Allow(req("198.51.100.7:5000", fmt.Sprintf("203.0.113.%d", i))); ok {
			passed++
		}
	}
	if passed != 2 {
		t.Fatalf("%d requests with rotating spoofed X-Forwarded-For passed, want the burst of 2", passed)
	}
	// Behind the trusted proxy, each real client has its own bucket.
	for i := range 10 {
		if ok, _ := l.Allow(req("10.0.0.1:5000", fmt.Sprintf("203.0.113.%d", i))); !ok {
			t.Fatalf("client %d behind the trusted proxy was limited", i)
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes(" 10.0.0.0/8,,192.0.2.1 , 2001:db8::/32, 10.1.2.3/8")
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, p := range got {
		s = append(s, p.String())
	}
	if strings.Join(s, " ") != "10.0.0.0/8 192.0.2.1/32 2001:db8::/32 10.0.0.0/8" {
		t.Fatalf("%v", s)
	}
	if _, err := ParsePrefixes("10.0.0.0/8, example.com, 10.0.0.0/33"); err == nil ||
		!strings.Contains(err.Error(), `"example.com"`) || !strings.Contains(err.Error(), `"10.0.0.0/33"`) {
		t.Fatalf("%v", err)
	}
	if p, err := ParsePrefixes(""); err != nil || len(p) != 0 {
		t.Fatalf("%v %v", p, err)
	}
}
