// Package blockkit builds the Block Kit pieces every feature renders with.
// Every mrkdwn text object is verbatim, so Slack does not auto-link or
// auto-mention inside text that was escaped with internal/mrkdwn; every text
// is cut to the limit Slack enforces for its place.
package blockkit

import (
	"fmt"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
)

// Markdown returns a verbatim mrkdwn text object.
func Markdown(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, true)
}

// Plain returns a plain_text object (emoji on).
func Plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

// Section is a mrkdwn section block, cut to Slack's 3000-character limit.
func Section(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(Markdown(mrkdwn.Truncate(text, 3000)), nil, nil)
}

// SectionWithButton is a section with a button accessory.
func SectionWithButton(text string, btn *slack.ButtonBlockElement) *slack.SectionBlock {
	return slack.NewSectionBlock(Markdown(mrkdwn.Truncate(text, 3000)), nil, slack.NewAccessory(btn))
}

// Header is a header block (plain text, ≤150 chars).
func Header(text string) *slack.HeaderBlock {
	return slack.NewHeaderBlock(Plain(mrkdwn.Truncate(text, 150)))
}

// Context is a context block of mrkdwn elements.
func Context(texts ...string) *slack.ContextBlock {
	els := make([]slack.MixedElement, 0, len(texts))
	for _, t := range texts {
		els = append(els, Markdown(mrkdwn.Truncate(t, 3000)))
	}
	return slack.NewContextBlock("", els...)
}

// Button is an action button; value carries the handler's data.
func Button(actionID, label, value string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, value, Plain(mrkdwn.Truncate(label, 75)))
}

// PrimaryButton is a green button.
func PrimaryButton(actionID, label, value string) *slack.ButtonBlockElement {
	return Button(actionID, label, value).WithStyle(slack.StylePrimary)
}

// MaxURL is the longest URL Slack accepts in a button.
const MaxURL = 3000

// LinkButton opens url. A URL longer than Slack accepts is left out (the
// button then only acknowledges the click), so the message is never refused.
func LinkButton(actionID, label, url string) *slack.ButtonBlockElement {
	b := Button(actionID, label, "")
	if len(url) <= MaxURL {
		b.URL = url
	}
	return b
}

// Actions is an actions block.
func Actions(blockID string, els ...slack.BlockElement) *slack.ActionBlock {
	return slack.NewActionBlock(blockID, els...)
}

// Divider is a divider block.
func Divider() *slack.DividerBlock { return slack.NewDividerBlock() }

// Text is a message with a single section.
func Text(text string) chat.Message {
	return chat.Message{Text: text, Blocks: []slack.Block{Section(text)}}
}

// Warning is a friendly error message (⚠️ + text).
func Warning(text string) chat.Message { return Text(":warning: " + text) }

// Cap keeps blocks within limit (Slack's limit: 50 in a message, 100 in a
// view), replacing the tail with a context block that says how many were
// left out.
func Cap(blocks []slack.Block, limit int) []slack.Block {
	if len(blocks) <= limit {
		return blocks
	}
	out := append([]slack.Block{}, blocks[:limit-1]...)
	return append(out, Context(fmt.Sprintf("…and more (%d blocks left out).", len(blocks)-limit+1)))
}
