package notify

import (
	"strings"
	"time"

	"github.com/soebot/soebot/internal/soe"
)

// EventKind says what happened.
type EventKind string

// Event kinds.
const (
	EventQuestion EventKind = "question" // a new question
	EventAnswers  EventKind = "answers"  // one or more new answers to one question
	EventAccepted EventKind = "accepted" // an answer was accepted
	EventPaused   EventKind = "paused"   // notice: subscriptions paused (no owner can read the scope)
	EventDisabled EventKind = "disabled" // notice: a channel's subscriptions turned off
	EventFold     EventKind = "fold"     // a channel's backlog folded into one message (backlog.go)
)

// Person is an SOE user as shown on a card.
type Person struct {
	ID   int    `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
}

// QuestionInfo is what a card shows of a question. Strings are SOE's,
// unescaped for Slack (the renderer escapes them).
type QuestionInfo struct {
	ID       int      `json:"id"`
	Title    string   `json:"title"`
	URL      string   `json:"url,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Owner    Person   `json:"owner"`
	BodyHTML string   `json:"body,omitempty"`
	// What a living card shows of the question (cards.go).
	Score       int  `json:"score,omitempty"`
	AnswerCount int  `json:"answer_count,omitempty"`
	Closed      bool `json:"closed,omitempty"`
	Obsolete    bool `json:"obsolete,omitempty"`
}

// AnswerInfo is what a card shows of an answer.
type AnswerInfo struct {
	ID       int       `json:"id"`
	URL      string    `json:"url,omitempty"`
	Owner    Person    `json:"owner"`
	BodyHTML string    `json:"body,omitempty"`
	Created  time.Time `json:"created,omitzero"`
}

// Notice is the content of a notice event (to a subscription's owners, or
// in its channel).
type Notice struct {
	SubID    string   `json:"sub,omitempty"`      // the paused subscription (channel notices)
	Channels []string `json:"channels,omitempty"` // affected channels
	Tags     []string `json:"tags,omitempty"`     // affected tags ("*" = every tag)
	Reason   string   `json:"reason,omitempty"`   // Slack error code for EventDisabled
}

// Event is one thing to tell someone about.
type Event struct {
	ID       string        `json:"id"`
	Kind     EventKind     `json:"kind"`
	Scope    soe.Scope     `json:"scope"`
	Question *QuestionInfo `json:"question,omitempty"`
	// Answers are the new answers (EventAnswers, oldest first) or the
	// accepted answer (EventAccepted).
	Answers []AnswerInfo `json:"answers,omitempty"`
	Notice  *Notice      `json:"notice,omitempty"`
	Fold    *Fold        `json:"fold,omitempty"`  // EventFold
	Timer   *TimerInfo   `json:"timer,omitempty"` // timer events (escalate.go)
	At      time.Time    `json:"at,omitzero"`     // SOE time of the activity
	Created time.Time    `json:"created"`         // when the bot saw it

	Digest *Digest `json:"digest,omitempty"` // EventDigest (digest.go)
}

// notice is the event's notice content (empty when it has none).
func (e *Event) notice() *Notice {
	if e.Notice == nil {
		return &Notice{}
	}
	return e.Notice
}

// Target is who receives a delivery: a channel (ChannelID) or a user's DM
// (UserID).
type Target struct {
	TeamID    string `json:"team"`
	ChannelID string `json:"channel,omitempty"`
	UserID    string `json:"user,omitempty"`
	// Reason is why: "channel" (a subscription), "asker" (my question got an
	// answer), "expert" (a question in my SME tag) or "notice".
	Reason string `json:"reason"`
	// digest, when set, collects the event into a digest instead (never stored).
	digest *digestSpec
}

// Key identifies the target ("c/T/C" or "u/T/U").
func (t Target) Key() string {
	if t.digest != nil {
		return "d/" + t.digest.Stream
	}
	if t.ChannelID != "" {
		return "c/" + t.TeamID + "/" + t.ChannelID
	}
	return "u/" + t.TeamID + "/" + t.UserID
}

// Delivery states.
const (
	StatusPending    = "pending"
	StatusAttempting = "attempting" // a post may have happened; check history before reposting
	StatusDone       = "done"
	StatusDropped    = "dropped" // given up (channel gone, too old)
	// StatusHeld: a post to a channel of a workspace the app was removed
	// from (Enterprise Grid), kept until access is granted again.
	StatusHeld = "held"
)

// Delivery is one (target, event) in the outbox.
type Delivery struct {
	ID        string    `json:"id"` // target key + "|" + event id
	Seq       uint64    `json:"seq"`
	EventID   string    `json:"event"`
	Target    Target    `json:"target"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts,omitempty"`
	Created   time.Time `json:"created"`
	NextTry   time.Time `json:"next_try,omitzero"`
	AttemptAt time.Time `json:"attempt_at,omitzero"`
	DoneAt    time.Time `json:"done_at,omitzero"`
	// Channel is where the post went (the IM channel for DMs).
	Channel   string `json:"posted_channel,omitempty"`
	TS        string `json:"ts,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// Mode is "card" once a channel delivery goes the living-card way
	// (cards.go): its post is, or is in the thread of, the question's card.
	Mode string `json:"mode,omitempty"`
	// FoldedInto is the fold delivery that carries this one (backlog.go).
	FoldedInto string `json:"folded_into,omitempty"`
}

func deliveryID(t Target, eventID string) string { return t.Key() + "|" + eventID }

// MetadataType is the event_type of the message metadata on every post.
const MetadataType = "soe_event"

// maxBody bounds the HTML body kept per question or answer (the cards show
// an excerpt of a few hundred characters).
const maxBody = 4000

func cutBody(s string) string {
	if len(s) <= maxBody {
		return s
	}
	return strings.ToValidUTF8(s[:maxBody], "")
}

func person(u *soe.UserSummary) Person {
	if u == nil {
		return Person{}
	}
	return Person{ID: u.ID, Name: u.Name, URL: u.WebURL}
}

func questionInfo(q *soe.QuestionSummary) *QuestionInfo {
	tags := make([]string, 0, len(q.Tags))
	for _, t := range q.Tags {
		tags = append(tags, strings.ToLower(t.Name))
	}
	url := q.WebURL
	if url == "" {
		url = q.ShareURL
	}
	return &QuestionInfo{ID: q.ID, Title: q.Title, URL: url, Tags: tags, Owner: person(q.Owner), BodyHTML: cutBody(q.Body),
		Score: q.Score, AnswerCount: q.AnswerCount, Closed: q.IsClosed, Obsolete: q.IsObsolete}
}

func answerInfo(a *soe.AnswerSummary) AnswerInfo {
	url := a.WebURL
	if url == "" {
		url = a.ShareLink
	}
	return AnswerInfo{ID: a.ID, URL: url, Owner: person(a.Owner), BodyHTML: cutBody(a.Body), Created: a.CreationDate}
}
