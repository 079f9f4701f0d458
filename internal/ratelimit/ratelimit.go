// Package ratelimit limits unauthenticated HTTP requests per client address
// (a token bucket per address, golang.org/x/time/rate) with bounded memory.
//
// The client address is the TCP peer, unless the peer is a trusted reverse
// proxy: then X-Forwarded-For is read from the right, skipping trusted
// proxies, and the first address that is not one is the client. A request
// from an untrusted peer is keyed by that peer whatever headers it sends, so
// a spoofed X-Forwarded-For cannot dodge the limit or frame someone else.
// IPv6 clients are keyed by their /64 (one host usually owns a whole /64).
package ratelimit

import (
	"container/list"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults for Config.
const (
	DefaultRate       = rate.Limit(1) // requests per second, sustained
	DefaultBurst      = 30
	DefaultMaxClients = 10000
)

// Config configures a Limiter. The zero value uses the defaults and trusts
// no proxy.
type Config struct {
	Rate  rate.Limit // per client, sustained (default DefaultRate)
	Burst int        // per client (default DefaultBurst)
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// MaxClients bounds the addresses remembered at once (default
	// DefaultMaxClients); beyond it the least recently seen is forgotten.
	MaxClients int
	Now        func() time.Time
}

// Limiter is safe for concurrent use.
type Limiter struct {
	cfg  Config
	idle time.Duration // after this long unseen, a bucket is full again

	mu      sync.Mutex
	clients map[netip.Addr]*list.Element // of *client
	lru     *list.List                   // front: most recently seen
}

type client struct {
	key  netip.Addr
	lim  *rate.Limiter
	seen time.Time
}

// New returns a Limiter for cfg.
func New(cfg Config) *Limiter {
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	idle := time.Duration(float64(cfg.Burst) / float64(cfg.Rate) * float64(time.Second))
	return &Limiter{cfg: cfg, idle: max(idle, time.Second), clients: map[netip.Addr]*list.Element{}, lru: list.New()}
}

// Allow reports whether r may be served now and, when not, how long the
// client should wait.
func (l *Limiter) Allow(r *http.Request) (bool, time.Duration) {
	return l.allowKey(key(ClientAddr(r, l.cfg.TrustedProxies)))
}

// Len is how many client addresses are remembered.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

func (l *Limiter) allowKey(k netip.Addr) (bool, time.Duration) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evictIdle(now)
	c := l.touch(k, now)
	res := c.lim.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// touch returns k's bucket, marked as seen now, creating it (and forgetting
// the least recently seen address when full) if needed.
func (l *Limiter) touch(k netip.Addr, now time.Time) *client {
	if e, ok := l.clients[k]; ok {
		c := e.Value.(*client)
		c.seen = now
		l.lru.MoveToFront(e)
		return c
	}
	for len(l.clients) >= l.cfg.MaxClients {
		l.remove(l.lru.Back())
	}
	c := &client{key: k, lim: rate.NewLimiter(l.cfg.Rate, l.cfg.Burst), seen: now}
	l.clients[k] = l.lru.PushFront(c)
	return c
}

// evictIdle forgets addresses unseen for l.idle: their buckets have refilled,
// so forgetting them changes no answer.
func (l *Limiter) evictIdle(now time.Time) {
	for e := l.lru.Back(); e != nil && now.Sub(e.Value.(*client).seen) >= l.idle; e = l.lru.Back() {
		l.remove(e)
	}
}

func (l *Limiter) remove(e *list.Element) {
	delete(l.clients, e.Value.(*client).key)
	l.lru.Remove(e)
}

// key is the bucket of a client: IPv4 addresses alone, IPv6 by /64.
func key(a netip.Addr) netip.Addr {
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a
}

// ClientAddr returns the address of the client that sent r: the TCP peer, or,
// when the peer is in trusted, the rightmost X-Forwarded-For entry that is
// not itself a trusted proxy. A malformed entry stops the walk at the last
// trusted hop. The zero Addr means the peer address could not be parsed.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := peer.Addr().Unmap()
	if !contains(trusted, addr) {
		return addr
	}
	hops := forwardedFor(r.Header.Values("X-Forwarded-For"))
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			return addr
		}
		addr = hop
		if !contains(trusted, hop) {
			return hop
		}
	}
	return addr
}

// forwardedFor splits every X-Forwarded-For header, in order.
func forwardedFor(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, strings.Split(v, ",")...)
	}
	return out
}

// parseHop reads one X-Forwarded-For entry: an address, optionally with a
// port (1.2.3.4:56, [2001:db8::1]:56).
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func contains(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParsePrefixes parses a comma-separated list of CIDRs (a bare address means
// that address alone). Empty items are ignored; the error names every item
// that is neither.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var bad []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		bad = append(bad, strconv.Quote(item))
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("not a CIDR or an address: %s", strings.Join(bad, ", "))
	}
	return out, nil
}
