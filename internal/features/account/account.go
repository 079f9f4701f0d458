// Package account is the commands about a user's own Stack Overflow
// connections: /soe link (Connect), /soe whoami (which accounts, checked
// with SOE), /soe unlink; and, once someone has linked, the replay of the
// command they ran before (it is routed again as theirs).
package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soetext"
)

// Config is what the feature needs to know about its surroundings.
type Config struct {
	// SOETimeout bounds checking one connection with SOE (default 8s).
	SOETimeout time.Duration
}

// Links is what the feature uses of account linking (linking.Service).
type Links interface {
	Links(ctx context.Context, teamID, userID string) ([]linking.Link, error)
	Begin(ctx context.Context, teamID, userID string, scope soe.Scope, resume *linking.Resume) (string, error)
	ClientFor(ctx context.Context, l linking.Link) (*soe.Client, error)
	Invalidate(ctx context.Context, teamID, userID string, scope soe.Scope, reason string) error
	Unlink(ctx context.Context, teamID, userID string, scope soe.Scope) (bool, error)
	UnlinkAll(ctx context.Context, teamID, userID string) (int, error)
	OnLinked(f func(ctx context.Context, l linking.Link, r *linking.Resume))
}

// Router is what the feature uses of the router (router.Router): replies,
// the Connect prompts, and the routing of a replayed command.
type Router interface {
	Command() string
	Reply(ctx context.Context, env *chat.Envelope, m chat.Message)
	ConnectMessage(ctx context.Context, teamID, userID string, scope soe.Scope, intro string) chat.Message
	LinkPrompt(ctx context.Context, teamID, userID string, scope soe.Scope, resume *linking.Resume, reconnect bool, intro string) chat.Message
	Lookup(word string) (*router.Subcommand, bool)
	Handle(ctx context.Context, env *chat.Envelope)
}

// HomeRefresher re-publishes a user's App Home after their connections
// changed.
type HomeRefresher interface {
	PublishHome(ctx context.Context, teamID, userID string)
}

// Deps are the services the feature uses. Links nil: the commands answer
// that Stack Overflow is not connected. Home nil: no Home to refresh.
type Deps struct {
	Router Router
	Links  Links
	Home   HomeRefresher
	Logger *slog.Logger
	Now    func() time.Time
}

// Feature is /soe link, whoami and unlink, and the replay of the command a
// user ran before linking.
type Feature struct {
	cfg    Config
	router Router
	links  Links
	home   HomeRefresher
	log    *slog.Logger
	now    func() time.Time
}

// New builds the feature.
func New(cfg Config, d Deps) *Feature {
	d.Logger, d.Now, cfg.SOETimeout = router.Defaults(d.Logger, d.Now, cfg.SOETimeout)
	return &Feature{cfg: cfg, router: d.Router, links: d.Links, home: d.Home, log: d.Logger, now: d.Now}
}

// Register registers /soe link, /soe whoami and /soe unlink, and (when the
// linking service is wired) replays a user's pending command once they have
// linked.
func (f *Feature) Register(r *router.Router) {
	r.Subcommand(&router.Subcommand{Name: "link", Aliases: []string{"connect", "login"}, Usage: "link [team <slug>]",
		Summary: "Connect your Stack Overflow account.", Quick: f.quickLink, Run: f.runLink, NamesTeam: router.TeamOption})
	r.Subcommand(&router.Subcommand{Name: "whoami", Usage: "whoami",
		Summary: "Show which Stack Overflow accounts you connected.", Run: f.runWhoami})
	r.Subcommand(&router.Subcommand{Name: "unlink", Aliases: []string{"disconnect", "logout"}, Usage: "unlink [team <slug> | all]",
		Summary: "Disconnect your Stack Overflow account.", Run: f.runUnlink, NamesTeam: router.TeamOption})
	if f.links != nil {
		f.links.OnLinked(f.replay)
	}
}

// replay answers the command the user ran before linking, as that user.
func (f *Feature) replay(ctx context.Context, l linking.Link, r *linking.Resume) {
	if r == nil || strings.TrimSpace(r.Text) == "" {
		return
	}
	word, _ := router.SplitWord(r.Text)
	if s, ok := f.router.Lookup(word); ok && (s.Name == "link" || s.Name == "unlink") {
		return
	}
	f.log.InfoContext(ctx, "replaying command after linking", "user", l.UserID, "channel", r.ChannelID)
	env := &chat.Envelope{
		ID: "replay", Type: chat.TypeSlashCommand, TeamID: l.TeamID, UserID: l.UserID, Received: f.now(),
		Slash: &slack.SlashCommand{
			TeamID: l.TeamID, UserID: l.UserID, ChannelID: r.ChannelID, Command: f.router.Command(),
			Text: r.Text, ResponseURL: r.ResponseURL,
		},
	}
	f.router.Handle(ctx, env)
}

// quickLink answers a usage error from the text alone, in the ack.
func (f *Feature) quickLink(r *router.Request) (chat.Message, bool) {
	if _, rest, err := router.TakeTeam(r.Args); err != nil || len(rest) > 0 {
		cmd := f.router.Command()
		return blockkit.Warning(fmt.Sprintf("Usage: `%s link` for the main site, or `%s link team <slug>` for a private team.", cmd, cmd)), true
	}
	return chat.Message{}, false
}

func (f *Feature) runLink(ctx context.Context, r *router.Request) {
	team, _, _ := router.TakeTeam(r.Args) // a usage problem was answered by quickLink
	scope := soe.MainSite()
	if team != "" {
		scope = soe.TeamScope(team)
	}
	intro := ""
	if f.links != nil {
		if ls, err := f.links.Links(ctx, r.TeamID, r.UserID); err == nil {
			for _, l := range ls {
				if l.Scope == scope && !l.Invalid {
					intro = fmt.Sprintf("You are already connected as %s (%s, %s). Connect again to switch accounts or renew access.",
						mrkdwn.Escape(l.SOEName), l.Access(), mrkdwn.Escape(l.Scope.String()))
				}
			}
		}
	}
	f.router.Reply(ctx, r.Env, f.router.ConnectMessage(ctx, r.TeamID, r.UserID, scope, intro))
}

func (f *Feature) runWhoami(ctx context.Context, r *router.Request) {
	if f.links == nil {
		f.router.Reply(ctx, r.Env, blockkit.Warning("This soebot is not connected to Stack Overflow yet."))
		return
	}
	links, err := f.links.Links(ctx, r.TeamID, r.UserID)
	if err != nil {
		f.log.ErrorContext(ctx, "whoami: list links", "err", err)
		f.router.Reply(ctx, r.Env, blockkit.Warning("I could not read your connections just now. Please try again."))
		return
	}
	if len(links) == 0 {
		f.router.Reply(ctx, r.Env, f.router.LinkPrompt(ctx, r.TeamID, r.UserID, soe.MainSite(), router.ResumeFor(r.Env, nil), false,
			"You have not connected a Stack Overflow account yet."))
		return
	}
	f.checkLinks(ctx, links)
	blocks := []slack.Block{blockkit.Section("*Your Stack Overflow connections*")}
	var lines []string
	for _, l := range links {
		line := fmt.Sprintf("*%s*: %s · %s · %s", mrkdwn.Escape(l.Scope.String()), soetext.Account(l), l.Access(), soetext.Expiry(l))
		lines = append(lines, line)
		if l.Invalid {
			reason := "Stack Overflow no longer accepts it"
			if l.InvalidReason != "" {
				reason = l.InvalidReason
			}
			line = fmt.Sprintf("*%s*: %s · :warning: needs reconnecting (%s)", mrkdwn.Escape(l.Scope.String()), soetext.Account(l), mrkdwn.Escape(reason))
			lines[len(lines)-1] = line
			if u, err := f.links.Begin(ctx, r.TeamID, r.UserID, l.Scope, nil); err == nil {
				blocks = append(blocks, blockkit.SectionWithButton(line, blockkit.LinkButton(router.ActionReconnect, "Reconnect", u).WithStyle(slack.StylePrimary)))
				continue
			}
		}
		blocks = append(blocks, blockkit.Section(line))
	}
	cmd := f.router.Command()
	blocks = append(blocks, blockkit.Context(fmt.Sprintf("`%s unlink` disconnects the main site, `%s unlink team <slug>` a team, `%s unlink all` everything.",
		cmd, cmd, cmd)))
	f.router.Reply(ctx, r.Env, chat.Message{Text: "Your Stack Overflow connections:\n" + strings.Join(lines, "\n"), Blocks: blocks})
}

// checkLinks asks SOE who the user is with each usable link, so a revoked
// token shows up as "needs reconnecting" (and is marked invalid) right away.
func (f *Feature) checkLinks(ctx context.Context, links []linking.Link) {
	for i := range links {
		l := &links[i]
		if l.Invalid {
			continue
		}
		c, err := f.links.ClientFor(ctx, *l)
		if err != nil {
			if errors.Is(err, linking.ErrLinkInvalid) {
				l.Invalid = true
			}
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, f.cfg.SOETimeout)
		_, err = c.Me(cctx)
		cancel()
		if errors.Is(err, soe.ErrUnauthorized) {
			reason := "Stack Overflow refused the token"
			if ierr := f.links.Invalidate(ctx, l.TeamID, l.UserID, l.Scope, reason); ierr != nil {
				f.log.WarnContext(ctx, "could not invalidate link", "err", ierr)
			}
			l.Invalid, l.InvalidReason = true, reason
		}
	}
}

func (f *Feature) runUnlink(ctx context.Context, r *router.Request) {
	if f.links == nil {
		f.router.Reply(ctx, r.Env, blockkit.Warning("This soebot is not connected to Stack Overflow yet."))
		return
	}
	cmd := f.router.Command()
	usage := blockkit.Warning(fmt.Sprintf("Usage: `%s unlink` (main site), `%s unlink team <slug>` or `%s unlink all`.", cmd, cmd, cmd))
	if len(r.Args) == 1 && strings.EqualFold(r.Args[0], "all") {
		n, err := f.links.UnlinkAll(ctx, r.TeamID, r.UserID)
		switch {
		case err != nil:
			f.log.ErrorContext(ctx, "unlink all", "err", err)
			f.router.Reply(ctx, r.Env, blockkit.Warning("I could not remove your connections just now. Please try again."))
		case n == 0:
			f.router.Reply(ctx, r.Env, blockkit.Text("You had no Stack Overflow connections, so there was nothing to unlink."))
		default:
			f.router.Reply(ctx, r.Env, blockkit.Text(fmt.Sprintf(":white_check_mark: Disconnected all %d of your Stack Overflow connections. I no longer act as you anywhere.", n)))
			f.refreshHome(ctx, r.TeamID, r.UserID)
		}
		return
	}
	team, rest, err := router.TakeTeam(r.Args)
	if err != nil || len(rest) > 0 {
		f.router.Reply(ctx, r.Env, usage)
		return
	}
	scope := soe.MainSite()
	if team != "" {
		scope = soe.TeamScope(team)
	}
	ok, err := f.links.Unlink(ctx, r.TeamID, r.UserID, scope)
	switch {
	case err != nil:
		f.log.ErrorContext(ctx, "unlink", "err", err)
		f.router.Reply(ctx, r.Env, blockkit.Warning("I could not remove your connection just now. Please try again."))
	case !ok:
		f.router.Reply(ctx, r.Env, blockkit.Text(fmt.Sprintf("You had no Stack Overflow connection for the %s, so there was nothing to unlink.", mrkdwn.Escape(scope.String()))))
	default:
		f.router.Reply(ctx, r.Env, blockkit.Text(fmt.Sprintf(":white_check_mark: Disconnected your Stack Overflow account (%s). Run `%s link` to connect again.", mrkdwn.Escape(scope.String()), cmd)))
		f.refreshHome(ctx, r.TeamID, r.UserID)
	}
}

// refreshHome re-publishes the user's App Home, which shows their
// connections (nothing when there is no Home).
func (f *Feature) refreshHome(ctx context.Context, teamID, userID string) {
	if f.home != nil {
		f.home.PublishHome(ctx, teamID, userID)
	}
}
