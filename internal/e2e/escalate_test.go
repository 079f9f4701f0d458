package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

// Questions still unanswered after a while (issue 22 point 1, issue 17
// point 4), driven by the shared fake clock: subscribe in Slack, ask in the
// fake SOE, move the clock, run poll cycles, read what Slack shows.

// escalationStart is a Tuesday morning in UTC (and in Berlin).
var escalationStart = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

// timed starts a bot on a fake clock at escalationStart.
func timed(t *testing.T) (*Env, *Clock) {
	t.Helper()
	clock := NewClock(escalationStart)
	return bot(t, func(o *Options) { o.Clock = clock }), clock
}

// setSlackUser changes a seeded Slack user (time zone, deactivated, DMs).
func (e *Env) setSlackUser(login string, f func(*slackfake.User)) {
	u := e.SOE.UserByName(login)
	su := slackfake.User{ID: SlackUser(login), Name: u.Login, RealName: u.Name, Email: u.Email, TZ: "UTC"}
	f(&su)
	e.Slack.AddUser(su)
}

// dms are the notifications in login's DM.
func (e *Env) dms(login string) []slackfake.Message { return e.cards("D" + SlackUser(login)) }

// advance moves the clock and runs a poll cycle.
func (e *Env) advance(t *testing.T, c *Clock, d time.Duration) {
	t.Helper()
	c.Advance(d)
	e.cycle(t)
}

func TestEscalateToExpertsThenChannel(t *testing.T) {
	e, clock := timed(t)
	main := soe.MainSite()
	alice := SlackUser("alice")
	// kubernetes' SMEs: alice and bob, and the Platform Team (carol, dave);
	// the bot knows them as Slack people by their connections (only admins
	// see other people's e-mail on SOE).
	for _, who := range []string{"alice", "bob", "carol", "dave"} {
		e.notifyLink(t, who, "")
	}
	e.setSlackUser("alice", func(*slackfake.User) {})
	e.setSlackUser("bob", func(u *slackfake.User) { u.TZ = "Europe/Berlin" })
	e.setSlackUser("carol", func(u *slackfake.User) { u.TZ = "Asia/Tokyo" }) // 22:00 there when the DMs go out
	e.setSlackUser("dave", func(u *slackfake.User) { u.Deleted = true })

	m := e.sees(t, e.slash(t, alice, General, "subscribe kubernetes escalate 4h"), "subscribed this channel to", "`kubernetes`",
		"still unanswered after 4h go to the tags' experts by DM, and here after 8h")
	if !m.InChannel {
		t.Fatal("the subscription must be confirmed in the channel")
	}
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "`kubernetes`", "escalate 4h (DM the experts; here after 8h)")
	e.cycle(t)

	clock.Advance(time.Minute)
	e.SOE.AddQuestion(main, e.soeUser("judy"), "Why do our pods restart every hour?", "The liveness probe?", "kubernetes")
	e.cycle(t)
	cards := e.cards(General)
	if len(cards) != 1 || !strings.Contains(cards[0].Flat(), "New question") {
		t.Fatalf("want the new question's card:%s", dump(cards))
	}
	card := cards[0]

	e.advance(t, clock, 4*time.Hour-2*time.Minute)
	for _, who := range []string{"alice", "bob", "carol", "dave"} {
		if dms := e.dms(who); len(dms) != 0 {
			t.Fatalf("%s got a DM before 4h:%s", who, dump(dms))
		}
	}
	e.advance(t, clock, 3*time.Minute)
	for _, who := range []string{"alice", "bob"} {
		dms := e.dms(who)
		if len(dms) != 1 || !strings.Contains(dms[0].Flat(), "still unanswered after 4h") ||
			!strings.Contains(dms[0].Flat(), "pods restart") || !strings.Contains(dms[0].Flat(), "Answer on Stack Overflow") ||
			!strings.Contains(dms[0].Flat(), "Not for me") {
			t.Fatalf("%s: want one escalation DM:%s", who, dump(dms))
		}
	}
	if dms := e.dms("carol"); len(dms) != 0 {
		t.Fatalf("carol got a DM in her night:%s", dump(dms))
	}
	if dms := e.dms("dave"); len(dms) != 0 {
		t.Fatalf("a deactivated SME got a DM:%s", dump(dms))
	}

	// Bob is not the right person: he is not mentioned later.
	bobDM := e.dms("bob")[0]
	c := e.Slack.T(t).Click(SlackUser("bob"), bobDM, "notify_esc_decline", buttonValue(t, bobDM, "notify_esc_decline"))
	if _, err := e.Slack.WaitResponse(wait(t), c.ResponseURL, "I will not mention you"); err != nil {
		t.Fatal(err)
	}

	// 8h: in the card's thread, mentioning the SMEs who did not decline.
	e.advance(t, clock, 3*time.Hour)
	if th := e.Slack.Thread(General, card.TS); len(th) != 1 {
		t.Fatalf("posted before 8h:%s", dump(th))
	}
	e.advance(t, clock, time.Hour)
	th := e.Slack.Thread(General, card.TS)
	if len(th) != 2 {
		t.Fatalf("want the escalation in the card's thread:%s", dump(th))
	}
	post := th[1]
	flat := post.Flat()
	for _, want := range []string{"Still unanswered after 8h", "pods restart", "@" + alice + ",", "@" + SlackUser("carol") + ":", "1 expert skipped"} {
		if !strings.Contains(flat, want) {
			t.Fatalf("escalation lacks %q:\n%s", want, flat)
		}
	}
	if strings.Contains(flat, SlackUser("bob")) || strings.Contains(flat, SlackUser("dave")) {
		t.Fatalf("mentions someone who declined or left:\n%s", flat)
	}

	// Carol's morning (08:00 in Tokyo is 23:00 UTC): her DM, once.
	e.advance(t, clock, 6*time.Hour-4*time.Minute) // 22:58 UTC
	if dms := e.dms("carol"); len(dms) != 0 {
		t.Fatalf("carol's DM before her morning:%s", dump(dms))
	}
	e.advance(t, clock, 5*time.Minute)
	if dms := e.dms("carol"); len(dms) != 1 || !strings.Contains(dms[0].Flat(), "still unanswered after 14h") {
		t.Fatalf("want carol's deferred DM:%s", dump(dms))
	}
	// Nothing more, ever: one DM per SME per question, one channel post.
	e.advance(t, clock, 24*time.Hour)
	e.cycle(t)
	for who, n := range map[string]int{"alice": 1, "bob": 1, "carol": 1, "dave": 0} {
		if dms := e.dms(who); len(dms) != n {
			t.Fatalf("%s: %d DMs, want %d:%s", who, len(dms), n, dump(dms))
		}
	}
	if all := e.Slack.Messages(General); countMeta(all) != 2 {
		t.Fatalf("channel:%s", dump(all))
	}
}

func countMeta(ms []slackfake.Message) int {
	n := 0
	for _, m := range ms {
		if m.MetadataType == "soe_event" {
			n++
		}
	}
	return n
}

func TestEscalateStopsWhenAnswered(t *testing.T) {
	e, clock := timed(t)
	main := soe.MainSite()
	e.notifyLink(t, "alice", "")
	e.notifyLink(t, "erin", "")                      // go's SME
	e.setSlackUser("erin", func(*slackfake.User) {}) // in UTC
	// Questions only in the channel: the escalation is then a plain message.
	e.sees(t, e.slash(t, SlackUser("alice"), General, "subscribe go answers escalate 2h"), "and here after 4h")
	e.cycle(t)
	clock.Advance(time.Minute)
	early := e.SOE.AddQuestion(main, e.soeUser("judy"), "Answered early: go vet flags?", "x", "go")
	late := e.SOE.AddQuestion(main, e.soeUser("bob"), "Answered late: go generics in 1.26?", "y", "go")
	e.cycle(t)

	clock.Advance(time.Hour)
	e.SOE.AddAnswer(main, early, e.soeUser("ivan"), "Use `go vet -all`.")
	e.advance(t, clock, 61*time.Minute)
	dms := e.dms("erin")
	if len(dms) != 1 || !strings.Contains(dms[0].Flat(), "Answered late") {
		t.Fatalf("want one DM, for the question still unanswered:%s", dump(dms))
	}
	e.SOE.AddAnswer(main, late, e.soeUser("ivan"), "Yes.")
	e.advance(t, clock, time.Hour)
	e.advance(t, clock, 2*time.Hour)
	e.advance(t, clock, 24*time.Hour)
	for _, m := range e.Slack.Messages(General) {
		if strings.Contains(m.Flat(), "Still unanswered") {
			t.Fatalf("posted after the answer:%s", dump(e.Slack.Messages(General)))
		}
	}
	// The answers were announced; the DM stays the only escalation.
	if n := len(e.dms("erin")); n != 1 {
		t.Fatalf("erin: %d DMs", n)
	}
	// "Not for me" on an answered question says it is settled.
	c := e.Slack.T(t).Click(SlackUser("erin"), dms[0], "notify_esc_decline", buttonValue(t, dms[0], "notify_esc_decline"))
	if _, err := e.Slack.WaitResponse(wait(t), c.ResponseURL, "answered or no longer waiting"); err != nil {
		t.Fatal(err)
	}
}

func TestEscalateDailyCapAndOneDMPerQuestion(t *testing.T) {
	e, clock := timed(t)
	main := soe.MainSite()
	e.notifyLink(t, "alice", "")
	e.notifyLink(t, "erin", "")
	e.setSlackUser("erin", func(*slackfake.User) {})
	// Two channels escalate the same tag: erin still gets one DM per question.
	// (answers only: no new-question cards, fewer posts at Slack's pace).
	e.sees(t, e.slash(t, SlackUser("alice"), General, "subscribe go answers escalate 1h"), "subscribed")
	e.sees(t, e.slash(t, SlackUser("alice"), Private, "subscribe go answers escalate 1h"), "subscribed")
	e.cycle(t)
	clock.Advance(time.Minute)
	for i := range 12 {
		e.SOE.AddQuestion(main, e.soeUser("judy"), "Go question number "+string(rune('A'+i)), "body", "go")
	}
	e.cycle(t)
	e.advance(t, clock, time.Hour)
	dms := e.dms("erin")
	if len(dms) != 11 {
		t.Fatalf("want 10 DMs and one summary, got %d:%s", len(dms), dump(dms))
	}
	sum := dms[10].Flat()
	if !strings.Contains(sum, "2 more questions in your tags are still unanswered") || !strings.Contains(sum, "at most 10") {
		t.Fatalf("summary:\n%s", sum)
	}
	e.advance(t, clock, time.Hour)
	e.advance(t, clock, time.Hour)
	if n := len(e.dms("erin")); n != 11 {
		t.Fatalf("erin: %d DMs after more cycles", n)
	}
	// Both channels get their posts (one per question each), mentioning erin.
	for _, ch := range []string{General, Private} {
		n := 0
		for _, m := range e.Slack.Messages(ch) {
			if strings.Contains(m.Flat(), "Still unanswered after 2h") && strings.Contains(m.Flat(), "@"+SlackUser("erin")+":") {
				n++
			}
		}
		if n != 12 {
			t.Fatalf("%s: %d escalations, want 12", ch, n)
		}
	}
}

func TestUnansweredFilter(t *testing.T) {
	e, clock := timed(t)
	main := soe.MainSite()
	alice := SlackUser("alice")
	e.notifyLink(t, "alice", "")
	e.sees(t, e.slash(t, alice, General, "subscribe go unanswered 4h"), "subscribed this channel to", "Questions are posted once still unanswered after 4h")
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "`go`", "unanswered 4h")
	e.sees(t, e.slash(t, alice, General, "subscribe go unanswered soon"), "not a delay")
	e.sees(t, e.slash(t, alice, General, "subscribe go unanswered 1m"), "between 15m and 30d")
	e.cycle(t)
	clock.Advance(time.Minute)
	e.SOE.AddQuestion(main, e.soeUser("judy"), "Nobody knows: go build cache in CI?", "x", "go")
	answered := e.SOE.AddQuestion(main, e.soeUser("bob"), "Somebody knows: go work sync?", "y", "go")
	e.cycle(t)
	if cs := e.cards(General); len(cs) != 0 {
		t.Fatalf("the unanswered filter posted a new question:%s", dump(cs))
	}
	clock.Advance(time.Hour)
	e.SOE.AddAnswer(main, answered, e.soeUser("erin"), "Run it after editing go.work.")
	e.advance(t, clock, 2*time.Hour)
	e.advance(t, clock, 58*time.Minute)
	if cs := e.cards(General); len(cs) != 0 {
		t.Fatalf("posted before 4h:%s", dump(cs))
	}
	e.advance(t, clock, 2*time.Minute)
	cs := e.cards(General)
	if len(cs) != 1 || !strings.Contains(cs[0].Flat(), "Still unanswered after 4h") || !strings.Contains(cs[0].Flat(), "go build cache") {
		t.Fatalf("want one card for the unanswered question:%s", dump(cs))
	}
	e.advance(t, clock, 24*time.Hour)
	if cs := e.cards(General); len(cs) != 1 {
		t.Fatalf("repeated:%s", dump(cs))
	}
}

func TestEscalateSMEsOffAndDMsClosed(t *testing.T) {
	e, clock := timed(t)
	main := soe.MainSite()
	alice := SlackUser("alice")
	e.notifyLink(t, "alice", "")
	e.notifyLink(t, "erin", "")
	e.setSlackUser("erin", func(u *slackfake.User) { u.DMsClosed = true })
	e.SOE.SetSMEsEnabled(false)
	e.sees(t, e.slash(t, alice, General, "subscribe go escalate 1h"), "subscribed", "Subject-matter experts are turned off", "`go`")
	e.cycle(t)
	clock.Advance(time.Minute)
	e.SOE.AddQuestion(main, e.soeUser("judy"), "Who owns the go proxy?", "x", "go")
	e.cycle(t)
	e.advance(t, clock, 2*time.Hour)
	var post string
	for _, m := range e.Slack.Messages(General) {
		if strings.Contains(m.Flat(), "Still unanswered after 2h") {
			post = m.Flat()
		}
	}
	if !strings.Contains(post, "turned off on the site") || !strings.Contains(post, "Can anyone here help?") {
		t.Fatalf("want the escalation to say SMEs are off:\n%s\n%s", post, dump(e.Slack.Messages(General)))
	}

	// SMEs back on, erin's DMs closed: she is skipped and counted.
	e.SOE.SetSMEsEnabled(true)
	e.sees(t, e.slash(t, alice, Private, "subscribe go escalate 1h"), "subscribed")
	e.cycle(t)
	clock.Advance(time.Minute)
	e.SOE.AddQuestion(main, e.soeUser("judy"), "Who runs the go module mirror?", "x", "go")
	e.cycle(t)
	e.advance(t, clock, time.Hour)
	e.advance(t, clock, time.Hour)
	post = ""
	for _, m := range e.Slack.Messages(Private) {
		if strings.Contains(m.Flat(), "module mirror") && strings.Contains(m.Flat(), "Still unanswered") {
			post = m.Flat()
		}
	}
	if !strings.Contains(post, "1 expert skipped") {
		t.Fatalf("want erin counted as skipped:\n%s\n%s", post, dump(e.Slack.Messages(Private)))
	}
}
