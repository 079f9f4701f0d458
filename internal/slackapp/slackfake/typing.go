package slackfake

import (
	"fmt"
	"slices"
	"time"
)

// TypeInView is the user typing into the text input actionID (block blockID,
// "" to find it) of their open modal, so that the input now holds text. The
// view's state takes the text (it survives views.update while the block and
// action ids stay the same, as in Slack). When the input block has
// dispatch_action and its element's dispatch_action_config triggers on
// on_character_entered, Slack sends block_actions with the view (state and
// hash as they are now) and that envelope is returned; otherwise nothing is
// sent and the returned *Sent is nil.
func (f *Fake) TypeInView(user string, view *View, actionID, blockID, text string) (*Sent, error) {
	f.mu.Lock()
	r, err := f.liveViewLocked(view, true)
	if err != nil {
		f.mu.Unlock()
		return nil, err
	}
	bs, _ := r.m["blocks"].([]any)
	block, el := inputBlock(bs, actionID, blockID)
	if el == nil {
		f.mu.Unlock()
		return nil, fmt.Errorf("slackfake: no text input %q (block %q) in view %s", actionID, blockID, r.id)
	}
	if t, _ := el["type"].(string); t != "plain_text_input" {
		f.mu.Unlock()
		return nil, fmt.Errorf("slackfake: %q is a %s, not a text input", actionID, t)
	}
	bid, _ := block["block_id"].(string)
	setStateLocked(r, bid, actionID, map[string]any{"type": "plain_text_input", "value": text})
	if !truthy(block["dispatch_action"]) || !dispatchesOn(el, "on_character_entered") {
		f.notifyLocked()
		f.mu.Unlock()
		return nil, nil
	}
	env := f.newEnvelopeLocked("interactive", "block_actions")
	trig := f.newTriggerLocked(user)
	env.user, env.viewID = user, r.id
	env.sent.TriggerID = trig.id
	act := map[string]any{"action_id": actionID, "block_id": bid, "type": "plain_text_input", "value": text, "action_ts": f.actionTSLocked()}
	payload := map[string]any{
		"type": "block_actions", "user": f.userObjLocked(user), "api_app_id": f.opts.AppID, "token": payloadToken,
		"container": map[string]any{"type": "view", "view_id": r.id}, "trigger_id": trig.id, "team": f.teamObj(),
		"enterprise": nil, "is_enterprise_install": false, "view": f.viewPayloadLocked(r),
		"actions": []any{act},
	}
	f.mu.Unlock()
	return f.sendEnvelope(env, payload, false, 0, "")
}

// inputBlock finds the input block holding the element actionID.
func inputBlock(bs []any, actionID, blockID string) (block, el map[string]any) {
	for _, b := range bs {
		m := mapOf(b)
		if t, _ := m["type"].(string); t != "input" {
			continue
		}
		if bid, _ := m["block_id"].(string); blockID != "" && bid != blockID {
			continue
		}
		e := mapOf(m["element"])
		if id, _ := e["action_id"].(string); id == actionID && id != "" {
			return m, e
		}
	}
	return nil, nil
}

// dispatchesOn reports whether a text input dispatches block_actions on
// trigger (Slack's default, without a config, is on_enter_pressed).
func dispatchesOn(el map[string]any, trigger string) bool {
	cfg := mapOf(el["dispatch_action_config"])
	arr, ok := cfg["trigger_actions_on"].([]any)
	if !ok {
		return trigger == "on_enter_pressed"
	}
	return slices.ContainsFunc(arr, func(v any) bool { s, _ := v.(string); return s == trigger })
}

func setStateLocked(r *viewRec, blockID, actionID string, v map[string]any) {
	st := mapOf(r.m["state"])
	if st == nil {
		st = map[string]any{}
		r.m["state"] = st
	}
	vals := mapOf(st["values"])
	if vals == nil {
		vals = map[string]any{}
		st["values"] = vals
	}
	inner := mapOf(vals[blockID])
	if inner == nil {
		inner = map[string]any{}
		vals[blockID] = inner
	}
	inner[actionID] = v
}

// keepStateLocked carries what the user entered in old over to the new view
// m: the values of inputs whose block_id, action_id and element type are the
// same in both (Slack preserves input entry that way on views.update).
func keepStateLocked(old, m map[string]any) {
	oldVals := mapOf(mapOf(old["state"])["values"])
	if len(oldVals) == 0 {
		return
	}
	bs, _ := m["blocks"].([]any)
	oldBs, _ := old["blocks"].([]any)
	kept := map[string]any{}
	for bid, acts := range oldVals {
		for aid, v := range mapOf(acts) {
			_, el := inputBlock(bs, aid, bid)
			_, oldEl := inputBlock(oldBs, aid, bid)
			if el == nil || oldEl == nil || el["type"] != oldEl["type"] {
				continue
			}
			inner := mapOf(kept[bid])
			if inner == nil {
				inner = map[string]any{}
				kept[bid] = inner
			}
			inner[aid] = v
		}
	}
	m["state"] = map[string]any{"values": kept}
}

// DeleteAsUser is a person deleting their message ts in channel (no event
// is sent). It reports whether there was such a message.
func (f *Fake) DeleteAsUser(channel, ts string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.findMsgLocked(channel, ts)
	if r == nil || r.m.Deleted {
		return false
	}
	r.m.Deleted = true
	r.m.At = time.Now()
	f.notifyLocked()
	return true
}
