package notify

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// feedPageSize is the page size of the activity feed and of answer lists.
const feedPageSize = 100

// scopeState is a scope's poll position.
type scopeState struct {
	Initialized bool      `json:"init"`
	Watermark   time.Time `json:"watermark,omitzero"` // newest lastActivityDate seen (SOE clock)
	// Floor is the watermark the scope started at: nothing created at or
	// before it is new, even inside the overlap window.
	Floor    time.Time `json:"floor,omitzero"`
	LastPoll time.Time `json:"last_poll,omitzero"` // local clock
	Epoch    uint64    `json:"epoch"`              // bumped by every write (optimistic check)
}

// qState is what the poller remembers of one question.
type qState struct {
	LastActivity time.Time `json:"la"`
	AnswerCount  int       `json:"n,omitempty"`
	IsAnswered   bool      `json:"ans,omitempty"`
	// Answers and Accepted are the answer ids and accepted answer id seen at
	// the last answer fetch; Full says they are still complete.
	Answers  []int     `json:"a,omitempty"`
	Accepted int       `json:"acc,omitempty"`
	Full     bool      `json:"full,omitempty"`
	Seen     time.Time `json:"seen"` // local clock of the last change (pruning)
}

func qKey(scope soe.Scope, id int) string { return fmt.Sprintf("%s/%012d", scope.Key(), id) }

// CycleStats describe one poll cycle.
type CycleStats struct {
	Scopes     int           // scopes polled
	ScopeKeys  []string      // their keys (soe.Scope.Key), and those of scopes not due yet
	SOECalls   int           // SOE API calls made by the poller
	Events     int           // events with at least one target
	Deliveries int           // outbox entries created
	Paused     int           // subscriptions paused this cycle
	Delivered  DeliveryStats // what RunOnce delivered after the cycle (Run delivers separately)
	Duration   time.Duration // of the polling alone

	// Schedules are the polled scopes' next intervals (adaptive.go).
	Schedules []ScopeSchedule
}

// recipient is a Slack user with a personal alert on and a usable link.
type recipient struct {
	TeamID, UserID string
	every          Cadence // digest cadence ("": immediate)
	tz             string
}

// scopePlan is what one scope's cycle needs to know, read before any call.
type scopePlan struct {
	scope   soe.Scope
	subs    []Subscription      // not disabled
	askers  map[int][]recipient // SOE user id → answer-alert recipients
	experts map[int][]recipient // SOE user id → expert-alert recipients
	links   map[string]linkRank // team/user → priority for token choice
	// feeders are the owners (team/user) of the cycle's subscriptions who
	// can read the scope: the only connections that may feed it; readers
	// are the scope's usable links, read once per cycle (settleOwners).
	feeders map[string]bool
	readers []linking.Link
	adapt   *adaptRun // the scope's poll schedule (adaptive.go)
}

type linkRank int

// alertRank and above: people with personal alerts, not subscription owners.
const alertRank linkRank = 1_000_000

func (p *scopePlan) interested() bool {
	return len(p.subs) > 0 || len(p.askers) > 0 || len(p.experts) > 0
}

// Run polls every Interval (with jitter) and delivers the outbox until ctx
// is done. Undelivered entries from a previous run are delivered first.
func (s *Service) Run(ctx context.Context) error {
	s.log.InfoContext(ctx, "notification poller started", "interval", s.opts.Interval)
	defer s.log.Info("notification poller stopped")
	// Deliveries run beside polling, so that a channel with a backlog (Slack
	// takes about one message per second per channel) never delays the
	// next poll of SOE.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.deliverLoop(ctx)
	}()
	defer wg.Wait()
	poll := time.NewTimer(s.jitter(min(s.opts.Interval, 5*time.Second)))
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
		case <-s.pollKick:
			poll.Stop()
		}
		if !s.leading() {
			poll.Reset(s.jitter(s.opts.Interval))
			continue // another replica polls
		}
		_, next, err := s.PollDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "poll cycle had errors", "err", err)
		}
		s.wake()
		poll.Reset(s.jitter(s.nextWait(next)))
	}
}

// deliverLoop delivers the outbox at start, whenever woken (a poll cycle
// or a command queued something) and every few seconds for retries.
func (s *Service) deliverLoop(ctx context.Context) {
	deliver := func(what string) {
		if _, err := s.Deliver(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, what, "err", err)
		}
	}
	deliver("delivering the outbox at start failed")
	retry := time.NewTicker(min(s.opts.Interval, 5*time.Second))
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-retry.C:
			deliver("outbox delivery had errors")
		case <-s.kick:
			deliver("outbox delivery had errors")
		}
	}
}

// jitter spreads d by ±10%.
func (s *Service) jitter(d time.Duration) time.Duration {
	j := time.Duration(rand.Int64N(int64(d)/5+1)) - d/10 //nolint:gosec // G404: jitter spreads polls out, it guards no secret
	return max(d+j, time.Millisecond)
}

// RunOnce runs one poll cycle over every scope someone is interested in,
// then delivers the outbox. Errors of single scopes are joined; the other
// scopes are still polled. (Run polls and delivers side by side instead.)
func (s *Service) RunOnce(ctx context.Context) (CycleStats, error) {
	st, err := s.pollCycle(ctx)
	d, derr := s.Deliver(ctx)
	st.Delivered = d
	s.log.DebugContext(ctx, "outbox delivered", "posted", d.Posted, "retrying", d.Retrying)
	return st, errors.Join(err, derr)
}

// pollCycle polls every scope someone is interested in and queues what it
// found in the outbox.
func (s *Service) pollCycle(ctx context.Context) (CycleStats, error) {
	return s.pollCycleFor(ctx, &schedule{})
}

// pollCycleFor is pollCycle for the scopes sc says are due.
func (s *Service) pollCycleFor(ctx context.Context, sc *schedule) (CycleStats, error) {
	s.cycleMu.Lock()
	defer s.cycleMu.Unlock()
	start := s.now()
	var st CycleStats
	plans, err := s.plans(ctx)
	if err != nil {
		return st, err
	}
	var errs []error
	for _, p := range plans {
		if err := ctx.Err(); err != nil {
			// Say so: a cycle that polled nothing must not look like a
			// clean one (found by internal/reliability's soak).
			errs = append(errs, err)
			break
		}
		if !s.scheduled(ctx, p, sc) {
			st.ScopeKeys = append(st.ScopeKeys, p.scope.Key()) // still this poller's
			continue
		}
		st.Scopes++
		st.ScopeKeys = append(st.ScopeKeys, p.scope.Key())
		if err := s.settleOwners(ctx, p, &st); err != nil {
			errs = append(errs, fmt.Errorf("scope %s: %w", p.scope.Key(), err))
			continue
		}
		if !p.interested() {
			continue
		}
		calls := st.SOECalls
		err := s.pollScope(ctx, p, start, &st)
		s.polled(ctx, p, sc, st.SOECalls-calls, err, &st)
		if err != nil {
			errs = append(errs, fmt.Errorf("scope %s: %w", p.scope.Key(), err))
			s.log.WarnContext(ctx, "poll failed; will retry next cycle", "scope", p.scope.Key(), "err", err)
		}
	}
	errs = append(errs, s.runDigests(ctx))
	s.maybePrune(ctx)
	st.Duration = s.now().Sub(start)
	if s.opts.OnCycle != nil {
		s.opts.OnCycle(st)
	}
	s.log.DebugContext(ctx, "poll cycle done", "scopes", st.Scopes, "soe_calls", st.SOECalls, "events", st.Events,
		"deliveries", st.Deliveries)
	return st, errors.Join(errs...)
}

// plans reads who wants what, per scope. Only scopes with a subscription
// that is not disabled, or with a personal alert of a linked user, appear.
func (s *Service) plans(ctx context.Context) ([]*scopePlan, error) {
	byScope := map[string]*scopePlan{}
	get := func(sc soe.Scope) *scopePlan {
		p := byScope[sc.Key()]
		if p == nil {
			p = &scopePlan{scope: sc, askers: map[int][]recipient{}, experts: map[int][]recipient{},
				links: map[string]linkRank{}}
			byScope[sc.Key()] = p
		}
		return p
	}
	err := s.db.View(ctx, func(tx store.Tx) error {
		for _, key := range subScopesTx(tx) {
			sc, err := soe.ParseScopeKey(key)
			if err != nil {
				continue
			}
			subs, err := scopeSubsTx(tx, sc)
			if err != nil {
				return err
			}
			for _, sub := range subs {
				if sub.Disabled {
					continue
				}
				p := get(sc)
				p.subs = append(p.subs, sub)
				for _, o := range sub.OwnerIDs() {
					k := teamKey(sub.TeamID, o)
					if _, ok := p.links[k]; !ok {
						p.links[k] = linkRank(len(p.links))
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notify: read subscriptions: %w", err)
	}
	prefs, err := s.allPrefs(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: read alert settings: %w", err)
	}
	now := s.now()
	for _, pe := range prefs {
		ls, err := s.links.Links(ctx, pe.TeamID, pe.UserID)
		if err != nil {
			return nil, fmt.Errorf("notify: read links: %w", err)
		}
		for _, l := range ls {
			if !usable(l, now) {
				continue
			}
			p := get(l.Scope)
			r := recipient{TeamID: pe.TeamID, UserID: pe.UserID, tz: pe.TZ}
			if pe.Answers {
				p.askers[l.SOEUserID] = append(p.askers[l.SOEUserID], recipient{TeamID: r.TeamID, UserID: r.UserID, tz: r.tz, every: pe.AnswersEvery})
			}
			if pe.Expert {
				p.experts[l.SOEUserID] = append(p.experts[l.SOEUserID], recipient{TeamID: r.TeamID, UserID: r.UserID, tz: r.tz, every: pe.ExpertEvery})
			}
			k := teamKey(pe.TeamID, pe.UserID)
			if _, ok := p.links[k]; !ok {
				p.links[k] = alertRank + linkRank(len(p.links))
			}
		}
	}
	out := make([]*scopePlan, 0, len(byScope))
	for _, p := range byScope {
		if p.interested() {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].scope.Key() < out[j].scope.Key() })
	return out, nil
}

func usable(l linking.Link, now time.Time) bool {
	return !l.Invalid && (l.Expiry.IsZero() || now.Before(l.Expiry))
}

// candidates orders the links that may read the scope (mayFeed): owners of
// the oldest subscriptions first; alert users only when no subscription is
// fed. Nobody else's connection is ever used.
func (s *Service) candidates(p *scopePlan) []linking.Link {
	ls := slices.DeleteFunc(slices.Clone(p.readers), func(l linking.Link) bool {
		return !p.mayFeed(teamKey(l.TeamID, l.UserID))
	})
	rank := func(l linking.Link) int { return int(p.links[teamKey(l.TeamID, l.UserID)]) }
	sort.SliceStable(ls, func(i, j int) bool { return rank(ls[i]) < rank(ls[j]) })
	return s.rotate(p, ls)
}

// errNoToken: no linked user can read the scope.
var errNoToken = errors.New("no usable Stack Overflow connection for this scope")

// errConflict: the scope state changed under the cycle (a Prime); the
// cycle's results are dropped and the next cycle starts from the new state.
var errConflict = errors.New("scope state changed during the cycle")

// openFeed reads the activity feed with the first candidate that works. 401
// invalidates that link and tries the next; other errors end the cycle.
func (s *Service) openFeed(ctx context.Context, p *scopePlan, read func(c *soe.Client) error) (*soe.Client, error) {
	for _, l := range s.candidates(p) {
		c, err := s.links.ClientFor(ctx, l)
		if err != nil {
			if errors.Is(err, linking.ErrLinkInvalid) || errors.Is(err, linking.ErrNotLinked) {
				continue
			}
			return nil, err
		}
		err = read(c)
		switch {
		case err == nil:
			p.fed(l, c)
			return c, nil
		case errors.Is(err, soe.ErrUnauthorized):
			s.log.InfoContext(ctx, "poller token refused; marking the link invalid", "team", l.TeamID, "user", l.UserID, "scope", p.scope.Key())
			if ierr := s.links.Invalidate(ctx, l.TeamID, l.UserID, l.Scope, "Stack Overflow refused the connection"); ierr != nil {
				return nil, ierr
			}
		case errors.Is(err, soe.ErrForbidden), errors.Is(err, soe.ErrNotFound):
			// This user cannot see the scope (e.g. left the team): try another.
			s.log.InfoContext(ctx, "poller token cannot read the scope", "team", l.TeamID, "user", l.UserID, "scope", p.scope.Key(), "err", err)
		default:
			return nil, err
		}
	}
	return nil, errNoToken
}

// pollScope runs one scope's cycle: read the feed since the watermark and
// the stored state of its questions, fetch the answers that may have
// changed, diff (diffFeed), and commit the new state together with the
// outbox entries.
func (s *Service) pollScope(ctx context.Context, p *scopePlan, cycleStart time.Time, st *CycleStats) error {
	state, err := s.scopeState(ctx, p.scope)
	if err != nil {
		return err
	}
	if !state.Initialized {
		return s.startScope(ctx, p, state, st)
	}
	w := windowOf(state, s.opts.Overlap)
	c, items, err := s.readScopeFeed(ctx, p, w.from, st)
	if errors.Is(err, errNoToken) {
		return s.pauseScope(ctx, p, st)
	}
	if err != nil {
		return err
	}
	stored, err := s.questionStates(ctx, p.scope, questionIDs(items))
	if err != nil {
		return err
	}
	subs := s.refreshCommunities(ctx, c, activeSubs(p.subs, cycleStart), st)
	want := answersToFetch(items, stored, answerInterest{askers: p.askers, subs: subs})
	answers, err := s.readAnswersOf(ctx, c, want, st)
	if err != nil {
		return err
	}
	d := diffFeed(feedDiff{scope: p.scope, window: w, items: items, stored: stored, answers: answers, now: s.now().UTC()})
	deliveries, err := s.targets(ctx, c, p, subs, d.events, st)
	if err != nil {
		return err
	}
	if err := s.commitCycle(ctx, p, state, d.watermark, d.states, d.events, deliveries, st); err != nil {
		return err
	}
	if err := s.refreshCards(ctx, p.scope, items); err != nil { // cards.go
		return err
	}
	return s.runTimers(ctx, p, st) // escalate_scan.go
}

// startScope is a scope's first look: it starts at "now" and announces
// nothing.
func (s *Service) startScope(ctx context.Context, p *scopePlan, state scopeState, st *CycleStats) error {
	var first *soe.Page[soe.QuestionSummary]
	_, err := s.openFeed(ctx, p, func(c *soe.Client) error {
		st.SOECalls++
		var err error
		first, err = c.QuestionsPage(ctx, soe.QuestionListOptions{Page: 1, PageSize: feedPageSize, Sort: soe.SortActivity, Order: soe.OrderDesc})
		return err
	})
	if errors.Is(err, errNoToken) {
		return s.pauseScope(ctx, p, st)
	}
	if err != nil {
		return err
	}
	return s.commitInit(ctx, p, state, first.Items)
}

// readScopeFeed reads the scope's feed back to from with the first
// candidate link that works, and returns that link's client for the rest of
// the cycle.
func (s *Service) readScopeFeed(ctx context.Context, p *scopePlan, from time.Time, st *CycleStats) (*soe.Client, []soe.QuestionSummary, error) {
	var items []soe.QuestionSummary
	truncated := false
	c, err := s.openFeed(ctx, p, func(c *soe.Client) error {
		var err error
		items, truncated, err = s.readFeed(ctx, c, from, st)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if truncated {
		s.log.WarnContext(ctx, "more activity than one cycle reads; older activity skipped", "scope", p.scope.Key(), "pages", s.opts.MaxPages)
	}
	return c, items, nil
}

func questionIDs(items []soe.QuestionSummary) []int {
	ids := make([]int, 0, len(items))
	for i := range items {
		ids = append(ids, items[i].ID)
	}
	return ids
}

// readAnswersOf reads the answers of the questions ids, in order. A
// question gone meanwhile (404) is left out.
func (s *Service) readAnswersOf(ctx context.Context, c *soe.Client, ids []int, st *CycleStats) (map[int][]soe.AnswerSummary, error) {
	out := make(map[int][]soe.AnswerSummary, len(ids))
	for _, id := range ids {
		answers, err := s.readAnswers(ctx, c, id, st)
		if errors.Is(err, soe.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = answers
	}
	return out, nil
}

// activeSubs are the subscriptions an event of this cycle may go to: not
// disabled (paused ones resume, since a token works), created before the
// cycle began.
func activeSubs(subs []Subscription, cycleStart time.Time) []Subscription {
	var out []Subscription
	for _, sub := range subs {
		if !sub.Disabled && !sub.Created.After(cycleStart) {
			out = append(out, sub)
		}
	}
	return out
}

// readFeed pages the activity feed, newest first, until activity older than from.
func (s *Service) readFeed(ctx context.Context, c *soe.Client, from time.Time, st *CycleStats) ([]soe.QuestionSummary, bool, error) {
	feed := newFeedPages(from)
	for page := 1; page <= s.opts.MaxPages; page++ {
		st.SOECalls++
		pg, err := c.QuestionsPage(ctx, soe.QuestionListOptions{Page: page, PageSize: feedPageSize, Sort: soe.SortActivity, Order: soe.OrderDesc})
		if err != nil {
			return nil, false, err
		}
		if feed.add(pg.Items) || len(pg.Items) == 0 || page >= pg.TotalPages {
			return feed.items, false, nil
		}
	}
	return feed.items, true, nil
}

// readAnswers fetches all answers of a question, oldest first.
func (s *Service) readAnswers(ctx context.Context, c *soe.Client, qid int, st *CycleStats) ([]soe.AnswerSummary, error) {
	var out []soe.AnswerSummary
	for page := 1; page <= 20; page++ {
		st.SOECalls++
		pg, err := c.AnswersPage(ctx, qid, soe.AnswerListOptions{Page: page, PageSize: feedPageSize, Sort: soe.SortCreation, Order: soe.OrderAsc})
		if err != nil {
			return nil, err
		}
		out = append(out, pg.Items...)
		if len(pg.Items) == 0 || page >= pg.TotalPages {
			break
		}
	}
	return out, nil
}

// targets fans events out to channels and people. It may call SOE (SME
// lists, cached) but touches no transaction.
func (s *Service) targets(ctx context.Context, c *soe.Client, p *scopePlan, subs []Subscription, events []*Event, st *CycleStats) (map[string][]Target, error) {
	out := map[string][]Target{}
	for _, ev := range events {
		q := ev.Question
		var ts []Target
		seen := map[string]bool{}
		add := func(t Target) {
			if k := t.Key(); !seen[k] {
				seen[k] = true
				ts = append(ts, t)
			}
		}
		var kind Kind
		switch ev.Kind {
		case EventQuestion:
			kind = KindQuestions
		case EventAnswers:
			kind = KindAnswers
		case EventAccepted:
			kind = KindAccepted
		}
		for i := range subs {
			if subs[i].Kinds&kind != 0 && subs[i].matches(q.Tags) && ev.At.After(subs[i].Since) && (kind != KindQuestions || subs[i].announcesNew()) {
				add(subTarget(&subs[i]))
			}
		}
		switch ev.Kind {
		case EventAnswers, EventAccepted:
			others := false
			for _, a := range ev.Answers {
				if a.Owner.ID != q.Owner.ID || q.Owner.ID == 0 {
					others = true
				}
			}
			if others && q.Owner.ID != 0 {
				for _, r := range p.askers[q.Owner.ID] {
					add(alertTarget(r, "asker"))
				}
			}
		case EventQuestion:
			if len(p.experts) == 0 {
				break
			}
			smes, err := s.questionSMEs(ctx, c, ev, st)
			if err != nil {
				return nil, err
			}
			for _, id := range smes {
				if id == q.Owner.ID {
					continue
				}
				for _, r := range p.experts[id] {
					add(alertTarget(r, "expert"))
				}
			}
		}
		if len(ts) > 0 {
			out[ev.ID] = ts
		}
	}
	return out, nil
}

// questionSMEs returns the SOE user ids of the SMEs of a new question's
// tags, users and group members (people.Directory, cached). A tag SOE does
// not find, or whose SMEs are off or hidden, has none.
func (s *Service) questionSMEs(ctx context.Context, c *soe.Client, ev *Event, st *CycleStats) ([]int, error) {
	src := countingSource{Client: c, st: st}
	var out []int
	for _, tag := range ev.Question.Tags {
		ex, err := s.people.TagNameExperts(ctx, src, tag)
		switch {
		case errors.Is(err, soe.ErrSMEDisabled), errors.Is(err, soe.ErrNotFound), errors.Is(err, soe.ErrForbidden):
			continue
		case err != nil:
			return nil, err
		}
		for _, id := range ex.IDs() {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// countingSource counts the SOE calls the directory makes for the cycle.
type countingSource struct {
	*soe.Client
	st *CycleStats
}

func (c countingSource) TagByName(ctx context.Context, name string) (*soe.TagSummary, []string, error) {
	c.st.SOECalls++
	return c.Client.TagByName(ctx, name)
}

func (c countingSource) Tag(ctx context.Context, id int) (*soe.Tag, error) {
	c.st.SOECalls++
	return c.Client.Tag(ctx, id)
}

func (c countingSource) SubjectMatterExperts(ctx context.Context, tagID int) (*soe.SubjectMatterExperts, error) {
	c.st.SOECalls++
	return c.Client.SubjectMatterExperts(ctx, tagID)
}

func (c countingSource) UserGroup(ctx context.Context, id int) (*soe.UserGroup, error) {
	c.st.SOECalls++
	return c.Client.UserGroup(ctx, id)
}

// --- state reads and commits ---------------------------------------------------

func (s *Service) scopeState(ctx context.Context, scope soe.Scope) (scopeState, error) {
	var st scopeState
	err := s.db.View(ctx, func(tx store.Tx) error {
		_, err := store.GetJSON(tx, bucketScopes, scope.Key(), &st)
		return err
	})
	if err != nil {
		return scopeState{}, fmt.Errorf("notify: read scope state: %w", err)
	}
	return st, nil
}

func (s *Service) questionStates(ctx context.Context, scope soe.Scope, ids []int) (map[int]qState, error) {
	out := make(map[int]qState, len(ids))
	err := s.db.View(ctx, func(tx store.Tx) error {
		for _, id := range ids {
			var q qState
			ok, err := store.GetJSON(tx, bucketQuestions, qKey(scope, id), &q)
			if err != nil {
				return err
			}
			if ok {
				out[id] = q
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notify: read question state: %w", err)
	}
	return out, nil
}

// checkState re-reads the scope state inside tx and refuses to commit when
// someone else moved it since the cycle read it.
func checkState(tx store.Tx, scope soe.Scope, read scopeState) (scopeState, error) {
	var cur scopeState
	if _, err := store.GetJSON(tx, bucketScopes, scope.Key(), &cur); err != nil {
		return cur, err
	}
	if cur.Epoch != read.Epoch {
		return cur, errConflict
	}
	return cur, nil
}

func (s *Service) commitInit(ctx context.Context, p *scopePlan, read scopeState, items []soe.QuestionSummary) error {
	now := s.now().UTC()
	err := s.db.Update(ctx, func(tx store.Tx) error {
		cur, err := checkState(tx, p.scope, read)
		if err != nil {
			return err
		}
		if err := putInitTx(tx, p.scope, &cur, items, now); err != nil {
			return err
		}
		return unpauseTx(tx, p.subs)
	})
	if errors.Is(err, errConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("notify: save scope state: %w", err)
	}
	return nil
}

// putInitTx starts a scope at "now": the watermark is the newest activity on
// the first feed page, whose questions are remembered as already seen.
func putInitTx(tx store.Tx, scope soe.Scope, cur *scopeState, items []soe.QuestionSummary, now time.Time) error {
	states, wm := firstLook(items, now)
	for id, q := range states {
		if err := store.PutJSON(tx, bucketQuestions, qKey(scope, id), &q); err != nil {
			return err
		}
	}
	cur.Initialized, cur.Watermark, cur.Floor, cur.LastPoll = true, wm, wm, now
	cur.Epoch++
	return store.PutJSON(tx, bucketScopes, scope.Key(), cur)
}

func unpauseTx(tx store.Tx, subs []Subscription) error {
	for _, sub := range subs {
		if !sub.Paused {
			continue
		}
		var cur Subscription
		ok, err := store.GetJSON(tx, bucketSubs, sub.ID, &cur)
		if err != nil || !ok {
			return err
		}
		if cur.Paused {
			cur.Paused, cur.PausedAt = false, time.Time{}
			if err := putSubTx(tx, cur); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) commitCycle(ctx context.Context, p *scopePlan, read scopeState, wm time.Time, qs map[int]qState,
	events []*Event, targets map[string][]Target, st *CycleStats) error {
	now := s.now().UTC()
	var nEvents, nDeliveries int
	err := s.db.Update(ctx, func(tx store.Tx) error {
		nEvents, nDeliveries = 0, 0
		cur, err := checkState(tx, p.scope, read)
		if err != nil {
			return err
		}
		for id, q := range qs {
			if err := store.PutJSON(tx, bucketQuestions, qKey(p.scope, id), &q); err != nil {
				return err
			}
		}
		if wm.After(cur.Watermark) {
			cur.Watermark = wm
		}
		cur.LastPoll = now
		cur.Epoch++
		if err := store.PutJSON(tx, bucketScopes, p.scope.Key(), &cur); err != nil {
			return err
		}
		if err := unpauseTx(tx, p.subs); err != nil {
			return err
		}
		if err := watchTx(tx, p.scope, p.subs, qs, events); err != nil {
			return err
		}
		for _, ev := range events {
			ts, later := splitDigestTargets(targets[ev.ID])
			if err := collectTx(tx, ev, later, now); err != nil {
				return err
			}
			if len(ts) == 0 {
				continue
			}
			n, err := enqueueTx(tx, ev, ts, now)
			if err != nil {
				return err
			}
			if n > 0 {
				nEvents++
				nDeliveries += n
			}
		}
		return nil
	})
	if errors.Is(err, errConflict) {
		s.log.InfoContext(ctx, "scope state moved during the cycle; results dropped", "scope", p.scope.Key())
		return nil
	}
	if err != nil {
		return fmt.Errorf("notify: commit cycle: %w", err)
	}
	st.Events += nEvents
	st.Deliveries += nDeliveries
	return nil
}

// enqueueTx stores ev (if new) and one delivery per target (if new). It
// returns how many deliveries it added.
func enqueueTx(tx store.Tx, ev *Event, targets []Target, now time.Time) (int, error) {
	eb := tx.Bucket(bucketEvents)
	if eb.Get([]byte(ev.ID)) == nil {
		if err := store.PutJSON(tx, bucketEvents, ev.ID, ev); err != nil {
			return 0, err
		}
	}
	ob := tx.Bucket(bucketOutbox)
	pb := tx.Bucket(bucketPending)
	n := 0
	for _, t := range targets {
		id := deliveryID(t, ev.ID)
		if ob.Get([]byte(id)) != nil {
			continue // already queued or delivered: exactly once
		}
		seq, err := pb.NextSequence()
		if err != nil {
			return n, err
		}
		d := Delivery{ID: id, Seq: seq, EventID: ev.ID, Target: t, Status: StatusPending, Created: now}
		if err := store.PutJSON(tx, bucketOutbox, id, &d); err != nil {
			return n, err
		}
		if err := pb.Put(seqKey(seq), []byte(id)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func seqKey(seq uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	return b[:]
}

// pauseScope pauses the cycle's subscriptions when none of their owners'
// connections could read the scope after all (see pauseSubs).
func (s *Service) pauseScope(ctx context.Context, p *scopePlan, st *CycleStats) error {
	return s.pauseSubs(ctx, p.scope, p.subs, st)
}

func cutKey(k string) (team, user string, ok bool) {
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			return k[:i], k[i+1:], true
		}
	}
	return "", "", false
}

// Prime starts c's scope at "now" if nobody polls it yet (or nobody did
// lately), so a new subscription or alert hears of activity from now on and
// nothing older. It returns SOE's "now" (the newest activity on the feed),
// which a new subscription records as its start. It costs one SOE call.
func (s *Service) Prime(ctx context.Context, c *soe.Client) (time.Time, error) {
	scope := c.Scope()
	state, err := s.scopeState(ctx, scope)
	if err != nil {
		return time.Time{}, err
	}
	pg, err := c.QuestionsPage(ctx, soe.QuestionListOptions{Page: 1, PageSize: feedPageSize, Sort: soe.SortActivity, Order: soe.OrderDesc})
	if err != nil {
		return time.Time{}, fmt.Errorf("notify: prime %s: %w", scope.Key(), err)
	}
	now := time.Time{}
	for i := range pg.Items {
		if la := lastActivity(&pg.Items[i]); la.After(now) {
			now = la
		}
	}
	if state.Initialized {
		// A scope polled for others keeps its position (restarting it would
		// lose their events). One nobody polled lately restarts at "now", or
		// the newcomer would get everything since it was last read.
		stale := max(10*time.Minute, 3*s.opts.Interval)
		if s.now().Sub(state.LastPoll) < stale {
			return now, nil
		}
		subs, err := s.ScopeSubscriptions(ctx, scope)
		if err != nil {
			return time.Time{}, err
		}
		for _, sub := range subs {
			if !sub.Disabled {
				return now, nil
			}
		}
	}
	err = s.db.Update(ctx, func(tx store.Tx) error {
		cur, err := checkState(tx, scope, state)
		if err != nil {
			return err
		}
		return putInitTx(tx, scope, &cur, pg.Items, s.now().UTC())
	})
	if errors.Is(err, errConflict) {
		return now, nil // the poller got there first
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("notify: prime %s: %w", scope.Key(), err)
	}
	return now, nil
}
