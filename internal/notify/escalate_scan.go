package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// TimerInfo is what a timer event's message shows.
type TimerInfo struct {
	Age time.Duration `json:"age"` // of the question when the event was made
	// After is the subscription's delay that made the event.
	After time.Duration `json:"after,omitempty"`
	// Value is the "Not for me" button's value (EventEscalationDM).
	Value string `json:"value,omitempty"`
	// Mentions are the SMEs who did not decline (EventEscalation); Skipped
	// were deactivated or could not get a DM, Unknown are not known as Slack
	// people, Off are tags whose SMEs are turned off on the site.
	Mentions []string `json:"mentions,omitempty"`
	Skipped  int      `json:"skipped,omitempty"`
	Unknown  int      `json:"unknown,omitempty"`
	Off      []string `json:"off,omitempty"`
	ThreadTS string   `json:"thread,omitempty"` // the question card's message in the channel
	// Questions are the ones over the daily cap (EventEscSummary).
	Questions []QuestionInfo `json:"questions,omitempty"`
}

// slackPeople maps SOE users to Slack users (people.Directory).
type slackPeople interface {
	SlackID(ctx context.Context, teamID string, src people.Source, callerSOEID, soeUserID int) (string, error)
}

// routing is what looking a question's SMEs up found (outside any
// transaction).
type routing struct {
	smes             []smeEntry
	skipped, unknown int
	off              []string
}

// runTimers advances the scope's watches (see escalate.go). Lookups (SMEs
// with an owner's token, Slack users) happen first; everything found is
// then applied, with its outbox entries, in one transaction.
func (s *Service) runTimers(ctx context.Context, p *scopePlan, st *CycleStats) error {
	ws, answered, err := s.scopeWatches(ctx, p.scope)
	if err != nil || len(ws) == 0 {
		return err
	}
	now := s.now().UTC()
	fed := map[string]*Subscription{}
	for i := range p.subs {
		fed[p.subs[i].ID] = &p.subs[i]
	}
	sc := &timerScan{s: s, p: p, st: st, now: now, users: map[string]userFacts{}}
	routes := map[string]routing{}
	for i := range ws {
		w := &ws[i]
		sub := fed[w.SubID]
		if sub == nil || answered[w.Question.ID] || w.Routed || sub.Escalate <= 0 || now.Before(w.Asked.Add(sub.Escalate)) {
			continue
		}
		r, err := sc.route(ctx, w, sub)
		if err != nil {
			s.log.WarnContext(ctx, "looking up the experts of an unanswered question failed; will retry", "scope", p.scope.Key(),
				"question", w.Question.ID, "err", err)
			continue
		}
		routes[w.key()] = r
	}
	var queued int
	err = s.db.Update(ctx, func(tx store.Tx) error {
		a := &timerApply{tx: tx, scope: p.scope, now: now, overflow: map[string][]QuestionInfo{}}
		for i := range ws {
			if err := a.advance(ws[i].key(), fed, routes); err != nil {
				return err
			}
		}
		if err := a.summaries(); err != nil {
			return err
		}
		queued = a.queued
		return nil
	})
	if err != nil {
		return fmt.Errorf("notify: advance timers: %w", err)
	}
	st.Deliveries += queued
	return nil
}

// scopeWatches reads the scope's watches and which of their questions the
// poller knows to be answered (or no longer knows at all).
func (s *Service) scopeWatches(ctx context.Context, scope soe.Scope) ([]watch, map[int]bool, error) {
	var ws []watch
	answered := map[int]bool{}
	err := s.db.View(ctx, func(tx store.Tx) error {
		prefix := scope.Key() + "/"
		c := tx.Bucket(bucketWatches).Cursor()
		for k, v := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
			var w watch
			if json.Unmarshal(v, &w) != nil {
				continue
			}
			ws = append(ws, w)
			var q qState
			ok, err := store.GetJSON(tx, bucketQuestions, qKey(scope, w.Question.ID), &q)
			if err != nil {
				return err
			}
			answered[w.Question.ID] = !ok || q.AnswerCount > 0
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("notify: read timers: %w", err)
	}
	return ws, answered, nil
}

// userFacts is what users.info says of an SME.
type userFacts struct {
	tz      string
	skipped bool // deactivated, or a bot
	unknown bool
}

// timerScan holds one scan's lookups.
type timerScan struct {
	s     *Service
	p     *scopePlan
	st    *CycleStats
	now   time.Time
	users map[string]userFacts
}

// ownerClient is a client of one of sub's owners who can read the scope
// now, and that owner's SOE user id: SME lookups for a subscription use
// its owners' connections only.
func (sc *timerScan) ownerClient(ctx context.Context, sub *Subscription) (*soe.Client, int, error) {
	for _, l := range sc.p.readers {
		if l.TeamID != sub.TeamID || !slices.Contains(sub.OwnerIDs(), l.UserID) {
			continue
		}
		c, err := sc.s.links.ClientFor(ctx, l)
		if err != nil {
			continue
		}
		return c, l.SOEUserID, nil
	}
	return nil, 0, errNoOwnerClient
}

// route finds the SMEs of the question's tags (those the subscription
// names, or all of them) who are Slack people of the subscription's
// workspace, and when each may get a DM.
func (sc *timerScan) route(ctx context.Context, w *watch, sub *Subscription) (routing, error) {
	var r routing
	sp, ok := sc.s.people.(slackPeople)
	if !ok {
		return r, errors.New("no way to find SMEs in Slack")
	}
	c, caller, err := sc.ownerClient(ctx, sub)
	if err != nil {
		return r, err
	}
	src := countingSource{Client: c, st: sc.st}
	var ids []int
	for _, tag := range w.Question.Tags {
		if !sub.AllTags() && !slices.Contains(sub.Tags, tag) {
			continue
		}
		ex, err := sc.s.people.TagNameExperts(ctx, src, tag)
		switch {
		case errors.Is(err, soe.ErrSMEDisabled):
			r.off = append(r.off, tag)
			continue
		case errors.Is(err, soe.ErrNotFound), errors.Is(err, soe.ErrForbidden):
			continue
		case err != nil:
			return r, err
		}
		for _, id := range ex.IDs() {
			if id != w.Question.Owner.ID && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	for _, id := range ids {
		uid, err := sp.SlackID(ctx, sub.TeamID, src, caller, id)
		if err != nil {
			return r, err
		}
		f, err := sc.user(ctx, uid)
		if err != nil {
			return r, err
		}
		switch {
		case f.unknown:
			r.unknown++
		case f.skipped:
			r.skipped++
		case !slices.ContainsFunc(r.smes, func(e smeEntry) bool { return e.UserID == uid }):
			e := smeEntry{UserID: uid, TZ: f.tz}
			e.Due = Daytime(sc.now, e.loc()).UTC()
			r.smes = append(r.smes, e)
		}
	}
	return r, nil
}

// user asks users.info about a Slack user once per scan.
func (sc *timerScan) user(ctx context.Context, uid string) (userFacts, error) {
	if uid == "" {
		return userFacts{unknown: true}, nil
	}
	if f, ok := sc.users[uid]; ok {
		return f, nil
	}
	u, err := sc.s.slack.UserInfo(ctx, uid)
	var f userFacts
	switch {
	case errors.Is(err, chat.ErrUserNotFound):
		f.unknown = true
	case err != nil:
		return f, err
	default:
		f.tz, f.skipped = u.TZ, u.Deleted || u.IsBot
	}
	sc.users[uid] = f
	return f, nil
}

// timerApply advances watches inside one write transaction.
type timerApply struct {
	tx     store.Tx
	scope  soe.Scope
	now    time.Time
	queued int
	// overflow: team/user/day → questions over that SME's daily cap.
	overflow map[string][]QuestionInfo
	order    []string
}

// advance re-reads one watch and moves it on: watches of answered (or
// forgotten) questions, and of subscriptions gone, off or no longer
// following the question's tags, are deleted; a paused subscription's wait.
func (a *timerApply) advance(key string, fed map[string]*Subscription, routes map[string]routing) error {
	var w watch
	ok, err := store.GetJSON(a.tx, bucketWatches, key, &w)
	if err != nil || !ok {
		return err
	}
	var sub Subscription
	okSub, err := store.GetJSON(a.tx, bucketSubs, w.SubID, &sub)
	if err != nil {
		return err
	}
	var q qState
	okQ, err := store.GetJSON(a.tx, bucketQuestions, qKey(w.Scope, w.Question.ID), &q)
	if err != nil {
		return err
	}
	if !okSub || sub.Disabled || !sub.Timers.Any() || !sub.matches(w.Question.Tags) || !okQ || q.AnswerCount > 0 {
		return a.tx.Bucket(bucketWatches).Delete([]byte(key))
	}
	if fed[w.SubID] == nil {
		return nil // paused: nothing goes out until an owner can read the scope again
	}
	if r, ok := routes[key]; ok && !w.Routed {
		w.Routed, w.SMEs, w.Skipped, w.Unknown, w.Off = true, r.smes, r.skipped, r.unknown, r.off
	}
	if err := a.step(&w, &sub); err != nil {
		return err
	}
	if finished(&w, &sub) {
		return a.tx.Bucket(bucketWatches).Delete([]byte(key))
	}
	return store.PutJSON(a.tx, bucketWatches, key, &w)
}

// finished reports whether nothing is left to do for a watch.
func finished(w *watch, sub *Subscription) bool {
	if sub.Unanswered > 0 && !w.Announced {
		return false
	}
	if sub.Escalate <= 0 {
		return true
	}
	return w.Posted && !slices.ContainsFunc(w.SMEs, func(e smeEntry) bool { return !e.Done })
}

// step queues what is due for a watch now.
func (a *timerApply) step(w *watch, sub *Subscription) error {
	age := a.now.Sub(w.Asked)
	channel := Target{TeamID: w.TeamID, ChannelID: w.ChannelID, Reason: "channel"}
	if sub.Unanswered > 0 && !w.Announced && age >= sub.Unanswered {
		ev := a.event(unansweredEventID(w), EventUnanswered, w, &TimerInfo{Age: age, After: sub.Unanswered})
		if err := a.enqueue(ev, channel); err != nil {
			return err
		}
		w.Announced = true
	}
	if !w.Routed {
		return nil
	}
	for i := range w.SMEs {
		if err := a.dm(w, &w.SMEs[i], age, sub.Escalate); err != nil {
			return err
		}
	}
	if !w.Posted && sub.Escalate > 0 && age >= sub.ChannelAfter() {
		info := &TimerInfo{Age: age, After: sub.ChannelAfter(), Skipped: w.Skipped + a.undelivered(w), Unknown: w.Unknown, Off: w.Off,
			ThreadTS: a.cardTS(w)}
		for _, e := range w.SMEs {
			if !slices.Contains(w.Declined, e.UserID) {
				info.Mentions = append(info.Mentions, e.UserID)
			}
		}
		ev := a.event(fmt.Sprintf("%s/esc/%d/ch/%s", w.Scope.Key(), w.Question.ID, w.SubID), EventEscalation, w, info)
		if err := a.enqueue(ev, Target{TeamID: w.TeamID, ChannelID: w.ChannelID, Reason: "escalation"}); err != nil {
			return err
		}
		w.Posted = true
	}
	return nil
}

func unansweredEventID(w *watch) string {
	return fmt.Sprintf("%s/unans/%d", w.Scope.Key(), w.Question.ID)
}

func dmEventID(w *watch, user string) string {
	return fmt.Sprintf("%s/esc/%d/dm/%s/%s", w.Scope.Key(), w.Question.ID, w.TeamID, user)
}

func (a *timerApply) event(id string, kind EventKind, w *watch, info *TimerInfo) *Event {
	q := w.Question
	return &Event{ID: id, Kind: kind, Scope: w.Scope, Question: &q, Timer: info, At: w.Asked, Created: a.now}
}

func (a *timerApply) enqueue(ev *Event, t Target) error {
	n, err := enqueueTx(a.tx, ev, []Target{t}, a.now)
	a.queued += n
	return err
}

// dm queues one SME's DM when it is due: at most one per SME and question
// (whatever the subscriptions), at most MaxEscalationDMsPerDay a local day.
func (a *timerApply) dm(w *watch, e *smeEntry, age, after time.Duration) error {
	if e.Done || a.now.Before(e.Due) {
		return nil
	}
	e.Done = true
	if slices.Contains(w.Declined, e.UserID) {
		return nil
	}
	t := Target{TeamID: w.TeamID, UserID: e.UserID, Reason: "escalation"}
	evID := dmEventID(w, e.UserID)
	if a.tx.Bucket(bucketOutbox).Get([]byte(deliveryID(t, evID))) != nil {
		return nil // another subscription routed it to them already
	}
	dayKey := fmt.Sprintf("%s/%s/%s", w.TeamID, e.UserID, localDay(a.now, e.loc()))
	var d escDay
	if _, err := store.GetJSON(a.tx, bucketEscDaily, dayKey, &d); err != nil {
		return err
	}
	if d.Count >= MaxEscalationDMsPerDay {
		e.Capped = true
		over, ok := a.overflow[dayKey]
		if !ok {
			a.order = append(a.order, dayKey)
		}
		if !slices.ContainsFunc(over, func(q QuestionInfo) bool { return q.ID == w.Question.ID }) {
			a.overflow[dayKey] = append(over, w.Question)
		}
		return nil
	}
	d.Count++
	if d.Created.IsZero() {
		d.Created = a.now
	}
	if err := store.PutJSON(a.tx, bucketEscDaily, dayKey, &d); err != nil {
		return err
	}
	info := &TimerInfo{Age: age, After: after, Value: w.Scope.Key() + "|" + fmt.Sprint(w.Question.ID)}
	return a.enqueue(a.event(evID, EventEscalationDM, w, info), t)
}

// summaries queues, for each SME over their cap in this scan, one DM
// listing the rest of the day's questions (once a day).
func (a *timerApply) summaries() error {
	for _, dayKey := range a.order {
		var d escDay
		if _, err := store.GetJSON(a.tx, bucketEscDaily, dayKey, &d); err != nil {
			return err
		}
		if d.Summarized {
			continue
		}
		d.Summarized = true
		if err := store.PutJSON(a.tx, bucketEscDaily, dayKey, &d); err != nil {
			return err
		}
		parts := strings.SplitN(dayKey, "/", 3)
		qs := a.overflow[dayKey]
		ev := &Event{ID: "escsum/" + dayKey, Kind: EventEscSummary, Scope: a.scope, Timer: &TimerInfo{Questions: qs}, Created: a.now}
		if err := a.enqueue(ev, Target{TeamID: parts[0], UserID: parts[1], Reason: "escalation"}); err != nil {
			return err
		}
	}
	return nil
}

// undelivered counts the watch's DMs Slack refused (DMs closed, user
// deactivated since): those SMEs were skipped too.
func (a *timerApply) undelivered(w *watch) int {
	n := 0
	for _, e := range w.SMEs {
		if !e.Done || e.Capped {
			continue
		}
		var d Delivery
		id := deliveryID(Target{TeamID: w.TeamID, UserID: e.UserID}, dmEventID(w, e.UserID))
		if ok, _ := store.GetJSON(a.tx, bucketOutbox, id, &d); ok && d.Status == StatusDropped {
			n++
		}
	}
	return n
}

// cardTS is the channel message of the question's card (a new-question
// card, or the unanswered filter's), "" when it has none (yet).
func (a *timerApply) cardTS(w *watch) string {
	t := Target{TeamID: w.TeamID, ChannelID: w.ChannelID}
	for _, evID := range []string{w.Scope.Key() + "/q/" + fmt.Sprint(w.Question.ID), unansweredEventID(w)} {
		var d Delivery
		if ok, _ := store.GetJSON(a.tx, bucketOutbox, deliveryID(t, evID), &d); ok && d.Status == StatusDone && d.TS != "" {
			return d.TS
		}
	}
	return ""
}
