package slackfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"time"
)

// The verification token Slack puts in payloads (deprecated, never checked).
const payloadToken = "fakeVerificationToken"

func (f *Fake) userObjLocked(id string) map[string]any {
	name := strings.ToLower(id)
	if u := f.users[id]; u != nil && u.Name != "" {
		name = u.Name
	}
	return map[string]any{"id": id, "username": name, "name": name, "team_id": f.userTeamLocked(id)}
}

func (f *Fake) userNameLocked(id string) string {
	return f.userObjLocked(id)["name"].(string)
}

func (f *Fake) teamObj() map[string]any {
	return map[string]any{"id": f.opts.TeamID, "domain": f.opts.TeamDomain}
}

func (f *Fake) channelNameLocked(id string) string {
	if c := f.channels[id]; c != nil {
		return c.Name
	}
	if strings.HasPrefix(id, "D") {
		return "directmessage"
	}
	return id
}

func (f *Fake) actionTSLocked() string { return f.nextTSLocked() }

// SlashCommand sends a slash_commands envelope, as if user typed
// "command text" in channel.
func (f *Fake) SlashCommand(user, channel, command, text string) (*Sent, error) {
	f.mu.Lock()
	env := f.newEnvelopeLocked("slash_commands", "slash_commands")
	trig := f.newTriggerLocked(user)
	h := f.newHookLocked(user, channel, nil)
	env.user, env.channel, env.hookID = user, channel, h.id
	env.sent.TriggerID, env.sent.ResponseURL = trig.id, h.url
	payload := map[string]any{
		"token": payloadToken, "team_id": f.opts.TeamID, "team_domain": f.opts.TeamDomain,
		"channel_id": channel, "channel_name": f.channelNameLocked(channel),
		"user_id": user, "user_name": f.userNameLocked(user),
		"command": command, "text": text, "api_app_id": f.opts.AppID,
		"is_enterprise_install": false, "response_url": h.url, "trigger_id": trig.id,
	}
	f.mu.Unlock()
	return f.sendEnvelope(env, payload, true, 0, "")
}

// findSourceLocked finds the stored message a user interacts with.
func (f *Fake) findSourceLocked(channel string, msg *Message) *msgRec {
	if msg == nil || msg.TS == "" {
		return nil
	}
	if msg.Ephemeral {
		for _, r := range f.ephemerals {
			if r.m.TS == msg.TS {
				return r
			}
		}
		return nil
	}
	ch := msg.Channel
	if ch == "" {
		ch = channel
	}
	return f.findMsgLocked(ch, msg.TS)
}

func optionFor(el map[string]any, value string) map[string]any {
	for _, o := range elementOptions(el) {
		if v, _ := o["value"].(string); v == value {
			return map[string]any{"text": o["text"], "value": value}
		}
	}
	return map[string]any{"text": map[string]any{"type": "plain_text", "text": value, "emoji": true}, "value": value}
}

// actionFor builds the actions[] entry for clicking/choosing value on el.
func actionFor(el map[string]any, actionID, blockID, value, actionTS string) map[string]any {
	typ := "button"
	if el != nil {
		typ, _ = el["type"].(string)
	}
	a := map[string]any{"action_id": actionID, "block_id": blockID, "type": typ, "action_ts": actionTS}
	switch typ {
	case "button":
		if value == "" && el != nil {
			value, _ = el["value"].(string)
		}
		if value != "" {
			a["value"] = value
		}
		if el != nil && el["text"] != nil {
			a["text"] = el["text"]
		} else {
			a["text"] = map[string]any{"type": "plain_text", "text": value, "emoji": true}
		}
		if el != nil {
			if s, ok := el["style"]; ok {
				a["style"] = s
			}
		}
	case "static_select", "external_select", "overflow", "radio_buttons":
		a["selected_option"] = optionFor(el, value)
	case "multi_static_select", "multi_external_select", "checkboxes":
		opts := []any{}
		if value != "" {
			opts = append(opts, optionFor(el, value))
		}
		a["selected_options"] = opts
	case "users_select":
		a["selected_user"] = value
	case "multi_users_select":
		a["selected_users"] = []string{value}
	case "conversations_select":
		a["selected_conversation"] = value
	case "channels_select":
		a["selected_channel"] = value
	case "datepicker":
		a["selected_date"] = value
	case "timepicker":
		a["selected_time"] = value
	default:
		a["value"] = value
	}
	return a
}

// BlockAction sends a block_actions envelope: user clicked (or chose value
// in) the element actionID on msg in channel. msg should be a Message returned
// by the fake (its current state is used); when it has blocks the element must
// exist there. blockID may be "" (found from the blocks). An ephemeral msg
// gives container.is_ephemeral and no "message" field, as Slack does.
func (f *Fake) BlockAction(user, channel string, msg *Message, actionID, blockID, value string) (*Sent, error) {
	f.mu.Lock()
	src := f.findSourceLocked(channel, msg)
	if src != nil && src.m.Deleted {
		f.mu.Unlock()
		return nil, fmt.Errorf("slackfake: message %s was deleted", src.m.TS)
	}
	var cur *Message
	if src != nil {
		cp := src.m
		cur = &cp
	} else if msg != nil {
		cp := *msg
		cur = &cp
	}
	var el map[string]any
	if cur != nil && len(cur.Blocks) > 0 {
		bs, _, _ := decodeBlocks(cur.Blocks)
		var bid string
		el, bid = findElement(bs, actionID, blockID)
		if el == nil {
			f.mu.Unlock()
			return nil, fmt.Errorf("slackfake: action_id %q (block %q) not found in the message blocks: %s", actionID, blockID, Flatten(cur.Blocks))
		}
		blockID = bid
	}
	if cur != nil && cur.Channel != "" {
		channel = cur.Channel
	}
	env := f.newEnvelopeLocked("interactive", "block_actions")
	trig := f.newTriggerLocked(user)
	h := f.newHookLocked(user, channel, src)
	h.sourceMissing = msg != nil && src == nil
	env.user, env.channel, env.hookID = user, channel, h.id
	env.sent.TriggerID, env.sent.ResponseURL = trig.id, h.url
	container := map[string]any{"type": "message", "channel_id": channel, "is_ephemeral": cur != nil && cur.Ephemeral}
	payload := map[string]any{
		"type": "block_actions", "user": f.userObjLocked(user), "api_app_id": f.opts.AppID, "token": payloadToken,
		"container": container, "trigger_id": trig.id, "team": f.teamObj(), "enterprise": nil,
		"is_enterprise_install": false, "channel": map[string]any{"id": channel, "name": f.channelNameLocked(channel)},
		"state": map[string]any{"values": map[string]any{}}, "response_url": h.url,
		"actions": []any{actionFor(el, actionID, blockID, value, f.actionTSLocked())},
	}
	if cur != nil {
		container["message_ts"] = cur.TS
		if cur.ThreadTS != "" {
			container["thread_ts"] = cur.ThreadTS
		}
		if !cur.Ephemeral {
			payload["message"] = f.messageJSON(*cur)
		}
	}
	f.mu.Unlock()
	return f.sendEnvelope(env, payload, false, 0, "")
}

// liveViewLocked returns the current record of v.
func (f *Fake) liveViewLocked(v *View, needOpen bool) (*viewRec, error) {
	if v == nil {
		return nil, fmt.Errorf("slackfake: nil view")
	}
	r := f.views[v.ID]
	if r == nil {
		return nil, fmt.Errorf("slackfake: unknown view %s", v.ID)
	}
	if needOpen && r.closed {
		return nil, fmt.Errorf("slackfake: view %s (%s) is closed", v.ID, r.str("callback_id"))
	}
	return r, nil
}

func (f *Fake) viewPayloadLocked(r *viewRec) map[string]any {
	var m map[string]any
	b, _ := json.Marshal(r.m)
	_ = json.Unmarshal(b, &m)
	return m
}

// BlockActionInView sends a block_actions envelope for an element of a modal
// or Home tab (container.type "view"; no response_url).
func (f *Fake) BlockActionInView(user string, view *View, actionID, blockID, value string) (*Sent, error) {
	f.mu.Lock()
	r, err := f.liveViewLocked(view, true)
	if err != nil {
		f.mu.Unlock()
		return nil, err
	}
	bs, _ := r.m["blocks"].([]any)
	el, bid := findElement(bs, actionID, blockID)
	if el == nil {
		f.mu.Unlock()
		return nil, fmt.Errorf("slackfake: action_id %q (block %q) not found in view %s", actionID, blockID, r.id)
	}
	env := f.newEnvelopeLocked("interactive", "block_actions")
	trig := f.newTriggerLocked(user)
	env.user, env.viewID = user, r.id
	env.sent.TriggerID = trig.id
	payload := map[string]any{
		"type": "block_actions", "user": f.userObjLocked(user), "api_app_id": f.opts.AppID, "token": payloadToken,
		"container": map[string]any{"type": "view", "view_id": r.id}, "trigger_id": trig.id, "team": f.teamObj(),
		"enterprise": nil, "is_enterprise_install": false, "view": f.viewPayloadLocked(r),
		"actions": []any{actionFor(el, actionID, bid, value, f.actionTSLocked())},
	}
	f.mu.Unlock()
	return f.sendEnvelope(env, payload, false, 0, "")
}

// ViewSubmission sends a view_submission envelope for the user's open modal
// view with state.values = values (block_id -> action_id -> value object; see
// TextValue, OptionsValue, CheckboxValue, StaticSelectValue). Each value's
// "type" is corrected to the element's type in the view and option texts are
// filled in from the element's options. The ack's response_action is applied
// to the modal stack (see OpenViews).
func (f *Fake) ViewSubmission(user string, view *View, values map[string]map[string]any) (*Sent, error) {
	f.mu.Lock()
	r, err := f.liveViewLocked(view, true)
	if err != nil {
		f.mu.Unlock()
		return nil, err
	}
	bs, _ := r.m["blocks"].([]any)
	state := map[string]any{}
	for blockID, acts := range values {
		inner := map[string]any{}
		for actionID, v := range acts {
			val := fixValue(bs, blockID, actionID, v)
			inner[actionID] = val
		}
		state[blockID] = inner
	}
	r.m["state"] = map[string]any{"values": state}
	env := f.newEnvelopeLocked("interactive", "view_submission")
	trig := f.newTriggerLocked(user)
	env.user, env.viewID = user, r.id
	env.sent.TriggerID = trig.id
	payload := map[string]any{
		"type": "view_submission", "team": f.teamObj(), "user": f.userObjLocked(user), "view": f.viewPayloadLocked(r),
		"api_app_id": f.opts.AppID, "token": payloadToken, "trigger_id": trig.id, "response_urls": []any{},
		"is_enterprise_install": false, "enterprise": nil,
	}
	f.mu.Unlock()
	return f.sendEnvelope(env, payload, true, 0, "")
}

func fixValue(bs []any, blockID, actionID string, v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	m = maps.Clone(m)
	el, _ := findElement(bs, actionID, blockID)
	if el == nil {
		return m
	}
	if t, _ := el["type"].(string); t != "" {
		m["type"] = t
	}
	if o, ok := m["selected_option"].(map[string]any); ok {
		if val, _ := o["value"].(string); val != "" {
			m["selected_option"] = optionFor(el, val)
		}
	}
	if arr, ok := m["selected_options"].([]any); ok {
		out := make([]any, 0, len(arr))
		for _, o := range arr {
			if om, ok := o.(map[string]any); ok {
				val, _ := om["value"].(string)
				out = append(out, optionFor(el, val))
			}
		}
		m["selected_options"] = out
	}
	return m
}

// BlockSuggestion sends a block_suggestion envelope (external select typing).
// The app's ack payload is {"options":[...]} (see Ack.Decode).
func (f *Fake) BlockSuggestion(user string, view *View, actionID, blockID, typed string) (*Sent, error) {
	f.mu.Lock()
	r, err := f.liveViewLocked(view, true)
	if err != nil {
		f.mu.Unlock()
		return nil, err
	}
	if blockID == "" {
		bs, _ := r.m["blocks"].([]any)
		_, blockID = findElement(bs, actionID, "")
	}
	env := f.newEnvelopeLocked("interactive", "block_suggestion")
	env.user, env.viewID = user, r.id
	payload := map[string]any{
		"type": "block_suggestion", "user": f.userObjLocked(user), "container": map[string]any{"type": "view", "view_id": r.id},
		"api_app_id": f.opts.AppID, "token": payloadToken, "action_id": actionID, "block_id": blockID, "value": typed,
		"team": f.teamObj(), "view": f.viewPayloadLocked(r), "is_enterprise_install": false, "enterprise": nil,
	}
	f.mu.Unlock()
	return f.sendEnvelope(env, payload, true, 0, "")
}

// CloseView simulates the user closing the top modal (Cancel / ×). Slack sends
// a view_closed envelope only when the view has notify_on_close; otherwise the
// returned *Sent is nil.
func (f *Fake) CloseView(user string) (*Sent, error) {
	f.mu.Lock()
	st := f.stacks[user]
	if len(st) == 0 {
		f.mu.Unlock()
		return nil, fmt.Errorf("slackfake: %s has no open view", user)
	}
	r := f.views[st[len(st)-1]]
	payloadView := f.viewPayloadLocked(r)
	notify := truthy(r.m["notify_on_close"])
	clearAll := truthy(r.m["clear_on_close"])
	if clearAll {
		f.closeStackLocked(user, 0)
	} else {
		f.closeStackLocked(user, len(st)-1)
	}
	f.notifyLocked()
	if !notify {
		f.mu.Unlock()
		return nil, nil
	}
	env := f.newEnvelopeLocked("interactive", "view_closed")
	env.user, env.viewID = user, r.id
	payload := map[string]any{
		"type": "view_closed", "team": f.teamObj(), "user": f.userObjLocked(user), "view": payloadView,
		"api_app_id": f.opts.AppID, "token": payloadToken, "is_cleared": clearAll,
		"is_enterprise_install": false, "enterprise": nil,
	}
	f.mu.Unlock()
	return f.sendEnvelope(env, payload, false, 0, "")
}

// GlobalShortcut sends a shortcut envelope (global shortcut callbackID).
func (f *Fake) GlobalShortcut(user, callbackID string) (*Sent, error) {
	f.mu.Lock()
	env := f.newEnvelopeLocked("interactive", "shortcut")
	trig := f.newTriggerLocked(user)
	env.user = user
	env.sent.TriggerID = trig.id
	payload := map[string]any{
		"type": "shortcut", "token": payloadToken, "action_ts": f.actionTSLocked(), "team": f.teamObj(),
		"user": f.userObjLocked(user), "is_enterprise_install": false, "enterprise": nil,
		"callback_id": callbackID, "trigger_id": trig.id,
	}
	f.mu.Unlock()
	return f.sendEnvelope(env, payload, false, 0, "")
}

// PostAsUser adds a message written by a person to channel (no event is sent)
// and returns it; use it as the target of MessageShortcut / BlockAction.
func (f *Fake) PostAsUser(user, channel, text, threadTS string) Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := Message{Channel: channel, TS: f.nextTSLocked(), ThreadTS: threadTS, User: user, Text: text, Kind: "message", At: time.Now()}
	f.history[channel] = append(f.history[channel], &msgRec{m: m})
	f.bumpThreadLocked(channel, threadTS)
	f.notifyLocked()
	return m
}

// MessageShortcut sends a message_action envelope: user ran shortcut
// callbackID on msg in channel. A msg without TS is first added to the
// channel as a message by msg.User (or user).
func (f *Fake) MessageShortcut(user, channel, callbackID string, msg Message) (*Sent, error) {
	if msg.TS == "" {
		author := msg.User
		if author == "" {
			author = user
		}
		msg = f.PostAsUser(author, channel, msg.Text, msg.ThreadTS)
	}
	f.mu.Lock()
	src := f.findSourceLocked(channel, &msg)
	cur := msg
	if src != nil {
		cur = src.m
	}
	env := f.newEnvelopeLocked("interactive", "message_action")
	trig := f.newTriggerLocked(user)
	h := f.newHookLocked(user, channel, src)
	env.user, env.channel, env.hookID = user, channel, h.id
	env.sent.TriggerID, env.sent.ResponseURL = trig.id, h.url
	mj := f.messageJSON(cur)
	payload := map[string]any{
		"type": "message_action", "token": payloadToken, "action_ts": f.actionTSLocked(), "team": f.teamObj(),
		"user": f.userObjLocked(user), "channel": map[string]any{"id": channel, "name": f.channelNameLocked(channel)},
		"is_enterprise_install": false, "enterprise": nil, "callback_id": callbackID, "trigger_id": trig.id,
		"message_ts": cur.TS, "message": mj, "response_url": h.url,
	}
	f.mu.Unlock()
	return f.sendEnvelope(env, payload, false, 0, "")
}

// Event sends an events_api envelope with a fresh event_id (Sent.EventID).
func (f *Fake) Event(eventType string, event map[string]any) (*Sent, error) {
	f.mu.Lock()
	id := fmt.Sprintf("Ev%08d", f.nextIDLocked())
	f.mu.Unlock()
	return f.EventWithID(id, eventType, event, 0)
}

// EventWithID sends an events_api envelope with the given event_id; a
// retryAttempt > 0 marks it as a Slack retry (retry_reason "timeout").
func (f *Fake) EventWithID(eventID, eventType string, event map[string]any, retryAttempt int) (*Sent, error) {
	ev := maps.Clone(event)
	if ev == nil {
		ev = map[string]any{}
	}
	f.mu.Lock()
	ev["type"] = eventType
	if _, ok := ev["event_ts"]; !ok {
		ev["event_ts"] = f.nextTSLocked()
	}
	if eventType == "message" || eventType == "app_mention" {
		f.recordEventMessageLocked(ev)
	}
	ch, _ := ev["channel"].(string)
	extShared := f.channels[ch] != nil && f.channels[ch].ExtShared
	env := f.newEnvelopeLocked("events_api", eventType)
	env.sent.EventID = eventID
	if u, ok := ev["user"].(string); ok {
		env.user = u
	}
	payload := map[string]any{
		"token": payloadToken, "team_id": f.opts.TeamID, "api_app_id": f.opts.AppID, "event": ev,
		"type": "event_callback", "event_id": eventID, "event_time": f.now().Unix(),
		"authorizations": []any{map[string]any{
			"enterprise_id": nil, "team_id": f.opts.TeamID, "user_id": f.opts.BotUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": extShared, "event_context": "4-" + eventID,
	}
	f.mu.Unlock()
	reason := ""
	if retryAttempt > 0 {
		reason = "timeout"
	}
	return f.sendEnvelope(env, payload, false, retryAttempt, reason)
}

// recordEventMessageLocked adds the message an event reports (a person
// posting in a channel) to the channel history, so the app can reply in its
// thread, update history etc. A missing ts is assigned.
func (f *Fake) recordEventMessageLocked(ev map[string]any) {
	ch, _ := ev["channel"].(string)
	user, _ := ev["user"].(string)
	if st, _ := ev["subtype"].(string); st != "" || ch == "" {
		return
	}
	ts, _ := ev["ts"].(string)
	if ts == "" {
		ts = f.nextTSLocked()
		ev["ts"] = ts
	}
	if f.findMsgLocked(ch, ts) != nil {
		return
	}
	f.observeTSLocked(ts)
	text, _ := ev["text"].(string)
	threadTS, _ := ev["thread_ts"].(string)
	if _, ok := ev["channel_type"]; !ok && ev["type"] == "message" {
		ct := "channel"
		switch {
		case strings.HasPrefix(ch, "D"):
			ct = "im"
		case f.channels[ch] != nil && f.channels[ch].Private:
			ct = "group"
		}
		ev["channel_type"] = ct
	}
	m := Message{Channel: ch, TS: ts, ThreadTS: threadTS, User: user, Text: text, Kind: "message", At: time.Now()}
	if b := rawOf(ev["blocks"]); len(b) > 0 {
		m.Blocks = b
	}
	f.history[ch] = append(f.history[ch], &msgRec{m: m})
	f.bumpThreadLocked(ch, threadTS)
}

// AppHomeOpened sends app_home_opened for user (tab "home", channel "D"+user,
// with the current Home view if one was published).
func (f *Fake) AppHomeOpened(user string) (*Sent, error) {
	ev := map[string]any{"user": user, "channel": imID(user), "tab": "home"}
	f.mu.Lock()
	if id, ok := f.homes[user]; ok {
		ev["view"] = f.viewPayloadLocked(f.views[id])
	}
	f.mu.Unlock()
	return f.Event("app_home_opened", ev)
}

// LinkShared sends link_shared for urls posted by user in channel at
// messageTS. chat.unfurl with channel+ts or with the event's unfurl_id lands
// in Unfurls(channel, messageTS).
func (f *Fake) LinkShared(user, channel, messageTS string, urls []string) (*Sent, error) {
	links := sharedLinks(urls)
	f.mu.Lock()
	unfurlID := fmt.Sprintf("%s.%s.%s", channel, messageTS, f.genID())
	f.unfurlIDs[unfurlID] = [2]string{channel, messageTS}
	f.mu.Unlock()
	return f.Event("link_shared", map[string]any{
		"user": user, "channel": channel, "message_ts": messageTS, "links": links,
		"unfurl_id": unfurlID, "source": "conversations_history", "is_bot_user_member": true,
	})
}

// sharedLinks is the "links" list of a link_shared event.
func sharedLinks(urls []string) []any {
	links := make([]any, 0, len(urls))
	for _, u := range urls {
		host := ""
		if pu, err := url.Parse(u); err == nil {
			host = pu.Hostname()
		}
		links = append(links, map[string]any{"domain": host, "url": u})
	}
	return links
}

// ComposerChannel is the channel of link_shared events for links typed in
// the message composer (not yet posted anywhere).
const ComposerChannel = "COMPOSER"

// ComposerLinkShared sends link_shared for urls typed (not yet sent) by user
// in the message composer, as Slack does: channel "COMPOSER", source
// "composer", and a message_ts equal to the unfurl_id that is not a real
// timestamp. chat.unfurl with that unfurl_id and source, or with channel
// COMPOSER and that message_ts, lands in Unfurls(ComposerChannel, unfurlID).
func (f *Fake) ComposerLinkShared(user string, urls []string) (s *Sent, unfurlID string, err error) {
	links := sharedLinks(urls)
	f.mu.Lock()
	unfurlID = fmt.Sprintf("%s-%s-%s", user, f.genID(), f.genID())
	f.unfurlIDs[unfurlID] = [2]string{ComposerChannel, unfurlID}
	f.mu.Unlock()
	s, err = f.Event("link_shared", map[string]any{
		"user": user, "channel": ComposerChannel, "message_ts": unfurlID, "links": links,
		"unfurl_id": unfurlID, "source": "composer", "is_bot_user_member": true,
	})
	return s, unfurlID, err
}

// ---- value helpers for ViewSubmission ----

func opt(v string) map[string]any {
	return map[string]any{"text": map[string]any{"type": "plain_text", "text": v, "emoji": true}, "value": v}
}

// TextValue is a plain_text_input value.
func TextValue(s string) map[string]any {
	return map[string]any{"type": "plain_text_input", "value": s}
}

// OptionsValue is a multi-select value (type fixed from the view's element).
func OptionsValue(vals ...string) map[string]any {
	opts := make([]any, 0, len(vals))
	for _, v := range vals {
		opts = append(opts, opt(v))
	}
	return map[string]any{"type": "multi_external_select", "selected_options": opts}
}

// CheckboxValue is a checkboxes value with one option, selected or not.
func CheckboxValue(selected bool, value string) map[string]any {
	opts := []any{}
	if selected {
		opts = append(opts, opt(value))
	}
	return map[string]any{"type": "checkboxes", "selected_options": opts}
}

// StaticSelectValue is a single-select value.
func StaticSelectValue(v string) map[string]any {
	return map[string]any{"type": "static_select", "selected_option": opt(v)}
}

// UserSelectValue is a users_select value.
func UserSelectValue(user string) map[string]any {
	return map[string]any{"type": "users_select", "selected_user": user}
}

// DateValue is a datepicker value ("2026-01-31").
func DateValue(d string) map[string]any {
	return map[string]any{"type": "datepicker", "selected_date": d}
}
