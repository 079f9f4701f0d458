package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

// Digests (issues 17.2 and 22.3) with the fake clock: periods end at the
// subscription owner's local time, across a DST change; empty periods post
// nothing; 500 events stay within Slack's limits; personal alerts have
// cadences; SMEs get a weekly digest of unanswered questions.

// withTZ gives login's Slack user a time zone.
func (e *Env) withTZ(login, tz string) {
	u := e.SOE.UserByName(login)
	e.Slack.AddUser(slackfake.User{ID: SlackUser(login), Name: u.Login, RealName: u.Name, Email: u.Email, TZ: tz})
}

// digests are the digest posts in channel.
func (e *Env) digests(channel string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range e.cards(channel) {
		if strings.Contains(m.Text, "digest") {
			out = append(out, m)
		}
	}
	return out
}

func (e *Env) dmDigests(user string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range e.Slack.DMs(user) {
		if m.MetadataType == "soe_event" && strings.Contains(m.Text, "digest") {
			out = append(out, m)
		}
	}
	return out
}

func clockBot(t *testing.T, start time.Time) (*Env, *Clock) {
	clock := NewClock(start)
	return bot(t, func(o *Options) { o.Clock = clock }), clock
}

// A daily digest comes at 09:00 in the owner's zone: Europe/Berlin goes
// from CEST to CET on 25 October 2026, so 09:00 moves from 07:00 to 08:00 UTC.
func TestDigestDailyAcrossDSTChange(t *testing.T) {
	e, clock := clockBot(t, time.Date(2026, 10, 23, 10, 0, 0, 0, time.UTC)) // Friday 12:00 in Berlin
	alice := SlackUser("alice")
	e.withTZ("alice", "Europe/Berlin")
	e.notifyLink(t, "alice", "")
	main := soe.MainSite()
	m := e.sees(t, e.slash(t, alice, General, "subscribe go digest daily"), "subscribed this channel to", "as a digest, daily at 09:00 Europe/Berlin")
	if !m.InChannel {
		t.Fatal("the confirmation is for the channel")
	}
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "digest daily at 09:00 Europe/Berlin")
	e.cycle(t)
	clock.Advance(time.Minute)
	q1 := e.SOE.AddQuestion(main, e.soeUser("judy"), "Digest: how do we vendor Go modules?", "Offline builds.", "go")
	clock.Advance(time.Minute)
	q2 := e.SOE.AddQuestion(main, e.soeUser("bob"), "Digest: is Go 1.26 approved?", "Payments asks.", "go")
	clock.Advance(time.Minute)
	e.SOE.AddAnswer(main, q2, e.soeUser("erin"), "Yes, since November.")
	clock.Advance(time.Minute)
	e.cycle(t)
	if ds := e.cards(General); len(ds) != 0 {
		t.Fatalf("a digest subscription posted events one by one:%s", dump(ds))
	}
	// A restart mid-period loses nothing.
	if err := e.Restart(wait(t)); err != nil {
		t.Fatal(err)
	}
	// Saturday 09:00 CEST (07:00 UTC): the first digest.
	clock.Set(time.Date(2026, 10, 24, 6, 59, 0, 0, time.UTC))
	e.cycle(t)
	if ds := e.digests(General); len(ds) != 0 {
		t.Fatalf("posted before 09:00:%s", dump(ds))
	}
	clock.Set(time.Date(2026, 10, 24, 7, 0, 30, 0, time.UTC))
	e.cycle(t)
	ds := e.digests(General)
	if len(ds) != 1 {
		t.Fatalf("want one digest:%s", dump(e.cards(General)))
	}
	txt := ds[0].Flat()
	for _, want := range []string{"Daily digest", "2 new questions (1 unanswered)", "1 new answer", fmt.Sprintf("/questions/%d/", q1),
		fmt.Sprintf("/questions/%d/", q2), "Fri 23 Oct 09:00 – Sat 24 Oct 09:00 (Europe/Berlin)"} {
		if !strings.Contains(txt, want) {
			t.Errorf("digest lacks %q:\n%s", want, txt)
		}
	}
	if i, j := strings.Index(txt, "vendor Go modules"), strings.Index(txt, "Go 1.26 approved"); i < 0 || j < 0 || i > j {
		t.Errorf("the unanswered question comes first:\n%s", txt)
	}
	// Sunday is the DST change; the next digest is at 09:00 CET = 08:00 UTC.
	clock.Set(time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC))
	e.SOE.AddQuestion(main, e.soeUser("judy"), "Digest: Go fuzzing in CI?", "How long?", "go")
	clock.Advance(time.Minute)
	e.cycle(t)
	clock.Set(time.Date(2026, 10, 25, 7, 30, 0, 0, time.UTC)) // 08:30 CET: a 24-hour period would have ended
	e.cycle(t)
	if ds := e.digests(General); len(ds) != 1 {
		t.Fatalf("posted at 08:30 local after the DST change:%s", dump(ds))
	}
	clock.Set(time.Date(2026, 10, 25, 8, 0, 30, 0, time.UTC))
	e.cycle(t)
	ds = e.digests(General)
	if len(ds) != 2 || !strings.Contains(ds[1].Flat(), "Go fuzzing in CI") || !strings.Contains(ds[1].Flat(), "Sat 24 Oct 09:00 – Sun 25 Oct 09:00") {
		t.Fatalf("want the second digest at 09:00 CET:%s", dump(ds))
	}
	// An empty day posts nothing; a restart in between changes nothing.
	if err := e.Restart(wait(t)); err != nil {
		t.Fatal(err)
	}
	clock.Set(time.Date(2026, 10, 26, 8, 0, 30, 0, time.UTC))
	e.cycle(t)
	if ds := e.digests(General); len(ds) != 2 {
		t.Fatalf("an empty period posted:%s", dump(ds))
	}
}

// Hourly digests are on the local hour (Kolkata is UTC+05:30); weekly ones
// on Monday at 09:00 local (New York).
func TestDigestHourlyAndWeekly(t *testing.T) {
	e, clock := clockBot(t, time.Date(2026, 10, 24, 10, 5, 0, 0, time.UTC)) // Saturday; 15:35 in Kolkata
	bob, carol := SlackUser("bob"), SlackUser("carol")
	e.withTZ("bob", "Asia/Kolkata")
	e.withTZ("carol", "America/New_York")
	e.notifyLink(t, "bob", "")
	e.notifyLink(t, "carol", "")
	main := soe.MainSite()
	e.sees(t, e.slash(t, bob, General, "subscribe kubernetes digest hourly"), "as a digest, hourly, on the hour (Asia/Kolkata)")
	e.sees(t, e.slash(t, carol, Private, "subscribe python digest weekly"), "as a digest, weekly on Monday at 09:00 America/New_York")
	e.cycle(t)
	clock.Advance(time.Minute)
	k := e.SOE.AddQuestion(main, e.soeUser("dave"), "Digest: kubectl drain hangs", "On one node.", "kubernetes")
	p := e.SOE.AddQuestion(main, e.soeUser("dave"), "Digest: which Python for new services?", "3.13?", "python")
	clock.Advance(time.Minute)
	e.cycle(t)
	clock.Set(time.Date(2026, 10, 24, 10, 29, 0, 0, time.UTC)) // 15:59 in Kolkata
	e.cycle(t)
	if ds := e.digests(General); len(ds) != 0 {
		t.Fatalf("early:%s", dump(ds))
	}
	clock.Set(time.Date(2026, 10, 24, 10, 30, 30, 0, time.UTC)) // 16:00 in Kolkata
	e.cycle(t)
	if ds := e.digests(General); len(ds) != 1 || !strings.Contains(ds[0].Flat(), fmt.Sprintf("/questions/%d/", k)) ||
		!strings.Contains(ds[0].Flat(), "Hourly digest") {
		t.Fatalf("want the hourly digest at 16:00 in Kolkata:%s", dump(e.cards(General)))
	}
	// Monday 26 October 09:00 EDT is 13:00 UTC.
	clock.Set(time.Date(2026, 10, 26, 12, 59, 0, 0, time.UTC))
	e.cycle(t)
	if ds := e.digests(Private); len(ds) != 0 {
		t.Fatalf("weekly digest early:%s", dump(ds))
	}
	clock.Set(time.Date(2026, 10, 26, 13, 0, 30, 0, time.UTC))
	e.cycle(t)
	if ds := e.digests(Private); len(ds) != 1 || !strings.Contains(ds[0].Flat(), fmt.Sprintf("/questions/%d/", p)) ||
		!strings.Contains(ds[0].Flat(), "Weekly digest") {
		t.Fatalf("want the weekly digest on Monday 09:00 New York:%s", dump(e.cards(Private)))
	}
	if ds := e.digests(General); len(ds) != 1 {
		t.Fatalf("empty hours posted:%s", dump(ds))
	}
}

func TestDigestRefusals(t *testing.T) {
	e := bot(t)
	alice := SlackUser("alice")
	e.sees(t, e.slash(t, alice, General, "subscribe go digest"), "say how often after `digest`")
	e.sees(t, e.slash(t, alice, General, "subscribe go digest monthly"), "a digest is `hourly`, `daily` or `weekly`")
	e.sees(t, e.slash(t, alice, General, "notify answers sometimes"), "is not a choice", "immediate")
	e.sees(t, e.slash(t, alice, General, "notify digest daily"), "the expert digest is `weekly` or `off`")
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "no subscriptions")
}

// 500 events in one period make one digest within Slack's limits, its
// rest linked to an SOE search.
func TestDigest500EventsStaysWithinLimits(t *testing.T) {
	e, clock := clockBot(t, time.Date(2026, 12, 2, 10, 5, 0, 0, time.UTC))
	alice := SlackUser("alice")
	e.withTZ("alice", "Europe/Berlin")
	e.notifyLink(t, "alice", "")
	main := soe.MainSite()
	e.sees(t, e.slash(t, alice, General, "subscribe terraform digest hourly"), "hourly, on the hour (Europe/Berlin)")
	e.cycle(t)
	for i := range 500 {
		clock.Advance(time.Second)
		e.SOE.AddQuestion(main, e.soeUser("dave"), fmt.Sprintf("Terraform question number %d about state locking", i), "x", "terraform")
	}
	clock.Advance(time.Second)
	e.cycle(t)
	clock.Set(time.Date(2026, 12, 2, 11, 0, 30, 0, time.UTC))
	e.cycle(t)
	ds := e.digests(General)
	if len(ds) != 1 {
		t.Fatalf("want one digest, got %d", len(ds))
	}
	m := ds[0]
	if n := strings.Count(string(m.Blocks), `"type":"section"`) + strings.Count(string(m.Blocks), `"type":"context"`); n > 50 {
		t.Fatalf("%d blocks", n)
	}
	txt := m.Flat()
	if !strings.Contains(txt, "500 new questions (500 unanswered)") || !strings.Contains(txt, "and 480 more (http") || !strings.Contains(txt, "/search?q=") {
		t.Fatalf("%s", txt)
	}
}

// Personal alerts: /soe notify answers daily gathers the answers to my
// questions into one DM at 09:00 my time; on is immediate again; the App
// Home shows the choice and switches it.
func TestDigestPersonalCadences(t *testing.T) {
	e, clock := clockBot(t, time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)) // Wednesday 11:00 in Berlin
	frank := SlackUser("frank")
	e.withTZ("frank", "Europe/Berlin")
	e.notifyLink(t, "frank", "")
	main := soe.MainSite()
	qid := e.SOE.AddQuestion(main, e.soeUser("frank"), "Digest: which UUID extension?", "pgcrypto?", "postgresql")
	clock.Advance(time.Minute)
	e.sees(t, e.slash(t, frank, General, "notify answers daily"), "in one digest, daily at 09:00 Europe/Berlin")
	e.sees(t, e.slash(t, frank, General, "notify"), "Answers to my questions:* on (daily at 09:00 Europe/Berlin)")
	e.cycle(t)
	clock.Advance(time.Minute)
	e.SOE.AddAnswer(main, qid, e.soeUser("ivan"), "pgcrypto.")
	clock.Advance(time.Minute)
	e.SOE.AddAnswer(main, qid, e.soeUser("erin"), "gen_random_uuid is built in.")
	clock.Advance(time.Minute)
	e.cycle(t)
	if ds := e.dmDigests(frank); len(ds) != 0 {
		t.Fatalf("early:%s", dump(ds))
	}
	clock.Set(time.Date(2026, 12, 3, 8, 0, 30, 0, time.UTC)) // Thursday 09:00 in Berlin
	e.cycle(t)
	dm, err := e.Slack.WaitDM(wait(t), frank, "Daily digest: answers to your questions")
	if err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.DMs(frank)))
	}
	if !strings.Contains(dm.Flat(), "2 new answers") || !strings.Contains(dm.Flat(), "which UUID extension") {
		t.Fatalf("%s", dm.Flat())
	}
	// The App Home shows the cadence and switches it.
	home := e.openHome(t, frank, "on (daily at 09:00 Europe/Berlin)")
	s := e.Slack.T(t).ClickInView(frank, home, "notify_cadence:answers:weekly", "answers:weekly")
	if _, err := e.Slack.WaitAck(wait(t), s.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitHome(wait(t), frank, "on (weekly on Monday at 09:00 Europe/Berlin)"); err != nil {
		t.Fatalf("%v\n%s", err, e.Slack.Home(frank).Flat())
	}
	e.sees(t, e.slash(t, frank, General, "notify expert 3h"), "new questions in tags where you are a subject-matter expert in one digest, every 3 hours")
	// on = immediate (the old grammar).
	e.sees(t, e.slash(t, frank, General, "notify answers on"), "I will DM you answers")
	e.sees(t, e.slash(t, frank, General, "notify"), "Answers to my questions:* on (immediately)")
	clock.Advance(time.Minute)
	e.SOE.AddAnswer(main, qid, e.soeUser("carol"), "uuid-ossp works too.")
	clock.Advance(time.Minute)
	e.cycle(t)
	if _, err := e.Slack.WaitDM(wait(t), frank, "Your question"); err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.DMs(frank)))
	}
	e.sees(t, e.slash(t, frank, General, "notify answers off"), "no longer DM you answers")
}

// The weekly expert digest: every Monday at 09:00 in the SME's zone, the
// unanswered questions in their SME tags, oldest first, at most 10; nothing
// for someone with none.
func TestDigestWeeklyExpert(t *testing.T) {
	e, clock := clockBot(t, time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)) // Wednesday
	erin, frank := SlackUser("erin"), SlackUser("frank")
	e.withTZ("erin", "Europe/Berlin")
	e.notifyLink(t, "erin", "") // erin is the SME of go
	e.notifyLink(t, "frank", "")
	main := soe.MainSite()
	e.sees(t, e.slash(t, erin, General, "notify digest weekly"), "unanswered questions in your expert tags weekly on Monday at 09:00 Europe/Berlin")
	// frank turns it on in the App Home.
	home := e.openHome(t, frank, "Weekly expert digest:* off")
	s := e.Slack.T(t).ClickInView(frank, home, "notify_cadence:digest:weekly", "digest:weekly")
	if _, err := e.Slack.WaitAck(wait(t), s.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitHome(wait(t), frank, "Weekly expert digest:* on (weekly on Monday at 09:00"); err != nil {
		t.Fatalf("%v\n%s", err, e.Slack.Home(frank).Flat())
	}
	if flat := e.Slack.Home(frank).Flat(); !strings.Contains(flat, "Questions for an expert:* off") {
		t.Fatalf("the weekly digest switched the expert alert on:\n%s", flat)
	}
	e.openHome(t, erin, "Weekly expert digest:* on (weekly on Monday at 09:00 Europe/Berlin)")
	var ids []int
	for i := range 12 {
		clock.Advance(time.Minute)
		ids = append(ids, e.SOE.AddQuestion(main, e.soeUser("judy"), fmt.Sprintf("Expert digest question %02d about goroutines", i), "x", "go"))
	}
	clock.Advance(time.Minute)
	// Answered as SOE counts it (an accepted answer): not listed.
	e.SOE.AcceptAnswer(main, ids[0], e.SOE.AddAnswer(main, ids[0], e.soeUser("ivan"), "Answered."))

	clock.Set(time.Date(2026, 11, 30, 7, 59, 0, 0, time.UTC)) // Monday 08:59 in Berlin
	e.cycle(t)
	if ds := e.dmDigests(erin); len(ds) != 0 {
		t.Fatalf("early:%s", dump(ds))
	}
	clock.Set(time.Date(2026, 11, 30, 8, 0, 30, 0, time.UTC))
	e.cycle(t)
	dm, err := e.Slack.WaitDM(wait(t), erin, "Weekly expert digest")
	if err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.DMs(erin)))
	}
	txt := dm.Flat()
	if n := strings.Count(txt, "/questions/"); n != 10 {
		t.Errorf("%d questions listed, want 10:\n%s", n, txt)
	}
	if strings.Contains(txt, "question 00 about") {
		t.Errorf("an answered question is listed:\n%s", txt)
	}
	// Oldest first: whatever the seed holds, question 01 comes before 02.
	if i, j := strings.Index(txt, "question 01"), strings.Index(txt, "question 02"); i >= 0 && j >= 0 && i > j {
		t.Errorf("not oldest first:\n%s", txt)
	}
	e.cycle(t)
	if ds := e.dmDigests(erin); len(ds) != 1 {
		t.Fatalf("repeated:%s", dump(ds))
	}
	// frank is nobody's SME: nothing.
	if ds := e.dmDigests(frank); len(ds) != 0 {
		t.Fatalf("a digest without questions:%s", dump(ds))
	}
	e.sees(t, e.slash(t, erin, General, "notify digest off"), "no longer DM you the weekly expert digest")
	clock.Set(time.Date(2026, 12, 7, 8, 0, 30, 0, time.UTC))
	e.cycle(t)
	if ds := e.dmDigests(erin); len(ds) != 1 {
		t.Fatalf("after off:%s", dump(ds))
	}
}
