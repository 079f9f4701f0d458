package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// Action ids of the linking prompts' URL buttons (they need no handler).
const (
	ActionConnect   = "soe_connect"
	ActionReconnect = "soe_reconnect"
)

// Links is what the middleware needs of account linking (linking.Service).
type Links interface {
	Client(ctx context.Context, teamID, userID string, scope soe.Scope) (*soe.Client, *linking.Link, error)
	Begin(ctx context.Context, teamID, userID string, scope soe.Scope, resume *linking.Resume) (string, error)
	Invalidate(ctx context.Context, teamID, userID string, scope soe.Scope, reason string) error
}

// ResumeFor is the command to answer after linking: resume when given, else
// the slash command of env (so every /soe command is replayed).
func ResumeFor(env *chat.Envelope, resume *linking.Resume) *linking.Resume {
	if resume != nil {
		return resume
	}
	if env != nil && env.Slash != nil && strings.TrimSpace(env.Slash.Text) != "" {
		return &linking.Resume{Text: env.Slash.Text, ChannelID: env.Slash.ChannelID, ResponseURL: env.Slash.ResponseURL}
	}
	return nil
}

// WithSOE is the middleware of every feature that acts on Stack Overflow:
// it obtains the caller's client in scope (or shows the Connect prompt and
// stops, remembering resume or the slash command), runs f, and turns an
// error f returns into the right message (Failed). f handles the errors that
// mean something special to its feature itself and returns nil for them.
func (r *Router) WithSOE(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume,
	f func(ctx context.Context, c *soe.Client, l *linking.Link) error) {
	c, l, ok := r.Client(ctx, env, scope, resume)
	if !ok {
		return
	}
	if err := f(ctx, c, l); err != nil {
		r.Failed(ctx, env, l, err)
	}
}

// Client returns a client for the user behind env in scope. When the user has no
// usable link it replies with the Connect/Reconnect prompt (remembering
// resume, or the slash command itself, so the original command is answered
// automatically after linking) and returns ok=false.
func (r *Router) Client(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume) (c *soe.Client, l *linking.Link, ok bool) {
	if r.links == nil {
		r.Reply(ctx, env, blockkit.Warning("This soebot is not connected to Stack Overflow yet. Ask your Slack admin to finish setting it up."))
		return nil, nil, false
	}
	c, l, err := r.links.Client(ctx, env.TeamID, env.UserID, scope)
	switch {
	case err == nil:
		return c, l, true
	case errors.Is(err, linking.ErrNotLinked):
		r.ConnectPrompt(ctx, env, scope, ResumeFor(env, resume), false)
	case errors.Is(err, linking.ErrLinkInvalid):
		r.ConnectPrompt(ctx, env, scope, ResumeFor(env, resume), true)
	case errors.Is(err, store.ErrUnavailable):
		r.log.WarnContext(ctx, "database unavailable; told to try again", "user", env.UserID, "err", err)
		r.Reply(ctx, env, DatabaseDown())
	default:
		r.log.ErrorContext(ctx, "reading the user's link failed", "user", env.UserID, "scope", scope.Key(), "err", err)
		r.Reply(ctx, env, blockkit.Warning("I could not read your Stack Overflow connection just now. Please try again in a moment."))
	}
	return nil, l, false
}

// ConnectPrompt replies with "Connect your Stack Overflow account" (or, with
// reconnect, "… needs reconnecting") and a button to a fresh link page.
// resume is answered automatically once the user has linked.
func (r *Router) ConnectPrompt(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume, reconnect bool) chat.Message {
	m := r.LinkPrompt(ctx, env.TeamID, env.UserID, scope, resume, reconnect, "")
	r.Reply(ctx, env, m)
	return m
}

// ConnectMessage is the Connect prompt for teamID/userID in scope without an
// envelope (events, hints); intro (mrkdwn), when given, replaces the first line.
func (r *Router) ConnectMessage(ctx context.Context, teamID, userID string, scope soe.Scope, intro string) chat.Message {
	return r.LinkPrompt(ctx, teamID, userID, scope, nil, false, intro)
}

// LinkPrompt builds the Connect/Reconnect prompt; intro (mrkdwn), when given,
// replaces the first line.
func (r *Router) LinkPrompt(ctx context.Context, teamID, userID string, scope soe.Scope, resume *linking.Resume, reconnect bool, intro string) chat.Message {
	if r.links == nil {
		return blockkit.Warning("This soebot is not connected to Stack Overflow yet. Ask your Slack admin to finish setting it up.")
	}
	u, err := r.links.Begin(ctx, teamID, userID, scope, resume)
	if errors.Is(err, store.ErrUnavailable) {
		return DatabaseDown()
	}
	if err != nil {
		r.log.ErrorContext(ctx, "could not start linking", "user", userID, "err", err)
		return blockkit.Warning("I could not start connecting your Stack Overflow account. Please try again in a moment.")
	}
	title, label, action := "Connect your Stack Overflow account", "Connect", ActionConnect
	where := " (" + mrkdwn.Escape(scope.String()) + ")"
	if r.cfg.BasicBusiness {
		where = "" // one team, nothing to tell apart
	}
	text := fmt.Sprintf("To do this I act as you on Stack Overflow%s. Connect your account once and I will remember it.", where)
	if reconnect {
		title, label, action = "Reconnect your Stack Overflow account", "Reconnect", ActionReconnect
		text = fmt.Sprintf("Your Stack Overflow connection%s needs reconnecting: Stack Overflow no longer accepts it (it expired or was revoked). Nothing else is lost.", where)
	}
	if intro != "" {
		text = intro
	}
	if resume != nil {
		text += " I will finish your command once you are connected."
	}
	btn := blockkit.LinkButton(action, label, u).WithStyle(slack.StylePrimary)
	how := fmt.Sprintf("Stack Overflow will ask you to approve access for %s.", mrkdwn.Escape(scope.String()))
	if r.cfg.BasicBusiness {
		how = "On that page you paste a personal access token from Stack Overflow (never here in Slack)."
	}
	return chat.Message{
		Text: title,
		Blocks: []slack.Block{
			blockkit.Section("*" + title + "*\n" + text),
			blockkit.Actions("soe_link", btn),
			blockkit.Context(how + " The button works once, for 10 minutes, and only for you."),
		},
	}
}

// Failed tells the user what went wrong with an SOE call in plain words
// and handles the side effects:
//   - soe.ErrUnauthorized: the link is marked invalid and the Reconnect prompt is shown;
//   - soe.ErrWriteAccess: "Your connection is read-only; reconnect with write access" + button;
//   - rate limits, 5xx, timeouts: "Stack Overflow did not answer, try again";
//   - soe.ErrForbidden / ErrNotFound / *soe.ProblemError: their readable meaning.
//
// Feature-specific errors (soe.ErrSMEDisabled, …) are better handled by the
// caller first. It returns the message it sent.
func (r *Router) Failed(ctx context.Context, env *chat.Envelope, l *linking.Link, err error) chat.Message {
	var m chat.Message
	var rl *soe.RateLimitError
	var paced *soe.PacedError
	var pe *soe.ProblemError
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return chat.Message{} // shutting down: nobody to tell
	case errors.Is(err, store.ErrUnavailable):
		r.log.WarnContext(ctx, "database unavailable; told to try again", "user", env.UserID, "err", err)
		m = DatabaseDown()
	case errors.Is(err, soe.ErrUnauthorized):
		if l != nil && r.links != nil {
			if ierr := r.links.Invalidate(ctx, l.TeamID, l.UserID, l.Scope, "Stack Overflow refused the token"); ierr != nil {
				r.log.WarnContext(ctx, "could not invalidate link", "err", ierr)
			}
			return r.ConnectPrompt(ctx, env, l.Scope, ResumeFor(env, nil), true)
		}
		m = blockkit.Warning("Stack Overflow no longer accepts your connection. Run `" + r.cfg.Command + " link` to reconnect.")
	case errors.Is(err, soe.ErrWriteAccess):
		scope := soe.MainSite()
		if l != nil {
			scope = l.Scope
		}
		intro := ":lock: Your connection is read-only; reconnect with write access to do this."
		if r.cfg.BasicBusiness {
			intro = ":lock: Your connection is read-only; to do this, reconnect with a personal access token that has *Enable write access* ticked (Stack Overflow for Teams Business; Basic tokens are read-only)."
		}
		m = r.LinkPrompt(ctx, env.TeamID, env.UserID, scope, ResumeFor(env, nil), true, intro)
	case errors.As(err, &paced):
		r.log.InfoContext(ctx, "SOE pace used up for this account; told to try again", "user", env.UserID, "retry_after", paced.RetryAfter)
		m = blockkit.Warning(fmt.Sprintf("Stack Overflow is busy for your account right now; try again in %d seconds.", ceilSeconds(paced.RetryAfter)))
	case errors.As(err, &rl):
		m = blockkit.Warning(fmt.Sprintf("Stack Overflow is busy right now (rate limit). Try again in %s.", rl.RetryAfter.Round(time.Second)))
	case soe.Temporary(err) || errors.Is(err, context.DeadlineExceeded):
		m = blockkit.Warning("Stack Overflow did not answer in time. Please try again in a moment.")
	case errors.Is(err, soe.ErrForbidden):
		m = blockkit.Warning("Stack Overflow says you are not allowed to do that.")
	case errors.Is(err, soe.ErrNotFound):
		m = blockkit.Warning("Stack Overflow could not find that (it may have been deleted, or you cannot see it).")
	case errors.As(err, &pe):
		m = blockkit.Warning("Stack Overflow said: " + mrkdwn.Escape(mrkdwn.Truncate(strings.TrimPrefix(pe.Error(), "SOE: "), 500)))
	default:
		r.log.ErrorContext(ctx, "SOE call failed", "user", env.UserID, "err", err)
		m = blockkit.Warning("Something went wrong talking to Stack Overflow. Please try again.")
	}
	r.Reply(ctx, env, m)
	return m
}

// ceilSeconds is d in whole seconds, rounded up (at least 1).
func ceilSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// DatabaseDown is the reply while the bot's database cannot be reached
// (PostgreSQL restarting, network cut): nothing was done, try again.
func DatabaseDown() chat.Message {
	return blockkit.Warning("I cannot reach my database right now, so I did nothing. Please try again in a moment.")
}
