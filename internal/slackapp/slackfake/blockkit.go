package slackfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Block Kit limits enforced by the fake (see the platform notes §3.4).
const (
	MaxMessageBlocks     = 50
	MaxViewBlocks        = 100
	MaxSectionText       = 3000
	MaxSectionFields     = 10
	MaxFieldText         = 2000
	MaxHeaderText        = 150
	MaxContextElements   = 10
	MaxActionsElements   = 25
	MaxBlockID           = 255
	MaxButtonText        = 75
	MaxButtonValue       = 2000
	MaxURL               = 3000
	MaxOptions           = 100
	MaxOptionText        = 75
	MaxOptionValue       = 150
	MaxModalTitle        = 24
	MaxPrivateMetadata   = 3000
	MaxMarkdownBlockText = 12000
	MaxLabel             = 2000
)

// decodeBlocks parses a blocks value: a JSON array, JSON null/empty (no blocks)
// or a JSON string containing an array (form-encoded APIs).
func decodeBlocks(raw json.RawMessage) ([]any, bool, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil, false, nil
	}
	var bs []any
	if err := json.Unmarshal([]byte(s), &bs); err != nil {
		return nil, true, err
	}
	return bs, true, nil
}

type blockValidator struct {
	errs     []string
	blockIDs map[string]bool
}

func (v *blockValidator) add(msg, ptr string) {
	v.errs = append(v.errs, fmt.Sprintf("%s [json-pointer:%s]", msg, ptr))
}

func (v *blockValidator) maxLen(s string, n int, ptr string) {
	if utf8.RuneCountInString(s) > n {
		v.add(fmt.Sprintf("must be less than %d characters", n+1), ptr)
	}
}

// text validates a composition text object; kinds limits the allowed types.
func (v *blockValidator) text(o any, ptr string, limit int, required bool, kinds ...string) {
	if o == nil {
		if required {
			v.add("missing required field: text", ptr)
		}
		return
	}
	m, ok := o.(map[string]any)
	if !ok {
		v.add("expected an object", ptr)
		return
	}
	typ, _ := m["type"].(string)
	if typ != "plain_text" && typ != "mrkdwn" {
		v.add("must be one of plain_text or mrkdwn", ptr+"/type")
	} else if len(kinds) > 0 && !contains(kinds, typ) {
		v.add("must be "+strings.Join(kinds, " or "), ptr+"/type")
	}
	s, ok := m["text"].(string)
	if !ok {
		v.add("missing required field: text", ptr+"/text")
		return
	}
	if utf8.RuneCountInString(s) == 0 {
		v.add("must be more than 0 characters", ptr+"/text")
	}
	if limit > 0 {
		v.maxLen(s, limit, ptr+"/text")
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// validateBlocks checks blocks (already decoded) against Slack's limits. prefix
// is the JSON pointer of the array ("/blocks" or "/view/blocks").
func validateBlocks(bs []any, prefix string, maxBlocks int) []string {
	v := &blockValidator{blockIDs: map[string]bool{}}
	if len(bs) > maxBlocks {
		v.add(fmt.Sprintf("must provide an array with no more than %d items", maxBlocks), prefix)
	}
	for i, b := range bs {
		v.block(b, fmt.Sprintf("%s/%d", prefix, i))
	}
	return v.errs
}

func (v *blockValidator) block(b any, ptr string) {
	m, ok := b.(map[string]any)
	if !ok {
		v.add("expected an object", ptr)
		return
	}
	typ, _ := m["type"].(string)
	if typ == "" {
		v.add("missing required field: type", ptr)
		return
	}
	if id, ok := m["block_id"].(string); ok && id != "" {
		v.maxLen(id, MaxBlockID, ptr+"/block_id")
		if v.blockIDs[id] {
			v.add("duplicate block_id "+strconv.Quote(id), ptr+"/block_id")
		}
		v.blockIDs[id] = true
	}
	switch typ {
	case "section":
		fields, _ := m["fields"].([]any)
		if m["text"] == nil && len(fields) == 0 {
			v.add("must provide at least one of text or fields", ptr)
		}
		v.text(m["text"], ptr+"/text", MaxSectionText, false)
		if len(fields) > MaxSectionFields {
			v.add(fmt.Sprintf("must provide an array with no more than %d items", MaxSectionFields), ptr+"/fields")
		}
		for j, fl := range fields {
			v.text(fl, fmt.Sprintf("%s/fields/%d", ptr, j), MaxFieldText, true)
		}
		if acc, ok := m["accessory"]; ok && acc != nil {
			v.element(acc, ptr+"/accessory")
		}
	case "header":
		v.text(m["text"], ptr+"/text", MaxHeaderText, true, "plain_text")
	case "context":
		els, _ := m["elements"].([]any)
		if len(els) == 0 {
			v.add("must provide an array with at least 1 item", ptr+"/elements")
		}
		if len(els) > MaxContextElements {
			v.add(fmt.Sprintf("must provide an array with no more than %d items", MaxContextElements), ptr+"/elements")
		}
		for j, e := range els {
			em, _ := e.(map[string]any)
			if t, _ := em["type"].(string); t == "plain_text" || t == "mrkdwn" {
				v.text(e, fmt.Sprintf("%s/elements/%d", ptr, j), 0, true)
			}
		}
	case "actions":
		els, _ := m["elements"].([]any)
		if len(els) == 0 {
			v.add("must provide an array with at least 1 item", ptr+"/elements")
		}
		if len(els) > MaxActionsElements {
			v.add(fmt.Sprintf("must provide an array with no more than %d items", MaxActionsElements), ptr+"/elements")
		}
		for j, e := range els {
			v.element(e, fmt.Sprintf("%s/elements/%d", ptr, j))
		}
	case "input":
		v.text(m["label"], ptr+"/label", MaxLabel, true, "plain_text")
		if m["hint"] != nil {
			v.text(m["hint"], ptr+"/hint", MaxLabel, false, "plain_text")
		}
		if m["element"] == nil {
			v.add("missing required field: element", ptr+"/element")
		} else {
			v.element(m["element"], ptr+"/element")
		}
	case "image":
		if m["image_url"] == nil && m["slack_file"] == nil {
			v.add("missing required field: image_url", ptr)
		}
		if _, ok := m["alt_text"].(string); !ok {
			v.add("missing required field: alt_text", ptr+"/alt_text")
		}
	case "markdown":
		s, _ := m["text"].(string)
		v.maxLen(s, MaxMarkdownBlockText, ptr+"/text")
	}
}

func (v *blockValidator) element(e any, ptr string) {
	m, ok := e.(map[string]any)
	if !ok {
		v.add("expected an object", ptr)
		return
	}
	typ, _ := m["type"].(string)
	if typ == "" {
		v.add("missing required field: type", ptr)
		return
	}
	if id, ok := m["action_id"].(string); ok {
		v.maxLen(id, MaxBlockID, ptr+"/action_id")
	}
	switch typ {
	case "button":
		v.text(m["text"], ptr+"/text", MaxButtonText, true, "plain_text")
		if s, ok := m["value"].(string); ok {
			v.maxLen(s, MaxButtonValue, ptr+"/value")
		}
		if s, ok := m["url"].(string); ok {
			v.maxLen(s, MaxURL, ptr+"/url")
		}
	case "static_select", "multi_static_select", "overflow", "radio_buttons", "checkboxes":
		opts, _ := m["options"].([]any)
		if groups, ok := m["option_groups"].([]any); ok {
			for _, g := range groups {
				gm, _ := g.(map[string]any)
				gopts, _ := gm["options"].([]any)
				opts = append(opts, gopts...)
			}
		} else if len(opts) == 0 {
			v.add("must provide an array with at least 1 item", ptr+"/options")
		}
		if len(opts) > MaxOptions {
			v.add(fmt.Sprintf("must provide an array with no more than %d items", MaxOptions), ptr+"/options")
		}
		for j, o := range opts {
			om, _ := o.(map[string]any)
			op := fmt.Sprintf("%s/options/%d", ptr, j)
			v.text(om["text"], op+"/text", MaxOptionText, true)
			if s, ok := om["value"].(string); ok {
				v.maxLen(s, MaxOptionValue, op+"/value")
			}
		}
	}
}

// normalizeBlocks fills missing block_id/action_id the way Slack does when it
// stores a message or view. gen returns a fresh id.
func normalizeBlocks(bs []any, gen func() string) []any {
	for _, b := range bs {
		m, ok := b.(map[string]any)
		if !ok {
			continue
		}
		if id, _ := m["block_id"].(string); id == "" {
			m["block_id"] = gen()
		}
		fill := func(e any) {
			em, ok := e.(map[string]any)
			if !ok {
				return
			}
			t, _ := em["type"].(string)
			if !isInteractive(t) {
				return
			}
			if id, _ := em["action_id"].(string); id == "" {
				em["action_id"] = gen()
			}
		}
		if acc, ok := m["accessory"]; ok {
			fill(acc)
		}
		if el, ok := m["element"]; ok {
			fill(el)
		}
		if t, _ := m["type"].(string); t == "actions" {
			els, _ := m["elements"].([]any)
			for _, e := range els {
				fill(e)
			}
		}
	}
	return bs
}

func isInteractive(t string) bool {
	switch t {
	case "", "image", "plain_text", "mrkdwn":
		return false
	}
	return true
}

// findElement looks for the interactive element with actionID (and blockID,
// when not empty) in blocks. It returns the element and its block_id.
func findElement(bs []any, actionID, blockID string) (map[string]any, string) {
	for _, b := range bs {
		m, ok := b.(map[string]any)
		if !ok {
			continue
		}
		bid, _ := m["block_id"].(string)
		if blockID != "" && bid != blockID {
			continue
		}
		var cands []any
		if acc, ok := m["accessory"]; ok {
			cands = append(cands, acc)
		}
		if el, ok := m["element"]; ok {
			cands = append(cands, el)
		}
		if els, ok := m["elements"].([]any); ok {
			cands = append(cands, els...)
		}
		for _, c := range cands {
			cm, ok := c.(map[string]any)
			if !ok {
				continue
			}
			if id, _ := cm["action_id"].(string); id == actionID && id != "" {
				return cm, bid
			}
		}
	}
	return nil, ""
}

// elementOptions returns every option of a select-like element (incl. groups).
func elementOptions(el map[string]any) []map[string]any {
	var out []map[string]any
	add := func(list any) {
		arr, _ := list.([]any)
		for _, o := range arr {
			if om, ok := o.(map[string]any); ok {
				out = append(out, om)
			}
		}
	}
	add(el["options"])
	if groups, ok := el["option_groups"].([]any); ok {
		for _, g := range groups {
			if gm, ok := g.(map[string]any); ok {
				add(gm["options"])
			}
		}
	}
	return out
}

// Flatten renders Block Kit JSON (an array of blocks) as readable plain text,
// one block per line: headers, section text and fields, context, buttons as
// "[Label](url)", inputs as "Label: [value]", selects as "[choice ▾]", and so on.
// mrkdwn is simplified: <url|label> becomes "label (url)", <@U1> becomes "@U1",
// and &amp; &lt; &gt; are unescaped. It returns "" for invalid JSON.
func Flatten(blocks json.RawMessage) string {
	return flatten(blocks, false)
}

// flatten with raw=true keeps mrkdwn text untouched (used for matching).
func flatten(blocks json.RawMessage, raw bool) string {
	bs, _, err := decodeBlocks(blocks)
	if err != nil || len(bs) == 0 {
		return ""
	}
	r := renderer{raw: raw}
	var lines []string
	for _, b := range bs {
		if s := r.block(b); s != "" {
			lines = append(lines, s)
		}
	}
	return strings.Join(lines, "\n")
}

type renderer struct{ raw bool }

var (
	reLink    = regexp.MustCompile(`<((?:https?|mailto):[^|>]+)\|([^>]+)>`)
	reBare    = regexp.MustCompile(`<((?:https?|mailto):[^|>]+)>`)
	reUser    = regexp.MustCompile(`<@([UW][A-Z0-9]+)(?:\|([^>]+))?>`)
	reChan    = regexp.MustCompile(`<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>`)
	reSpecial = regexp.MustCompile(`<!(here|channel|everyone)(?:\|[^>]*)?>`)
	reSubteam = regexp.MustCompile(`<!subteam\^([A-Z0-9]+)(?:\|([^>]+))?>`)
	unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
)

// Mrkdwn simplifies Slack mrkdwn control sequences for display and unescapes
// &amp; &lt; &gt;.
func Mrkdwn(s string) string {
	s = reLink.ReplaceAllString(s, "$2 ($1)")
	s = reBare.ReplaceAllString(s, "$1")
	s = reUser.ReplaceAllStringFunc(s, func(m string) string {
		sm := reUser.FindStringSubmatch(m)
		if sm[2] != "" {
			return "@" + sm[2]
		}
		return "@" + sm[1]
	})
	s = reChan.ReplaceAllStringFunc(s, func(m string) string {
		sm := reChan.FindStringSubmatch(m)
		if sm[2] != "" {
			return "#" + sm[2]
		}
		return "#" + sm[1]
	})
	s = reSpecial.ReplaceAllString(s, "@$1")
	s = reSubteam.ReplaceAllStringFunc(s, func(m string) string {
		sm := reSubteam.FindStringSubmatch(m)
		if sm[2] != "" {
			return sm[2]
		}
		return "@" + sm[1]
	})
	return unescaper.Replace(s)
}

func (r renderer) txt(o any) string {
	m, ok := o.(map[string]any)
	if !ok {
		return ""
	}
	s, _ := m["text"].(string)
	if r.raw {
		return s
	}
	if t, _ := m["type"].(string); t == "mrkdwn" {
		return Mrkdwn(s)
	}
	return unescaper.Replace(s)
}

func (r renderer) block(b any) string {
	m, ok := b.(map[string]any)
	if !ok {
		return ""
	}
	typ, _ := m["type"].(string)
	switch typ {
	case "header":
		return "# " + r.txt(m["text"])
	case "section":
		var parts []string
		if t := r.txt(m["text"]); t != "" {
			parts = append(parts, t)
		}
		if fields, ok := m["fields"].([]any); ok {
			var fs []string
			for _, fl := range fields {
				fs = append(fs, r.txt(fl))
			}
			parts = append(parts, strings.Join(fs, " | "))
		}
		s := strings.Join(parts, "\n")
		if acc, ok := m["accessory"]; ok && acc != nil {
			if a := r.element(acc); a != "" {
				s += "  " + a
			}
		}
		return s
	case "divider":
		return "---"
	case "context":
		var parts []string
		els, _ := m["elements"].([]any)
		for _, e := range els {
			em, _ := e.(map[string]any)
			switch t, _ := em["type"].(string); t {
			case "image":
				if alt, _ := em["alt_text"].(string); alt != "" {
					parts = append(parts, "["+alt+"]")
				}
			default:
				parts = append(parts, r.txt(e))
			}
		}
		return strings.Join(parts, " · ")
	case "actions":
		var parts []string
		els, _ := m["elements"].([]any)
		for _, e := range els {
			parts = append(parts, r.element(e))
		}
		return strings.Join(parts, " ")
	case "input":
		s := r.txt(m["label"])
		if opt, _ := m["optional"].(bool); opt {
			s += " (optional)"
		}
		s += ": " + r.element(m["element"])
		if h := r.txt(m["hint"]); h != "" {
			s += " (" + h + ")"
		}
		return s
	case "image":
		alt, _ := m["alt_text"].(string)
		if t := r.txt(m["title"]); t != "" {
			return "[image: " + t + "]"
		}
		return "[image: " + alt + "]"
	case "markdown":
		s, _ := m["text"].(string)
		return s
	case "rich_text":
		return strings.TrimRight(r.rich(m["elements"], 0), "\n")
	case "video":
		return "[video: " + r.txt(m["title"]) + "]"
	case "file":
		return "[file]"
	}
	// Unknown block: gather its texts.
	return strings.Join(collectTexts(m), " ")
}

func (r renderer) element(e any) string {
	m, ok := e.(map[string]any)
	if !ok {
		return ""
	}
	typ, _ := m["type"].(string)
	placeholder := r.txt(m["placeholder"])
	switch typ {
	case "button":
		s := "[" + r.txt(m["text"]) + "]"
		if u, _ := m["url"].(string); u != "" {
			s += "(" + u + ")"
		}
		return s
	case "plain_text_input", "email_text_input", "url_text_input", "number_input", "rich_text_input":
		v, _ := m["initial_value"].(string)
		if v == "" {
			v = placeholder
		}
		return "[" + v + "]"
	case "static_select", "external_select", "users_select", "conversations_select", "channels_select":
		v := r.txt(mapOf(m["initial_option"])["text"])
		for _, k := range []string{"initial_user", "initial_conversation", "initial_channel"} {
			if s, _ := m[k].(string); s != "" {
				v = s
			}
		}
		if v == "" {
			v = placeholder
		}
		return "[" + v + " ▾]"
	case "multi_static_select", "multi_external_select", "multi_users_select", "multi_conversations_select", "multi_channels_select":
		var vs []string
		if arr, ok := m["initial_options"].([]any); ok {
			for _, o := range arr {
				vs = append(vs, r.txt(mapOf(o)["text"]))
			}
		}
		for _, k := range []string{"initial_users", "initial_conversations", "initial_channels"} {
			if arr, ok := m[k].([]any); ok {
				for _, o := range arr {
					if s, ok := o.(string); ok {
						vs = append(vs, s)
					}
				}
			}
		}
		v := strings.Join(vs, ", ")
		if v == "" {
			v = placeholder
		}
		return "[" + v + " ▾▾]"
	case "overflow":
		var vs []string
		for _, o := range elementOptions(m) {
			vs = append(vs, r.txt(o["text"]))
		}
		return "[⋯ " + strings.Join(vs, " | ") + "]"
	case "checkboxes", "radio_buttons":
		selected := map[string]bool{}
		if arr, ok := m["initial_options"].([]any); ok {
			for _, o := range arr {
				v, _ := mapOf(o)["value"].(string)
				selected[v] = true
			}
		}
		if v, _ := mapOf(m["initial_option"])["value"].(string); v != "" {
			selected[v] = true
		}
		var vs []string
		for _, o := range elementOptions(m) {
			v, _ := o["value"].(string)
			box := "[ ] "
			if typ == "radio_buttons" {
				box = "( ) "
				if selected[v] {
					box = "(•) "
				}
			} else if selected[v] {
				box = "[x] "
			}
			vs = append(vs, box+r.txt(o["text"]))
		}
		return strings.Join(vs, " ")
	case "datepicker":
		v, _ := m["initial_date"].(string)
		if v == "" {
			v = placeholder
		}
		return "[date: " + v + "]"
	case "timepicker":
		v, _ := m["initial_time"].(string)
		return "[time: " + v + "]"
	case "image":
		alt, _ := m["alt_text"].(string)
		return "[img: " + alt + "]"
	}
	if placeholder != "" {
		return "[" + placeholder + "]"
	}
	return "[" + typ + "]"
}

func (r renderer) rich(v any, depth int) string {
	var sb strings.Builder
	arr, _ := v.([]any)
	for _, e := range arr {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		switch t, _ := m["type"].(string); t {
		case "rich_text_section", "rich_text_preformatted", "rich_text_quote":
			if t == "rich_text_quote" {
				sb.WriteString("> ")
			}
			sb.WriteString(r.rich(m["elements"], depth))
			sb.WriteString("\n")
		case "rich_text_list":
			items, _ := m["elements"].([]any)
			for _, it := range items {
				sb.WriteString(strings.Repeat("  ", depth) + "• ")
				sb.WriteString(strings.TrimRight(r.rich(mapOf(it)["elements"], depth+1), "\n"))
				sb.WriteString("\n")
			}
		case "text":
			s, _ := m["text"].(string)
			sb.WriteString(s)
		case "link":
			u, _ := m["url"].(string)
			if s, _ := m["text"].(string); s != "" && !r.raw {
				sb.WriteString(s + " (" + u + ")")
			} else {
				sb.WriteString(u)
			}
		case "user":
			id, _ := m["user_id"].(string)
			sb.WriteString("@" + id)
		case "channel":
			id, _ := m["channel_id"].(string)
			sb.WriteString("#" + id)
		case "emoji":
			n, _ := m["name"].(string)
			sb.WriteString(":" + n + ":")
		case "broadcast":
			n, _ := m["range"].(string)
			sb.WriteString("@" + n)
		default:
			if s, _ := m["text"].(string); s != "" {
				sb.WriteString(s)
			}
		}
	}
	return sb.String()
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func collectTexts(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["text"].(string); ok {
			out = append(out, s)
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if k != "text" {
				out = append(out, collectTexts(x[k])...)
			}
		}
	case []any:
		for _, c := range x {
			out = append(out, collectTexts(c)...)
		}
	}
	return out
}

// matchText reports whether match occurs in text, its unescaped form, or the
// flattened blocks (rendered or raw). An empty match matches everything.
func matchText(text string, blocks, attachments json.RawMessage, match string) bool {
	if match == "" {
		return true
	}
	if strings.Contains(text, match) || strings.Contains(Mrkdwn(text), match) {
		return true
	}
	if len(blocks) > 0 && (strings.Contains(flatten(blocks, false), match) || strings.Contains(flatten(blocks, true), match)) {
		return true
	}
	if len(attachments) > 0 {
		var v any
		if json.Unmarshal(attachments, &v) == nil {
			for _, s := range collectTexts(v) {
				if strings.Contains(s, match) {
					return true
				}
			}
		}
	}
	return false
}

// ButtonURL returns the URL of the first button labelled label anywhere in
// blocks (actions, section accessories, …), or "" when there is none: what a
// person would open by clicking it.
func ButtonURL(blocks json.RawMessage, label string) string {
	el := findButton(blocks, func(b map[string]any) bool {
		txt, _ := b["text"].(map[string]any)
		u, _ := b["url"].(string)
		return txt != nil && txt["text"] == label && u != ""
	})
	u, _ := el["url"].(string)
	return u
}

// ButtonValue returns the value of the first button whose action_id is
// actionID (or starts with actionID+":"), or "" when there is none.
func ButtonValue(blocks json.RawMessage, actionID string) string {
	el := findButton(blocks, func(b map[string]any) bool {
		id, _ := b["action_id"].(string)
		return id == actionID || strings.HasPrefix(id, actionID+":")
	})
	v, _ := el["value"].(string)
	return v
}

func findButton(blocks json.RawMessage, match func(map[string]any) bool) map[string]any {
	var v any
	if json.Unmarshal(blocks, &v) != nil {
		return nil
	}
	var found map[string]any
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if found == nil && x["type"] == "button" && match(x) {
				found = x
				return
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return found
}
