package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

// Notifications (issue 8) through the real bot: subscribe in Slack, make
// things happen in the fake SOE, run a poll cycle, look at the channel.

// notifyLink connects login's SOE account (main site, or team) by driving
// /soe link and the browser flow.
func (e *Env) notifyLink(t *testing.T, login, team string) {
	t.Helper()
	text := "link"
	if team != "" {
		text += " team " + team
	}
	m := e.sees(t, e.slash(t, SlackUser(login), General, text), "Connect your Stack Overflow account")
	e.connect(t, buttonURL(t, m, "Connect"), login)
}

// cycle runs one poll cycle of the running bot.
func (e *Env) cycle(t *testing.T) {
	t.Helper()
	if _, err := e.App.Parts.Notify.RunOnce(wait(t)); err != nil {
		t.Fatalf("poll cycle: %v", err)
	}
}

// cards are the notification posts in channel (messages with soe_event metadata).
func (e *Env) cards(channel string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range e.Slack.Messages(channel) {
		if m.MetadataType == "soe_event" {
			out = append(out, m)
		}
	}
	return out
}

func (e *Env) soeUser(login string) int { return e.SOE.UserByName(login).ID }

func TestNotifySubscribeThenAnswerPostsOnce(t *testing.T) {
	e := bot(t)
	alice := SlackUser("alice")
	e.notifyLink(t, "alice", "")
	main := soe.MainSite()
	goQ := e.SOE.AddQuestion(main, e.soeUser("judy"), "How do we pin Go toolchain versions in CI?", "We keep drifting.", "go")
	pyQ := e.SOE.AddQuestion(main, e.soeUser("judy"), "How do we pin Python versions in CI?", "Same problem.", "python")

	s := e.slash(t, alice, General, "subscribe go")
	m := e.sees(t, s, "subscribed this channel to", "`go`", "questions, answers")
	if !m.InChannel {
		t.Fatal("the subscription must be confirmed in the channel")
	}
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "Subscriptions in this channel", "`go`", "main site")

	e.cycle(t)
	if cs := e.cards(General); len(cs) != 0 {
		t.Fatalf("history was announced:%s", dump(cs))
	}
	time.Sleep(5 * time.Millisecond)
	e.SOE.AddAnswer(main, goQ, e.soeUser("erin"), "Use the `toolchain` directive in go.mod.")
	e.SOE.AddAnswer(main, pyQ, e.soeUser("ivan"), "pyenv.") // not subscribed
	e.cycle(t)
	cs := e.cards(General)
	if len(cs) != 1 || !strings.Contains(cs[0].Flat(), "New answer") || !strings.Contains(cs[0].Flat(), "toolchain") {
		t.Fatalf("want exactly one answer card:%s", dump(cs))
	}
	// Later cycles (and the background poller) never repeat it.
	e.cycle(t)
	e.cycle(t)
	if cs := e.cards(General); len(cs) != 1 {
		t.Fatalf("repeated:%s", dump(cs))
	}
	// Kinds: accepted answers were not asked for; a new go question was.
	q, _ := e.SOE.QuestionByID(main, goQ)
	time.Sleep(5 * time.Millisecond)
	e.SOE.AcceptAnswer(main, goQ, q.AnswerIDs[0])
	e.SOE.AddQuestion(main, e.soeUser("bob"), "Is Go 1.26 approved for production?", "Asking for the payments team.", "go")
	e.cycle(t)
	cs = e.cards(General)
	if len(cs) != 2 || !strings.Contains(cs[1].Flat(), "New question") || !strings.Contains(cs[1].Flat(), "Go 1.26 approved") {
		t.Fatalf("%s", dump(cs))
	}

	// Unsubscribe stops it, and says so in the channel.
	e.sees(t, e.slash(t, SlackUser("bob"), General, "unsubscribe go"), "unsubscribed this channel from", "`go`")
	time.Sleep(5 * time.Millisecond)
	e.SOE.AddQuestion(main, e.soeUser("bob"), "Go question after unsubscribing", "x", "go")
	e.cycle(t)
	if cs := e.cards(General); len(cs) != 2 {
		t.Fatalf("after unsubscribe:%s", dump(cs))
	}
}

func TestNotifySubscribeRefusals(t *testing.T) {
	e := bot(t)
	alice := SlackUser("alice")
	e.notifyLink(t, "alice", "")
	e.sees(t, e.slash(t, alice, "D"+alice, "subscribe go"), "Subscriptions are for channels", "notify answers on")
	e.sees(t, e.slash(t, alice, Secret, "subscribe go"), "not a member", "/invite @soebot")
	e.sees(t, e.slash(t, alice, Archived, "subscribe go"), "archived")
	e.sees(t, e.slash(t, alice, General, "subscribe kubernets"), "no tag `kubernets`", "kubernetes")
	e.sees(t, e.slash(t, alice, General, "subscribe"), "name a tag")
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "no subscriptions")
	// Unlinked: the Connect prompt (and nothing stored).
	e.sees(t, e.slash(t, "UMALLORY", General, "subscribe go"), "Connect your Stack Overflow account")
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "no subscriptions")
	// A public channel the bot is not in works (chat:write.public).
	e.sees(t, e.slash(t, alice, Random, "subscribe go"), "subscribed this channel to")
}

func TestNotifyPrivateTeamInPublicChannelNeedsConfirmation(t *testing.T) {
	e := bot(t)
	carol := SlackUser("carol")
	e.notifyLink(t, "carol", "platform")
	platform := soe.TeamScope("platform")

	s := e.slash(t, carol, General, "subscribe kubernetes team platform")
	m := e.sees(t, s, "team content will be visible to everyone", "Subscribe anyway", "Cancel")
	if m.InChannel {
		t.Fatal("the confirmation must be ephemeral")
	}
	e.sees(t, e.slash(t, carol, General, "subscriptions"), "no subscriptions")
	// Cancel changes nothing.
	c := e.Slack.T(t).Click(carol, m, "notify_sub_cancel", "cancel")
	if _, err := e.Slack.WaitResponse(wait(t), c.ResponseURL, "nothing changed"); err != nil {
		t.Fatal(err)
	}
	e.sees(t, e.slash(t, carol, General, "subscriptions"), "no subscriptions")

	m = e.sees(t, e.slash(t, carol, General, "subscribe kubernetes team platform"), "Subscribe anyway")
	ok := e.Slack.T(t).Click(carol, m, "notify_sub_confirm", "")
	if _, err := e.Slack.WaitResponse(wait(t), ok.ResponseURL, "subscribed this channel to"); err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.Responses(ok.ResponseURL)))
	}
	e.sees(t, e.slash(t, carol, General, "subscriptions"), "`kubernetes`", "team platform")

	// Security #3: a private channel is no exception when some of its
	// members are not known to be on the team...
	m = e.sees(t, e.slash(t, carol, Private, "subscribe runbooks team platform"), "Subscribe anyway", "not known to be on the team")
	ok = e.Slack.T(t).Click(carol, m, "notify_sub_confirm", "")
	if _, err := e.Slack.WaitResponse(wait(t), ok.ResponseURL, "subscribed this channel to"); err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.Responses(ok.ResponseURL)))
	}
	// ...and nothing is asked where everyone (bots aside) is connected to it.
	e.Slack.AddChannel(slackfake.Channel{ID: "CTEAMONLY", Name: "platform-only", Private: true, Members: []string{e.Slack.BotUserID(), carol}})
	e.sees(t, e.slash(t, carol, "CTEAMONLY", "subscribe runbooks team platform"), "subscribed this channel to", "team platform")

	time.Sleep(5 * time.Millisecond)
	e.SOE.AddQuestion(platform, e.soeUser("dave"), "Which runbook covers node pool upgrades?", "Looking for it.", "runbooks", "kubernetes")
	e.cycle(t)
	if cs := e.cards(General); len(cs) != 1 || !strings.Contains(cs[0].Flat(), "node pool upgrades") {
		t.Fatalf("#general:%s", dump(cs))
	}
	if cs := e.cards(Private); len(cs) != 1 {
		t.Fatalf("#private:%s", dump(cs))
	}
}

func TestNotifyRevokedTokenPausesAndDMsCreator(t *testing.T) {
	e := bot(t)
	alice := SlackUser("alice")
	e.notifyLink(t, "alice", "")
	e.sees(t, e.slash(t, alice, General, "subscribe go kubernetes"), "subscribed this channel to")
	tok := e.storedToken(t, alice, "main") // restarts the bot
	e.SOE.RevokeToken(tok)
	e.cycle(t)
	dm, err := e.Slack.WaitDM(wait(t), alice, "paused")
	if err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.DMs(alice)))
	}
	if !strings.Contains(dm.Flat(), "Reconnect") {
		t.Fatalf("no Reconnect button:\n%s", dm.Flat())
	}
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "paused")
	e.cycle(t)
	n := 0
	for _, m := range e.Slack.DMs(alice) {
		if strings.Contains(m.Flat(), "paused") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d pause DMs:%s", n, dump(e.Slack.DMs(alice)))
	}
	// The Reconnect button offers a fresh link.
	c := e.Slack.T(t).Click(alice, dm, "notify_reconnect", "main")
	if _, err := e.Slack.WaitResponse(wait(t), c.ResponseURL, "Reconnect your Stack Overflow account"); err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.Responses(c.ResponseURL)))
	}
	// Reconnected: the subscriptions resume.
	e.notifyLink(t, "alice", "")
	e.cycle(t)
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "`go`")
	m := e.sees(t, e.slash(t, alice, General, "subscriptions"), "`go`")
	if strings.Contains(m.Flat(), "paused") {
		t.Fatalf("still paused:\n%s", m.Flat())
	}
}

func TestNotifyPersonalAnswerAlerts(t *testing.T) {
	e := bot(t)
	frank := SlackUser("frank")
	e.notifyLink(t, "frank", "")
	main := soe.MainSite()
	qid := e.SOE.AddQuestion(main, e.soeUser("frank"), "Which Postgres extension do we allow for UUIDs?", "pgcrypto or uuid-ossp?", "postgresql")

	e.sees(t, e.slash(t, frank, General, "notify answers on"), "I will DM you answers")
	if _, err := e.Slack.WaitDM(wait(t), frank, "alerts will arrive in this conversation"); err != nil {
		t.Fatal(err)
	}
	e.sees(t, e.slash(t, frank, General, "notify"), "Answers to my questions:* on")
	time.Sleep(5 * time.Millisecond)
	e.SOE.AddAnswer(main, qid, e.soeUser("ivan"), "pgcrypto: gen_random_uuid() is built in.")
	e.cycle(t)
	dm, err := e.Slack.WaitDM(wait(t), frank, "Your question")
	if err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.DMs(frank)))
	}
	if !strings.Contains(dm.Flat(), "gen_random_uuid") {
		t.Fatalf("%s", dm.Flat())
	}
	// Shown and switchable in the App Home.
	if _, err := e.Slack.AppHomeOpened(frank); err != nil {
		t.Fatal(err)
	}
	home, err := e.Slack.WaitHome(wait(t), frank, "Answers to my questions")
	if err != nil {
		t.Fatal(err)
	}
	s := e.Slack.T(t).ClickInView(frank, home, "notify_alert:answers", "answers:off")
	if _, err := e.Slack.WaitAck(wait(t), s.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitHome(wait(t), frank, "Answers to my questions:* off"); err != nil {
		t.Fatalf("%v\n%s", err, e.Slack.Home(frank).Flat())
	}
	e.sees(t, e.slash(t, frank, General, "notify"), "Answers to my questions:* off")
}

func TestNotifyFaultsLoseNothing(t *testing.T) {
	e := bot(t)
	alice := SlackUser("alice")
	e.notifyLink(t, "alice", "")
	e.sees(t, e.slash(t, alice, General, "subscribe terraform all"), "subscribed this channel to")
	main := soe.MainSite()
	time.Sleep(5 * time.Millisecond)
	e.SOE.AddQuestion(main, e.soeUser("dave"), "Terraform: one state file per environment?", "Or workspaces?", "terraform")

	// SOE answers 503 to everything: the cycle fails and changes nothing.
	e.SOE.SetFaults(soefake.Faults{ErrorRate: 1})
	if _, err := e.App.Parts.Notify.RunOnce(wait(t)); err == nil {
		t.Fatal("the cycle must fail while SOE is down")
	}
	e.SOE.SetFaults(soefake.Faults{})
	// Slack rate-limits the post more often than the client retries: it stays queued.
	e.Slack.RateLimit("chat.postMessage", 5, time.Millisecond)
	_, _ = e.App.Parts.Notify.RunOnce(wait(t))
	if cs := e.cards(General); len(cs) != 0 {
		t.Fatalf("%s", dump(cs))
	}
	if n, _ := e.App.Parts.Notify.Pending(context.Background()); n != 1 {
		t.Fatalf("pending %d", n)
	}
	// The retry (after its backoff) posts it, once.
	deadline := time.Now().Add(20 * time.Second)
	for len(e.cards(General)) == 0 && time.Now().Before(deadline) {
		_, _ = e.App.Parts.Notify.Deliver(context.Background())
		time.Sleep(200 * time.Millisecond)
	}
	e.cycle(t)
	if cs := e.cards(General); len(cs) != 1 || !strings.Contains(cs[0].Flat(), "one state file") {
		t.Fatalf("%s", dump(cs))
	}
}

func TestNotifyRestartMidBatchDeliversEachOnce(t *testing.T) {
	e := bot(t, func(o *Options) { o.PollInterval = time.Second })
	alice := SlackUser("alice")
	e.notifyLink(t, "alice", "")
	e.sees(t, e.slash(t, alice, General, "subscribe oncall questions"), "subscribed this channel to")
	main := soe.MainSite()
	e.Slack.SetLatency("chat.postMessage", 300*time.Millisecond)
	const n = 6
	for i := range n {
		time.Sleep(3 * time.Millisecond)
		e.SOE.AddQuestion(main, e.soeUser("judy"), "On-call question number "+string(rune('A'+i))+" for the rota", "Details.", "oncall")
	}
	// The background poller starts posting; stop the bot after two posts.
	deadline := time.Now().Add(15 * time.Second)
	for len(e.cards(General)) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.Restart(wait(t)); err != nil {
		t.Fatal(err)
	}
	if got := len(e.cards(General)); got < 1 || got >= n {
		t.Fatalf("the restart did not happen mid-batch (%d of %d posted)", got, n)
	}
	e.Slack.SetLatency("chat.postMessage", 0)
	deadline = time.Now().Add(15 * time.Second)
	for len(e.cards(General)) < n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	e.cycle(t)
	cs := e.cards(General)
	seen := map[string]int{}
	for _, m := range cs {
		id, _ := m.MetadataPayload["event_id"].(string)
		seen[id]++
	}
	if len(cs) != n || len(seen) != n {
		t.Fatalf("%d cards, %d distinct events (want %d each):%s", len(cs), len(seen), n, dump(cs))
	}
}

func TestNotifyExpertAlertsAndChannelDefault(t *testing.T) {
	e := bot(t)
	erin, carol := SlackUser("erin"), SlackUser("carol")
	e.notifyLink(t, "erin", "")
	e.sees(t, e.slash(t, erin, General, "notify expert on"), "subject-matter expert")
	time.Sleep(5 * time.Millisecond)
	e.SOE.AddQuestion(soe.MainSite(), e.soeUser("judy"), "Go: how should we structure a monorepo with many modules?", "Details.", "go")
	e.cycle(t)
	if _, err := e.Slack.WaitDM(wait(t), erin, "monorepo"); err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.DMs(erin)))
	}

	// A channel default team is used by subscribe (and the other commands).
	e.notifyLink(t, "carol", "platform")
	e.sees(t, e.slash(t, carol, Private, "config"), "no default team")
	m := e.sees(t, e.slash(t, carol, Private, "config team platform"), "set this channel's default to", "team platform")
	if !m.InChannel {
		t.Fatal("a channel setting change is announced in the channel")
	}
	e.sees(t, e.slash(t, carol, Private, "config"), "default is *team platform*")
	m = e.sees(t, e.slash(t, carol, Private, "subscribe argocd"), "Subscribe anyway", "team platform")
	ok := e.Slack.T(t).Click(carol, m, "notify_sub_confirm", "")
	if _, err := e.Slack.WaitResponse(wait(t), ok.ResponseURL, "subscribed this channel to"); err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.Responses(ok.ResponseURL)))
	}
	e.sees(t, e.slash(t, carol, Private, "config team none"), "cleared this channel's default")
	e.sees(t, e.slash(t, carol, Private, "config"), "no default team")
}

// Security #3 end to end: a subscription is fed only by its owners. When its
// creator unlinks, nobody else's connection keeps it going: it pauses with
// one notice in the channel, and a member who presses "Keep it running as
// me" becomes an owner and feeds it from then on.
func TestNotifyOwnersKeepASubscriptionRunning(t *testing.T) {
	e := bot(t)
	alice, bob, dave := SlackUser("alice"), SlackUser("bob"), SlackUser("dave")
	e.notifyLink(t, "alice", "")
	e.notifyLink(t, "bob", "")
	main := soe.MainSite()
	e.sees(t, e.slash(t, alice, General, "subscribe go"), "subscribed this channel to")
	e.sees(t, e.slash(t, alice, General, "unlink"), "Disconnected")

	time.Sleep(5 * time.Millisecond)
	e.SOE.AddQuestion(main, e.soeUser("judy"), "Which Go linter config do we share?", "Looking for the file.", "go")
	e.cycle(t)
	notice, err := e.Slack.WaitMessage(wait(t), General, "Keep it running as me")
	if err != nil {
		t.Fatalf("no notice in the channel: %v%s", err, dump(e.Slack.Messages(General)))
	}
	for _, m := range e.cards(General) {
		if strings.Contains(m.Flat(), "linter config") {
			t.Fatalf("bob's connection fed alice's subscription:%s", dump(e.cards(General)))
		}
	}
	e.sees(t, e.slash(t, bob, General, "subscriptions"), "paused", "kept running by")

	// Dave is not connected: the Connect prompt, nothing adopted.
	c := e.Slack.T(t).Click(dave, notice, "notify_adopt", "")
	if _, err := e.Slack.WaitResponse(wait(t), c.ResponseURL, "Connect your Stack Overflow account"); err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.Responses(c.ResponseURL)))
	}
	// Bob keeps it running as himself.
	c = e.Slack.T(t).Click(bob, notice, "notify_adopt", "")
	if _, err := e.Slack.WaitResponse(wait(t), c.ResponseURL, "keeps this channel's subscription"); err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.Responses(c.ResponseURL)))
	}
	e.cycle(t)
	if _, err := e.Slack.WaitMessage(wait(t), General, "linter config"); err != nil {
		t.Fatalf("after bob kept it running: %v%s", err, dump(e.cards(General)))
	}
	m := e.sees(t, e.slash(t, bob, General, "subscriptions"), "kept running by @"+alice+", @"+bob)
	if strings.Contains(m.Flat(), "paused") {
		t.Fatalf("still paused:\n%s", m.Flat())
	}
	e.sees(t, e.slash(t, bob, General, "subscriptions mine"), "Subscriptions you keep running", "`go`")
}
