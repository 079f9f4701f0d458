package slackfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Call is one Web API call (or response_url post, Method "response_url"; or a
// rejected ack payload, Method "ack").
type Call struct {
	Method string
	Token  string // masked, e.g. "xoxb-…"
	Form   url.Values
	JSON   map[string]any
	Status int
	Err    string // Slack error code when the answer was not ok
	At     time.Time

	// Additions.
	Via    string   // where the token came from: "form", "bearer", "none"
	Errors []string // detail errors (invalid_blocks, invalid_arguments)
}

// Calls returns the recorded calls of method ("" = all), in order.
func (f *Fake) Calls(method string) []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Call
	for _, c := range f.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Errors returns every non-ok answer the fake gave (HTTP status != 200 or
// "ok":false), plus ack payloads Slack would have rejected (Method "ack").
func (f *Fake) Errors() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Call
	for _, c := range f.calls {
		if c.Status != http.StatusOK || c.Err != "" {
			out = append(out, c)
		}
	}
	return out
}

func (f *Fake) recordCall(c Call) {
	f.mu.Lock()
	obs := f.recordCallLocked(c)
	f.mu.Unlock()
	f.afterCall(c, obs)
}

// recordCallLocked appends c; the caller must call afterCall(c, obs) once
// f.mu is released.
func (f *Fake) recordCallLocked(c Call) (obs func(Call)) {
	f.calls = append(f.calls, c)
	f.notifyLocked()
	return f.observer
}

func (f *Fake) afterCall(c Call, obs func(Call)) {
	lvl := "debug"
	if c.Err != "" || c.Status != http.StatusOK {
		lvl = "warn"
	}
	if lvl == "warn" {
		f.log.Warn("slackfake: call", "method", c.Method, "status", c.Status, "error", c.Err, "errors", c.Errors)
	} else {
		f.log.Debug("slackfake: call", "method", c.Method, "status", c.Status)
	}
	if obs != nil {
		obs(c)
	}
}

// finishCall records the call, then writes the JSON answer (recording first
// means a client that got its answer always finds its call in Calls()).
func (f *Fake) finishCall(w http.ResponseWriter, c Call, body map[string]any, hdr http.Header) {
	completeCall(&c, body)
	f.recordCall(c)
	writeAPI(w, c.Status, body, hdr)
}

// completeCall fills in what the answer says about the call.
func completeCall(c *Call, body map[string]any) {
	if c.Status == 0 {
		c.Status = http.StatusOK
	}
	if ok, _ := body["ok"].(bool); !ok && c.Err == "" {
		c.Err, _ = body["error"].(string)
	}
	if errs, ok := body["errors"].([]string); ok {
		c.Errors = errs
	}
	if md, ok := body["response_metadata"].(map[string]any); ok && len(c.Errors) == 0 {
		if msgs, ok := md["messages"].([]string); ok {
			c.Errors = msgs
		}
	}
}

func writeAPI(w http.ResponseWriter, status int, body map[string]any, hdr http.Header) {
	for k, vs := range hdr {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// delay applies SetLatency; it reports false if the request or fake ended.
func (f *Fake) delay(method string, r *http.Request) bool {
	f.mu.Lock()
	d := f.latency[method]
	f.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-f.closed:
	}
	return false
}

// faultLocked consumes an injected fault for method, if any.
func (f *Fake) faultLocked(method string) (int, map[string]any, http.Header, bool) {
	if rl := f.rateLimits[method]; rl != nil && rl.times > 0 {
		rl.times--
		secs := int(math.Ceil(rl.retryAfter.Seconds()))
		return http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"},
			http.Header{"Retry-After": {strconv.Itoa(secs)}}, true
	}
	if fl := f.fails[method]; fl != nil && fl.times > 0 {
		fl.times--
		return http.StatusOK, map[string]any{"ok": false, "error": fl.slackErr}, nil, true
	}
	return 0, nil, nil, false
}

// apiReq is a parsed Web API request.
type apiReq struct {
	method string
	token  string
	via    string
	args   map[string]any // form values (strings) or JSON body
	r      *http.Request
}

func (q *apiReq) str(k string) string {
	switch v := q.args[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func (q *apiReq) bool(k string) bool { return truthy(q.args[k]) }

type apiResp struct {
	status int
	body   map[string]any
	hdr    http.Header
}

func ok(body map[string]any) apiResp {
	if body == nil {
		body = map[string]any{}
	}
	body["ok"] = true
	return apiResp{status: http.StatusOK, body: body}
}

func fail(code string, detail ...string) apiResp {
	b := map[string]any{"ok": false, "error": code}
	if len(detail) > 0 {
		b["errors"] = detail
		b["response_metadata"] = map[string]any{"messages": prefixed(detail)}
	}
	return apiResp{status: http.StatusOK, body: b}
}

// failArgs is the views.* style: invalid_arguments with messages in response_metadata.
func failArgs(detail ...string) apiResp {
	return apiResp{status: http.StatusOK, body: map[string]any{
		"ok": false, "error": "invalid_arguments",
		"response_metadata": map[string]any{"messages": prefixed(detail)},
	}}
}

type tokenKind int

const (
	tokBot tokenKind = iota
	tokApp
	tokAny
)

type apiMethod struct {
	tok tokenKind
	h   func(f *Fake, q *apiReq) apiResp // called with f.mu held
}

var apiMethods map[string]apiMethod

func init() {
	apiMethods = map[string]apiMethod{
		"apps.connections.open":        {tokApp, (*Fake).apiConnectionsOpen},
		"auth.test":                    {tokAny, (*Fake).apiAuthTest},
		"team.info":                    {tokBot, (*Fake).apiTeamInfo},
		"chat.postMessage":             {tokBot, (*Fake).apiPostMessage},
		"chat.postEphemeral":           {tokBot, (*Fake).apiPostEphemeral},
		"chat.update":                  {tokBot, (*Fake).apiUpdate},
		"chat.delete":                  {tokBot, (*Fake).apiDelete},
		"chat.getPermalink":            {tokBot, (*Fake).apiPermalink},
		"chat.unfurl":                  {tokBot, (*Fake).apiUnfurl},
		"conversations.open":           {tokBot, (*Fake).apiConvOpen},
		"conversations.info":           {tokBot, (*Fake).apiConvInfo},
		"conversations.history":        {tokBot, (*Fake).apiConvHistory},
		"conversations.replies":        {tokBot, (*Fake).apiConvReplies},
		"conversations.members":        {tokBot, (*Fake).apiConvMembers},
		"users.info":                   {tokBot, (*Fake).apiUsersInfo},
		"files.getUploadURLExternal":   {tokBot, (*Fake).apiGetUploadURL},
		"files.completeUploadExternal": {tokBot, (*Fake).apiCompleteUpload},
		"users.lookupByEmail":          {tokBot, (*Fake).apiLookupByEmail},
		"views.open":                   {tokBot, (*Fake).apiViewsOpen},
		"views.push":                   {tokBot, (*Fake).apiViewsPush},
		"views.update":                 {tokBot, (*Fake).apiViewsUpdate},
		"views.publish":                {tokBot, (*Fake).apiViewsPublish},
	}
}

func (f *Fake) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	call := Call{Method: method, At: time.Now()}
	q := &apiReq{method: method, r: r, args: map[string]any{}}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
	if err != nil {
		call.Status, call.Err = http.StatusBadRequest, "invalid_request"
		f.finishCall(w, call, map[string]any{"ok": false, "error": call.Err}, nil)
		return
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ctype == "application/json" {
		if len(bytes.TrimSpace(body)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				call.Err = "invalid_json"
				f.finishCall(w, call, map[string]any{"ok": false, "error": call.Err}, nil)
				return
			}
			q.args = m
			call.JSON = m
		}
		// Query parameters still count (e.g. ?token=).
		for k, vs := range r.URL.Query() {
			if _, dup := q.args[k]; !dup && len(vs) > 0 {
				q.args[k] = vs[0]
			}
		}
	} else {
		form, _ := url.ParseQuery(string(body))
		for k, vs := range r.URL.Query() {
			for _, v := range vs {
				form.Add(k, v)
			}
		}
		for k, vs := range form {
			if len(vs) > 0 {
				q.args[k] = vs[0]
			}
		}
		redacted := url.Values{}
		for k, vs := range form {
			if k == "token" {
				redacted[k] = []string{maskToken(vs[0])}
				continue
			}
			redacted[k] = slices.Clone(vs)
		}
		call.Form = redacted
	}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		q.token, call.Via = strings.TrimPrefix(auth, "Bearer "), "bearer"
	} else if t := q.str("token"); t != "" {
		q.token, call.Via = t, "form"
	} else {
		call.Via = "none"
	}
	delete(q.args, "token")
	if call.JSON != nil {
		delete(call.JSON, "token")
	}
	call.Token = maskToken(q.token)
	q.via = call.Via

	if !f.delay(method, r) {
		return
	}
	resp, obs := f.dispatch(method, q, &call)
	f.afterCall(call, obs)
	writeAPI(w, call.Status, resp.body, resp.hdr)
}

// dispatch answers the call and records it in the same critical section as
// the state it changed, so that whoever sees the effect (a view, a message)
// also sees the call in Calls.
func (f *Fake) dispatch(method string, q *apiReq, call *Call) (apiResp, func(Call)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := f.dispatchLocked(method, q)
	call.Status = resp.status
	completeCall(call, resp.body)
	return resp, f.recordCallLocked(*call)
}

func (f *Fake) dispatchLocked(method string, q *apiReq) apiResp {
	m, known := apiMethods[method]
	if !known {
		return fail("unknown_method")
	}
	switch q.token {
	case "":
		return fail("not_authed")
	case f.opts.AppToken:
		if m.tok == tokBot {
			return fail("not_allowed_token_type")
		}
		if m.tok == tokApp && q.via != "bearer" {
			return fail("not_authed") // app-level tokens only work in the Authorization header
		}
	case f.opts.BotToken:
		if m.tok == tokApp {
			return fail("not_allowed_token_type")
		}
	default:
		return fail("invalid_auth")
	}
	if st, body, hdr, hit := f.faultLocked(method); hit {
		return apiResp{status: st, body: body, hdr: hdr}
	}
	resp := m.h(f, q)
	if ok, _ := resp.body["ok"].(bool); ok {
		f.notifyLocked()
	}
	return resp
}

// ---- apps / auth / team ----

func (f *Fake) apiConnectionsOpen(*apiReq) apiResp {
	return ok(map[string]any{"url": f.connectionsOpenURLLocked()})
}

func (f *Fake) apiAuthTest(q *apiReq) apiResp {
	body := map[string]any{
		"url":                   "https://" + f.opts.TeamDomain + ".slack.com/",
		"team":                  f.opts.TeamName,
		"team_id":               f.opts.TeamID,
		"is_enterprise_install": false,
	}
	if g := f.grid(); g != nil { // an org-level token
		body["team"], body["team_id"], body["is_enterprise_install"] = g.EnterpriseName, "", true
		body["enterprise_id"] = g.EnterpriseID
	}
	if q.token == f.opts.BotToken {
		body["user"] = f.opts.BotName
		body["user_id"] = f.opts.BotUserID
		body["bot_id"] = f.opts.BotID
	} else {
		body["app_id"] = f.opts.AppID
	}
	return ok(body)
}

func (f *Fake) apiTeamInfo(q *apiReq) apiResp {
	if f.grid() != nil {
		return f.apiGridTeamInfo(q)
	}
	return ok(map[string]any{"team": map[string]any{
		"id": f.opts.TeamID, "name": f.opts.TeamName, "domain": f.opts.TeamDomain,
		"email_domain": f.opts.TeamDomain + ".example", "icon": map[string]any{"image_default": true},
	}})
}

// ---- channels ----

// resolveChannelLocked maps a channel argument (id, #name, user id, IM id) to
// a channel id. It returns a Slack error code when it cannot post there.
func (f *Fake) resolveChannelLocked(arg string) (string, *Channel, string) {
	arg = strings.TrimPrefix(arg, "#")
	if arg == "" {
		return "", nil, "channel_not_found"
	}
	if c := f.channels[arg]; c != nil {
		return c.ID, c, ""
	}
	for _, c := range f.channels {
		if c.Name == arg {
			return c.ID, c, ""
		}
	}
	if isUserID(arg) {
		if f.users[arg] == nil {
			return "", nil, "channel_not_found"
		}
		return imID(arg), nil, ""
	}
	if strings.HasPrefix(arg, "D") && f.users[arg[1:]] != nil {
		return arg, nil, ""
	}
	return "", nil, "channel_not_found"
}

// canPostLocked checks that the bot may post in channel c (nil = IM).
func (f *Fake) canPostLocked(c *Channel) string {
	if c == nil {
		return ""
	}
	if c.Archived {
		return "is_archived"
	}
	if f.revokedLocked(c) {
		return "channel_not_found"
	}
	if c.Private && !slices.Contains(c.Members, f.opts.BotUserID) {
		return "not_in_channel"
	}
	return "" // public channels: chat:write.public
}

// messageBody parses text/blocks/attachments/metadata of a chat.* request.
type messageBody struct {
	text        string
	blocks      json.RawMessage // normalized; nil when absent or []
	blocksSet   bool            // the request carried a blocks field
	attachments json.RawMessage
	mdType      string
	mdPayload   map[string]any
}

func (f *Fake) parseMessageBody(q *apiReq) (messageBody, apiResp, bool) {
	var mb messageBody
	mb.text = q.str("text")
	raw := rawOf(q.args["blocks"])
	bs, present, err := decodeBlocks(raw)
	if err != nil {
		return mb, fail("invalid_blocks_format"), false
	}
	if errs := validateBlocks(bs, "/blocks", MaxMessageBlocks); len(errs) > 0 {
		return mb, fail("invalid_blocks", errs...), false
	}
	mb.blocksSet = present
	if len(bs) > 0 {
		mb.blocks, _ = json.Marshal(normalizeBlocks(bs, f.genID))
	}
	if a := rawOf(q.args["attachments"]); len(a) > 0 && string(a) != "null" && string(a) != "[]" {
		var v []any
		if json.Unmarshal(a, &v) != nil {
			return mb, fail("invalid_attachments"), false
		}
		mb.attachments = a
	}
	mb.mdType, mb.mdPayload = metadataOf(q.args["metadata"])
	if rm := rawOf(q.args["metadata"]); len(rm) > 0 && mb.mdType == "" && string(rm) != "null" {
		var probe map[string]any
		if json.Unmarshal(rm, &probe) != nil {
			return mb, fail("invalid_metadata_format"), false
		}
	}
	return mb, apiResp{}, true
}

func (f *Fake) messageJSON(m Message) map[string]any {
	out := map[string]any{"type": "message", "text": m.Text, "ts": m.TS}
	if m.BotPosted {
		out["user"] = f.opts.BotUserID
		out["bot_id"] = f.opts.BotID
		out["app_id"] = f.opts.AppID
		out["bot_profile"] = map[string]any{"id": f.opts.BotID, "app_id": f.opts.AppID, "name": f.opts.BotName, "team_id": f.opts.TeamID}
	} else {
		out["user"] = m.User
	}
	out["team"] = f.opts.TeamID
	if len(m.Blocks) > 0 {
		out["blocks"] = m.Blocks
	}
	if len(m.Attachments) > 0 {
		out["attachments"] = m.Attachments
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
		if m.ThreadTS != m.TS {
			out["parent_user_id"] = f.parentUserLocked(m.Channel, m.ThreadTS)
		}
	}
	if m.ReplyCount > 0 {
		out["thread_ts"] = m.TS
		out["reply_count"] = m.ReplyCount
	}
	if m.Edits > 0 {
		out["edited"] = map[string]any{"user": f.opts.BotUserID, "ts": m.TS}
	}
	if files := f.filesJSONLocked(m.FileIDs); len(files) > 0 {
		out["files"], out["upload"] = files, false
	}
	return out
}

func (f *Fake) parentUserLocked(channel, ts string) string {
	if r := f.findMsgLocked(channel, ts); r != nil {
		if r.m.BotPosted {
			return f.opts.BotUserID
		}
		return r.m.User
	}
	return ""
}

func (f *Fake) findMsgLocked(channel, ts string) *msgRec {
	for _, r := range f.history[channel] {
		if r.m.TS == ts {
			return r
		}
	}
	return nil
}

func (f *Fake) apiPostMessage(q *apiReq) apiResp {
	chID, ch, code := f.resolveChannelLocked(q.str("channel"))
	if code != "" {
		return fail(code)
	}
	if code := f.canPostLocked(ch); code != "" {
		return fail(code)
	}
	if u := f.users[strings.TrimPrefix(chID, "D")]; ch == nil && u != nil && (u.Deleted || u.DMsClosed) {
		return fail(map[bool]string{true: "user_disabled", false: "messages_tab_disabled"}[u.Deleted])
	}
	mb, bad, good := f.parseMessageBody(q)
	if !good {
		return bad
	}
	if mb.text == "" && len(mb.blocks) == 0 && len(mb.attachments) == 0 {
		return fail("no_text")
	}
	// An unknown thread_ts is accepted (the reply is stored with it), so apps
	// may reply to messages the fake never saw.
	threadTS := q.str("thread_ts")
	if rate := f.opts.PostRatePerChannel; rate > 0 {
		interval := time.Duration(float64(time.Second) / rate)
		now := f.now()
		if last, seen := f.lastPost[chID]; seen && now.Sub(last) < interval {
			wait := interval - now.Sub(last)
			return apiResp{status: http.StatusTooManyRequests,
				body: map[string]any{"ok": false, "error": "ratelimited"},
				hdr:  http.Header{"Retry-After": {strconv.Itoa(int(math.Ceil(wait.Seconds())))}}}
		}
		f.lastPost[chID] = now
	}
	m := Message{
		Channel: chID, TS: f.nextTSLocked(), ThreadTS: threadTS, User: f.opts.BotUserID,
		Text: mb.text, Blocks: mb.blocks, Attachments: mb.attachments,
		MetadataType: mb.mdType, MetadataPayload: mb.mdPayload,
		BotPosted: true, Kind: "message", At: time.Now(), Broadcast: threadTS != "" && q.bool("reply_broadcast"),
	}
	f.history[chID] = append(f.history[chID], &msgRec{m: m})
	f.bumpThreadLocked(chID, threadTS)
	msg := f.messageJSON(m)
	if m.MetadataType != "" {
		msg["metadata"] = map[string]any{"event_type": m.MetadataType, "event_payload": m.MetadataPayload}
	}
	return ok(map[string]any{"channel": chID, "ts": m.TS, "message": msg})
}

func (f *Fake) apiPostEphemeral(q *apiReq) apiResp {
	chID, ch, code := f.resolveChannelLocked(q.str("channel"))
	if code != "" {
		return fail(code)
	}
	if code := f.canPostLocked(ch); code != "" {
		return fail(code)
	}
	user := q.str("user")
	if f.users[user] == nil {
		return fail("user_not_found")
	}
	if ch != nil && len(ch.Members) > 0 && !slices.Contains(ch.Members, user) {
		return fail("user_not_in_channel")
	}
	mb, bad, good := f.parseMessageBody(q)
	if !good {
		return bad
	}
	if mb.text == "" && len(mb.blocks) == 0 && len(mb.attachments) == 0 {
		return fail("no_text")
	}
	m := Message{
		Channel: chID, TS: f.nextTSLocked(), ThreadTS: q.str("thread_ts"), User: user,
		Text: mb.text, Blocks: mb.blocks, Attachments: mb.attachments, Ephemeral: true,
		BotPosted: true, Kind: "ephemeral", At: time.Now(),
	}
	f.ephemerals = append(f.ephemerals, &msgRec{m: m})
	return ok(map[string]any{"message_ts": m.TS})
}

func (f *Fake) apiUpdate(q *apiReq) apiResp {
	chID, _, code := f.resolveChannelLocked(q.str("channel"))
	if code != "" {
		return fail(code)
	}
	r := f.findMsgLocked(chID, q.str("ts"))
	if r == nil || r.m.Deleted {
		if f.isEphemeralTSLocked(q.str("ts")) {
			return fail("cant_update_message")
		}
		return fail("message_not_found")
	}
	if !r.m.BotPosted {
		return fail("cant_update_message")
	}
	mb, bad, good := f.parseMessageBody(q)
	if !good {
		return bad
	}
	if mb.text == "" && len(mb.blocks) == 0 && len(mb.attachments) == 0 && !mb.blocksSet {
		return fail("no_text")
	}
	// text without blocks removes the old blocks; blocks=[] clears them.
	r.m.Text, r.m.Blocks = mb.text, mb.blocks
	if len(mb.attachments) > 0 || q.args["attachments"] != nil {
		r.m.Attachments = mb.attachments
	}
	if mb.mdType != "" {
		r.m.MetadataType, r.m.MetadataPayload = mb.mdType, mb.mdPayload
	}
	r.m.Replaced = true
	r.m.Edits++
	r.m.At = time.Now()
	return ok(map[string]any{"channel": chID, "ts": r.m.TS, "text": r.m.Text, "message": f.messageJSON(r.m)})
}

func (f *Fake) isEphemeralTSLocked(ts string) bool {
	for _, e := range f.ephemerals {
		if e.m.TS == ts {
			return true
		}
	}
	return false
}

func (f *Fake) apiDelete(q *apiReq) apiResp {
	chID, _, code := f.resolveChannelLocked(q.str("channel"))
	if code != "" {
		return fail(code)
	}
	r := f.findMsgLocked(chID, q.str("ts"))
	if r == nil || r.m.Deleted {
		return fail("message_not_found")
	}
	if !r.m.BotPosted {
		return fail("cant_delete_message")
	}
	r.m.Deleted = true
	r.m.At = time.Now()
	return ok(map[string]any{"channel": chID, "ts": r.m.TS})
}

func (f *Fake) apiPermalink(q *apiReq) apiResp {
	chID, _, code := f.resolveChannelLocked(q.str("channel"))
	if code != "" {
		return fail(code)
	}
	ts := q.str("message_ts")
	r := f.findMsgLocked(chID, ts)
	if r == nil {
		return fail("message_not_found")
	}
	link := fmt.Sprintf("https://%s.slack.com/archives/%s/p%s", f.opts.TeamDomain, chID, strings.ReplaceAll(ts, ".", ""))
	if r.m.ThreadTS != "" && r.m.ThreadTS != ts {
		link += "?thread_ts=" + r.m.ThreadTS + "&cid=" + chID
	}
	return ok(map[string]any{"channel": chID, "permalink": link})
}

func (f *Fake) apiUnfurl(q *apiReq) apiResp {
	channel, ts := q.str("channel"), q.str("ts")
	if id := q.str("unfurl_id"); id != "" {
		loc, known := f.unfurlIDs[id]
		if !known {
			return fail("cannot_find_message")
		}
		channel, ts = loc[0], loc[1]
	}
	if channel == "" || ts == "" {
		return fail("invalid_arguments")
	}
	if channel == ComposerChannel {
		// Only the message_ts of a composer link_shared is accepted there.
		if loc, known := f.unfurlIDs[ts]; !known || loc[0] != ComposerChannel {
			return fail("cannot_find_message")
		}
	}
	var unfurls map[string]json.RawMessage
	if raw := rawOf(q.args["unfurls"]); len(raw) > 0 {
		if err := json.Unmarshal(raw, &unfurls); err != nil {
			return fail("invalid_unfurls_format")
		}
	}
	for u, att := range unfurls {
		var v map[string]any
		if json.Unmarshal(att, &v) == nil {
			if bs, ok := v["blocks"].([]any); ok {
				if errs := validateBlocks(bs, "/unfurls/"+u+"/blocks", MaxMessageBlocks); len(errs) > 0 {
					return fail("invalid_unfurls_format", errs...)
				}
			}
		}
	}
	key := channel + "/" + ts
	if f.unfurls[key] == nil {
		f.unfurls[key] = map[string]json.RawMessage{}
	}
	for u, att := range unfurls {
		f.unfurls[key][u] = att
	}
	return ok(nil)
}

// ---- conversations ----

func (f *Fake) apiConvOpen(q *apiReq) apiResp {
	if ch := q.str("channel"); ch != "" {
		if _, _, code := f.resolveChannelLocked(ch); code != "" {
			return fail(code)
		}
		return ok(map[string]any{"channel": map[string]any{"id": ch}, "no_op": true, "already_open": true})
	}
	users := strings.Split(q.str("users"), ",")
	if len(users) != 1 || users[0] == "" {
		if len(users) > 1 {
			return fail("not_implemented") // MPIMs are not modelled
		}
		return fail("users_list_not_supplied")
	}
	u := strings.TrimSpace(users[0])
	switch fu := f.users[u]; {
	case fu == nil:
		return fail("user_not_found")
	case fu.Deleted:
		return fail("user_disabled")
	case fu.DMsClosed:
		return fail("messages_tab_disabled")
	}
	id := imID(u)
	_, open := f.history[id]
	if !open {
		f.history[id] = nil
	}
	ch := map[string]any{"id": id}
	if q.bool("return_im") {
		ch = f.channelJSONLocked(id)
	}
	return ok(map[string]any{"channel": ch, "no_op": open, "already_open": open})
}

func (f *Fake) channelJSONLocked(id string) map[string]any {
	if strings.HasPrefix(id, "D") {
		return map[string]any{"id": id, "is_im": true, "is_open": true, "user": id[1:], "is_org_shared": false,
			"created": 1700000000, "context_team_id": f.opts.TeamID}
	}
	c := f.channels[id]
	if c == nil {
		return nil
	}
	return map[string]any{
		"id": c.ID, "name": c.Name, "name_normalized": c.Name, "is_channel": !c.Private, "is_group": c.Private,
		"is_private": c.Private, "is_archived": c.Archived, "is_im": false, "is_mpim": false,
		"is_member": slices.Contains(c.Members, f.opts.BotUserID), "num_members": len(c.Members),
		"created": 1700000000, "context_team_id": f.workspaceLocked("", c.ID), "is_ext_shared": c.ExtShared,
		"is_shared": c.ExtShared,
	}
}

func (f *Fake) apiConvInfo(q *apiReq) apiResp {
	chID, ch, code := f.resolveChannelLocked(q.str("channel"))
	if code != "" {
		return fail(code)
	}
	if ch != nil && ch.Private && !slices.Contains(ch.Members, f.opts.BotUserID) {
		return fail("channel_not_found")
	}
	return ok(map[string]any{"channel": f.channelJSONLocked(chID)})
}

// apiConvMembers is conversations.members: the member ids, a page at a time
// (limit 1–1000, default 100) with an opaque next_cursor, as Slack pages.
func (f *Fake) apiConvMembers(q *apiReq) apiResp {
	_, ch, code := f.resolveChannelLocked(q.str("channel"))
	switch {
	case code != "":
		return fail(code)
	case ch == nil || ch.Private && !slices.Contains(ch.Members, f.opts.BotUserID):
		return fail("channel_not_found")
	}
	limit, _ := strconv.Atoi(q.str("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	from := 0
	if c := q.str("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "members:"))
		if err != nil || !strings.HasPrefix(c, "members:") || n < 0 || n > len(ch.Members) {
			return fail("invalid_cursor")
		}
		from = n
	}
	to := min(from+limit, len(ch.Members))
	next := ""
	if to < len(ch.Members) {
		next = "members:" + strconv.Itoa(to)
	}
	return ok(map[string]any{"members": slices.Clone(ch.Members[from:to]), "response_metadata": map[string]any{"next_cursor": next}})
}

func (f *Fake) readableLocked(arg string) (string, apiResp, bool) {
	chID, ch, code := f.resolveChannelLocked(arg)
	if code != "" {
		return "", fail(code), false
	}
	if ch != nil && !slices.Contains(ch.Members, f.opts.BotUserID) {
		if ch.Private {
			return "", fail("channel_not_found"), false
		}
		return "", fail("not_in_channel"), false
	}
	return chID, apiResp{}, true
}

func (f *Fake) historyJSONLocked(m Message, withMeta bool) map[string]any {
	j := f.messageJSON(m)
	if withMeta && m.MetadataType != "" {
		j["metadata"] = map[string]any{"event_type": m.MetadataType, "event_payload": m.MetadataPayload}
	}
	return j
}

func tsLess(a, b string) bool {
	fa, _ := strconv.ParseFloat(a, 64)
	fb, _ := strconv.ParseFloat(b, 64)
	if fa != fb {
		return fa < fb
	}
	return a < b
}

func (f *Fake) apiConvHistory(q *apiReq) apiResp {
	chID, bad, good := f.readableLocked(q.str("channel"))
	if !good {
		return bad
	}
	oldest, latest := q.str("oldest"), q.str("latest")
	inclusive := q.bool("inclusive")
	if c := q.str("cursor"); strings.HasPrefix(c, "ts:") {
		latest, inclusive = strings.TrimPrefix(c, "ts:"), false
	}
	limit, _ := strconv.Atoi(q.str("limit"))
	if limit <= 0 || limit > 999 {
		limit = 100
	}
	withMeta := q.bool("include_all_metadata")
	var sel []Message
	for _, r := range f.history[chID] {
		m := r.m
		if m.Deleted || (m.ThreadTS != "" && m.ThreadTS != m.TS && !m.Broadcast) {
			continue // history shows top-level messages (and replies also sent to the channel) only
		}
		if oldest != "" && (tsLess(m.TS, oldest) || (!inclusive && m.TS == oldest)) {
			continue
		}
		if latest != "" && (tsLess(latest, m.TS) || (!inclusive && m.TS == latest)) {
			continue
		}
		sel = append(sel, m)
	}
	sort.SliceStable(sel, func(i, j int) bool { return tsLess(sel[j].TS, sel[i].TS) }) // newest first
	hasMore := len(sel) > limit
	if hasMore {
		sel = sel[:limit]
	}
	msgs := make([]any, 0, len(sel))
	for _, m := range sel {
		msgs = append(msgs, f.historyJSONLocked(m, withMeta))
	}
	body := map[string]any{"messages": msgs, "has_more": hasMore, "pin_count": 0}
	if hasMore {
		body["response_metadata"] = map[string]any{"next_cursor": "ts:" + sel[len(sel)-1].TS}
	}
	return ok(body)
}

func (f *Fake) apiConvReplies(q *apiReq) apiResp {
	chID, bad, good := f.readableLocked(q.str("channel"))
	if !good {
		return bad
	}
	ts := q.str("ts")
	parent := f.findMsgLocked(chID, ts)
	if parent == nil || parent.m.Deleted {
		return fail("thread_not_found")
	}
	root := ts
	if parent.m.ThreadTS != "" {
		root = parent.m.ThreadTS
	}
	withMeta := q.bool("include_all_metadata")
	limit, _ := strconv.Atoi(q.str("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	// Pages: the cursor is the ts of the next message; Slack returns the
	// parent first on every page.
	after := strings.TrimPrefix(q.str("cursor"), "ts:")
	var msgs []any
	next := ""
	for _, r := range f.history[chID] {
		if r.m.Deleted || (r.m.TS != root && r.m.ThreadTS != root) {
			continue
		}
		if r.m.TS != root && after != "" && tsLess(r.m.TS, after) {
			continue
		}
		if len(msgs) == limit {
			next = "ts:" + r.m.TS
			break
		}
		msgs = append(msgs, f.historyJSONLocked(r.m, withMeta))
	}
	body := map[string]any{"messages": msgs, "has_more": next != ""}
	if next != "" {
		body["response_metadata"] = map[string]any{"next_cursor": next}
	}
	return ok(body)
}

// ---- users ----

func (f *Fake) userJSON(u *User) map[string]any {
	tz := u.TZ
	if tz == "" {
		tz = "America/New_York"
	}
	display := u.Name
	return map[string]any{
		"id": u.ID, "team_id": f.userTeamLocked(u.ID), "name": u.Name, "deleted": u.Deleted, "real_name": u.RealName,
		"tz": tz, "tz_label": tz, "tz_offset": 0, "is_bot": u.IsBot, "is_app_user": false,
		"is_admin": u.IsAdmin || u.IsOwner, "is_owner": u.IsOwner, "is_restricted": false, "is_ultra_restricted": false,
		"is_email_confirmed": u.Email != "", "updated": 1700000000,
		"profile": map[string]any{
			"real_name": u.RealName, "real_name_normalized": u.RealName, "display_name": display,
			"display_name_normalized": display, "email": u.Email, "team": f.opts.TeamID,
		},
	}
}

func (f *Fake) apiUsersInfo(q *apiReq) apiResp {
	u := f.users[q.str("user")]
	if u == nil {
		return fail("user_not_found")
	}
	j := f.userJSON(u)
	if g := f.grid(); g != nil {
		ent := g.EnterpriseID
		if u.EnterpriseID != "" {
			ent = u.EnterpriseID
		}
		j["enterprise_user"] = map[string]any{"id": u.ID, "enterprise_id": ent, "teams": []string{f.userTeamLocked(u.ID)}}
	}
	return ok(map[string]any{"user": j})
}

func (f *Fake) apiLookupByEmail(q *apiReq) apiResp {
	email := strings.ToLower(q.str("email"))
	for _, u := range f.users {
		if u.Email != "" && strings.ToLower(u.Email) == email {
			return ok(map[string]any{"user": f.userJSON(u)})
		}
	}
	return fail("users_not_found")
}
