// Package demo plays a scripted tour of soebot against the in-repo fakes
// (go run ./cmd/demo): the real bot, wired as in production by internal/e2e, with the
// fake Slack and fake SOE on loopback. It prints what each person would see
// in Slack, rendered as readable terminal text, and checks every step.
package demo

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
)

// Renderer turns Block Kit and mrkdwn into readable terminal text. It reuses
// slackfake.Flatten (headers as "# …", buttons as "[Label](url)", links
// <url|label> as "label (url)", entities decoded) and adds one thing: user
// mentions <@UALICE> are shown by name (@alice) when the name is known.
type Renderer struct {
	// Name returns the display handle of a Slack user id ("alice"), or false.
	Name func(userID string) (string, bool)
}

var reBareMention = regexp.MustCompile(`<@([UW][A-Z0-9]+)>`)

// mentions rewrites <@U…> as <@U…|name> so that Flatten shows @name.
func (r Renderer) mentions(s string) string {
	if r.Name == nil || !strings.Contains(s, "<@") {
		return s
	}
	return reBareMention.ReplaceAllStringFunc(s, func(m string) string {
		id := m[2 : len(m)-1]
		if n, ok := r.Name(id); ok && n != "" && !strings.ContainsAny(n, "<>|") {
			return "<@" + id + "|" + n + ">"
		}
		return m
	})
}

// rewrite applies mentions to every string of a decoded JSON value.
func (r Renderer) rewrite(v any) any {
	switch x := v.(type) {
	case string:
		return r.mentions(x)
	case []any:
		for i := range x {
			x[i] = r.rewrite(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = r.rewrite(x[k])
		}
	}
	return v
}

// Blocks renders a Block Kit array, one block per line.
func (r Renderer) Blocks(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return ""
	}
	b, err := json.Marshal(r.rewrite(v))
	if err != nil {
		return ""
	}
	return strings.TrimRight(slackfake.Flatten(b), "\n")
}

// Mrkdwn renders one mrkdwn string.
func (r Renderer) Mrkdwn(s string) string { return slackfake.Mrkdwn(r.mentions(s)) }

// Message renders a message: its blocks, or its text when it has none.
func (r Renderer) Message(m slackfake.Message) string {
	if s := r.Blocks(m.Blocks); s != "" {
		return s
	}
	return r.Mrkdwn(m.Text)
}

// View renders a modal or Home tab: its title, then its blocks.
func (r Renderer) View(v *slackfake.View) string {
	if v == nil {
		return ""
	}
	var sb strings.Builder
	if v.Title != "" {
		sb.WriteString("== " + v.Title + " ==\n")
	}
	sb.WriteString(r.Blocks(v.Blocks))
	return strings.TrimRight(sb.String(), "\n")
}

// Box indents text under a heading, like a message in a Slack client:
//
//	┌ heading
//	│ line
//	└
func Box(heading, text string) string {
	var sb strings.Builder
	sb.WriteString("  ┌ " + heading + "\n")
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		sb.WriteString("  │ " + l + "\n")
	}
	sb.WriteString("  └\n")
	return sb.String()
}
