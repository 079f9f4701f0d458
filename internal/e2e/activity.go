package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/soe"
)

// Activity is a stream of SOE activity on the main site for Drive: on
// average every Every (0: none; each gap drawn evenly from ½ to 1½ Every,
// the same sequence every run) a new question by judy in the next of Tags,
// then an answer by erin to it, and so on.
type Activity struct {
	Every time.Duration
	Tags  []string
	// Channels are where the cards are looked for (default General).
	Channels []string
}

// ActivityEvent is one thing Drive made happen in SOE, and when its card
// was first seen in Slack, on the shared clock (zero: not yet).
type ActivityEvent struct {
	EventID string // notify's event id (main/q/<id>, main/a/<question>/<answer>)
	Created time.Time
	Posted  time.Time
}

// DriveResult is what a Drive saw.
type DriveResult struct {
	Events []ActivityEvent
	Polls  int            // poller steps that polled at least one scope
	Calls  map[string]int // SOE API calls during the drive, by token hash
	Took   time.Duration  // of the bot's clock
}

// Latencies are the creation-to-card times of the posted events.
func (r DriveResult) Latencies() []time.Duration {
	var out []time.Duration
	for _, ev := range r.Events {
		if !ev.Posted.IsZero() {
			out = append(out, ev.Posted.Sub(ev.Created))
		}
	}
	slices.Sort(out)
	return out
}

// MaxTokenCalls is the most SOE calls one token made during the drive.
func (r DriveResult) MaxTokenCalls() int {
	n := 0
	for _, c := range r.Calls {
		n = max(n, c)
	}
	return n
}

// TotalCalls is every SOE API call made during the drive.
func (r DriveResult) TotalCalls() int {
	n := 0
	for _, c := range r.Calls {
		n += c
	}
	return n
}

// Drive runs the bot's poller (notify.Service.PollDue, then Deliver) for d
// of clock's time, moving clock from one due poll or activity to the next,
// while a makes activity. Subscriptions must exist already.
func (e *Env) Drive(ctx context.Context, clock *Clock, d time.Duration, a Activity) (DriveResult, error) {
	if len(a.Channels) == 0 {
		a.Channels = []string{General}
	}
	svc := e.App.Parts.Notify
	reqs0 := len(e.SOE.Requests())
	start := clock.Now()
	end := start.Add(d)
	var res DriveResult
	rng := rand.New(rand.NewPCG(17, 6)) //nolint:gosec // G404: a reproducible activity stream, no secret
	gap := func() time.Duration { return a.Every/2 + time.Duration(rng.Int64N(int64(a.Every))) }
	nextEv := time.Time{}
	if a.Every > 0 {
		nextEv = start.Add(gap())
	}
	lastQ := 0
	var next time.Time // of the poller; a fixed interval reports none
	for k := 0; ; {
		if now := clock.Now(); !now.Before(next) {
			st, due, err := svc.PollDue(ctx)
			if err != nil {
				return res, fmt.Errorf("poll at %s: %w", now.Sub(start), err)
			}
			if st.Scopes > 0 {
				res.Polls++
			}
			next = due
			if due.IsZero() {
				next = now.Add(svc.Interval())
			}
		}
		if _, err := svc.Deliver(ctx); err != nil {
			return res, fmt.Errorf("deliver: %w", err)
		}
		e.notePosted(a.Channels, res.Events, clock)
		now := clock.Now()
		step := next
		if soon := now.Add(100 * time.Millisecond); step.Before(soon) {
			step = soon
		}
		if !nextEv.IsZero() && nextEv.Before(step) {
			step = nextEv
		}
		if step.After(end) {
			clock.Set(end)
			break
		}
		clock.Set(step)
		if !nextEv.IsZero() && !clock.Now().Before(nextEv) {
			ev := e.act(k, a, &lastQ)
			ev.Created = clock.Now()
			res.Events = append(res.Events, ev)
			k++
			nextEv = nextEv.Add(gap())
		}
	}
	res.Took = clock.Now().Sub(start)
	res.Calls = map[string]int{}
	for _, r := range e.SOE.Requests()[reqs0:] {
		if r.TokenHash != "" && strings.HasPrefix(r.Path, "/api/") {
			res.Calls[r.TokenHash]++
		}
	}
	return res, nil
}

// act makes activity k: a question (even k) or an answer to the last one.
func (e *Env) act(k int, a Activity, lastQ *int) ActivityEvent {
	main := soe.MainSite()
	if k%2 == 0 || *lastQ == 0 {
		tag := a.Tags[(k/2)%len(a.Tags)]
		*lastQ = e.SOE.AddQuestion(main, e.SOE.UserByName("judy").ID,
			fmt.Sprintf("Activity %d: how do we handle %s in production?", k, tag), "Asking for the team.", tag)
		return ActivityEvent{EventID: fmt.Sprintf("%s/q/%d", main.Key(), *lastQ)}
	}
	aid := e.SOE.AddAnswer(main, *lastQ, e.SOE.UserByName("erin").ID, fmt.Sprintf("Answer %d: we do it with a runbook.", k))
	return ActivityEvent{EventID: fmt.Sprintf("%s/a/%d/%d", main.Key(), *lastQ, aid)}
}

// notePosted stamps the events whose card is in one of channels now.
func (e *Env) notePosted(channels []string, evs []ActivityEvent, clock *Clock) {
	posted := map[string]time.Time{}
	for _, ch := range channels {
		for _, m := range e.Slack.Messages(ch) {
			if id, ok := m.MetadataPayload["event_id"].(string); ok {
				posted[id] = clock.Now() // the fake Slack stamps posts with the wall clock
			}
		}
	}
	for i := range evs {
		if at, ok := posted[evs[i].EventID]; ok && evs[i].Posted.IsZero() {
			evs[i].Posted = at
		}
	}
}
