package subscriptions

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/router"
)

// Digests (issue 17.2, 22.3): /soe subscribe <tags> digest hourly|daily|weekly,
// /soe notify answers|expert immediate|3h|daily|weekly|off, /soe notify digest
// weekly|off, and their switches on the App Home.

// actionCadence is the cadence buttons' action id prefix
// ("notify_cadence:<alert>:<cadence>", value "<alert>:<cadence>"; alert
// "digest" is the weekly expert digest).
const actionCadence = "notify_cadence"

// takeDigest takes "digest hourly|daily|weekly" out of a subscribe's words.
func takeDigest(args []string) (notify.Cadence, []string, string) {
	var rest []string
	var c notify.Cadence
	for i := 0; i < len(args); i++ {
		if !strings.EqualFold(args[i], "digest") {
			rest = append(rest, args[i])
			continue
		}
		if c != "" {
			return "", nil, "give `digest` once"
		}
		if i+1 >= len(args) {
			return "", nil, "say how often after `digest`: `digest hourly`, `digest daily` or `digest weekly`"
		}
		i++
		got, ok := notify.ParseCadence(args[i])
		if !ok || (got != notify.CadenceHourly && got != notify.CadenceDaily && got != notify.CadenceWeekly) {
			return "", nil, fmt.Sprintf("a digest is `hourly`, `daily` or `weekly`, not %s", mrkdwn.Code(mrkdwn.Truncate(args[i], 40)))
		}
		c = got
	}
	return c, rest, ""
}

// userTZ is the user's Slack time zone (users.info tz; "" when unknown:
// UTC).
func (n *Feature) userTZ(ctx context.Context, user string) string {
	if n.users == nil {
		return ""
	}
	u, err := n.users.UserInfo(ctx, user)
	if err != nil || u == nil {
		n.log.WarnContext(ctx, "users.info failed; digests use UTC", "user", user, "err", err)
		return ""
	}
	if notify.Location(u.TZ).String() != u.TZ {
		return "" // unknown zone name: UTC
	}
	return u.TZ
}

// digestNote is the confirmation's " as a digest, daily at 09:00 Europe/Berlin".
func digestNote(sub notify.Subscription) string {
	if !sub.Digest.IsDigest() {
		return ""
	}
	return " as a digest, " + sub.Digest.Describe(sub.TZ)
}

// --- /soe notify … cadences ------------------------------------------------------

// cadenceChoice is a parsed "/soe notify answers|expert <cadence>|off" or
// "/soe notify digest weekly|off".
type cadenceChoice struct {
	Alert   notify.Alert // "" for the weekly expert digest
	Digest  bool
	Cadence notify.Cadence
	On      bool
}

// parseCadenceChoice reads the notify words that are not plain on|off (which
// the older grammar handles). ok false: not a cadence command.
func parseCadenceChoice(args []string) (cadenceChoice, bool, string) {
	if len(args) == 0 {
		return cadenceChoice{}, false, ""
	}
	if strings.EqualFold(args[0], "digest") {
		if len(args) != 2 {
			return cadenceChoice{}, true, "say `weekly` or `off`"
		}
		if on, ok := router.ParseOnOff(args[1]); ok {
			return cadenceChoice{Digest: true, On: on, Cadence: notify.CadenceWeekly}, true, ""
		}
		if c, ok := notify.ParseCadence(args[1]); ok && c == notify.CadenceWeekly {
			return cadenceChoice{Digest: true, On: true, Cadence: c}, true, ""
		}
		return cadenceChoice{}, true, "the expert digest is `weekly` or `off`"
	}
	alert, ok := parseAlert(args[0])
	if !ok || len(args) != 2 {
		return cadenceChoice{}, false, ""
	}
	if _, onoff := router.ParseOnOff(args[1]); onoff {
		return cadenceChoice{}, false, "" // on|off: the older grammar
	}
	c, ok := notify.ParseCadence(args[1])
	if !ok {
		return cadenceChoice{}, true, fmt.Sprintf("%s is not a choice: say `immediate`, `3h`, `daily`, `weekly` or `off`", mrkdwn.Code(mrkdwn.Truncate(args[1], 40)))
	}
	return cadenceChoice{Alert: alert, Cadence: c, On: true}, true, ""
}

// runNotifyCadence handles the cadence forms of /soe notify; it reports
// whether it did.
func (n *Feature) runNotifyCadence(ctx context.Context, r *router.Request) bool {
	ch, ok, problem := parseCadenceChoice(r.Args)
	if !ok {
		return false
	}
	cmd := n.router.Command()
	if problem != "" {
		n.router.Reply(ctx, r.Env, blockkit.Warning(fmt.Sprintf("That did not work: %s.\nUsage: %s, %s or %s.", problem,
			mrkdwn.Code(cmd+" notify answers immediate|3h|daily|weekly|off"), mrkdwn.Code(cmd+" notify expert immediate|3h|daily|weekly|off"),
			mrkdwn.Code(cmd+" notify digest weekly|off"))))
		return true
	}
	if p, ok := n.applyCadence(ctx, r.Env, ch); ok {
		n.router.Reply(ctx, r.Env, cadenceChangedMessage(ch, p, cmd))
	}
	return true
}

// applyCadence saves a choice (connecting first when it turns something on).
func (n *Feature) applyCadence(ctx context.Context, env *chat.Envelope, ch cadenceChoice) (notify.Prefs, bool) {
	alert := ch.Alert
	if ch.Digest {
		alert = notify.AlertExpert // needs the same connection
	}
	// setAlert connects, primes and opens the DM; for the weekly digest it
	// is only the connection check (its alert setting is put back below).
	before, err := n.svc.Prefs(ctx, env.TeamID, env.UserID)
	if err != nil {
		n.log.ErrorContext(ctx, "reading alert settings failed", "err", err)
		n.router.Reply(ctx, env, blockkit.Warning("I could not read your alert settings. Please try again."))
		return notify.Prefs{}, false
	}
	if ch.On {
		if _, ok := n.setAlert(ctx, env, alert, true); !ok {
			return notify.Prefs{}, false
		}
	}
	tz := n.userTZ(ctx, env.UserID)
	var p notify.Prefs
	if ch.Digest {
		if ch.On {
			if _, err = n.svc.SetAlertCadence(ctx, env.TeamID, env.UserID, notify.AlertExpert, cadenceOf(before, notify.AlertExpert), before.Expert, tz); err != nil {
				return n.saveFailed(ctx, env, err)
			}
		}
		p, err = n.svc.SetExpertDigest(ctx, env.TeamID, env.UserID, ch.On, tz)
	} else {
		p, err = n.svc.SetAlertCadence(ctx, env.TeamID, env.UserID, alert, ch.Cadence, ch.On, tz)
	}
	if err != nil {
		return n.saveFailed(ctx, env, err)
	}
	n.refreshHome(ctx, env.TeamID, env.UserID)
	return p, true
}

func cadenceOf(p notify.Prefs, a notify.Alert) notify.Cadence {
	c, _ := p.Cadence(a)
	if c == "" {
		return notify.CadenceImmediate
	}
	return c
}

func (n *Feature) saveFailed(ctx context.Context, env *chat.Envelope, err error) (notify.Prefs, bool) {
	n.log.ErrorContext(ctx, "saving alert settings failed", "err", err)
	n.router.Reply(ctx, env, blockkit.Warning("I could not save your alert settings. Please try again."))
	return notify.Prefs{}, false
}

func cadenceChangedMessage(ch cadenceChoice, p notify.Prefs, cmd string) chat.Message {
	var text string
	switch {
	case ch.Digest && ch.On:
		text = fmt.Sprintf(":mortar_board: I will DM you the unanswered questions in your expert tags %s (nothing when there are none).",
			notify.CadenceWeekly.Describe(p.TZ))
	case ch.Digest:
		text = ":no_bell: I will no longer DM you the weekly expert digest."
	case !ch.On:
		text = fmt.Sprintf(":no_bell: I will no longer DM you %s.", alertName(ch.Alert))
	case ch.Cadence.IsDigest():
		text = fmt.Sprintf(":bell: I will DM you %s in one digest, %s.", alertName(ch.Alert), ch.Cadence.Describe(p.TZ))
	default:
		text = fmt.Sprintf(":bell: I will DM you %s as they happen.", alertName(ch.Alert))
	}
	m := renderAlerts(p, cmd)
	m.Text = text
	m.Blocks = append([]slack.Block{blockkit.Section(text)}, m.Blocks...)
	return m
}

// alertState is "on (daily at 09:00 Europe/Berlin)", "on (immediately)" or "off".
func alertState(p notify.Prefs, a notify.Alert) string {
	c, on := p.Cadence(a)
	if !on {
		return "off"
	}
	return "on (" + c.Describe(p.TZ) + ")"
}

// cadenceButtons switch an alert between its choices (the current one primary).
func cadenceButtons(p notify.Prefs, a notify.Alert) *slack.ActionBlock {
	cur, on := p.Cadence(a)
	choices := []struct {
		c     notify.Cadence
		label string
	}{{notify.CadenceImmediate, "Immediately"}, {notify.Cadence3h, "Every 3 hours"}, {notify.CadenceDaily, "Daily"}, {notify.CadenceWeekly, "Weekly"}, {"off", "Off"}}
	var els []slack.BlockElement
	for _, ch := range choices {
		id := fmt.Sprintf("%s:%s:%s", actionCadence, a, ch.c)
		value := fmt.Sprintf("%s:%s", a, ch.c)
		if (on && ch.c == cur) || (!on && ch.c == "off") {
			els = append(els, blockkit.PrimaryButton(id, ch.label, value))
		} else {
			els = append(els, blockkit.Button(id, ch.label, value))
		}
	}
	return blockkit.Actions("notify_cadence_"+string(a), els...)
}

// digestBlocks are the cadence switches and the weekly expert digest's
// switch (the App Home and /soe notify).
func digestBlocks(p notify.Prefs) []slack.Block {
	btn := blockkit.PrimaryButton(actionCadence+":digest:weekly", "Turn on", "digest:weekly")
	if p.ExpertDigest {
		btn = blockkit.Button(actionCadence+":digest:off", "Turn off", "digest:off")
	}
	state := "off"
	if p.ExpertDigest {
		state = "on (" + notify.CadenceWeekly.Describe(p.TZ) + ")"
	}
	return []slack.Block{
		blockkit.Context("Answers to my questions, how often:"), cadenceButtons(p, notify.AlertAnswers),
		blockkit.Context("Questions for an expert, how often:"), cadenceButtons(p, notify.AlertExpert),
		blockkit.SectionWithButton(fmt.Sprintf("*Weekly expert digest:* %s\nEvery Monday at 09:00 your time, the oldest unanswered questions in your expert tags.", state), btn),
	}
}

// cadenceClicked handles the cadence buttons (messages and the App Home).
func (n *Feature) cadenceClicked(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	name, word, _ := strings.Cut(a.Value, ":")
	var ch cadenceChoice
	switch on, onoff := router.ParseOnOff(word); {
	case name == "digest" && onoff:
		ch = cadenceChoice{Digest: true, On: on}
	case name == "digest" && word == string(notify.CadenceWeekly):
		ch = cadenceChoice{Digest: true, On: true}
	default:
		alert, ok1 := parseAlert(name)
		c, ok2 := notify.ParseCadence(word)
		switch {
		case ok1 && onoff && !on:
			ch = cadenceChoice{Alert: alert}
		case ok1 && ok2:
			ch = cadenceChoice{Alert: alert, Cadence: c, On: true}
		default:
			n.router.Reply(ctx, env, blockkit.Warning("That button is out of date."))
			return
		}
	}
	p, ok := n.applyCadence(ctx, env, ch)
	if !ok || (env.Interaction != nil && env.Interaction.View.Type == slack.VTHomeTab) {
		return // the Home was republished
	}
	m := cadenceChangedMessage(ch, p, n.router.Command())
	m.ReplaceOriginal = true
	n.router.Reply(ctx, env, m)
}

// digestTZ is the creator's time zone for a digest subscription ("" for a
// stream, which needs none).
func (n *Feature) digestTZ(ctx context.Context, user string, c notify.Cadence) string {
	if !c.IsDigest() {
		return ""
	}
	return n.userTZ(ctx, user)
}

// deliveryMode is how a subscription posts: "one post each as it happens",
// or "one digest daily at 09:00 Europe/Berlin".
func deliveryMode(sub notify.Subscription) string {
	if !sub.Digest.IsDigest() {
		return "one post each as it happens"
	}
	return "one digest " + sub.Digest.Describe(sub.TZ)
}
