package subscriptions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/notify"
)

// /soe subscriptions all: every subscription of the workspace, for the
// workspace's admins and owners and the people ADMIN_SLACK_USERS names.

// actionAuditPage shows another page of the list; value: the page number.
const actionAuditPage = "notify_audit_page"

// auditPageSize is how many subscriptions one message lists (one section
// each: with the header, the footer and the buttons well within Block Kit's
// 50 blocks, and each section within its 3000 characters).
const auditPageSize = 15

// Auditor lists every subscription of a workspace with its last delivery
// and error (notify.Service).
type Auditor interface {
	Audit(ctx context.Context, teamID string) ([]notify.AuditEntry, error)
}

// UserInfo tells whether a Slack user is a workspace admin or owner
// (chat.Slack).
type UserInfo interface {
	UserInfo(ctx context.Context, user string) (*slack.User, error)
}

// isWorkspaceAdmin reports whether user may list every subscription.
func (n *Feature) isWorkspaceAdmin(ctx context.Context, user string) bool {
	if slices.Contains(n.cfg.AdminUsers, user) {
		return true
	}
	if n.users == nil {
		return false
	}
	u, err := n.users.UserInfo(ctx, user)
	if err != nil {
		if !errors.Is(err, chat.ErrUserNotFound) {
			n.log.WarnContext(ctx, "users.info failed; not treating the user as an admin", "user", user, "err", err)
		}
		return false
	}
	return !u.Deleted && (u.IsAdmin || u.IsOwner)
}

// runAudit answers /soe subscriptions all with its first page.
func (n *Feature) runAudit(ctx context.Context, env *chat.Envelope, page int, replace bool) {
	if !n.isWorkspaceAdmin(ctx, env.UserID) {
		n.router.Reply(ctx, env, auditRefusal())
		return
	}
	if n.audit == nil {
		n.router.Reply(ctx, env, blockkit.Warning("Listing every subscription is not available on this soebot."))
		return
	}
	entries, err := n.audit.Audit(ctx, env.TeamID)
	if err != nil {
		n.log.ErrorContext(ctx, "listing every subscription failed", "err", err)
		n.router.Reply(ctx, env, blockkit.Warning("I could not read the subscriptions. Please try again."))
		return
	}
	slices.SortStableFunc(entries, func(a, b notify.AuditEntry) int { return strings.Compare(a.ChannelID, b.ChannelID) })
	m := renderAudit(entries, page, n.router.Command(), n.now())
	m.ReplaceOriginal = replace // response_url only: a fallback message is new
	n.router.Reply(ctx, env, m)
}

// auditRefusal answers everyone who is not a workspace admin.
func auditRefusal() chat.Message {
	return blockkit.Warning("Sorry, only workspace admins can list every subscription.")
}

// auditPage answers the Previous/Next buttons (the caller is checked again).
func (n *Feature) auditPage(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	page, err := strconv.Atoi(a.Value)
	if err != nil || page < 1 || page > 10000 {
		n.router.Reply(ctx, env, blockkit.Warning("That button is out of date; run the command again."))
		return
	}
	n.runAudit(ctx, env, page, true)
}

// renderAudit is page (from 1; past the end shows the last) of entries.
func renderAudit(entries []notify.AuditEntry, page int, cmd string, now time.Time) chat.Message {
	if len(entries) == 0 {
		return blockkit.Text(fmt.Sprintf("This workspace has no subscriptions. A channel starts one with %s.", mrkdwn.Code(cmd+" subscribe <tag>")))
	}
	pages := (len(entries) + auditPageSize - 1) / auditPageSize
	page = min(max(page, 1), pages)
	from := (page - 1) * auditPageSize
	shown := entries[from:min(from+auditPageSize, len(entries))]
	blocks := []slack.Block{blockkit.Section(fmt.Sprintf("*Every subscription in this workspace* (%d)", len(entries)))}
	for _, e := range shown {
		blocks = append(blocks, blockkit.Section(auditLine(e, now)))
	}
	blocks = append(blocks, blockkit.Context(fmt.Sprintf("Page %d of %d · subscriptions %d–%d · last delivery and error as far as the last day's deliveries tell · %s writes them all as CSV for the operator",
		page, pages, from+1, from+len(shown), mrkdwn.Code("bot subscriptions export"))))
	var els []slack.BlockElement
	if page > 1 {
		els = append(els, blockkit.Button(actionAuditPage+":prev", "Previous", strconv.Itoa(page-1)))
	}
	if page < pages {
		els = append(els, blockkit.Button(actionAuditPage+":next", "Next", strconv.Itoa(page+1)))
	}
	if len(els) > 0 {
		blocks = append(blocks, blockkit.Actions("notify_audit_pages", els...))
	}
	return chat.Message{Text: fmt.Sprintf("%d subscriptions in this workspace (page %d of %d)", len(entries), page, pages), Blocks: blocks}
}

// auditLine is one subscription: channel, scope, tags and posts, owners,
// state, last delivery and last error.
func auditLine(e notify.AuditEntry, now time.Time) string {
	what := what(e.Subscription)
	var owners []string
	for _, o := range e.OwnerIDs() {
		owners = append(owners, mrkdwn.Mention(o))
	}
	lines := []string{
		fmt.Sprintf("%s · %s · %s — %s", mrkdwn.ChannelMention(e.ChannelID), mrkdwn.Escape(e.Scope.String()), what, e.Kinds.String()+timersSuffix(e.Timers)),
		"Kept running by " + strings.Join(owners, ", ") + " · " + mrkdwn.Escape(e.State()),
		"Last delivery: " + ago(e.LastDelivery, now),
	}
	if e.LastError != "" {
		lines[2] += fmt.Sprintf(" · last error %s: %s", ago(e.LastErrorAt, now), mrkdwn.Code(mrkdwn.Truncate(e.LastError, 200)))
	}
	return strings.Join(lines, "\n")
}

// ago says how long before now t was ("none" when zero).
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "none"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}
