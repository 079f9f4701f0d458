package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

// AddLinking registers /soe link, /soe whoami and /soe unlink, and (when the
// linking service is wired) replays a user's pending command once they have
// linked.
func (b *Bot) AddLinking() {
	b.Subcommand(&router.Subcommand{Name: "link", Aliases: []string{"connect", "login"}, Usage: "link [team <slug>]",
		Summary: "Connect your Stack Overflow account.", Run: b.runLink})
	b.Subcommand(&router.Subcommand{Name: "whoami", Usage: "whoami",
		Summary: "Show which Stack Overflow accounts you connected.", Run: b.runWhoami})
	b.Subcommand(&router.Subcommand{Name: "unlink", Aliases: []string{"disconnect", "logout"}, Usage: "unlink [team <slug> | all]",
		Summary: "Disconnect your Stack Overflow account.", Run: b.runUnlink})
	if b.links != nil {
		b.links.OnLinked(b.replay)
	}
}

// replay answers the command the user ran before linking, as that user.
func (b *Bot) replay(ctx context.Context, l linking.Link, r *linking.Resume) {
	if r == nil || strings.TrimSpace(r.Text) == "" {
		return
	}
	word, _ := router.SplitWord(r.Text)
	if s, ok := b.Lookup(word); ok && (s.Name == "link" || s.Name == "unlink") {
		return
	}
	b.log.InfoContext(ctx, "replaying command after linking", "user", l.UserID, "channel", r.ChannelID)
	env := &chat.Envelope{
		ID: "replay", Type: chat.TypeSlashCommand, TeamID: l.TeamID, UserID: l.UserID, Received: b.now(),
		Slash: &slack.SlashCommand{
			TeamID: l.TeamID, UserID: l.UserID, ChannelID: r.ChannelID, Command: b.cfg.Command,
			Text: r.Text, ResponseURL: r.ResponseURL,
		},
	}
	b.Handle(ctx, env)
}

func (b *Bot) runLink(ctx context.Context, r *router.Request) {
	team, rest, err := router.TakeTeam(r.Args)
	if err != nil || len(rest) > 0 {
		b.Reply(ctx, r.Env, blockkit.Warning(fmt.Sprintf("Usage: `%s link` for the main site, or `%s link team <slug>` for a private team.", b.cfg.Command, b.cfg.Command)))
		return
	}
	scope := soe.MainSite()
	if team != "" {
		scope = soe.TeamScope(team)
	}
	intro := ""
	if b.links != nil {
		if ls, err := b.links.Links(ctx, r.TeamID, r.UserID); err == nil {
			for _, l := range ls {
				if l.Scope == scope && !l.Invalid {
					intro = fmt.Sprintf("You are already connected as %s (%s, %s). Connect again to switch accounts or renew access.",
						mrkdwn.Escape(l.SOEName), l.Access(), mrkdwn.Escape(l.Scope.String()))
				}
			}
		}
	}
	b.Reply(ctx, r.Env, b.ConnectMessage(ctx, r.TeamID, r.UserID, scope, intro))
}

func (b *Bot) runWhoami(ctx context.Context, r *router.Request) {
	if b.links == nil {
		b.Reply(ctx, r.Env, blockkit.Warning("This soebot is not connected to Stack Overflow yet."))
		return
	}
	links, err := b.links.Links(ctx, r.TeamID, r.UserID)
	if err != nil {
		b.log.ErrorContext(ctx, "whoami: list links", "err", err)
		b.Reply(ctx, r.Env, blockkit.Warning("I could not read your connections just now. Please try again."))
		return
	}
	if len(links) == 0 {
		b.Reply(ctx, r.Env, b.LinkPrompt(ctx, r.TeamID, r.UserID, soe.MainSite(), router.ResumeFor(r.Env, nil), false,
			"You have not connected a Stack Overflow account yet."))
		return
	}
	b.checkLinks(ctx, links)
	blocks := []slack.Block{blockkit.Section("*Your Stack Overflow connections*")}
	var lines []string
	for _, l := range links {
		line := fmt.Sprintf("*%s*: %s · %s · %s", mrkdwn.Escape(l.Scope.String()), profileLink(l), l.Access(), expiryText(l))
		lines = append(lines, line)
		if l.Invalid {
			reason := "Stack Overflow no longer accepts it"
			if l.InvalidReason != "" {
				reason = l.InvalidReason
			}
			line = fmt.Sprintf("*%s*: %s · :warning: needs reconnecting (%s)", mrkdwn.Escape(l.Scope.String()), profileLink(l), mrkdwn.Escape(reason))
			lines[len(lines)-1] = line
			if u, err := b.links.Begin(ctx, r.TeamID, r.UserID, l.Scope, nil); err == nil {
				blocks = append(blocks, blockkit.SectionWithButton(line, blockkit.LinkButton(router.ActionReconnect, "Reconnect", u).WithStyle(slack.StylePrimary)))
				continue
			}
		}
		blocks = append(blocks, blockkit.Section(line))
	}
	blocks = append(blocks, blockkit.Context(fmt.Sprintf("`%s unlink` disconnects the main site, `%s unlink team <slug>` a team, `%s unlink all` everything.",
		b.cfg.Command, b.cfg.Command, b.cfg.Command)))
	b.Reply(ctx, r.Env, chat.Message{Text: "Your Stack Overflow connections:\n" + strings.Join(lines, "\n"), Blocks: blocks})
}

// checkLinks asks SOE who the user is with each usable link, so a revoked
// token shows up as "needs reconnecting" (and is marked invalid) right away.
func (b *Bot) checkLinks(ctx context.Context, links []linking.Link) {
	for i := range links {
		l := &links[i]
		if l.Invalid {
			continue
		}
		c, err := b.links.ClientFor(ctx, *l)
		if err != nil {
			if errors.Is(err, linking.ErrLinkInvalid) {
				l.Invalid = true
			}
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, b.cfg.SOETimeout)
		_, err = c.Me(cctx)
		cancel()
		if errors.Is(err, soe.ErrUnauthorized) {
			reason := "Stack Overflow refused the token"
			if ierr := b.links.Invalidate(ctx, l.TeamID, l.UserID, l.Scope, reason); ierr != nil {
				b.log.WarnContext(ctx, "could not invalidate link", "err", ierr)
			}
			l.Invalid, l.InvalidReason = true, reason
		}
	}
}

func (b *Bot) runUnlink(ctx context.Context, r *router.Request) {
	if b.links == nil {
		b.Reply(ctx, r.Env, blockkit.Warning("This soebot is not connected to Stack Overflow yet."))
		return
	}
	usage := blockkit.Warning(fmt.Sprintf("Usage: `%s unlink` (main site), `%s unlink team <slug>` or `%s unlink all`.", b.cfg.Command, b.cfg.Command, b.cfg.Command))
	if len(r.Args) == 1 && strings.EqualFold(r.Args[0], "all") {
		n, err := b.links.UnlinkAll(ctx, r.TeamID, r.UserID)
		switch {
		case err != nil:
			b.log.ErrorContext(ctx, "unlink all", "err", err)
			b.Reply(ctx, r.Env, blockkit.Warning("I could not remove your connections just now. Please try again."))
		case n == 0:
			b.Reply(ctx, r.Env, blockkit.Text("You had no Stack Overflow connections, so there was nothing to unlink."))
		default:
			b.Reply(ctx, r.Env, blockkit.Text(fmt.Sprintf(":white_check_mark: Disconnected all %d of your Stack Overflow connections. I no longer act as you anywhere.", n)))
		}
		return
	}
	team, rest, err := router.TakeTeam(r.Args)
	if err != nil || len(rest) > 0 {
		b.Reply(ctx, r.Env, usage)
		return
	}
	scope := soe.MainSite()
	if team != "" {
		scope = soe.TeamScope(team)
	}
	ok, err := b.links.Unlink(ctx, r.TeamID, r.UserID, scope)
	switch {
	case err != nil:
		b.log.ErrorContext(ctx, "unlink", "err", err)
		b.Reply(ctx, r.Env, blockkit.Warning("I could not remove your connection just now. Please try again."))
	case !ok:
		b.Reply(ctx, r.Env, blockkit.Text(fmt.Sprintf("You had no Stack Overflow connection for the %s, so there was nothing to unlink.", mrkdwn.Escape(scope.String()))))
	default:
		b.Reply(ctx, r.Env, blockkit.Text(fmt.Sprintf(":white_check_mark: Disconnected your Stack Overflow account (%s). Run `%s link` to connect again.", mrkdwn.Escape(scope.String()), b.cfg.Command)))
	}
}
