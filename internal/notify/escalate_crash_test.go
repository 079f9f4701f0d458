package notify

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

// A crash right after an escalation DM or the escalation's thread reply is
// posted (before it is marked done) never causes a second post: the restart
// finds it in the DM's history, or in the card's thread.
func TestEscalationCrashAfterPostIsNotRepeated(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	var crashOn string
	var mu sync.Mutex
	after := func(_ context.Context, id string) error {
		mu.Lock()
		defer mu.Unlock()
		if crashOn != "" && strings.Contains(id, crashOn) {
			crashOn = ""
			return errCrash
		}
		return nil
	}
	e := newEnvAt(t, clock.now, func(o *Options) { o.AfterPost = after })
	// erin (go's SME) in UTC, at noon: no deferral. Heidi, an admin, sees
	// erin's e-mail: the Slack user is found by it.
	e.slack.AddUser(slackfake.User{ID: slackID("erin"), Name: "erin", Email: e.soe.UserByName("erin").Email, TZ: "UTC"})
	ctx := context.Background()
	// The bot knows erin's DM channel (she used it before): a first DM to
	// someone whose DM is not known yet cannot be looked up after a crash
	// (see Deliver), escalations or not.
	if err := e.svc.RememberIM(ctx, team, slackID("erin"), "D"+slackID("erin")); err != nil {
		t.Fatal(err)
	}
	e.link("heidi", soe.MainSite())
	since, err := e.svc.Prime(ctx, e.client("heidi", soe.MainSite()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Subscribe(ctx, SubscribeRequest{TeamID: team, ChannelID: chGeneral, CreatorID: slackID("heidi"),
		Scope: soe.MainSite(), Tags: []string{"go"}, Since: since, Timers: Timers{Escalate: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Minute)
	e.question(soe.MainSite(), "judy", "Who owns the go proxy?", "go")
	e.cycle()
	if ps := e.posts(chGeneral); len(ps) != 1 {
		t.Fatalf("want the question card:%s", flat(ps))
	}
	card := e.posts(chGeneral)[0]

	mu.Lock()
	crashOn = "/dm/"
	mu.Unlock()
	clock.advance(time.Hour + time.Minute)
	if _, err := e.svc.RunOnce(ctx); err == nil {
		t.Fatal("want the simulated crash")
	}
	e.open() // restart
	e.cycle()
	if dms := e.dms("erin"); len(dms) != 1 || !strings.Contains(dms[0].Flat(), "still unanswered after 1h") {
		t.Fatalf("want one escalation DM:%s", flat(dms))
	}

	mu.Lock()
	crashOn = "/ch/"
	mu.Unlock()
	clock.advance(time.Hour)
	if _, err := e.svc.RunOnce(ctx); err == nil {
		t.Fatal("want the simulated crash")
	}
	e.open()
	e.cycle()
	e.cycle()
	th := e.slack.Thread(chGeneral, card.TS)
	if len(th) != 2 || !strings.Contains(th[1].Flat(), "Still unanswered after 2h") || !strings.Contains(th[1].Flat(), "@"+slackID("erin")) {
		t.Fatalf("want one escalation in the card's thread:%s", flat(th))
	}
	ds, err := e.svc.Deliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Status != StatusDone {
			t.Fatalf("delivery %s is %s", d.ID, d.Status)
		}
	}
}
