package soe

import (
	"net/http"
	"time"
)

// TokenCallsPerHour is SOE's published sustained budget of one token: the
// token bucket refills 100 calls every 60 s, so 6000 calls an hour (the
// bucket's 5000 only absorbs bursts).
const TokenCallsPerHour = bucketRefill * int(time.Hour/bucketRefillTime)

// TokenBucketSize is the published size of a token's bucket.
const TokenBucketSize = 5000

// Throttle is what the last SOE response sent with one token said about
// its token bucket (x-token-bucket-* headers). Known is false until a
// response carried them.
type Throttle struct {
	Known           bool
	CallsLeft       int           // x-token-bucket-calls-left
	UntilNextRefill time.Duration // x-token-bucket-seconds-until-next-refill
	UntilFull       time.Duration // x-token-bucket-seconds-until-full
	Seen            time.Time     // wall clock of that response
}

// Throttle returns the token bucket state SOE last reported for the
// client's token (shared by every client of that token in this process).
func (c *Client) Throttle() Throttle {
	p := c.svc.pacers.get(c.token)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bucket
}

// recordBucket keeps the token bucket headers of a response (p.mu held).
func (p *pacer) recordBucket(h http.Header, left int) {
	t := Throttle{Known: true, CallsLeft: left, Seen: time.Now()}
	if secs, ok := headerFloat(h, "x-token-bucket-seconds-until-next-refill"); ok {
		t.UntilNextRefill = secondsDur(secs)
	}
	if secs, ok := headerFloat(h, "x-token-bucket-seconds-until-full"); ok {
		t.UntilFull = secondsDur(secs)
	}
	p.bucket = t
}
