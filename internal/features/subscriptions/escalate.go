package subscriptions

// The timer words of /soe subscribe (issue 22 point 1, issue 17 point 4):
//
//	escalate <delay> [<channel delay>]  DM the tags' SMEs questions still
//	                                    unanswered after delay, then post
//	                                    them here (default twice the delay)
//	unanswered <delay>                  post questions still unanswered
//	                                    after delay instead of new ones
//
// and the "Not for me" button of an escalation DM.

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/soe"
)

// Decliner records "Not for me" (notify.Service).
type Decliner interface {
	Decline(ctx context.Context, teamID, userID, value string) (notify.Declined, error)
}

// takeTimers takes "escalate <d> [<d>]" and "unanswered <d>" out of args.
func takeTimers(args []string) (notify.Timers, []string, string) {
	var t notify.Timers
	var rest []string
	for i := 0; i < len(args); i++ {
		word := strings.ToLower(args[i])
		if word != "escalate" && word != "unanswered" {
			rest = append(rest, args[i])
			continue
		}
		if i+1 >= len(args) {
			return t, nil, fmt.Sprintf("say after how long, for example `%s 4h`", word)
		}
		d, ok := notify.ParseDelay(args[i+1])
		if !ok {
			return t, nil, fmt.Sprintf("`%s` is not a delay; write it like `4h`, `90m` or `2d`", mrkdwn.Escape(args[i+1]))
		}
		i++
		if word == "unanswered" {
			if t.Unanswered > 0 {
				return t, nil, "give `unanswered` once"
			}
			t.Unanswered = d
			continue
		}
		if t.Escalate > 0 {
			return t, nil, "give `escalate` once"
		}
		t.Escalate = d
		if i+1 < len(args) {
			if d2, ok := notify.ParseDelay(args[i+1]); ok {
				t.EscalateChannel = d2
				i++
			}
		}
	}
	if err := t.Check(); err != nil {
		return t, nil, strings.TrimPrefix(err.Error(), notify.ErrBadInput.Error()+": ")
	}
	return t, rest, ""
}

// timersText describes a subscription's timers ("" when it has none).
func timersText(t notify.Timers) string {
	var parts []string
	if t.Unanswered > 0 {
		parts = append(parts, fmt.Sprintf("questions are posted once still unanswered after %s", notify.FormatAge(t.Unanswered)))
	}
	if t.Escalate > 0 {
		parts = append(parts, fmt.Sprintf("questions still unanswered after %s go to the tags' experts by DM, and here after %s",
			notify.FormatAge(t.Escalate), notify.FormatAge(t.ChannelAfter())))
	}
	return strings.Join(parts, "; ")
}

// timersLine is the timers of a subscription in the grammar of /soe
// subscribe, for /soe subscriptions ("" when it has none).
func timersLine(t notify.Timers) string {
	var parts []string
	if t.Unanswered > 0 {
		parts = append(parts, "unanswered "+notify.FormatAge(t.Unanswered))
	}
	if t.Escalate > 0 {
		parts = append(parts, fmt.Sprintf("escalate %s (DM the experts; here after %s)", notify.FormatAge(t.Escalate), notify.FormatAge(t.ChannelAfter())))
	}
	return strings.Join(parts, " · ")
}

// timerWords are a subscription's timers in the grammar of /soe subscribe
// (they parse back to the same timers).
func timerWords(t notify.Timers) []string {
	var w []string
	if t.Unanswered > 0 {
		w = append(w, "unanswered", delayWord(t.Unanswered))
	}
	if t.Escalate > 0 {
		w = append(w, "escalate", delayWord(t.Escalate))
		if t.EscalateChannel > 0 {
			w = append(w, delayWord(t.EscalateChannel))
		}
	}
	return w
}

// delayWord is d as notify.ParseDelay reads it: "2d", "30h", "1h30m", "90m".
func delayWord(d time.Duration) string {
	d = d.Round(time.Minute)
	switch h, m := int(d/time.Hour), int(d%time.Hour/time.Minute); {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	default:
		return fmt.Sprintf("%dh%dm", h, m)
	}
}

// timersSuffix is " · " and timersLine, or "" without timers.
func timersSuffix(t notify.Timers) string {
	if l := timersLine(t); l != "" {
		return " · " + l
	}
	return ""
}

// smesOffNote warns, when a subscription escalates, about tags whose SMEs
// are turned off on the site (422): nobody can be asked for them.
func (n *Feature) smesOffNote(ctx context.Context, c *soe.Client, t notify.Timers, tags []string) string {
	if t.Escalate <= 0 {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.SOETimeout)
	defer cancel()
	var off []string
	for _, name := range tags {
		tag, _, err := c.TagByName(ctx, name)
		if err != nil {
			continue
		}
		if _, err := c.SubjectMatterExperts(ctx, tag.ID); errors.Is(err, soe.ErrSMEDisabled) {
			off = append(off, name)
		}
	}
	return smesOffText(c.Scope(), off)
}

// smesOffText is the warning of smesOffNote ("" when no tag is off).
func smesOffText(scope soe.Scope, off []string) string {
	if len(off) == 0 {
		return ""
	}
	return fmt.Sprintf("Subject-matter experts are turned off on %s, so no expert of %s can be asked: those questions are only posted here.",
		mrkdwn.Escape(scope.String()), notify.TagList(off))
}

// decline answers an escalation DM's "Not for me".
func (n *Feature) decline(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	if n.decliner == nil {
		return
	}
	res, err := n.decliner.Decline(ctx, env.TeamID, env.UserID, a.Value)
	if err != nil && !errors.Is(err, notify.ErrBadInput) {
		n.log.ErrorContext(ctx, "saving Not for me failed", "err", err)
		n.router.Reply(ctx, env, blockkit.Warning("I could not save that. Please try again."))
		return
	}
	n.router.Reply(ctx, env, declinedMessage(res, err))
}

// declinedMessage replaces the escalation DM once "Not for me" is saved.
func declinedMessage(res notify.Declined, err error) chat.Message {
	var text string
	switch {
	case err != nil:
		text = ":warning: That button is out of date."
	case !res.Found:
		text = ":ok_hand: Noted. That question is answered or no longer waiting, so nobody will be asked about it."
	default:
		title := mrkdwn.Truncate(html.UnescapeString(res.Question.Title), 150)
		label := mrkdwn.Escape(title)
		if res.Question.URL != "" {
			label = mrkdwn.Link(res.Question.URL, title)
		}
		text = fmt.Sprintf(":ok_hand: Noted: I will not mention you when *%s* is posted in a channel.", label)
	}
	m := blockkit.Text(text)
	m.ReplaceOriginal = true
	return m
}
