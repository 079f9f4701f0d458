package subscriptions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

// --- /soe notify --------------------------------------------------------------------

func parseAlert(word string) (notify.Alert, bool) {
	switch strings.ToLower(word) {
	case "answers", "answer", "my-questions", "mine":
		return notify.AlertAnswers, true
	case "expert", "experts", "sme", "smes":
		return notify.AlertExpert, true
	}
	return "", false
}

func (n *Feature) runNotify(ctx context.Context, r *router.Request) {
	cmd := n.router.Command()
	if len(r.Args) == 0 {
		p, err := n.svc.Prefs(ctx, r.TeamID, r.UserID)
		if err != nil {
			n.log.ErrorContext(ctx, "reading alert settings failed", "err", err)
			n.router.Reply(ctx, r.Env, blockkit.Warning("I could not read your alert settings. Please try again."))
			return
		}
		n.router.Reply(ctx, r.Env, renderAlerts(p, cmd))
		return
	}
	if n.runNotifyCadence(ctx, r) {
		return
	}
	alert, ok1 := parseAlert(r.Args[0])
	on, ok2 := false, false
	if len(r.Args) == 2 {
		on, ok2 = router.ParseOnOff(r.Args[1])
	}
	if !ok1 || !ok2 {
		n.router.Reply(ctx, r.Env, blockkit.Warning(fmt.Sprintf("Usage: %s, %s or %s (and %s to see them).",
			mrkdwn.Code(cmd+" notify answers on|off|immediate|3h|daily|weekly"), mrkdwn.Code(cmd+" notify expert on|off|immediate|3h|daily|weekly"),
			mrkdwn.Code(cmd+" notify digest weekly|off"), mrkdwn.Code(cmd+" notify"))))
		return
	}
	p, ok := n.setAlert(ctx, r.Env, alert, on)
	if !ok {
		return
	}
	n.router.Reply(ctx, r.Env, alertChangedMessage(alert, on, p, cmd))
}

// setAlert switches an alert for the user behind env. Turning one on needs a
// Stack Overflow connection (alerts only cover connected scopes); it starts
// those scopes at "now" and makes sure the user's DM channel is known.
func (n *Feature) setAlert(ctx context.Context, env *chat.Envelope, alert notify.Alert, on bool) (notify.Prefs, bool) {
	if on {
		var usable []linking.Link
		if links := n.links; links != nil {
			ls, err := links.Links(ctx, env.TeamID, env.UserID)
			if err != nil {
				n.log.ErrorContext(ctx, "reading links failed", "err", err)
			}
			now := n.now()
			for _, l := range ls {
				if !l.Invalid && (l.Expiry.IsZero() || now.Before(l.Expiry)) {
					usable = append(usable, l)
				}
			}
		}
		if len(usable) == 0 {
			// SOE replies with the Connect prompt (and replays the command).
			if _, _, ok := n.router.Client(ctx, env, soe.MainSite(), nil); !ok {
				return notify.Prefs{}, false
			}
		}
		for _, l := range usable {
			c, err := n.links.ClientFor(ctx, l)
			if err != nil {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, n.cfg.SOETimeout)
			if _, err := n.svc.Prime(pctx, c); err != nil {
				n.log.WarnContext(ctx, "priming the scope for alerts failed; the poller will start it", "scope", l.Scope.Key(), "err", err)
			}
			cancel()
		}
	}
	p, err := n.svc.SetAlert(ctx, env.TeamID, env.UserID, alert, on)
	if err != nil {
		n.log.ErrorContext(ctx, "saving alert settings failed", "err", err)
		n.router.Reply(ctx, env, blockkit.Warning("I could not save your alert settings. Please try again."))
		return notify.Prefs{}, false
	}
	if on && p.IMChannel == "" {
		// Open the DM now: alerts go there, and knowing the channel lets a
		// restarted bot check what it already sent.
		msg := blockkit.Text(":bell: Your Stack Overflow alerts will arrive in this conversation. Change them with `" + n.router.Command() + " notify` or in my App Home.")
		if ch, _, err := n.slack.DM(ctx, env.UserID, msg); err == nil {
			if err := n.svc.RememberIM(ctx, env.TeamID, env.UserID, ch); err == nil {
				p.IMChannel = ch
			}
		}
	}
	n.refreshHome(ctx, env.TeamID, env.UserID)
	return p, true
}

func alertName(a notify.Alert) string {
	if a == notify.AlertExpert {
		return "new questions in tags where you are a subject-matter expert"
	}
	return "answers and accepted answers to your questions"
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func alertChangedMessage(a notify.Alert, on bool, p notify.Prefs, cmd string) chat.Message {
	text := fmt.Sprintf(":bell: I will DM you %s (for every Stack Overflow site you connected).", alertName(a))
	if !on {
		text = fmt.Sprintf(":no_bell: I will no longer DM you %s.", alertName(a))
	}
	m := renderAlerts(p, cmd)
	m.Text = text
	m.Blocks = append([]slack.Block{blockkit.Section(text)}, m.Blocks...)
	return m
}

// alertButton switches alert a to the opposite of on.
func alertButton(a notify.Alert, on bool) *slack.ButtonBlockElement {
	if on {
		return blockkit.Button(actionAlert+":"+string(a), "Turn off", string(a)+":off")
	}
	return blockkit.PrimaryButton(actionAlert+":"+string(a), "Turn on", string(a)+":on")
}

// alertBlocks show both alerts with a switch each.
func alertBlocks(p notify.Prefs) []slack.Block {
	return []slack.Block{
		blockkit.SectionWithButton(fmt.Sprintf("*Answers to my questions:* %s\nA DM when a question you asked on Stack Overflow gets an answer or an accepted answer.", alertState(p, notify.AlertAnswers)),
			alertButton(notify.AlertAnswers, p.Answers)),
		blockkit.SectionWithButton(fmt.Sprintf("*Questions for an expert:* %s\nA DM for each new question in a tag where you are a subject-matter expert.", alertState(p, notify.AlertExpert)),
			alertButton(notify.AlertExpert, p.Expert)),
	}
}

func renderAlerts(p notify.Prefs, cmd string) chat.Message {
	blocks := append([]slack.Block{blockkit.Section("*Your personal alerts*")}, alertBlocks(p)...)
	blocks = append(blocks, digestBlocks(p)...)
	blocks = append(blocks, blockkit.Context(fmt.Sprintf("Or type %s / %s / %s.", mrkdwn.Code(cmd+" notify answers on|off|immediate|3h|daily|weekly"),
		mrkdwn.Code(cmd+" notify expert on|off|immediate|3h|daily|weekly"), mrkdwn.Code(cmd+" notify digest weekly|off"))))
	return chat.Message{Text: fmt.Sprintf("Personal alerts: answers %s, expert %s", onOff(p.Answers), onOff(p.Expert)), Blocks: blocks}
}

// toggle handles the Turn on / Turn off buttons (in messages and the Home).
func (n *Feature) toggle(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	name, state, _ := strings.Cut(a.Value, ":")
	alert, ok1 := parseAlert(name)
	on, ok2 := router.ParseOnOff(state)
	if !ok1 || !ok2 {
		n.router.Reply(ctx, env, blockkit.Warning("That button is out of date."))
		return
	}
	p, ok := n.setAlert(ctx, env, alert, on)
	if !ok {
		return
	}
	if env.Interaction != nil && env.Interaction.View.Type == slack.VTHomeTab {
		return // setAlert republished the Home
	}
	m := alertChangedMessage(alert, on, p, n.router.Command())
	m.ReplaceOriginal = true
	n.router.Reply(ctx, env, m)
}

// --- /soe config ----------------------------------------------------------------------

func (n *Feature) runConfig(ctx context.Context, r *router.Request) {
	if len(r.Args) > 0 {
		for _, s := range n.settings {
			if strings.EqualFold(r.Args[0], s.ConfigName()) {
				s.RunConfig(ctx, r, r.Args[1:])
				return
			}
		}
	}
	cmd := n.router.Command()
	usage := blockkit.Warning(fmt.Sprintf("Usage: %s to see this channel's default, %s to set it, %s to go back to the main site.",
		mrkdwn.Code(cmd+" config"), mrkdwn.Code(cmd+" config team <slug>"), mrkdwn.Code(cmd+" config team none")))
	if r.ChannelID == "" {
		n.router.Reply(ctx, r.Env, usage)
		return
	}
	switch {
	case len(r.Args) == 0:
		sc, ok, err := n.channels.ChannelScope(ctx, r.TeamID, r.ChannelID)
		if err != nil {
			n.log.ErrorContext(ctx, "reading channel scope failed", "err", err)
			n.router.Reply(ctx, r.Env, blockkit.Warning("I could not read this channel's settings. Please try again."))
			return
		}
		n.router.Reply(ctx, r.Env, configShowMessage(sc, ok, cmd))
	case len(r.Args) == 1 && (strings.EqualFold(r.Args[0], "reset") || strings.EqualFold(r.Args[0], "clear")),
		len(r.Args) == 2 && strings.EqualFold(r.Args[0], "team") && isNone(r.Args[1]):
		if err := n.channels.SetChannelScope(ctx, r.TeamID, r.ChannelID, nil); err != nil {
			n.log.ErrorContext(ctx, "clearing channel scope failed", "err", err)
			n.router.Reply(ctx, r.Env, blockkit.Warning("I could not save this channel's settings. Please try again."))
			return
		}
		n.router.Reply(ctx, r.Env, configSetMessage(r.UserID, nil, cmd))
	case len(r.Args) == 2 && strings.EqualFold(r.Args[0], "team") && router.ValidTeamSlug(r.Args[1]):
		scope := soe.TeamScope(strings.ToLower(r.Args[1]))
		// The user must be able to see the team: this also catches typos.
		if _, _, ok := n.router.Client(ctx, r.Env, scope, nil); !ok {
			return
		}
		if err := n.channels.SetChannelScope(ctx, r.TeamID, r.ChannelID, &scope); err != nil {
			n.log.ErrorContext(ctx, "saving channel scope failed", "err", err)
			n.router.Reply(ctx, r.Env, blockkit.Warning("I could not save this channel's settings. Please try again."))
			return
		}
		n.router.Reply(ctx, r.Env, configSetMessage(r.UserID, &scope, cmd))
	default:
		n.router.Reply(ctx, r.Env, usage)
	}
}

func isNone(s string) bool {
	switch strings.ToLower(s) {
	case "none", "main", "off", "-":
		return true
	}
	return false
}

func configShowMessage(sc soe.Scope, ok bool, cmd string) chat.Message {
	if !ok {
		return blockkit.Text(fmt.Sprintf("This channel has no default team: commands use the main site unless you add %s. Set one with %s.",
			mrkdwn.Code("team <slug>"), mrkdwn.Code(cmd+" config team <slug>")))
	}
	return blockkit.Text(fmt.Sprintf("This channel's default is *%s*: commands that name no team use it. Change it with %s or go back to the main site with %s.",
		mrkdwn.Escape(sc.String()), mrkdwn.Code(cmd+" config team <slug>"), mrkdwn.Code(cmd+" config team none")))
}

func configSetMessage(user string, sc *soe.Scope, cmd string) chat.Message {
	text := fmt.Sprintf(":gear: %s cleared this channel's default team: commands use the main site unless they name a team.", mrkdwn.Mention(user))
	if sc != nil {
		text = fmt.Sprintf(":gear: %s set this channel's default to *%s*: %s, %s, %s and %s use it when no %s is given.",
			mrkdwn.Mention(user), mrkdwn.Escape(sc.String()), mrkdwn.Code(cmd+" experts"), mrkdwn.Code(cmd+" search"),
			mrkdwn.Code(cmd+" ask"), mrkdwn.Code(cmd+" subscribe"), mrkdwn.Code("team <slug>"))
	}
	m := blockkit.Text(text)
	m.InChannel = true
	return m
}

// --- App Home -------------------------------------------------------------------------

// HomeSection is the feature's App Home section: the user's alerts (with
// switches) and the subscriptions they created (nil when unreadable).
func (n *Feature) HomeSection(ctx context.Context, teamID, userID string) []slack.Block {
	p, err := n.svc.Prefs(ctx, teamID, userID)
	if err != nil {
		n.log.WarnContext(ctx, "home: reading alert settings failed", "err", err)
		return nil
	}
	subs, err := n.svc.UserSubscriptions(ctx, teamID, userID)
	if err != nil {
		n.log.WarnContext(ctx, "home: reading subscriptions failed", "err", err)
		return nil
	}
	return renderHomeNotify(p, subs, n.router.Command(), n.svc.Interval())
}

func renderHomeNotify(p notify.Prefs, subs []notify.Subscription, cmd string, every time.Duration) []slack.Block {
	blocks := []slack.Block{blockkit.Header("Notifications")}
	blocks = append(blocks, alertBlocks(p)...)
	blocks = append(blocks, digestBlocks(p)...)
	if len(subs) == 0 {
		blocks = append(blocks, blockkit.Context(fmt.Sprintf("You have no channel subscriptions. Run %s in a channel to start one.", mrkdwn.Code(cmd+" subscribe <tag>"))))
		return blocks
	}
	var lines []string
	for i, s := range subs {
		if i == 15 {
			lines = append(lines, fmt.Sprintf("…and %d more (%s).", len(subs)-15, mrkdwn.Code(cmd+" subscriptions mine")))
			break
		}
		lines = append(lines, subscriptionLine(s, true))
	}
	blocks = append(blocks, blockkit.Section("*Channel subscriptions you keep running*\n"+strings.Join(lines, "\n")),
		blockkit.Context(fmt.Sprintf("Checked every %s. Change them with %s / %s in the channel.", every.Round(time.Second),
			mrkdwn.Code(cmd+" subscribe"), mrkdwn.Code(cmd+" unsubscribe"))))
	return blocks
}
