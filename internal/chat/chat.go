// Package chat is the seam between the product and Slack's Web API: the
// decoded Socket Mode envelopes the product handles, the outgoing Message,
// the small set of Slack operations it may perform (the Slack interface,
// implemented over slack-go by internal/slackapp and by nothing else), and
// the one reply chain (Reply). It is not a wall around slack-go: Block Kit
// blocks, interaction payloads and event structs are slack-go's own types,
// and the feature packages, notify and linking use them directly. What they
// never do is call Slack themselves; every call goes through chat.Slack.
package chat

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// Envelope types, as Socket Mode names them.
const (
	TypeSlashCommand = "slash_commands"
	TypeInteractive  = "interactive"
	TypeEventsAPI    = "events_api"
)

// Envelope is one Socket Mode delivery, decoded.
type Envelope struct {
	ID   string // envelope_id
	Type string // TypeSlashCommand, TypeInteractive or TypeEventsAPI
	// TeamID is the tenant every stored key is scoped by: the workspace's
	// team id, or, for an org-wide Enterprise Grid install, the enterprise
	// id (Slack's channel and user ids are unique across an organization;
	// see Tenant). Workspace is the workspace itself.
	TeamID       string
	Workspace    string // the workspace (team id) the envelope came from
	EnterpriseID string // the Enterprise Grid organization, if any
	OrgInstall   bool   // the app is installed org-wide (is_enterprise_install)
	// External is set when the person who acted belongs to another
	// organization (a Slack Connect channel): the router refuses them.
	External     bool
	UserTeam     string // the acting person's workspace, when the payload names it
	UserID       string // the Slack user who acted (empty for some events)
	Slash        *slack.SlashCommand
	Interaction  *slack.InteractionCallback
	Event        *slackevents.EventsAPIEvent
	EventID      string // events_api only
	RetryAttempt int
	Raw          []byte // the raw payload JSON (for fields slack-go does not decode)
	Received     time.Time
	// Answered is set by a handler's Ack when the ack itself carried the
	// whole reply: Handle then has nothing left to do.
	Answered bool
}

// ResponseURL returns the envelope's response_url, if it has one.
func (e *Envelope) ResponseURL() string {
	switch {
	case e.Slash != nil:
		return e.Slash.ResponseURL
	case e.Interaction != nil:
		if e.Interaction.ResponseURL != "" {
			return e.Interaction.ResponseURL
		}
		if len(e.Interaction.ResponseURLs) > 0 {
			return e.Interaction.ResponseURLs[0].ResponseURL
		}
	}
	return ""
}

// ChannelID returns the channel the envelope came from, if any.
func (e *Envelope) ChannelID() string {
	switch {
	case e.Slash != nil:
		return e.Slash.ChannelID
	case e.Interaction != nil:
		if e.Interaction.Channel.ID != "" {
			return e.Interaction.Channel.ID
		}
		return e.Interaction.Container.ChannelID
	}
	return ""
}

// Handler is what the transport drives. Ack runs before the envelope is
// acknowledged and must not do I/O (it returns the ack payload or nil);
// Handle runs afterwards on a worker and may take its time.
type Handler interface {
	Ack(ctx context.Context, env *Envelope) any
	Handle(ctx context.Context, env *Envelope)
}

// Message is an outgoing message. Text is the notification/fallback text;
// Blocks, when present, are what Slack shows.
type Message struct {
	Text     string
	Blocks   []slack.Block
	ThreadTS string
	// Metadata is attached to posted messages (chat.postMessage/update).
	Metadata *slack.SlackMetadata
	// response_url only:
	InChannel       bool
	ReplaceOriginal bool
	DeleteOriginal  bool
}

// Slack is everything the product may ask of Slack.
type Slack interface {
	// Respond posts to an interaction's response_url (ephemeral unless InChannel).
	Respond(ctx context.Context, responseURL string, m Message) error
	Post(ctx context.Context, channel string, m Message) (ts string, err error)
	PostEphemeral(ctx context.Context, channel, user string, m Message) error
	Update(ctx context.Context, channel, ts string, m Message) error
	// DM opens (or reuses) the IM with user and posts m there.
	DM(ctx context.Context, user string, m Message) (channel, ts string, err error)
	OpenView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (*slack.View, error)
	PushView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (*slack.View, error)
	UpdateView(ctx context.Context, viewID, hash string, v slack.ModalViewRequest) (*slack.View, error)
	PublishHome(ctx context.Context, user string, v slack.HomeTabViewRequest) error
	UserInfo(ctx context.Context, user string) (*slack.User, error)
	LookupUserByEmail(ctx context.Context, email string) (*slack.User, error)
	Permalink(ctx context.Context, channel, ts string) (string, error)
	Unfurl(ctx context.Context, channel, ts string, unfurls map[string]slack.Attachment) error
	// History returns recent messages of channel (newest first) with their metadata.
	History(ctx context.Context, channel string, oldest time.Time, limit int) ([]slack.Message, error)
	ConversationInfo(ctx context.Context, channel string) (*slack.Channel, error)
	// ChannelMembers lists up to limit member ids of channel; complete is
	// false when it has more.
	ChannelMembers(ctx context.Context, channel string, limit int) (members []string, complete bool, err error)
	// Replies returns a thread's messages, parent first.
	Replies(ctx context.Context, channel, threadTS string) ([]slack.Message, error)
	// TeamName is the workspace's display name ("" when unknown).
	TeamName(ctx context.Context) string
	// UploadFile uploads f the files.uploadV2 way (files.getUploadURLExternal,
	// the upload, files.completeUploadExternal) and shares it in channel (in
	// the thread threadTS when set) with comment as its message. It returns
	// the file id.
	UploadFile(ctx context.Context, channel, threadTS, comment string, f File) (string, error)
}

// File is a file to upload (Slack.UploadFile).
type File struct {
	Name    string // file name, e.g. "go-weekly.png"
	Title   string
	AltText string // what the image shows, for screen readers
	Content []byte
}

// Error is a Slack Web API error answer ({"ok":false,"error":Code}).
// Details are Slack's own explanations (response_metadata.messages), which
// for invalid_blocks name the block at fault ("[json-pointer:/blocks/0/…]").
type Error struct {
	Method  string
	Code    string
	Details []string
}

func (e *Error) Error() string {
	if len(e.Details) == 0 {
		return "slack " + e.Method + ": " + e.Code
	}
	return "slack " + e.Method + ": " + e.Code + " (" + strings.Join(e.Details, "; ") + ")"
}

// Is maps Slack error codes onto the sentinels below.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrChannelGone:
		switch e.Code {
		case "channel_not_found", "not_in_channel", "is_archived", "channel_is_archived", "restricted_action", "no_permission":
			return true
		}
	case ErrUserNotFound:
		return e.Code == "user_not_found" || e.Code == "users_not_found"
	case ErrTriggerExpired:
		return e.Code == "expired_trigger_id" || e.Code == "exchanged_trigger_id" || e.Code == "invalid_trigger_id"
	case ErrResponseURLExpired:
		return e.Code == "expired_url" || e.Code == "used_url"
	case ErrInvalidBlocks:
		switch e.Code {
		case "invalid_blocks", "invalid_blocks_format", "msg_too_long", "invalid_attachments":
			return true
		}
	}
	return false
}

var (
	// ErrChannelGone means the bot can no longer post to that channel.
	ErrChannelGone = errors.New("channel unavailable to the bot")
	// ErrUserNotFound means there is no such Slack user (or no such email).
	ErrUserNotFound = errors.New("slack user not found")
	// ErrTriggerExpired means the trigger_id is too old or already used.
	ErrTriggerExpired = errors.New("trigger expired")
	// ErrResponseURLExpired means the response_url is used up or expired.
	ErrResponseURLExpired = errors.New("response_url expired")
	// ErrInvalidBlocks means Slack refused the message's blocks (too long, malformed).
	ErrInvalidBlocks = errors.New("slack refused the blocks")
)

// SlashAck is the payload of a slash command's ack that answers it at once:
// Slack shows it like a response_url reply, with no round trip.
func SlashAck(m Message) map[string]any {
	p := map[string]any{"response_type": "ephemeral", "text": m.Text}
	if m.InChannel {
		p["response_type"] = "in_channel"
	}
	if len(m.Blocks) > 0 {
		p["blocks"] = m.Blocks
	}
	return p
}

// Reply shows m to the person behind env: through the envelope's
// response_url, falling back to an ephemeral message in its channel (unless m
// is meant for the whole channel), then to a DM. When Slack refuses m's
// blocks (ErrInvalidBlocks) it logs what Slack named and sends m's text alone,
// so nobody is left with silence. It is the one reply chain of the product
// (the router's replies and the transport's apologies use it) and returns
// the last error when every way failed.
func Reply(ctx context.Context, s Slack, log *slog.Logger, env *Envelope, m Message) error {
	err := replyOnce(ctx, s, env, m)
	if err == nil || !errors.Is(err, ErrInvalidBlocks) || len(m.Blocks) == 0 {
		return err
	}
	log.ErrorContext(ctx, "slack refused a reply's blocks; sending it as plain text", "user", env.UserID, "err", err)
	return replyOnce(ctx, s, env, PlainFallback(m))
}

// PlainFallback is m without blocks: its notification text, cut to fit, or
// an apology when it has none.
func PlainFallback(m Message) Message {
	text := strings.TrimSpace(m.Text)
	if text == "" {
		text = ":warning: Sorry, Slack could not show my answer. Please try again, or with fewer words."
	}
	if len(text) > 3000 {
		cut := 2990
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return Message{Text: text, ThreadTS: m.ThreadTS, InChannel: m.InChannel, ReplaceOriginal: m.ReplaceOriginal}
}

func replyOnce(ctx context.Context, s Slack, env *Envelope, m Message) error {
	var err error
	if u := env.ResponseURL(); u != "" {
		if err = s.Respond(ctx, u, m); err == nil {
			return nil
		}
	}
	if ch := env.ChannelID(); ch != "" && env.UserID != "" && !m.InChannel {
		if err = s.PostEphemeral(ctx, ch, env.UserID, m); err == nil {
			return nil
		}
	}
	if env.UserID != "" {
		if _, _, err = s.DM(ctx, env.UserID, m); err == nil {
			return nil
		}
	}
	return err
}

// ValidID reports whether s looks like a Slack id (team, user, channel:
// letters and digits, at most 32), so junk never reaches a database key.
func ValidID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
