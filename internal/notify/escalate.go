package notify

// Timers: questions still unanswered after a while (issue 22 point 1,
// issue 17 point 4's "unanswered Nh").
//
// A subscription with Timers gets, for each new question in its tags, a
// watch (bucketWatches, key scope/question/subscription), written in the
// same transaction as the cycle that found the question. Every cycle then
// looks at the scope's watches (runTimers, escalate_scan.go):
//
//   - Unanswered: at asked+Unanswered the question's card is posted in the
//     channel ("still unanswered after 4h") instead of at once;
//   - Escalate: at asked+Escalate the SMEs of the question's tags who are
//     known Slack people get one DM each (deferred out of their night, at
//     most MaxEscalationDMsPerDay a day, the rest summarized in one DM);
//     at asked+EscalateChannel (default twice Escalate) it is posted in the
//     channel, in the card's thread when there is one, mentioning the SMEs
//     who did not press "Not for me".
//
// The moment the poller sees an answer (or the question deleted) its
// watches are deleted, in the transaction that records the answer, so
// nothing more is sent. Every message goes through the outbox, enqueued in
// the transaction that advances the watch.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

var (
	bucketWatches  = []byte("notify_watches")          // scope key/question id (12 digits)/sub id → watch
	bucketEscDaily = []byte("notify_escalation_daily") // team/user/local date → escDay
)

// Timer limits.
const (
	MinTimer = 15 * time.Minute
	MaxTimer = 30 * 24 * time.Hour
	// MaxEscalationDMsPerDay bounds the escalation DMs one SME gets a day
	// (their local day); the rest of that day is summarized in one DM.
	MaxEscalationDMsPerDay = 10
	// dayStart and nightStart bound a recipient's day (local hours): no
	// escalation DM is sent outside [08:00, 20:00).
	dayStart, nightStart = 8, 20
)

// ActionEscalationDecline is the action_id of an escalation DM's "Not for
// me" button; its value is "<scope key>|<question id>". The subscriptions
// feature handles it (and calls Decline).
const ActionEscalationDecline = "notify_esc_decline"

// Event kinds of timers.
const (
	EventUnanswered   EventKind = "unanswered"     // a question still unanswered after the filter's delay (channel)
	EventEscalationDM EventKind = "escalation_dm"  // a question routed to one SME
	EventEscalation   EventKind = "escalation"     // a question still unanswered, posted in the channel
	EventEscSummary   EventKind = "escalation_sum" // the questions over an SME's daily cap
)

// Timers are a subscription's "still unanswered after" settings; zero
// durations are off.
type Timers struct {
	// Escalate routes a question to its tags' SMEs by DM after this long.
	Escalate time.Duration `json:"escalate,omitempty"`
	// EscalateChannel posts it in the channel at this age (0: 2×Escalate).
	EscalateChannel time.Duration `json:"escalate_channel,omitempty"`
	// Unanswered announces questions still unanswered at this age instead
	// of new ones.
	Unanswered time.Duration `json:"unanswered,omitempty"`
}

// Any reports whether a timer is on.
func (t Timers) Any() bool { return t.Escalate > 0 || t.Unanswered > 0 }

// ChannelAfter is the age at which an escalation is posted in the channel.
func (t Timers) ChannelAfter() time.Duration {
	if t.Escalate <= 0 {
		return 0
	}
	if t.EscalateChannel > 0 {
		return t.EscalateChannel
	}
	return 2 * t.Escalate
}

// Check refuses timers out of range (ErrBadInput).
func (t Timers) Check() error {
	for _, d := range []time.Duration{t.Escalate, t.EscalateChannel, t.Unanswered} {
		if d != 0 && (d < MinTimer || d > MaxTimer) {
			return fmt.Errorf("%w: a delay must be between %s and %s", ErrBadInput, FormatAge(MinTimer), FormatAge(MaxTimer))
		}
	}
	if t.EscalateChannel > 0 && (t.Escalate == 0 || t.EscalateChannel <= t.Escalate) {
		return fmt.Errorf("%w: the channel delay must be longer than the DM delay", ErrBadInput)
	}
	return nil
}

// ParseDelay reads a delay such as "4h", "30m", "2d" or "1h30m".
func ParseDelay(s string) (time.Duration, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 365 {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}

// FormatAge is a duration as people say it: "45m", "4h", "1h30m", "2d",
// "1d 6h".
func FormatAge(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Hour {
		return fmt.Sprintf("%dm", max(int(d/time.Minute), 0))
	}
	days, rest := int(d/(24*time.Hour)), d%(24*time.Hour)
	h, m := int(rest/time.Hour), int(rest%time.Hour/time.Minute)
	switch {
	case days > 0 && h > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case m > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	}
	return fmt.Sprintf("%dh", h)
}

// Daytime is when a DM due at t may go to someone in loc: t itself during
// their day (08:00–20:00), else their next 08:00.
func Daytime(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	l := t.In(loc)
	if h := l.Hour(); h >= dayStart && h < nightStart {
		return t
	}
	day := l
	if l.Hour() >= nightStart {
		day = l.AddDate(0, 0, 1)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), dayStart, 0, 0, 0, loc)
}

// localDay is t's date in loc ("2026-12-02"), the unit of the daily cap.
func localDay(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(time.DateOnly)
}

// watch is one question a timer subscription waits on.
type watch struct {
	Scope     soe.Scope    `json:"scope"`
	SubID     string       `json:"sub"`
	TeamID    string       `json:"team"`
	ChannelID string       `json:"channel"`
	Question  QuestionInfo `json:"q"`
	Asked     time.Time    `json:"asked"` // SOE's creation date
	// Announced: the unanswered card is queued; Routed: the SMEs were
	// looked up (SMEs); Posted: the channel escalation is queued.
	Announced bool       `json:"announced,omitempty"`
	Routed    bool       `json:"routed,omitempty"`
	Posted    bool       `json:"posted,omitempty"`
	SMEs      []smeEntry `json:"smes,omitempty"`
	Declined  []string   `json:"declined,omitempty"` // Slack users who pressed "Not for me"
	// Skipped: SMEs deactivated in Slack; Unknown: SMEs not known as Slack
	// people; Off: tags whose SMEs are turned off on the site (422).
	Skipped int      `json:"skipped,omitempty"`
	Unknown int      `json:"unknown,omitempty"`
	Off     []string `json:"off,omitempty"`
}

// smeEntry is one SME a question is routed to.
type smeEntry struct {
	UserID string    `json:"u"`
	TZ     string    `json:"tz,omitempty"`
	Due    time.Time `json:"due"`            // when their DM may go (out of their night)
	Done   bool      `json:"done,omitempty"` // DM queued, or summarized over the cap
	Capped bool      `json:"capped,omitempty"`
}

func (e smeEntry) loc() *time.Location {
	if e.TZ != "" {
		if l, err := time.LoadLocation(e.TZ); err == nil {
			return l
		}
	}
	return time.UTC
}

// escDay counts one SME's escalation DMs of one local day.
type escDay struct {
	Count      int       `json:"n"`
	Summarized bool      `json:"sum,omitempty"`
	Created    time.Time `json:"created"`
}

func watchPrefix(scope soe.Scope, qid int) string { return fmt.Sprintf("%s/%012d/", scope.Key(), qid) }

func (w *watch) key() string { return watchPrefix(w.Scope, w.Question.ID) + w.SubID }

// wantsTimers reports whether sub waits on a new question event.
func (sub *Subscription) wantsTimers(ev *Event) bool {
	return sub.Timers.Any() && !sub.Disabled && ev.Kind == EventQuestion && sub.matches(ev.Question.Tags) && ev.At.After(sub.Since)
}

// announcesNew reports whether sub posts new questions as they come (an
// unanswered filter posts them later instead).
func (sub *Subscription) announcesNew() bool { return sub.Unanswered <= 0 }

// watchTx is commitCycle's hook: new questions get a watch per timer
// subscription; questions answered (or deleted) lose theirs.
func watchTx(tx store.Tx, scope soe.Scope, subs []Subscription, qs map[int]qState, events []*Event) error {
	for id, q := range qs {
		if q.AnswerCount > 0 {
			if err := deleteWatchesTx(tx, scope, id); err != nil {
				return err
			}
		}
	}
	for _, ev := range events {
		if ev.Kind != EventQuestion || qs[ev.Question.ID].AnswerCount > 0 {
			continue
		}
		for i := range subs {
			sub := &subs[i]
			if !sub.wantsTimers(ev) {
				continue
			}
			w := watch{Scope: scope, SubID: sub.ID, TeamID: sub.TeamID, ChannelID: sub.ChannelID, Question: *ev.Question, Asked: ev.At}
			if tx.Bucket(bucketWatches).Get([]byte(w.key())) != nil {
				continue
			}
			if err := store.PutJSON(tx, bucketWatches, w.key(), &w); err != nil {
				return err
			}
		}
	}
	return nil
}

func deleteWatchesTx(tx store.Tx, scope soe.Scope, qid int) error {
	prefix := []byte(watchPrefix(scope, qid))
	var keys [][]byte
	c := tx.Bucket(bucketWatches).Cursor()
	for k, _ := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := tx.Bucket(bucketWatches).Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Declined says what Decline changed.
type Declined struct {
	Question QuestionInfo
	Found    bool // false: the question is answered, or nothing waits on it any more
}

// Decline remembers that Slack user userID does not want a question
// (value: the "Not for me" button's "<scope key>|<question id>"): they are
// not mentioned when it is posted in a channel.
func (s *Service) Decline(ctx context.Context, teamID, userID, value string) (Declined, error) {
	var out Declined
	if err := checkIDs(teamID, userID); err != nil {
		return out, err
	}
	sk, qs, ok := strings.Cut(value, "|")
	scope, err := soe.ParseScopeKey(sk)
	qid, qerr := strconv.Atoi(qs)
	if !ok || err != nil || qerr != nil || qid <= 0 {
		return out, fmt.Errorf("%w: bad question %q", ErrBadInput, value)
	}
	err = s.db.Update(ctx, func(tx store.Tx) error {
		out = Declined{}
		prefix := watchPrefix(scope, qid)
		var ws []watch
		c := tx.Bucket(bucketWatches).Cursor()
		for k, v := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
			var w watch
			if json.Unmarshal(v, &w) == nil && w.TeamID == teamID {
				ws = append(ws, w)
			}
		}
		for _, w := range ws {
			out.Found, out.Question = true, w.Question
			if slices.Contains(w.Declined, userID) {
				continue
			}
			w.Declined = append(w.Declined, userID)
			if err := store.PutJSON(tx, bucketWatches, w.key(), &w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Declined{}, fmt.Errorf("notify: decline: %w", err)
	}
	s.log.InfoContext(ctx, "escalation declined", "team", teamID, "user", userID, "question", qid, "found", out.Found)
	return out, nil
}

// errNoOwnerClient: none of a subscription's owners can read the scope now.
var errNoOwnerClient = errors.New("no owner connection")

// pruneTimers deletes daily escalation counts older than a few days (Prune's hook).
func (s *Service) pruneTimers(ctx context.Context) error {
	now := s.now()
	_, err := s.db.Sweep(ctx, bucketEscDaily, func(_, v []byte) bool {
		var d escDay
		return json.Unmarshal(v, &d) != nil || now.Sub(d.Created) > 3*24*time.Hour
	})
	return err
}

// findThreadReply looks for an interrupted delivery posted in a thread
// (an escalation in its question card's thread), which the channel history
// does not list.
func (s *Service) findThreadReply(ctx context.Context, d Delivery, ev *Event, channel string) (string, bool, error) {
	if ev.Timer == nil || ev.Timer.ThreadTS == "" || channel == "" {
		return "", false, nil
	}
	return s.findReply(ctx, d, channel, ev.Timer.ThreadTS)
}
