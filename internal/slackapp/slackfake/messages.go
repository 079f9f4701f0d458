package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Message is something Slack would show: a channel message, an ephemeral
// message or a response_url post.
type Message struct {
	Channel, TS, ThreadTS string
	User                  string // author (channel messages) or target user (ephemerals, responses)
	Text                  string
	Blocks                json.RawMessage // as stored by Slack (missing block_id/action_id filled in)
	Ephemeral             bool
	ResponseURL           string // set if posted via response_url (or a slash-command ack)
	InChannel             bool   // response_type in_channel
	MetadataType          string
	MetadataPayload       map[string]any
	Replaced, Deleted     bool // current state: replaced by chat.update/replace_original, deleted. In Responses(): the request's replace_original/delete_original flags.
	BotPosted             bool

	// Additions.
	Kind         string // "message" (chat.postMessage), "ephemeral" (chat.postEphemeral), "response" (response_url post), "ack" (slash-command ack payload)
	ResponseType string // response_url posts: "ephemeral" or "in_channel" as sent ("" = default ephemeral)
	FromAck      bool   // shown because the app acked a slash command with a message
	Attachments  json.RawMessage
	FileIDs      []string  // files shared with the message (files.completeUploadExternal; see Files)
	ReplyCount   int       // thread parents
	Broadcast    bool      // a thread reply also sent to the channel (reply_broadcast)
	Edits        int       // how many times the content was replaced
	At           time.Time // posted (or last changed)
}

// SlackBlocks decodes Blocks with slack-go.
func (m Message) SlackBlocks() (slack.Blocks, error) {
	var b slack.Blocks
	if len(m.Blocks) == 0 {
		return b, nil
	}
	err := json.Unmarshal(m.Blocks, &b)
	return b, err
}

// Flat is the message text plus the flattened blocks, for display.
func (m Message) Flat() string {
	fb := Flatten(m.Blocks)
	switch {
	case fb == "":
		return Mrkdwn(m.Text)
	case m.Text == "":
		return fb
	}
	return Mrkdwn(m.Text) + "\n" + fb
}

// Matches reports whether match occurs in the text or in any text in the blocks.
func (m Message) Matches(match string) bool {
	return matchText(m.Text, m.Blocks, m.Attachments, match)
}

type msgRec struct{ m Message }

type hook struct {
	id, url       string
	user, channel string
	issued        time.Time
	uses          int
	expired       bool
	source        *msgRec // message the envelope came from (block_actions, message_action)
	sourceMissing bool    // origin was a message the fake does not know
	last          *msgRec // last message posted through this hook
}

type trigger struct {
	id     string
	user   string
	issued time.Time
	used   bool
}

func (f *Fake) newHookLocked(user, channel string, source *msgRec) *hook {
	n := f.nextIDLocked()
	id := fmt.Sprintf("%s-%d-%08x", f.opts.TeamID, n, uint32(n*2654435761&math.MaxUint32))
	h := &hook{id: id, url: f.srv.URL + "/hooks/" + id, user: user, channel: channel, issued: f.now(), source: source}
	f.hooks[id] = h
	return h
}

func (f *Fake) newTriggerLocked(user string) *trigger {
	n := f.nextIDLocked()
	t := &trigger{
		id:     fmt.Sprintf("%d.%d.%08x", n, f.now().Unix(), uint32(n*2246822519&math.MaxUint32)),
		user:   user,
		issued: f.now(),
	}
	f.triggers[t.id] = t
	return t
}

// ExpireResponseURLs expires every response_url issued so far.
func (f *Fake) ExpireResponseURLs() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range f.hooks {
		h.expired = true
	}
}

// ExpireTriggers expires every trigger_id issued so far.
func (f *Fake) ExpireTriggers() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.triggers {
		t.issued = time.Time{}
	}
}

// serveHook handles posts to response_url.
func (f *Fake) serveHook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	call := Call{Method: "response_url", At: time.Now(), Via: "none"}
	var body map[string]any
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.UseNumber()
	if r.Method != http.MethodPost {
		call.Status, call.Err = http.StatusMethodNotAllowed, "method_not_allowed"
		f.finishCall(w, call, map[string]any{"ok": false, "error": call.Err}, nil)
		return
	}
	if err := dec.Decode(&body); err != nil {
		call.Status, call.Err = http.StatusBadRequest, "invalid_payload"
		f.finishCall(w, call, map[string]any{"ok": false, "error": call.Err}, nil)
		return
	}
	call.JSON = body
	call.Form = nil
	if !f.delay("response_url", r) {
		return
	}
	status, resp, hdr := f.hookAnswer(id, body)
	call.Status = status
	if ok, _ := resp["ok"].(bool); !ok {
		call.Err, _ = resp["error"].(string)
	}
	f.finishCall(w, call, resp, hdr)
}

func (f *Fake) hookAnswer(id string, body map[string]any) (int, map[string]any, http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st, resp, hdr, hit := f.faultLocked("response_url"); hit {
		return st, resp, hdr
	}
	refuse := func(code string) (int, map[string]any, http.Header) {
		return f.opts.ResponseURLErrorStatus, map[string]any{"ok": false, "error": code}, nil
	}
	h := f.hooks[id]
	if h == nil {
		return refuse("invalid_url")
	}
	if h.expired || f.now().Sub(h.issued) > f.opts.ResponseURLTTL {
		return refuse("expired_url")
	}
	if h.uses >= f.opts.ResponseURLMaxUses {
		return refuse("used_url")
	}
	if code, detail := f.applyResponseLocked(h, body, false); code != "" {
		resp := map[string]any{"ok": false, "error": code}
		if len(detail) > 0 {
			resp["errors"] = detail
			resp["response_metadata"] = map[string]any{"messages": prefixed(detail)}
		}
		return http.StatusOK, resp, nil
	}
	h.uses++
	f.notifyLocked()
	return http.StatusOK, map[string]any{"ok": true}, nil
}

func prefixed(errs []string) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = "[ERROR] " + e
	}
	return out
}

// applyResponseLocked applies a response_url post (or a slash-command ack
// payload when fromAck) to the workspace. It returns a Slack error code.
func (f *Fake) applyResponseLocked(h *hook, body map[string]any, fromAck bool) (string, []string) {
	text, _ := body["text"].(string)
	blocksRaw := rawOf(body["blocks"])
	attRaw := rawOf(body["attachments"])
	if string(attRaw) == "null" {
		attRaw = nil
	}
	responseType, _ := body["response_type"].(string)
	replace := truthy(body["replace_original"])
	del := truthy(body["delete_original"])
	threadTS, _ := body["thread_ts"].(string)
	mdType, mdPayload := metadataOf(body["metadata"])

	bs, present, err := decodeBlocks(blocksRaw)
	if err != nil {
		return "invalid_blocks_format", nil
	}
	if !del {
		if errs := validateBlocks(bs, "/blocks", MaxMessageBlocks); len(errs) > 0 {
			return "invalid_blocks", errs
		}
		if text == "" && len(bs) == 0 && len(attRaw) == 0 {
			return "no_text", nil
		}
	}
	var storedBlocks json.RawMessage
	if present && len(bs) > 0 {
		storedBlocks, _ = json.Marshal(normalizeBlocks(bs, f.genID))
	}
	inChannel := responseType == "in_channel"
	now := time.Now()
	kind := "response"
	if fromAck {
		kind = "ack"
	}
	post := Message{
		Channel: h.channel, ThreadTS: threadTS, User: h.user, Text: text, Blocks: storedBlocks,
		Ephemeral: !inChannel, ResponseURL: h.url, InChannel: inChannel,
		MetadataType: mdType, MetadataPayload: mdPayload,
		Replaced: replace, Deleted: del, Kind: kind, ResponseType: responseType, FromAck: fromAck,
		Attachments: attRaw, At: now,
	}

	target := h.source
	if target == nil {
		target = h.last
	}
	switch {
	case del && target != nil:
		target.m.Deleted = true
		target.m.At = now
		post.TS = target.m.TS
	case replace && target != nil:
		t := &target.m
		t.Text, t.Blocks, t.Attachments = text, storedBlocks, attRaw
		if mdType != "" {
			t.MetadataType, t.MetadataPayload = mdType, mdPayload
		}
		t.Replaced = true
		t.Edits++
		t.At = now
		post.TS = t.TS
	case del:
		// Nothing to delete: Slack answers ok.
	default:
		rec := &msgRec{m: post}
		rec.m.TS = f.nextTSLocked()
		rec.m.Replaced, rec.m.Deleted = false, false
		post.TS = rec.m.TS
		if inChannel {
			rec.m.Ephemeral = false
			rec.m.BotPosted = false // posted as the user
			f.history[h.channel] = append(f.history[h.channel], rec)
			f.bumpThreadLocked(h.channel, threadTS)
		} else {
			f.ephemerals = append(f.ephemerals, rec)
		}
		h.last = rec
	}
	f.responses[h.url] = append(f.responses[h.url], post)
	f.notifyLocked()
	return "", nil
}

func (f *Fake) bumpThreadLocked(channel, threadTS string) {
	if threadTS == "" {
		return
	}
	for _, r := range f.history[channel] {
		if r.m.TS == threadTS {
			r.m.ReplyCount++
			return
		}
	}
}

func (f *Fake) genID() string {
	// Called with f.mu held.
	n := f.nextIDLocked()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	x := n*0x9E3779B97F4A7C15 + 12345
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[x%uint64(len(alphabet))]
		x /= uint64(len(alphabet))
	}
	return string(b)
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true" || x == "1"
	case json.Number:
		return x.String() != "0"
	case float64:
		return x != 0
	}
	return false
}

// rawOf turns a decoded JSON value (or a string holding JSON, as in form
// fields) back into raw JSON.
func rawOf(v any) json.RawMessage {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if strings.TrimSpace(x) == "" {
			return nil
		}
		return json.RawMessage(x)
	default:
		b, _ := json.Marshal(x)
		return b
	}
}

// metadataOf extracts {event_type, event_payload} (object or JSON string).
func metadataOf(v any) (string, map[string]any) {
	raw := rawOf(v)
	if len(raw) == 0 {
		return "", nil
	}
	var md struct {
		EventType    string         `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	if json.Unmarshal(raw, &md) != nil || md.EventType == "" {
		return "", nil
	}
	return md.EventType, md.EventPayload
}

func copyMsgs(recs []*msgRec, keep func(*msgRec) bool) []Message {
	var out []Message
	for _, r := range recs {
		if keep(r) {
			out = append(out, r.m)
		}
	}
	return out
}

// Messages returns the current history of channel in post order (thread
// replies included), with updates applied and deleted messages left out.
// channel may also be a user id (its DM).
func (f *Fake) Messages(channel string) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.messagesLocked(channel)
}

func (f *Fake) messagesLocked(channel string) []Message {
	if isUserID(channel) {
		channel = imID(channel)
	}
	return copyMsgs(f.history[channel], func(r *msgRec) bool { return !r.m.Deleted })
}

// AllMessages is Messages including deleted messages (Deleted=true).
func (f *Fake) AllMessages(channel string) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	if isUserID(channel) {
		channel = imID(channel)
	}
	return copyMsgs(f.history[channel], func(*msgRec) bool { return true })
}

// Thread returns the parent message ts and its replies, in order.
func (f *Fake) Thread(channel, ts string) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyMsgs(f.history[channel], func(r *msgRec) bool {
		return !r.m.Deleted && (r.m.TS == ts || r.m.ThreadTS == ts)
	})
}

// Ephemerals returns the ephemeral messages currently shown to user
// (chat.postEphemeral, ephemeral response_url posts and slash-command ack
// messages), replacements applied, deleted ones left out.
func (f *Fake) Ephemerals(user string) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ephemeralsLocked(user)
}

func (f *Fake) ephemeralsLocked(user string) []Message {
	return copyMsgs(f.ephemerals, func(r *msgRec) bool { return r.m.User == user && !r.m.Deleted })
}

// Responses returns every post to responseURL in order (including a
// slash-command ack message, FromAck=true). Replaced/Deleted carry the
// request's replace_original/delete_original flags.
func (f *Fake) Responses(responseURL string) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.responses[responseURL])
}

// DMs returns the messages in the IM channel of user ("D"+userID).
func (f *Fake) DMs(user string) []Message {
	return f.Messages(imID(user))
}

func lastMatch(msgs []Message, match string) (Message, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Matches(match) {
			return msgs[i], true
		}
	}
	return Message{}, false
}

func describe(msgs []Message) string {
	if len(msgs) == 0 {
		return "none"
	}
	var parts []string
	for _, m := range msgs {
		s := strings.ReplaceAll(m.Flat(), "\n", " ⏎ ")
		if len(s) > 160 {
			s = s[:160] + "…"
		}
		parts = append(parts, fmt.Sprintf("%q", s))
	}
	return strings.Join(parts, ", ")
}

func (f *Fake) waitMsg(ctx context.Context, what, match string, list func() []Message) (Message, error) {
	var seen []Message
	m, err := waitUntil(ctx, f, func() (Message, bool) {
		seen = list()
		return lastMatch(seen, match)
	})
	if err != nil {
		return m, fmt.Errorf("slackfake: no %s matching %q: %w; have %s", what, match, err, describe(seen))
	}
	return m, nil
}

// WaitResponse waits for a post to responseURL whose text or blocks contain match.
func (f *Fake) WaitResponse(ctx context.Context, responseURL, match string) (Message, error) {
	return f.waitMsg(ctx, "response_url post", match, func() []Message { return f.responses[responseURL] })
}

// WaitMessage waits for a message in channel containing match (newest match wins).
func (f *Fake) WaitMessage(ctx context.Context, channel, match string) (Message, error) {
	return f.waitMsg(ctx, "message in "+channel, match, func() []Message { return f.messagesLocked(channel) })
}

// WaitEphemeral waits for an ephemeral message to user containing match.
func (f *Fake) WaitEphemeral(ctx context.Context, user, match string) (Message, error) {
	return f.waitMsg(ctx, "ephemeral for "+user, match, func() []Message { return f.ephemeralsLocked(user) })
}

// WaitDM waits for a message in user's DM containing match.
func (f *Fake) WaitDM(ctx context.Context, user, match string) (Message, error) {
	return f.waitMsg(ctx, "DM to "+user, match, func() []Message { return f.messagesLocked(imID(user)) })
}

// Unfurls returns the unfurls attached (chat.unfurl) to the message channel/ts: url -> attachment JSON.
func (f *Fake) Unfurls(channel, ts string) map[string]json.RawMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	src := f.unfurls[channel+"/"+ts]
	if src == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(src))
	for k, v := range src {
		out[k] = slices.Clone(v)
	}
	return out
}

// WaitUnfurl waits until url is unfurled on channel/ts.
func (f *Fake) WaitUnfurl(ctx context.Context, channel, ts, url string) (json.RawMessage, error) {
	return waitUntil(ctx, f, func() (json.RawMessage, bool) {
		v, ok := f.unfurls[channel+"/"+ts][url]
		return v, ok
	})
}

func isUserID(s string) bool {
	return len(s) > 1 && (s[0] == 'U' || s[0] == 'W')
}

func imID(user string) string { return "D" + user }
