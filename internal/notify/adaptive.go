package notify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// Adaptive polling (issue 17, point 6). Each scope has its own interval
// between Options.IntervalMin and Options.Interval: short while its feed
// moves, backing off as it goes quiet, and never so short that polling
// spends more than budgetShare of any one owner's SOE token budget. The
// feed reads rotate over the owners' tokens (only the tokens candidates
// allows), least used first. The schedule and the calls each token made
// for the poller in the last hour are stored per scope (bucketAdaptive),
// so a new poller replica picks them up.

// bucketAdaptive: scope key → adaptState.
var bucketAdaptive = []byte("notify_adaptive")

const (
	// budgetShare is the most of one token's hourly budget polling may use.
	budgetShare = 0.10
	// activityDecay: the interval is the time since the feed last moved
	// divided by this (clamped), so a minute of quiet means 15 s and four
	// minutes the maximum of 60 s.
	activityDecay = 4
	// strainedLeft: a token whose bucket SOE reports (or we estimate) below
	// this is its owner's, busy elsewhere; the poller leaves it alone.
	strainedLeft = soe.TokenBucketSize / 10
	// callsWeight is the weight of the last cycle in the calls-per-cycle average.
	callsWeight = 0.3
	// bucketRefillPerMinute is SOE's published refill of a token bucket.
	bucketRefillPerMinute = soe.TokenCallsPerHour / 60
	// floorMargin: the interval floor aims under the allowance, so that
	// costlier cycles than the average rarely meet the hard stop (roomLeft).
	floorMargin = 0.9
)

// TokenAllowance is how many SOE calls an hour the poller may make with one
// token: budgetShare of SOE's published per-token budget.
func TokenAllowance() int { return int(budgetShare * float64(soe.TokenCallsPerHour)) }

// adaptState is one scope's polling schedule.
type adaptState struct {
	Interval      time.Duration        `json:"iv,omitempty"`
	NextPoll      time.Time            `json:"next,omitzero"`
	LastActivity  time.Time            `json:"act,omitzero"` // local clock of the last feed move
	Watermark     time.Time            `json:"wm,omitzero"`  // scope watermark at the last look
	CallsPerCycle float64              `json:"cpc,omitempty"`
	Tokens        map[string]*tokenUse `json:"tok,omitempty"` // team/user → use
}

// tokenUse is what the poller knows of one owner's token in a scope.
type tokenUse struct {
	Minutes []minuteCalls `json:"m,omitempty"` // poller calls per minute, last hour
	// Left is the bucket SOE last reported (Known) at LeftAt (local clock).
	Left   int       `json:"left,omitempty"`
	Known  bool      `json:"known,omitempty"`
	LeftAt time.Time `json:"at,omitzero"`
}

type minuteCalls struct {
	Minute int64 `json:"t"` // unix minute
	N      int   `json:"n"`
}

func unixMinute(t time.Time) int64 { return t.Unix() / 60 }

// add counts n poller calls at now and forgets what is older than an hour.
func (u *tokenUse) add(now time.Time, n int) {
	m := unixMinute(now)
	u.Minutes = slices.DeleteFunc(u.Minutes, func(c minuteCalls) bool { return c.Minute <= m-60 })
	if k := len(u.Minutes); k > 0 && u.Minutes[k-1].Minute == m {
		u.Minutes[k-1].N += n
		return
	}
	if n > 0 {
		u.Minutes = append(u.Minutes, minuteCalls{Minute: m, N: n})
	}
}

// lastHour is the poller's calls with this token in the hour before now.
func (u *tokenUse) lastHour(now time.Time) int {
	if u == nil {
		return 0
	}
	m, n := unixMinute(now), 0
	for _, c := range u.Minutes {
		if c.Minute > m-60 {
			n += c.N
		}
	}
	return n
}

// strained reports whether the token's bucket is, by SOE's last report and
// its published refill since, below strainedLeft.
func (u *tokenUse) strained(now time.Time) bool {
	if u == nil || !u.Known {
		return false
	}
	est := u.Left + int(now.Sub(u.LeftAt)/time.Minute)*bucketRefillPerMinute
	return est < strainedLeft
}

// control is everything the interval depends on.
type control struct {
	Min, Max      time.Duration
	Prev          time.Duration // the interval before (0: none)
	SinceActivity time.Duration // since the feed last moved; < 0: never seen moving
	Failed        bool          // the last cycle failed
	CallsPerCycle float64       // SOE calls a cycle of this scope makes (average)
	Tokens        int           // owners' tokens that may feed the scope
	Healthy       int           // of them, not strained
}

// nextInterval is the scope's next poll interval: activity sets it between
// Min and Max, a failure doubles it (up to Max), and the budget floor keeps
// each healthy token under TokenAllowance calls an hour when the cycles
// rotate over them, even above Max.
func nextInterval(c control) time.Duration {
	d := c.Max
	if c.SinceActivity >= 0 {
		d = min(max(c.SinceActivity/activityDecay, c.Min), c.Max)
	}
	if c.Failed && c.Prev > 0 {
		d = max(d, min(2*c.Prev, c.Max))
	}
	if c.Tokens > 0 && c.Healthy == 0 {
		d = c.Max // every owner's token is busy: leave them their budget
	}
	n := max(c.Healthy, 1)
	calls := max(c.CallsPerCycle, 1)
	floor := time.Duration(math.Ceil(calls * float64(time.Hour) / (floorMargin * float64(n*TokenAllowance()))))
	return max(d, floor)
}

// adaptRun is a scope's schedule during one cycle (scopePlan.adapt).
type adaptRun struct {
	state  adaptState
	fedBy  string // team/user whose token read the feed
	client *soe.Client
}

// ScopeSchedule is a scope's schedule after a cycle (CycleStats.Schedules).
type ScopeSchedule struct {
	Scope    string
	Interval time.Duration
	// MaxShare is the largest share of one token's hourly budget
	// (soe.TokenCallsPerHour) the poller used in the last hour.
	MaxShare float64
	Tokens   int // owners' tokens seen feeding the scope in the last hour
}

// schedule is one cycle's view of the scopes' schedules.
type schedule struct {
	dueOnly bool      // poll only the scopes whose time has come (Run)
	next    time.Time // the earliest next poll of the cycle's scopes
}

func (sc *schedule) at(t time.Time) {
	if sc.next.IsZero() || t.Before(sc.next) {
		sc.next = t
	}
}

// adaptive reports whether intervals adapt (IntervalMin below Interval).
func (s *Service) adaptive() bool { return s.opts.IntervalMin < s.opts.Interval }

// PollDue polls the scopes whose interval has passed (all of them when
// intervals do not adapt) and returns when the next one is due.
func (s *Service) PollDue(ctx context.Context) (CycleStats, time.Time, error) {
	sc := &schedule{dueOnly: s.adaptive()}
	st, err := s.pollCycleFor(ctx, sc)
	return st, sc.next, err
}

// nextWait is how long Run waits after a cycle whose scopes are next due at
// next: between a tenth of IntervalMin and Interval.
func (s *Service) nextWait(next time.Time) time.Duration {
	if !s.adaptive() || next.IsZero() {
		return s.opts.Interval
	}
	return min(max(next.Sub(s.now()), s.opts.IntervalMin/10, 100*time.Millisecond), s.opts.Interval)
}

// scheduled loads p's schedule and reports whether p is to be polled now.
func (s *Service) scheduled(ctx context.Context, p *scopePlan, sc *schedule) bool {
	if !s.adaptive() {
		return true // a fixed interval: every cycle polls every scope
	}
	a, err := s.adaptState(ctx, p.scope)
	if err != nil {
		s.log.WarnContext(ctx, "reading the poll schedule failed; polling anyway", "scope", p.scope.Key(), "err", err)
	}
	p.adapt = &adaptRun{state: a}
	if !sc.dueOnly {
		return true
	}
	now := s.now()
	if now.Before(a.NextPoll) {
		sc.at(a.NextPoll)
		return false
	}
	if !a.roomLeft(now) {
		s.log.InfoContext(ctx, "every owner's token used its polling share this hour; waiting", "scope", p.scope.Key())
		sc.at(time.Unix((unixMinute(now)+1)*60, 0)) // the hour's oldest minute drops out then
		return false
	}
	return true
}

// roomLeft reports whether some token seen feeding the scope may still make
// a cycle's calls this hour (true when none was seen yet).
func (a *adaptState) roomLeft(now time.Time) bool {
	if len(a.Tokens) == 0 {
		return true
	}
	need := int(math.Ceil(max(a.CallsPerCycle, 1)))
	for _, u := range a.Tokens {
		if u.lastHour(now)+need <= TokenAllowance() {
			return true
		}
	}
	return false
}

// rotate orders the cycle's candidates for the budget: healthy tokens
// first, then the ones least used by the poller in the last hour; ties keep
// candidates' order (owners of the oldest subscriptions first).
func (s *Service) rotate(p *scopePlan, ls []linking.Link) []linking.Link {
	if !s.adaptive() || p.adapt == nil || len(ls) < 2 {
		return ls
	}
	now := s.now()
	use := func(l linking.Link) *tokenUse { return p.adapt.state.Tokens[teamKey(l.TeamID, l.UserID)] }
	sort.SliceStable(ls, func(i, j int) bool {
		ui, uj := use(ls[i]), use(ls[j])
		if si, sj := ui.strained(now), uj.strained(now); si != sj {
			return sj
		}
		return ui.lastHour(now) < uj.lastHour(now)
	})
	return ls
}

// fed records that l's token (client c) reads the scope in this cycle.
func (p *scopePlan) fed(l linking.Link, c *soe.Client) {
	if p.adapt != nil {
		p.adapt.fedBy, p.adapt.client = teamKey(l.TeamID, l.UserID), c
	}
}

// polled updates p's schedule after its cycle (calls SOE calls made; err
// the cycle's error) and stores it.
func (s *Service) polled(ctx context.Context, p *scopePlan, sc *schedule, calls int, pollErr error, st *CycleStats) {
	if p.adapt == nil {
		return
	}
	now := s.now()
	a := &p.adapt.state
	if ss, err := s.scopeState(ctx, p.scope); err == nil && ss.Watermark.After(a.Watermark) {
		if !a.Watermark.IsZero() {
			a.LastActivity = now
		}
		a.Watermark = ss.Watermark
	}
	a.count(p.adapt, now, calls)
	c := control{Min: s.opts.IntervalMin, Max: s.opts.Interval, Prev: a.Interval, SinceActivity: -1,
		Failed: pollErr != nil && !errors.Is(pollErr, context.Canceled), CallsPerCycle: a.CallsPerCycle}
	if !a.LastActivity.IsZero() {
		c.SinceActivity = now.Sub(a.LastActivity)
	}
	a.prune(p, now)
	c.Tokens, c.Healthy = a.tokenHealth(p, now)
	a.Interval = nextInterval(c)
	a.NextPoll = now.Add(a.Interval)
	sc.at(a.NextPoll)
	if err := s.putAdaptState(ctx, p.scope, a); err != nil {
		s.log.WarnContext(ctx, "saving the poll schedule failed", "scope", p.scope.Key(), "err", err)
	}
	st.Schedules = append(st.Schedules, a.summary(p.scope, now))
}

// count adds the cycle's calls to the feeding token and the average.
func (a *adaptState) count(r *adaptRun, now time.Time, calls int) {
	if calls > 0 {
		if a.CallsPerCycle == 0 {
			a.CallsPerCycle = float64(calls)
		} else {
			a.CallsPerCycle = callsWeight*float64(calls) + (1-callsWeight)*a.CallsPerCycle
		}
	}
	if r.fedBy == "" {
		return
	}
	if a.Tokens == nil {
		a.Tokens = map[string]*tokenUse{}
	}
	u := a.Tokens[r.fedBy]
	if u == nil {
		u = &tokenUse{}
		a.Tokens[r.fedBy] = u
	}
	u.add(now, calls)
	if r.client != nil {
		if t := r.client.Throttle(); t.Known {
			u.Left, u.Known, u.LeftAt = t.CallsLeft, true, now
		}
	}
}

// prune forgets tokens that neither fed the scope this hour nor may feed it now.
func (a *adaptState) prune(p *scopePlan, now time.Time) {
	for k, u := range a.Tokens {
		if u.lastHour(now) == 0 && !p.feedable(k) {
			delete(a.Tokens, k)
		}
	}
}

// feedable reports whether team/user key may feed the scope this cycle.
func (p *scopePlan) feedable(key string) bool {
	for _, l := range p.readers {
		if teamKey(l.TeamID, l.UserID) == key {
			return p.mayFeed(key)
		}
	}
	return false
}

// tokenHealth counts the tokens that may feed the scope, and the healthy ones.
func (a *adaptState) tokenHealth(p *scopePlan, now time.Time) (tokens, healthy int) {
	seen := map[string]bool{}
	for _, l := range p.readers {
		k := teamKey(l.TeamID, l.UserID)
		if seen[k] || !p.mayFeed(k) {
			continue
		}
		seen[k] = true
		tokens++
		if !a.Tokens[k].strained(now) {
			healthy++
		}
	}
	return tokens, healthy
}

func (a *adaptState) summary(scope soe.Scope, now time.Time) ScopeSchedule {
	out := ScopeSchedule{Scope: scope.Key(), Interval: a.Interval}
	for _, u := range a.Tokens {
		n := u.lastHour(now)
		if n > 0 {
			out.Tokens++
		}
		out.MaxShare = max(out.MaxShare, float64(n)/float64(soe.TokenCallsPerHour))
	}
	return out
}

func (s *Service) adaptState(ctx context.Context, scope soe.Scope) (adaptState, error) {
	var a adaptState
	err := s.db.View(ctx, func(tx store.Tx) error {
		_, err := store.GetJSON(tx, bucketAdaptive, scope.Key(), &a)
		return err
	})
	if err != nil {
		return adaptState{}, fmt.Errorf("notify: read poll schedule: %w", err)
	}
	return a, nil
}

func (s *Service) putAdaptState(ctx context.Context, scope soe.Scope, a *adaptState) error {
	err := s.db.Update(ctx, func(tx store.Tx) error {
		return store.PutJSON(tx, bucketAdaptive, scope.Key(), a)
	})
	if err != nil {
		return fmt.Errorf("notify: save poll schedule: %w", err)
	}
	return nil
}

// Schedule is a scope's stored poll schedule, for tests and diagnostics:
// the current interval and the poller's calls per token (team/user) in the
// hour before now.
func (s *Service) Schedule(ctx context.Context, scope soe.Scope) (time.Duration, map[string]int, error) {
	a, err := s.adaptState(ctx, scope)
	if err != nil {
		return 0, nil, err
	}
	now := s.now()
	calls := map[string]int{}
	for k, u := range a.Tokens {
		calls[k] = u.lastHour(now)
	}
	return a.Interval, calls, nil
}
