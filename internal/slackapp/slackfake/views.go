package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// View is a modal or Home tab as Slack holds it.
type View struct {
	ID, Hash, User, CallbackID, PrivateMetadata, ExternalID string
	Type                                                    string // modal | home
	Title                                                   string
	JSON                                                    json.RawMessage // the full view object, as in API answers and payloads
	Blocks                                                  json.RawMessage
	Closed                                                  bool
	Stack                                                   int // position in the user's modal stack: 1 = root, 2, 3; 0 for home/closed views

	// Additions.
	RootViewID, PreviousViewID string
	NotifyOnClose              bool
}

// SlackView decodes JSON with slack-go.
func (v *View) SlackView() (slack.View, error) {
	var sv slack.View
	err := json.Unmarshal(v.JSON, &sv)
	return sv, err
}

// Flat renders the title and blocks as text.
func (v *View) Flat() string {
	fb := Flatten(v.Blocks)
	if v.Title == "" {
		return fb
	}
	return "## " + v.Title + "\n" + fb
}

// Entered is what the user entered in the text input (blockID, actionID)
// and Slack holds in the view's state (see TypeInView); ok is false when
// nothing was entered there.
func (v *View) Entered(blockID, actionID string) (text string, ok bool) {
	var m struct {
		State struct {
			Values map[string]map[string]struct {
				Value *string `json:"value"`
			} `json:"values"`
		} `json:"state"`
	}
	if json.Unmarshal(v.JSON, &m) != nil {
		return "", false
	}
	e, ok := m.State.Values[blockID][actionID]
	if !ok || e.Value == nil {
		return "", false
	}
	return *e.Value, true
}

// Matches reports whether match occurs in the title or any text of the blocks.
func (v *View) Matches(match string) bool {
	return strings.Contains(v.Title, match) || matchText("", v.Blocks, nil, match)
}

type viewRec struct {
	id, hash, user, typ string
	m                   map[string]any // full view JSON object
	closed              bool
}

func (r *viewRec) str(k string) string { return strOf(r.m[k]) }

func strOf(v any) string { s, _ := v.(string); return s }

func (f *Fake) viewCopyLocked(r *viewRec) *View {
	js, _ := json.Marshal(r.m)
	blocks, _ := json.Marshal(r.m["blocks"])
	v := &View{
		ID: r.id, Hash: r.hash, User: r.user, Type: r.typ, Closed: r.closed,
		CallbackID: r.str("callback_id"), PrivateMetadata: r.str("private_metadata"), ExternalID: r.str("external_id"),
		JSON: js, Blocks: blocks, RootViewID: r.str("root_view_id"), PreviousViewID: r.str("previous_view_id"),
		NotifyOnClose: truthy(r.m["notify_on_close"]),
	}
	if t, ok := r.m["title"].(map[string]any); ok {
		v.Title, _ = t["text"].(string)
	}
	if !r.closed && r.typ == "modal" {
		if i := slices.Index(f.stacks[r.user], r.id); i >= 0 {
			v.Stack = i + 1
		}
	}
	return v
}

// buildViewLocked validates a view request and returns the stored JSON object
// (without id/hash). Errors use Slack's json-pointer messages.
func (f *Fake) buildViewLocked(req map[string]any, kind string) (map[string]any, []string) {
	if req == nil {
		return nil, []string{"missing required field: view [json-pointer:/view]"}
	}
	// Work on a deep copy.
	var m map[string]any
	b, _ := json.Marshal(req)
	_ = json.Unmarshal(b, &m)
	var errs []string
	add := func(msg, ptr string) { errs = append(errs, fmt.Sprintf("%s [json-pointer:%s]", msg, ptr)) }
	typ, _ := m["type"].(string)
	if typ != kind {
		add("must be "+kind, "/view/type")
	}
	textField := func(k string, required bool) {
		o, present := m[k]
		if !present || o == nil {
			if required {
				add("missing required field: "+k, "/view/"+k)
			}
			return
		}
		tm, _ := o.(map[string]any)
		if t, _ := tm["type"].(string); t != "plain_text" {
			add("must be plain_text", "/view/"+k+"/type")
		}
		s, _ := tm["text"].(string)
		if utf8.RuneCountInString(s) == 0 {
			add("must be more than 0 characters", "/view/"+k+"/text")
		}
		if utf8.RuneCountInString(s) > MaxModalTitle {
			add(fmt.Sprintf("must be less than %d characters", MaxModalTitle+1), "/view/"+k+"/text")
		}
	}
	bs, _, err := decodeBlocks(rawOf(m["blocks"]))
	if err != nil {
		add("must be an array", "/view/blocks")
	}
	if kind == "modal" {
		textField("title", true)
		textField("submit", false)
		textField("close", false)
		hasInput := false
		for _, blk := range bs {
			if t, _ := mapOf(blk)["type"].(string); t == "input" {
				hasInput = true
			}
		}
		if hasInput && m["submit"] == nil {
			add("missing required field: submit", "/view/submit")
		}
	}
	errs = append(errs, validateBlocks(bs, "/view/blocks", MaxViewBlocks)...)
	if s, _ := m["private_metadata"].(string); utf8.RuneCountInString(s) > MaxPrivateMetadata {
		add(fmt.Sprintf("must be less than %d characters", MaxPrivateMetadata+1), "/view/private_metadata")
	}
	if s, _ := m["callback_id"].(string); len(s) > MaxBlockID {
		add(fmt.Sprintf("must be less than %d characters", MaxBlockID+1), "/view/callback_id")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if bs == nil {
		bs = []any{}
	}
	m["blocks"] = normalizeBlocks(bs, f.genID)
	for _, k := range []string{"private_metadata", "callback_id", "external_id"} {
		if _, ok := m[k]; !ok {
			m[k] = ""
		}
	}
	for _, k := range []string{"clear_on_close", "notify_on_close"} {
		m[k] = truthy(m[k])
	}
	m["team_id"] = f.opts.TeamID
	m["app_id"] = f.opts.AppID
	m["bot_id"] = f.opts.BotID
	m["app_installed_team_id"] = f.opts.TeamID
	m["state"] = map[string]any{"values": map[string]any{}}
	return m, nil
}

func (f *Fake) newHashLocked() string {
	return fmt.Sprintf("%d.%s%s", f.now().Unix(), f.genID(), f.genID())
}

func (f *Fake) storeViewLocked(m map[string]any, user, typ, id string) *viewRec {
	if id == "" {
		id = "V" + strings.ToUpper(f.genID()) + fmt.Sprintf("%04d", f.nextIDLocked()%10000)
	}
	r := &viewRec{id: id, user: user, typ: typ, m: m, hash: f.newHashLocked()}
	m["id"] = id
	m["hash"] = r.hash
	f.views[id] = r
	return r
}

func (f *Fake) externalIDTakenLocked(ext, except string) bool {
	if ext == "" {
		return false
	}
	for _, r := range f.views {
		if r.id != except && !r.closed && r.str("external_id") == ext {
			return true
		}
	}
	return false
}

func (f *Fake) useTriggerLocked(id string) (*trigger, string) {
	t := f.triggers[id]
	switch {
	case id == "" || t == nil:
		return nil, "invalid_trigger_id"
	case t.used:
		return nil, "exchanged_trigger_id"
	case f.now().Sub(t.issued) > f.opts.TriggerTTL:
		return nil, "expired_trigger_id"
	}
	t.used = true
	return t, ""
}

func viewReq(q *apiReq) map[string]any {
	switch v := q.args["view"].(type) {
	case map[string]any:
		return v
	case string: // form-encoded clients send the view as a JSON string
		var m map[string]any
		if json.Unmarshal([]byte(v), &m) == nil {
			return m
		}
	}
	return nil
}

func (f *Fake) viewAnswerLocked(r *viewRec) apiResp {
	var obj map[string]any
	b, _ := json.Marshal(r.m)
	_ = json.Unmarshal(b, &obj)
	return ok(map[string]any{"view": obj})
}

func (f *Fake) closeStackLocked(user string, from int) {
	st := f.stacks[user]
	if from < 0 || from > len(st) {
		return
	}
	for _, id := range st[from:] {
		if r := f.views[id]; r != nil {
			r.closed = true
		}
		delete(f.viewErrors, id)
	}
	f.stacks[user] = slices.Clone(st[:from])
	if from == 0 {
		delete(f.stacks, user)
	}
}

func (f *Fake) apiViewsOpen(q *apiReq) apiResp {
	m, errs := f.buildViewLocked(viewReq(q), "modal")
	if errs != nil {
		return failArgs(errs...)
	}
	if f.externalIDTakenLocked(strOf(m["external_id"]), "") {
		return fail("duplicate_external_id")
	}
	t, code := f.useTriggerLocked(q.str("trigger_id"))
	if code != "" {
		return fail(code)
	}
	f.closeStackLocked(t.user, 0)
	r := f.storeViewLocked(m, t.user, "modal", "")
	m["root_view_id"] = r.id
	m["previous_view_id"] = nil
	f.stacks[t.user] = []string{r.id}
	return f.viewAnswerLocked(r)
}

func (f *Fake) apiViewsPush(q *apiReq) apiResp {
	m, errs := f.buildViewLocked(viewReq(q), "modal")
	if errs != nil {
		return failArgs(errs...)
	}
	if f.externalIDTakenLocked(strOf(m["external_id"]), "") {
		return fail("duplicate_external_id")
	}
	t, code := f.useTriggerLocked(q.str("trigger_id"))
	if code != "" {
		return fail(code)
	}
	r, code := f.pushLocked(t.user, m)
	if code != "" {
		return fail(code)
	}
	return f.viewAnswerLocked(r)
}

func (f *Fake) pushLocked(user string, m map[string]any) (*viewRec, string) {
	st := f.stacks[user]
	if len(st) == 0 {
		return nil, "not_found"
	}
	if len(st) >= 3 {
		return nil, "push_limit_reached"
	}
	r := f.storeViewLocked(m, user, "modal", "")
	m["root_view_id"] = st[0]
	m["previous_view_id"] = st[len(st)-1]
	f.stacks[user] = append(slices.Clone(st), r.id)
	return r, ""
}

func (f *Fake) apiViewsUpdate(q *apiReq) apiResp {
	var r *viewRec
	if id := q.str("view_id"); id != "" {
		r = f.views[id]
	} else if ext := q.str("external_id"); ext != "" {
		for _, v := range f.views {
			if !v.closed && v.str("external_id") == ext {
				r = v
			}
		}
	} else {
		return fail("invalid_arguments")
	}
	if r == nil || r.closed {
		return fail("not_found")
	}
	if h := q.str("hash"); h != "" && h != r.hash {
		return fail("hash_conflict")
	}
	m, errs := f.buildViewLocked(viewReq(q), r.typ)
	if errs != nil {
		return failArgs(errs...)
	}
	if f.externalIDTakenLocked(strOf(m["external_id"]), r.id) {
		return fail("duplicate_external_id")
	}
	f.replaceViewLocked(r, m)
	return f.viewAnswerLocked(r)
}

func (f *Fake) replaceViewLocked(r *viewRec, m map[string]any) {
	m["root_view_id"] = r.m["root_view_id"]
	m["previous_view_id"] = r.m["previous_view_id"]
	m["id"] = r.id
	keepStateLocked(r.m, m)
	r.hash = f.newHashLocked()
	m["hash"] = r.hash
	r.m = m
	delete(f.viewErrors, r.id)
}

func (f *Fake) apiViewsPublish(q *apiReq) apiResp {
	user := q.str("user_id")
	if user == "" {
		return fail("invalid_arguments")
	}
	m, errs := f.buildViewLocked(viewReq(q), "home")
	if errs != nil {
		return failArgs(errs...)
	}
	if id, has := f.homes[user]; has {
		r := f.views[id]
		if h := q.str("hash"); h != "" && h != r.hash {
			return fail("hash_conflict")
		}
		f.replaceViewLocked(r, m)
		return f.viewAnswerLocked(r)
	}
	r := f.storeViewLocked(m, user, "home", "")
	m["root_view_id"] = r.id
	m["previous_view_id"] = nil
	f.homes[user] = r.id
	return f.viewAnswerLocked(r)
}

// applyViewSubmissionAckLocked applies response_action semantics.
func (f *Fake) applyViewSubmissionAckLocked(env *envelope, payload json.RawMessage, fail func(string, ...string) []Call) []Call {
	st := f.stacks[env.user]
	idx := slices.Index(st, env.viewID)
	if idx < 0 {
		return nil // no longer open
	}
	var resp struct {
		ResponseAction string            `json:"response_action"`
		View           map[string]any    `json:"view"`
		Errors         map[string]string `json:"errors"`
	}
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &resp); err != nil {
			return fail("invalid_ack_payload")
		}
	}
	switch resp.ResponseAction {
	case "":
		f.closeStackLocked(env.user, idx) // closes the submitted view (the top one)
	case "clear":
		f.closeStackLocked(env.user, 0)
	case "update":
		m, errs := f.buildViewLocked(resp.View, "modal")
		if errs != nil {
			return fail("invalid_arguments", errs...)
		}
		f.replaceViewLocked(f.views[env.viewID], m)
	case "push":
		m, errs := f.buildViewLocked(resp.View, "modal")
		if errs != nil {
			return fail("invalid_arguments", errs...)
		}
		delete(f.viewErrors, env.viewID)
		if _, code := f.pushLocked(env.user, m); code != "" {
			return fail(code)
		}
	case "errors":
		f.viewErrors[env.viewID] = maps.Clone(resp.Errors)
		inputs := map[string]bool{}
		bs, _ := f.views[env.viewID].m["blocks"].([]any)
		for _, b := range bs {
			bm := mapOf(b)
			if t, _ := bm["type"].(string); t == "input" {
				id, _ := bm["block_id"].(string)
				inputs[id] = true
			}
		}
		var bad []string
		for k := range resp.Errors {
			if !inputs[k] {
				bad = append(bad, fmt.Sprintf("errors key %q is not the block_id of an input block", k))
			}
		}
		if len(resp.Errors) == 0 {
			bad = append(bad, "errors must not be empty")
		}
		if len(bad) > 0 {
			slices.Sort(bad)
			return fail("invalid_errors", bad...)
		}
	default:
		return fail("invalid_response_action")
	}
	return nil
}

// OpenViews returns the user's current modal stack, root first.
func (f *Fake) OpenViews(user string) []*View {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*View
	for _, id := range f.stacks[user] {
		out = append(out, f.viewCopyLocked(f.views[id]))
	}
	return out
}

// TopView returns the user's top modal or nil.
func (f *Fake) TopView(user string) *View {
	vs := f.OpenViews(user)
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

// ViewByID returns the current state of a view (open, closed or home), or nil.
func (f *Fake) ViewByID(id string) *View {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.views[id]; r != nil {
		return f.viewCopyLocked(r)
	}
	return nil
}

// WaitView waits until the user has an open modal with callbackID (the
// top-most such view is returned).
func (f *Fake) WaitView(ctx context.Context, user, callbackID string) (*View, error) {
	var have []string
	v, err := waitUntil(ctx, f, func() (*View, bool) {
		st := f.stacks[user]
		have = have[:0]
		for i := len(st) - 1; i >= 0; i-- {
			r := f.views[st[i]]
			have = append(have, r.str("callback_id"))
			if r.str("callback_id") == callbackID {
				return f.viewCopyLocked(r), true
			}
		}
		return nil, false
	})
	if err != nil {
		return nil, fmt.Errorf("slackfake: no open view %q for %s: %w; open: %q", callbackID, user, err, have)
	}
	return v, nil
}

// WaitViewMatch waits until the user's top modal has callbackID and contains match
// (useful after views.update).
func (f *Fake) WaitViewMatch(ctx context.Context, user, callbackID, match string) (*View, error) {
	v, err := waitUntil(ctx, f, func() (*View, bool) {
		st := f.stacks[user]
		if len(st) == 0 {
			return nil, false
		}
		v := f.viewCopyLocked(f.views[st[len(st)-1]])
		return v, v.CallbackID == callbackID && v.Matches(match)
	})
	if err != nil {
		return nil, fmt.Errorf("slackfake: top view of %s is not %q containing %q: %w", user, callbackID, match, err)
	}
	return v, nil
}

// ViewErrors returns the last response_action "errors" map acked for viewID
// (nil if none, or once the view was updated or closed).
func (f *Fake) ViewErrors(viewID string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.viewErrors[viewID])
}

// WaitViewErrors waits for response_action errors on viewID.
func (f *Fake) WaitViewErrors(ctx context.Context, viewID string) (map[string]string, error) {
	return waitUntil(ctx, f, func() (map[string]string, bool) {
		e, ok := f.viewErrors[viewID]
		return maps.Clone(e), ok
	})
}

// Home returns the user's published Home tab, or nil.
func (f *Fake) Home(user string) *View {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.homes[user]; ok {
		return f.viewCopyLocked(f.views[id])
	}
	return nil
}

// WaitHome waits until the user's Home tab contains match.
func (f *Fake) WaitHome(ctx context.Context, user, match string) (*View, error) {
	var last *View
	v, err := waitUntil(ctx, f, func() (*View, bool) {
		id, ok := f.homes[user]
		if !ok {
			return nil, false
		}
		last = f.viewCopyLocked(f.views[id])
		return last, last.Matches(match)
	})
	if err != nil {
		have := "none"
		if last != nil {
			have = fmt.Sprintf("%q", last.Flat())
		}
		return nil, fmt.Errorf("slackfake: no home for %s matching %q: %w; have %s", user, match, err, have)
	}
	return v, nil
}
