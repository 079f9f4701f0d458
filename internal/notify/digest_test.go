package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// subscribeDigest creates a digest subscription as login (linked first).
func (e *env) subscribeDigest(login, channel string, c Cadence, tz string, tags ...string) Subscription {
	e.t.Helper()
	ctx := context.Background()
	if !e.links.valid(team, slackID(login), mainSite) {
		e.link(login, mainSite)
	}
	since, err := e.svc.Prime(ctx, e.client(login, mainSite))
	if err != nil {
		e.t.Fatal(err)
	}
	sub, err := e.svc.Subscribe(ctx, SubscribeRequest{TeamID: team, ChannelID: channel, CreatorID: slackID(login),
		Scope: mainSite, Tags: tags, Kinds: AllKinds, Since: since, Digest: c, TZ: tz})
	if err != nil {
		e.t.Fatal(err)
	}
	return sub
}

func TestPeriodBoundaries(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name       string
		c          Cadence
		tz         string
		at         string
		prev, next string
	}{
		{"daily Berlin summer", CadenceDaily, "Europe/Berlin", "2026-10-20T12:00:00Z", "2026-10-20T07:00:00Z", "2026-10-21T07:00:00Z"},
		{"daily Berlin before 9", CadenceDaily, "Europe/Berlin", "2026-10-20T06:59:59Z", "2026-10-19T07:00:00Z", "2026-10-20T07:00:00Z"},
		{"daily at the boundary is the next period", CadenceDaily, "Europe/Berlin", "2026-10-20T07:00:00Z", "2026-10-20T07:00:00Z", "2026-10-21T07:00:00Z"},
		{"daily across the autumn DST change", CadenceDaily, "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z"},
		{"daily across the spring DST change", CadenceDaily, "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z"},
		{"daily New York", CadenceDaily, "America/New_York", "2026-12-02T03:00:00Z", "2026-12-01T14:00:00Z", "2026-12-02T14:00:00Z"},
		{"daily Kolkata half-hour offset", CadenceDaily, "Asia/Kolkata", "2026-12-02T03:00:00Z", "2026-12-01T03:30:00Z", "2026-12-02T03:30:00Z"},
		{"daily UTC for an unknown zone", CadenceDaily, "Mars/Olympus", "2026-12-02T10:00:00Z", "2026-12-02T09:00:00Z", "2026-12-03T09:00:00Z"},
		{"weekly Monday 09:00 across DST", CadenceWeekly, "Europe/Berlin", "2026-10-22T12:00:00Z", "2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z"},
		{"weekly on Monday before 9", CadenceWeekly, "Europe/Berlin", "2026-11-30T07:59:00Z", "2026-11-23T08:00:00Z", "2026-11-30T08:00:00Z"},
		{"weekly Sunday in Auckland", CadenceWeekly, "Pacific/Auckland", "2026-11-29T12:00:00Z", "2026-11-22T20:00:00Z", "2026-11-29T20:00:00Z"},
		{"hourly", CadenceHourly, "Europe/Berlin", "2026-10-20T12:34:56Z", "2026-10-20T12:00:00Z", "2026-10-20T13:00:00Z"},
		{"hourly in the repeated DST hour", CadenceHourly, "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z"},
		{"hourly after the repeated hour", CadenceHourly, "Europe/Berlin", "2026-10-25T01:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"},
		{"hourly half-hour offset", CadenceHourly, "Asia/Kolkata", "2026-12-02T03:00:00Z", "2026-12-02T02:30:00Z", "2026-12-02T03:30:00Z"},
		{"3h", Cadence3h, "Europe/Berlin", "2026-12-02T10:00:00Z", "2026-12-02T08:00:00Z", "2026-12-02T11:00:00Z"},
		{"3h across midnight", Cadence3h, "Europe/Berlin", "2026-12-02T22:30:00Z", "2026-12-02T20:00:00Z", "2026-12-02T23:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := Location(tc.tz)
			at := utc(tc.at)
			if got := PrevBoundary(tc.c, loc, at); !got.Equal(utc(tc.prev)) {
				t.Errorf("PrevBoundary = %s, want %s", got.UTC().Format(time.RFC3339), tc.prev)
			}
			if got := NextBoundary(tc.c, loc, at); !got.Equal(utc(tc.next)) {
				t.Errorf("NextBoundary = %s, want %s", got.UTC().Format(time.RFC3339), tc.next)
			}
		})
	}
}

func TestCadenceDescribe(t *testing.T) {
	for c, want := range map[Cadence]string{
		CadenceDaily:     "daily at 09:00 Europe/Berlin",
		CadenceWeekly:    "weekly on Monday at 09:00 Europe/Berlin",
		CadenceHourly:    "hourly, on the hour (Europe/Berlin)",
		Cadence3h:        "every 3 hours (00:00, 03:00, … Europe/Berlin)",
		CadenceImmediate: "immediately",
	} {
		if got := c.Describe("Europe/Berlin"); got != want {
			t.Errorf("%s: %q, want %q", c, got, want)
		}
	}
	if got := CadenceDaily.Describe(""); got != "daily at 09:00 UTC" {
		t.Errorf("no zone: %q", got)
	}
}

func FuzzParseCadence(f *testing.F) {
	for _, s := range []string{"daily", "WEEKLY", "3h", "hourly", "immediate", "off", "", "1w", "\x00", "daily\n"} {
		f.Add(s, int64(1764662400), "Europe/Berlin")
	}
	f.Fuzz(func(t *testing.T, word string, unix int64, tz string) {
		c, ok := ParseCadence(word)
		if !ok {
			if c != "" {
				t.Fatalf("%q: not ok but %q", word, c)
			}
			return
		}
		if c.Describe(tz) == "" {
			t.Fatal("empty description")
		}
		if !c.IsDigest() {
			return
		}
		at := time.Unix(unix%(1<<34), 0) // years 1970..2514
		loc := Location(tz)
		prev, next := PrevBoundary(c, loc, at), NextBoundary(c, loc, at)
		if prev.After(at) || !next.After(at) {
			t.Fatalf("%s %s at %s: prev %s next %s", c, loc, at, prev, next)
		}
		if next.Sub(prev) > 8*24*time.Hour {
			t.Fatalf("%s: period %s too long", c, next.Sub(prev))
		}
	})
}

// digestFixture is a day's digest of the go tag in Berlin.
func digestFixture(nq, nacc int) *Event {
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	d := &Digest{Kind: DigestChannel, Cadence: CadenceDaily, TZ: "Europe/Berlin", Tags: []string{"go"}, Start: start, End: start.Add(24 * time.Hour),
		Questions: nq, Accepted: nacc, Answers: 2 * nq, SiteURL: "https://soe.example"}
	for i := range nq {
		e := DigestEntry{QuestionID: 100 + i, Title: fmt.Sprintf("How do I <b>pin</b> Go toolchain %d & keep CI green?", i),
			URL: fmt.Sprintf("https://soe.example/questions/%d/pin-go", 100+i), Answered: i%3 == 0, By: "Judy"}
		if !e.Answered {
			d.Unanswered++
		}
		if len(d.NewQuestions) < maxDigestEntries {
			d.NewQuestions = append(d.NewQuestions, e)
		}
	}
	for i := range nacc {
		d.NewAccepted = append(d.NewAccepted, DigestEntry{QuestionID: 100 + i, Title: fmt.Sprintf("Accepted %d", i),
			URL: fmt.Sprintf("https://soe.example/questions/%d/x/%d#%d", 100+i, 900+i, 900+i), By: "Erin <@U1>"})
	}
	return &Event{ID: "digest/c/1/1", Kind: EventDigest, Scope: mainSite, Digest: d}
}

func TestRenderDigestGolden(t *testing.T) {
	golden(t, "digest_channel_daily", Render(digestFixture(3, 1), "digest", "/soe"))
	asker := digestFixture(0, 1)
	asker.Digest.Kind, asker.Digest.Cadence, asker.Digest.Tags = DigestAsker, Cadence3h, nil
	asker.Digest.Answers = 3
	asker.Digest.NewAnswers = []DigestEntry{{QuestionID: 7, Title: "My question", URL: "https://soe.example/questions/7/mine", Answers: 3, By: "Ivan"}}
	golden(t, "digest_asker_3h", Render(asker, "digest", "/soe"))
	expert := digestFixture(2, 0)
	expert.Digest.Kind, expert.Digest.Cadence, expert.Digest.Tags = DigestExpert, CadenceWeekly, nil
	golden(t, "digest_expert_weekly", Render(expert, "digest", "/soe"))
	sme := &Event{ID: "xdigest/T/U/1", Kind: EventDigest, Digest: &Digest{Kind: DigestSME, Cadence: CadenceWeekly, TZ: "Europe/Berlin",
		Start: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC), Unanswered: 2,
		NewQuestions: []DigestEntry{
			{QuestionID: 3, Title: "Oldest unanswered", URL: "https://soe.example/questions/3/old", By: "Bob", At: time.Date(2026, 11, 10, 8, 0, 0, 0, time.UTC)},
			{QuestionID: 9, Title: "Newer unanswered", URL: "https://soe.example/questions/9/new", By: "Judy", At: time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)},
		}}}
	golden(t, "digest_sme_weekly", Render(sme, "digest", "/soe"))
	golden(t, "digest_channel_500", Render(digestFixture(500, 40), "digest", "/soe"))
}

// A digest of 500 events stays within Slack's limits: 50 blocks, 3000
// characters a section, and says how many more there are, linked to a search.
func TestRenderDigestLimits(t *testing.T) {
	m := Render(digestFixture(500, 40), "digest", "/soe")
	if len(m.Blocks) > 50 {
		t.Fatalf("%d blocks", len(m.Blocks))
	}
	if len(m.Text) > 4000 {
		t.Fatalf("text of %d characters", len(m.Text))
	}
	all := ""
	for _, b := range m.Blocks {
		if s, ok := b.(*slack.SectionBlock); ok {
			if n := len(s.Text.Text); n > 3000 {
				t.Fatalf("section of %d characters", n)
			}
			all += s.Text.Text + "\n"
		}
	}
	if !strings.Contains(all, "|and 480 more>") || !strings.Contains(all, "https://soe.example/search?q=") {
		t.Fatalf("no linked rest:\n%s", all)
	}
	if !strings.Contains(all, "|and 30 more>") {
		t.Fatalf("no rest of the accepted answers:\n%s", all)
	}
	checkSafe(t, m)
	// Unanswered questions come first.
	first := strings.Index(all, "· unanswered")
	if a := strings.Index(all, "· answered"); a >= 0 && a < first {
		t.Fatal("answered before unanswered")
	}
}

// Collected events become one digest when the period ends (not before); an
// empty period posts nothing; a restart mid-period loses nothing.
func TestDigestCollectsAndPostsOncePerPeriod(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 2, 10, 15, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	advance := func(d time.Duration) { now.Add(int64(d)) }
	e := newEnv(t, func(o *Options) { o.Now = clock })
	e.subscribeDigest("alice", chDigest, CadenceHourly, "Europe/Berlin", "go")
	e.cycle()
	tick()
	q1 := e.question(mainSite, "judy", "Digest question one", "go")
	e.question(mainSite, "judy", "Python question, not in the digest", "python")
	e.cycle()
	e.open() // restart mid-period
	tick()
	q2 := e.question(mainSite, "bob", "Digest question two", "go")
	e.answer(mainSite, q1, "erin", "An answer.")
	advance(20 * time.Minute) // 10:35
	e.cycle()
	if ps := e.posts(chDigest); len(ps) != 0 {
		t.Fatalf("posted before the period ended:%s", flat(ps))
	}
	advance(30 * time.Minute) // 11:05: the 10:00-11:00 period closed
	e.cycle()
	ps := e.posts(chDigest)
	if len(ps) != 1 {
		t.Fatalf("want one digest:%s", flat(ps))
	}
	txt := ps[0].Flat()
	for _, want := range []string{"Hourly digest", "2 new questions (1 unanswered)", "1 new answer", fmt.Sprintf("/questions/%d/", q1),
		fmt.Sprintf("/questions/%d/", q2), "Europe/Berlin", "11:00 – 12:00"} {
		if !strings.Contains(txt, want) {
			t.Errorf("digest lacks %q:%s", want, flat(ps))
		}
	}
	if strings.Contains(txt, "Python question") {
		t.Error("the digest has a question of another tag")
	}
	// The next periods are empty: nothing more.
	for range 3 {
		advance(time.Hour)
		e.cycle()
	}
	if ps := e.posts(chDigest); len(ps) != 1 {
		t.Fatalf("empty periods posted:%s", flat(ps))
	}
}

func TestPersonalDigestCadence(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 2, 10, 15, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	e := newEnv(t, func(o *Options) { o.Now = clock })
	ctx := context.Background()
	e.link("frank", mainSite)
	if _, err := e.svc.Prime(ctx, e.client("frank", mainSite)); err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.SetAlertCadence(ctx, team, slackID("frank"), AlertAnswers, CadenceDaily, true, "America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	if c, on := p.Cadence(AlertAnswers); !on || c != CadenceDaily {
		t.Fatalf("cadence %q %v", c, on)
	}
	if err := e.svc.RememberIM(ctx, team, slackID("frank"), "D"+slackID("frank")); err != nil {
		t.Fatal(err)
	}
	e.cycle()
	tick()
	q := e.question(mainSite, "frank", "Frank's question", "go")
	e.cycle()
	tick()
	e.answer(mainSite, q, "erin", "First.")
	e.cycle()
	tick()
	e.answer(mainSite, q, "ivan", "Second.")
	e.cycle()
	if ds := e.dms("frank"); len(ds) != 0 {
		t.Fatalf("a daily digest DMed at once:%s", flat(ds))
	}
	now.Store(time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC).UnixNano()) // 09:00 in New York
	e.cycle()
	ds := e.dms("frank")
	if len(ds) != 1 || !strings.Contains(ds[0].Flat(), "2 new answers") || !strings.Contains(ds[0].Flat(), "Daily digest: answers to your questions") {
		t.Fatalf("want one daily digest of 2 answers:%s", flat(ds))
	}
	// An answer collected for the next digest, then on = immediate again:
	// the collected one still comes at the period's end, the new ones at once.
	tick()
	e.answer(mainSite, q, "bob", "Collected.")
	e.cycle()
	if _, err := e.svc.SetAlert(ctx, team, slackID("frank"), AlertAnswers, true); err != nil {
		t.Fatal(err)
	}
	tick()
	e.answer(mainSite, q, "carol", "Third.")
	e.cycle()
	if ds := e.dms("frank"); len(ds) != 2 || !strings.Contains(ds[1].Flat(), "has a new answer") {
		t.Fatalf("immediate again:%s", flat(ds))
	}
	now.Store(time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC).UnixNano())
	e.cycle()
	ds = e.dms("frank")
	if len(ds) != 3 || !strings.Contains(ds[2].Flat(), "1 new answer") || !strings.Contains(ds[2].Flat(), "Bob") {
		t.Fatalf("the collected answer was lost:%s", flat(ds))
	}
	now.Store(time.Date(2026, 12, 4, 14, 0, 0, 0, time.UTC).UnixNano())
	e.cycle()
	if ds := e.dms("frank"); len(ds) != 3 {
		t.Fatalf("a digest after going back to immediate:%s", flat(ds))
	}
}

func TestDigestEventJSONIsCompact(t *testing.T) {
	ev := digestFixture(500, 0)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 64<<10 {
		t.Fatalf("a 500-event digest stores %d bytes", len(b))
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil || back.Digest.Questions != 500 {
		t.Fatalf("%v %+v", err, back.Digest)
	}
}

// FuzzRenderDigest: whatever SOE sends and however many events a period
// has, a digest has no live mention, at most 50 blocks and sections within
// Slack's 3000 characters.
func FuzzRenderDigest(f *testing.F) {
	f.Add("Title <!channel>", "Name <@U1>", "https://x.example/questions/1/a", "go", "Europe/Berlin", 500)
	f.Add(strings.Repeat("é", 400), "\u202eevil", "https://a|b>c/questions/2", "c++", "", 0)
	f.Add("&lt;!here&gt;", "", "javascript:alert(1)", "<#C1>", "Mars/Base", 37)
	f.Fuzz(func(t *testing.T, title, name, url, tag, tz string, n int) {
		n = max(0, min(n, 600))
		ev := digestFixture(0, 0)
		d := ev.Digest
		d.TZ, d.Tags, d.SiteURL = tz, []string{tag}, siteOf(url)
		for i := range n {
			e := DigestEntry{QuestionID: i, Title: title, URL: url, By: name, Answered: i%2 == 0, Answers: i % 4}
			if i < maxDigestEntries {
				d.NewQuestions = append(d.NewQuestions, e)
				d.NewAnswers = append(d.NewAnswers, e)
				d.NewAccepted = append(d.NewAccepted, e)
			}
		}
		d.Questions, d.Answers, d.Accepted = n, n, n
		for _, kind := range []string{DigestChannel, DigestAsker, DigestExpert, DigestSME} {
			d.Kind = kind
			m := Render(ev, "digest", "/soe")
			js, _ := json.Marshal(m.Blocks)
			all := m.Text + string(js)
			for _, bad := range []string{"<!", "<@", "<#"} {
				if strings.Contains(all, bad) {
					t.Fatalf("%s in %s", bad, all)
				}
			}
			if len(m.Blocks) > 50 || len(m.Text) > 4000 {
				t.Fatalf("%d blocks, text of %d", len(m.Blocks), len(m.Text))
			}
			for _, b := range m.Blocks {
				if s, ok := b.(*slack.SectionBlock); ok && len(s.Text.Text) > 3000 {
					t.Fatalf("section of %d characters", len(s.Text.Text))
				}
			}
		}
	})
}

// Subscribing the same tags again with another cadence replaces the digest
// subscription: what its open period collected is posted at once, not lost.
func TestReplacedDigestPostsWhatItCollected(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 2, 10, 15, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	e := newEnv(t, func(o *Options) { o.Now = clock })
	e.subscribeDigest("alice", chDigest, CadenceDaily, "Europe/Berlin", "go")
	e.cycle()
	tick()
	q := e.question(mainSite, "judy", "Collected before the cadence changed", "go")
	now.Add(int64(10 * time.Minute))
	e.cycle()
	if ps := e.posts(chDigest); len(ps) != 0 {
		t.Fatalf("posted before the period ended:%s", flat(ps))
	}
	e.subscribeDigest("alice", chDigest, CadenceHourly, "Europe/Berlin", "go")
	e.cycle()
	ps := e.posts(chDigest)
	if len(ps) != 1 || !strings.Contains(ps[0].Flat(), fmt.Sprintf("/questions/%d/", q)) {
		t.Fatalf("want the replaced digest's period posted once:%s", flat(ps))
	}
	// The new hourly digest starts empty: nothing more at its end.
	now.Add(int64(time.Hour))
	e.cycle()
	if ps := e.posts(chDigest); len(ps) != 1 {
		t.Fatalf("the flushed question was posted again:%s", flat(ps))
	}
}
