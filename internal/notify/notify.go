// Package notify brings Stack Overflow Enterprise activity into Slack:
// channel subscriptions (new questions, answers and accepted answers in some
// tags of one scope) and personal alerts (answers to my questions, new
// questions in tags where I am a subject-matter expert).
//
// SOE API v3 has no webhooks, so a poller reads one activity feed per scope
// (GET /questions?sort=activity&order=desc&pageSize=100), whatever the number
// of subscriptions, and fetches the answers of questions whose answers or
// accepted state may have changed. What it finds becomes events; each
// (target, event) pair becomes a delivery in a persisted outbox, written in
// the same bbolt transaction that advances the scope's watermark and question
// state. Deliveries are posted afterwards (never inside a transaction), with
// message metadata carrying the delivery id, and marked done once Slack
// accepts them; a delivery found "attempting" after a crash is looked up in
// the channel's history before it is posted again. So every (channel or user,
// event) is delivered exactly once, except in the narrow case documented on
// Service.Deliver.
//
// Every SOE call is made with the token of a Slack user who linked that
// scope, and a subscription is fed only by its owners (its creator, and
// whoever pressed "Keep it running as me"): when none of them can read the
// scope any more, it pauses with one notice in its channel and one DM to its
// owners (see owners.go). People with personal alerts read a scope for
// themselves only.
//
// The poller's diff is a pure function (diff.go); the subscriptions feature
// (internal/features/subscriptions) drives the Service API from Slack.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// Bucket names (all top-level, owned by this package).
var (
	bucketSubs        = []byte("notify_subs")            // sub id → Subscription
	bucketSubsByChan  = []byte("notify_subs_by_channel") // team/channel/sub id → ""
	bucketSubsByScope = []byte("notify_subs_by_scope")   // scope key/sub id → ""
	bucketScopes      = []byte("notify_scopes")          // scope key → scopeState
	bucketQuestions   = []byte("notify_questions")       // scope key/question id → qState
	bucketEvents      = []byte("notify_events")          // event id → Event
	bucketOutbox      = []byte("notify_outbox")          // delivery id → Delivery
	bucketPending     = []byte("notify_pending")         // seq (8 bytes BE) → delivery id
	bucketPrefs       = []byte("notify_prefs")           // team/user → Prefs
	// bucketWatches and bucketEscDaily: escalate.go.
)

// Buckets are the top-level buckets this package uses (pass them to
// store.Open in Options.Buckets). The package needs no migrations.
func Buckets() [][]byte {
	return append([][]byte{bucketSubs, bucketSubsByChan, bucketSubsByScope, bucketScopes, bucketQuestions,
		bucketEvents, bucketOutbox, bucketPending, bucketPrefs, bucketAdaptive, bucketWatches, bucketEscDaily,
		bucketCards, bucketCardsDue}, digestBuckets()...)
}

// Kind is a set of event kinds a subscription wants.
type Kind uint8

// Event kinds.
const (
	KindQuestions Kind = 1 << iota // new questions
	KindAnswers                    // new answers
	KindAccepted                   // accepted answers

	DefaultKinds = KindQuestions | KindAnswers
	AllKinds     = KindQuestions | KindAnswers | KindAccepted
)

// Names lists the kinds in k, e.g. ["questions", "answers"].
func (k Kind) Names() []string {
	var out []string
	if k&KindQuestions != 0 {
		out = append(out, "questions")
	}
	if k&KindAnswers != 0 {
		out = append(out, "answers")
	}
	if k&KindAccepted != 0 {
		out = append(out, "accepted answers")
	}
	return out
}

// String is "questions, answers".
func (k Kind) String() string { return strings.Join(k.Names(), ", ") }

// ParseKind maps a word of /soe subscribe to a kind ("all" is AllKinds).
func ParseKind(word string) (Kind, bool) {
	switch strings.ToLower(word) {
	case "questions", "question":
		return KindQuestions, true
	case "answers", "answer":
		return KindAnswers, true
	case "accepted", "accept", "accepts", "acceptance":
		return KindAccepted, true
	case "all":
		return AllKinds, true
	}
	return 0, false
}

// Subscription is one channel's interest in some tags of one scope.
type Subscription struct {
	ID        string `json:"id"`
	TeamID    string `json:"team"`
	ChannelID string `json:"channel"`
	CreatorID string `json:"creator"`
	// Owners are the Slack users (of TeamID) whose Stack Overflow
	// connections may feed the subscription: its creator, and whoever later
	// pressed "Keep it running as me". Nobody else's token is ever used for
	// it. Empty (records written before owners existed) means the creator.
	Owners []string  `json:"owners,omitempty"`
	Scope  soe.Scope `json:"scope"`
	// Tags are lower-case tag names; empty means every tag.
	Tags    []string  `json:"tags,omitempty"`
	Kinds   Kind      `json:"kinds"`
	Created time.Time `json:"created"`
	// Since is SOE's clock when the subscription began (see Prime): older
	// activity is not announced to it.
	Since          time.Time `json:"since,omitzero"`
	Paused         bool      `json:"paused,omitempty"`
	PausedAt       time.Time `json:"paused_at,omitzero"`
	Disabled       bool      `json:"disabled,omitempty"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	// Digest, when hourly, daily or weekly, posts one summary per period
	// (in the creator's Slack time zone TZ) instead of each event (digest.go).
	Digest Cadence `json:"digest,omitempty"`
	TZ     string  `json:"tz,omitempty"`
	// Filter: groups of required tags, excluded tags, a community (filter.go).
	Filter
	// Timers (escalate.go): questions still unanswered after a while.
	Timers
	// Workspace is the workspace of an org-wide Enterprise Grid install the
	// subscription was made in (TeamID is then the enterprise); empty on
	// single-workspace installs.
	Workspace string `json:"workspace,omitempty"`
}

// OwnerIDs are the subscription's owners (see Owners).
func (s *Subscription) OwnerIDs() []string {
	if len(s.Owners) == 0 && s.CreatorID != "" {
		return []string{s.CreatorID}
	}
	return s.Owners
}

// AllTags reports whether the subscription covers every tag.
func (s *Subscription) AllTags() bool { return !s.positive() }

// Active reports whether the subscription is being delivered.
func (s *Subscription) Active() bool { return !s.Paused && !s.Disabled }

func (s *Subscription) matches(tags []string) bool {
	if s.Filtered() {
		return s.filterMatches(tags)
	}
	if len(s.Tags) == 0 {
		return true
	}
	for _, t := range tags {
		for _, w := range s.Tags {
			if strings.EqualFold(t, w) {
				return true
			}
		}
	}
	return false
}

// Alert is a personal alert switch.
type Alert string

// Personal alerts.
const (
	AlertAnswers Alert = "answers" // answers and accepted answers to my questions
	AlertExpert  Alert = "expert"  // new questions in tags where I am an SME
)

// Prefs are one Slack user's personal alert settings.
type Prefs struct {
	Answers bool `json:"answers,omitempty"`
	Expert  bool `json:"expert,omitempty"`
	// IMChannel is the bot's DM channel with the user, once known; DM
	// deliveries go there so a crash can be reconciled from its history.
	IMChannel string `json:"im,omitempty"`
	// AnswersEvery and ExpertEvery are the alerts' digest cadences (""
	// immediate); ExpertDigest is the weekly expert digest; TZ is the
	// user's Slack time zone when they last chose (digest.go).
	AnswersEvery Cadence `json:"answers_every,omitempty"`
	ExpertEvery  Cadence `json:"expert_every,omitempty"`
	ExpertDigest bool    `json:"expert_digest,omitempty"`
	TZ           string  `json:"tz,omitempty"`
}

// Links is what notify needs from the linking service (*linking.Service).
type Links interface {
	// ScopeLinks lists usable links of scope (invalid and expired left out).
	ScopeLinks(ctx context.Context, scope soe.Scope) ([]linking.Link, error)
	// Links lists one Slack user's links.
	Links(ctx context.Context, teamID, userID string) ([]linking.Link, error)
	// ClientFor returns a client acting as the link's user.
	ClientFor(ctx context.Context, l linking.Link) (*soe.Client, error)
	// Invalidate marks a link as needing a reconnect.
	Invalidate(ctx context.Context, teamID, userID string, scope soe.Scope, reason string) error
}

// People finds a tag's subject-matter experts, groups expanded (people.Directory).
type People interface {
	TagNameExperts(ctx context.Context, src people.Source, name string) (*people.Experts, error)
}

// Options configure the Service.
type Options struct {
	DB     store.Store
	Slack  chat.Slack
	Links  Links
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Interval is the poll period (default 60s); each wait is jittered by ±10%.
	Interval time.Duration
	// IntervalMin is the shortest poll period: below Interval, each scope's
	// period adapts between the two to its activity and its owners' token
	// budgets (adaptive.go). Default (or not below Interval): Interval.
	IntervalMin time.Duration
	// Overlap is how far behind the watermark the feed is re-read, so that
	// activity SOE records late is not missed (default 5m). Re-read
	// questions cost no calls: their stored state says nothing changed.
	Overlap time.Duration
	// MaxPages bounds the feed pages read per scope and cycle (default 10).
	MaxPages int
	// People looks up a tag's SMEs (people.Directory, shared with the
	// commands); nil: a directory of the poller's own, caching for SMETTL.
	People People
	// SMETTL is how long SME lists are cached (default 5m) when People is nil.
	SMETTL time.Duration
	// CommunityTTL is how often a subscribed community's tags are expanded
	// again (CACHE_TTL; default 5m).
	CommunityTTL time.Duration
	// Command is the slash command shown in messages (default "/soe").
	Command string
	// KeepDone is how long delivered outbox entries are kept (default 24h);
	// KeepQuestions how long state of inactive questions is kept (default 30 days).
	KeepDone      time.Duration
	KeepQuestions time.Duration
	// GiveUpAfter drops a delivery still failing after this long (default 72h).
	GiveUpAfter time.Duration
	// BeforePost and AfterPost, when set, run around each Slack post of a
	// delivery (tests simulate crashes with them: an error stops the
	// delivery pass there, as if the process died).
	BeforePost func(ctx context.Context, deliveryID string) error
	AfterPost  func(ctx context.Context, deliveryID string) error
	// OnCycle, when set, receives the statistics of every poll cycle (before
	// its deliveries, so Delivered is empty).
	OnCycle func(CycleStats)
	// Leader, when set, says whether this replica polls and delivers (one
	// replica of a cluster does; cluster.Lease). Nil: always this one.
	Leader Leader
	// Threads, when set, says which channels get living question cards
	// (cards.go); nil: one message per event everywhere.
	Threads ThreadSettings
	// BacklogAfter is how many undelivered posts one channel may have
	// before they are folded into one message (backlog.go; default 60:
	// a minute at Slack's pace of about one message a second).
	BacklogAfter int
}

// Leader is the replica's claim on polling and delivering.
type Leader interface {
	// Leading reports whether this replica polls and delivers now.
	Leading() bool
	// CheckTx fails (cluster.ErrNotLeader) inside a write transaction when
	// this replica no longer holds the claim: the fence before a delivery
	// is marked as being posted.
	CheckTx(tx store.Tx) error
}

// Service is the notifications feature. It is safe for concurrent use.
type Service struct {
	opts  Options
	db    store.Store
	slack chat.Slack
	links Links
	log   *slog.Logger
	now   func() time.Time

	cycleMu   sync.Mutex // one poll cycle (or prime) at a time
	deliverMu sync.Mutex // one delivery pass at a time

	people People

	mu        sync.Mutex
	lastPrune time.Time
	kick      chan struct{}
	pollKick  chan struct{}
}

// ErrBadInput is wrapped by errors caused by invalid arguments.
var ErrBadInput = errors.New("notify: invalid input")

// New builds the Service. Nothing runs until Run (or RunOnce).
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Slack == nil || o.Links == nil {
		return nil, errors.New("notify: DB, Slack and Links are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.IntervalMin <= 0 || o.IntervalMin > o.Interval {
		o.IntervalMin = o.Interval
	}
	if o.Overlap <= 0 {
		o.Overlap = 5 * time.Minute
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 10
	}
	if o.SMETTL <= 0 {
		o.SMETTL = 5 * time.Minute
	}
	if o.Command == "" {
		o.Command = "/soe"
	}
	if o.KeepDone <= 0 {
		o.KeepDone = 24 * time.Hour
	}
	if o.KeepQuestions <= 0 {
		o.KeepQuestions = 30 * 24 * time.Hour
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 72 * time.Hour
	}
	s := &Service{opts: o, db: o.DB, slack: o.Slack, links: o.Links, log: o.Logger, now: o.Now,
		kick: make(chan struct{}, 1), pollKick: make(chan struct{}, 1)}
	s.people = o.People
	if s.people == nil {
		s.people = people.New(people.Config{TTL: o.SMETTL, Now: o.Now}, nil, o.Slack)
	}
	return s, nil
}

// Interval is the configured poll period.
func (s *Service) Interval() time.Duration { return s.opts.Interval }

// Command is the slash command used in messages.
func (s *Service) Command() string { return s.opts.Command }

func teamKey(team, id string) string { return team + "/" + id }

func checkIDs(ids ...string) error {
	for _, id := range ids {
		if !chat.ValidID(id) {
			return fmt.Errorf("%w: bad Slack id %q", ErrBadInput, id)
		}
	}
	return nil
}

// leading reports whether this replica polls and delivers now.
func (s *Service) leading() bool { return s.opts.Leader == nil || s.opts.Leader.Leading() }

// LeaderChanged is told when this replica gains or loses the claim; on
// gaining it, it polls and delivers at once (a failed leader's work resumes
// without waiting a whole interval).
func (s *Service) LeaderChanged(leading bool) {
	if !leading {
		return
	}
	select {
	case s.pollKick <- struct{}{}:
	default:
	}
	s.wake()
}
