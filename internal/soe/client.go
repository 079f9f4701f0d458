// Package soe is a client for the Stack Overflow Enterprise (Stack Internal)
// API v3, used by soebot on behalf of one Slack user at a time.
//
// A process shares one *Service (HTTP client, per-token pacing); a *Client is
// created cheaply per (user, scope, token). Every call takes a context.
// Tokens never appear in errors, logs or URLs.
package soe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config configures a Service.
type Config struct {
	// APIURL is the API v3 base, e.g. https://acme.stackenterprise.co/api/v3.
	APIURL string
	// UserAgent identifies soebot, e.g. "soebot/dev (+https://bot.example.com)".
	UserAgent string
	// HTTPClient is used for all requests; nil means a client with sane timeouts.
	HTTPClient *http.Client
	// Logger receives debug logs per request (never tokens); nil discards.
	Logger *slog.Logger
	// OnResponse, if set, is called after every HTTP response (metrics).
	// path is a template such as "/questions/{id}" (no ids, no tokens); d is
	// how long the exchange took, from sending the request to the last byte
	// of the answer (before it is decoded).
	OnResponse func(method, path string, status int, d time.Duration)
	// MaxRetries is the number of tries for a GET (default 3). Writes are tried once.
	MaxRetries int

	// RetryBackoff is the base of the capped exponential backoff between GET
	// tries (default 200ms); MaxRetryBackoff caps it (default 3s). Full jitter.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// MaxRateLimitWait is the longest a GET waits after a 429 before being
	// retried transparently (default 10s); longer waits return *RateLimitError.
	// Negative: never wait, always return *RateLimitError.
	MaxRateLimitWait time.Duration
	// MaxTokens bounds the per-token pacer registry (LRU, default 10000).
	MaxTokens int
}

// Service is shared process-wide.
type Service struct {
	base       string
	ua         string
	hc         *http.Client
	log        *slog.Logger
	onResponse func(method, path string, status int, d time.Duration)
	tries      int
	backoff    time.Duration
	maxBackoff time.Duration
	maxRLWait  time.Duration
	pacers     *pacerRegistry
}

// NewService creates a Service from cfg, applying defaults.
func NewService(cfg Config) *Service {
	s := &Service{
		base:       strings.TrimRight(cfg.APIURL, "/"),
		ua:         cfg.UserAgent,
		hc:         cfg.HTTPClient,
		log:        cfg.Logger,
		onResponse: cfg.OnResponse,
		tries:      cfg.MaxRetries,
		backoff:    cfg.RetryBackoff,
		maxBackoff: cfg.MaxRetryBackoff,
		maxRLWait:  cfg.MaxRateLimitWait,
	}
	if s.ua == "" {
		s.ua = "soebot (+https://github.com/soebot/soebot)"
	}
	if s.hc == nil {
		s.hc = defaultHTTPClient()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.tries <= 0 {
		s.tries = 3
	}
	if s.backoff <= 0 {
		s.backoff = 200 * time.Millisecond
	}
	if s.maxBackoff <= 0 {
		s.maxBackoff = 3 * time.Second
	}
	if s.maxRLWait == 0 {
		s.maxRLWait = 10 * time.Second
	}
	maxTokens := cfg.MaxTokens
	if maxTokens <= 0 {
		maxTokens = 10000
	}
	s.pacers = newPacerRegistry(maxTokens)
	return s
}

func defaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   20,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 20 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		// Never follow redirects to other hosts with our bearer token.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 0 && req.URL.Host != via[0].URL.Host {
				return http.ErrUseLastResponse
			}
			if len(via) >= 5 {
				return errors.New("soe: too many redirects")
			}
			return nil
		},
	}
}

// Client calls the API for one scope with one user's token. It is cheap to
// create; its pacing state lives in the Service.
type Client struct {
	svc   *Service
	scope Scope
	token string
}

// Client returns a client for scope authenticated with token.
func (s *Service) Client(scope Scope, token string) *Client {
	return &Client{svc: s, scope: scope, token: token}
}

// Scope returns the client's scope.
func (c *Client) Scope() Scope { return c.scope }

// String never reveals the token.
func (c *Client) String() string { return "soe.Client(" + c.scope.Key() + ")" }

// GoString never reveals the token either.
func (c *Client) GoString() string { return c.String() }

// request describes one API call.
type request struct {
	method   string
	tmpl     string // path template for logs/metrics/errors, e.g. "/questions/{id}"
	path     string // concrete path relative to the scope, e.g. "/questions/12"
	query    url.Values
	body     any
	out      any
	mainOnly bool // path exists only on the main site (e.g. /communities)
}

func (c *Client) get(ctx context.Context, tmpl, path string, q url.Values, out any) error {
	return c.do(ctx, &request{method: http.MethodGet, tmpl: tmpl, path: path, query: q, out: out})
}

// do performs r with pacing and the retry rules: GETs are retried on
// transport errors, 5xx and 429 (within MaxRateLimitWait); writes never.
func (c *Client) do(ctx context.Context, r *request) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("soe: %s %s: %w", r.method, r.tmpl, err)
		}
	}()
	u, payload, err := c.prepare(r)
	if err != nil {
		return err
	}
	tries := 1
	if r.method == http.MethodGet {
		tries = c.svc.tries
	}
	p := c.svc.pacers.get(c.token)
	var lastErr error
	for attempt := 1; attempt <= tries; attempt++ {
		if attempt > 1 {
			c.svc.log.DebugContext(ctx, "soe: retrying", "method", r.method, "path", r.tmpl, "attempt", attempt, "err", lastErr)
		}
		if err := p.wait(ctx); err != nil {
			return errors.Join(err, lastErr)
		}
		var v verdict
		status, hdr, body, err := c.roundTrip(ctx, r, u, payload)
		if err != nil {
			if ctx.Err() != nil {
				return errors.Join(ctx.Err(), lastErr)
			}
			v = verdict{err: &transportError{err: scrubErr(err, c.token)}, retry: true, wait: c.svc.backoffFor(attempt)}
		} else {
			p.observe(hdr)
			v = c.judge(r, status, hdr, body, attempt, p)
		}
		if !v.retry {
			return v.err
		}
		lastErr = v.err
		if attempt < tries {
			if err := sleepCtx(ctx, v.wait); err != nil {
				return errors.Join(err, lastErr)
			}
		}
	}
	return lastErr
}

// prepare checks that the client can make r and builds its URL and JSON
// body.
func (c *Client) prepare(r *request) (string, []byte, error) {
	if c.token == "" {
		return "", nil, &StatusError{Status: http.StatusUnauthorized, Body: "no access token"}
	}
	if c.svc.base == "" {
		return "", nil, errors.New("no API URL configured")
	}
	u := c.svc.base
	if !r.mainOnly {
		u += c.scope.pathPrefix()
	}
	u += r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	if r.body == nil {
		return u, nil, nil
	}
	payload, err := json.Marshal(r.body)
	if err != nil {
		return "", nil, fmt.Errorf("encoding request: %w", err)
	}
	return u, payload, nil
}

// verdict is what one try of a request came to: the call's result, or (when
// retry is set) an error worth another try after wait.
type verdict struct {
	err   error
	retry bool
	wait  time.Duration
}

// judge turns the response to try number attempt into a verdict. A 429
// pauses the token's pacer; it is retried when SOE asks for a wait no longer
// than MaxRateLimitWait.
func (c *Client) judge(r *request, status int, hdr http.Header, body []byte, attempt int, p *pacer) verdict {
	switch {
	case status >= 200 && status < 300:
		return verdict{err: decodeBody(r.out, status, body)}
	case status == http.StatusTooManyRequests:
		wait := rateLimitWait(hdr, time.Second)
		p.pause(wait)
		return verdict{err: &RateLimitError{RetryAfter: wait}, retry: wait <= c.svc.maxRLWait, wait: wait}
	case status >= 500:
		return verdict{err: parseErrorBody(status, body, c.token), retry: true, wait: c.svc.backoffFor(attempt)}
	default:
		e := parseErrorBody(status, body, c.token)
		if pe := (*ProblemError)(nil); errors.As(e, &pe) && r.method != http.MethodGet {
			pe.write = true
		}
		return verdict{err: e}
	}
}

// decodeBody decodes a successful response into out (when the caller wants
// it and there is a body).
func decodeBody(out any, status int, body []byte) error {
	if out == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decoding response (HTTP %d): %w", status, err)
	}
	return nil
}

// roundTrip sends one HTTP request and reads the whole (bounded) body.
func (c *Client) roundTrip(ctx context.Context, r *request, u string, payload []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.svc.ua)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.svc.hc.Do(req)
	if err != nil {
		c.svc.log.DebugContext(ctx, "soe: request failed", "method", r.method, "path", r.tmpl, "err", scrubErr(err, c.token))
		return 0, nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }() // all of it was read: nothing to report
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	took := time.Since(start)
	c.svc.log.DebugContext(ctx, "soe: response", "method", r.method, "path", r.tmpl, "scope", c.scope.Key(),
		"status", resp.StatusCode, "duration", took,
		"burst_left", resp.Header.Get("x-burst-throttle-calls-left"),
		"bucket_left", resp.Header.Get("x-token-bucket-calls-left"))
	if c.svc.onResponse != nil {
		c.svc.onResponse(r.method, r.tmpl, resp.StatusCode, took)
	}
	return resp.StatusCode, resp.Header, body, nil
}

func (s *Service) backoffFor(attempt int) time.Duration {
	d := s.backoff << (attempt - 1)
	if d <= 0 || d > s.maxBackoff {
		d = s.maxBackoff
	}
	// Equal jitter: between d/2 and d.
	return d/2 + rand.N(d/2+1) //nolint:gosec // G404: jitter spreads retries out, it guards no secret
}

// scrubErr makes sure no error text contains the token.
func scrubErr(err error, token string) error {
	if err == nil || token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(scrub(err.Error(), token))
}

// --- pagination -------------------------------------------------------------

// Page is one page of a paginated list.
type Page[T any] struct {
	TotalCount int
	PageSize   int
	Page       int
	TotalPages int
	Sort       string
	Order      string
	Items      []T
}

type wirePage[W any] struct {
	TotalCount int    `json:"totalCount"`
	PageSize   int    `json:"pageSize"`
	Page       int    `json:"page"`
	TotalPages int    `json:"totalPages"`
	Sort       string `json:"sort"`
	Order      string `json:"order"`
	Items      []W    `json:"items"`
}

func convertPage[W, T any](w *wirePage[W], conv func(*W) T) *Page[T] {
	p := &Page[T]{TotalCount: w.TotalCount, PageSize: w.PageSize, Page: w.Page, TotalPages: w.TotalPages,
		Sort: w.Sort, Order: w.Order, Items: make([]T, 0, len(w.Items))}
	for i := range w.Items {
		p.Items = append(p.Items, conv(&w.Items[i]))
	}
	return p
}

// pageQuery validates and encodes the common paging parameters.
func pageQuery(page, size int, sort, order string) (url.Values, error) {
	if err := checkPageSize(size); err != nil {
		return nil, err
	}
	if page < 0 {
		return nil, fmt.Errorf("soe: invalid page %d", page)
	}
	q := url.Values{}
	if page > 0 {
		q.Set("page", strconv.Itoa(page))
	}
	if size > 0 {
		q.Set("pageSize", strconv.Itoa(size))
	}
	if sort != "" {
		q.Set("sort", sort)
	}
	if order != "" {
		q.Set("order", order)
	}
	return q, nil
}

func checkPageSize(n int) error {
	switch n {
	case 0, 15, 30, 50, 100:
		return nil
	}
	return fmt.Errorf("%w (got %d)", ErrBadPageSize, n)
}

// walk iterates over all items of a paginated list starting at page start,
// until the last page (totalPages) or an empty page.
func walk[T any](ctx context.Context, start int, fetch func(ctx context.Context, page int) (*Page[T], error)) func(yield func(T, error) bool) {
	return func(yield func(T, error) bool) {
		page := max(start, 1)
		for {
			p, err := fetch(ctx, page)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
			if len(p.Items) == 0 || page >= p.TotalPages {
				return
			}
			page++
		}
	}
}

// --- JSON helpers -----------------------------------------------------------

// apiTime decodes SOE timestamps: RFC 3339 with or without fraction/zone
// (zone-less values are UTC), or null.
type apiTime struct{ t *time.Time }

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02",
}

func (a *apiTime) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" || s == `""` {
		a.t = nil
		return nil
	}
	str, err := strconv.Unquote(s)
	if err != nil {
		return fmt.Errorf("soe: bad time %s", s)
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, str); err == nil {
			t = t.UTC()
			a.t = &t
			return nil
		}
	}
	// Unparseable times are tolerated (ignored) rather than failing the whole call.
	a.t = nil
	return nil
}

func (a apiTime) val() time.Time {
	if a.t == nil {
		return time.Time{}
	}
	return *a.t
}

func (a apiTime) ptr() *time.Time {
	if a.t == nil {
		return nil
	}
	t := *a.t
	return &t
}
