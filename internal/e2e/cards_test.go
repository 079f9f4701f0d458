package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

// Living question cards and the backlog guard (issue 17, points 1 and 3)
// through the real bot: one card per question, its answers in its thread,
// the card kept up to date in place; /soe config threads off; a card Slack
// refuses to update; a channel that fell behind.

func cardBot(t *testing.T) (*Env, *Clock) {
	t.Helper()
	clock := NewClock(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC))
	return bot(t, func(o *Options) { o.Clock = clock }), clock
}

// topLevel are the channel's notification messages (deliveries and
// cards) outside threads.
func topLevel(ms []slackfake.Message) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range ms {
		if (m.ThreadTS == "" || m.ThreadTS == m.TS) && (m.MetadataType == notify.MetadataType || m.MetadataType == notify.CardMetadataType) {
			out = append(out, m)
		}
	}
	return out
}

// step moves the clock on a little (SOE stamps activity with it) and runs a cycle.
func (e *Env) step(t *testing.T, clock *Clock, d time.Duration) {
	t.Helper()
	clock.Advance(d)
	e.cycle(t)
}

func TestCardsThreadsAndInPlaceUpdates(t *testing.T) {
	e, clock := cardBot(t)
	alice := SlackUser("alice")
	e.notifyLink(t, "alice", "")
	main := soe.MainSite()
	old := e.SOE.AddQuestion(main, e.soeUser("judy"), "An older question about Go modules", "Before the subscription.", "go")
	clock.Advance(time.Second)
	e.sees(t, e.slash(t, alice, General, "config threads"), "question cards")
	e.sees(t, e.slash(t, alice, General, "subscribe go all"), "subscribed this channel to")
	e.step(t, clock, time.Second)

	q := e.SOE.AddQuestion(main, e.soeUser("bob"), "Is Go 1.26 approved for production?", "Asking for payments.", "go")
	e.step(t, clock, time.Second)
	top := topLevel(e.Slack.Messages(General))
	if len(top) != 1 || !strings.Contains(top[0].Flat(), "New question") || !strings.Contains(top[0].Flat(), "0 answers") {
		t.Fatalf("want one card:%s", dump(top))
	}
	card := top[0].TS

	a1 := e.SOE.AddAnswer(main, q, e.soeUser("erin"), "Yes, since the security review.")
	e.step(t, clock, time.Second)
	th := e.Slack.Thread(General, card)
	if len(th) != 2 || !strings.Contains(th[1].Flat(), "New answer") || !strings.Contains(th[1].Flat(), "security review") || th[1].Broadcast {
		t.Fatalf("want the answer in the card's thread, not sent to the channel:%s", dump(th))
	}
	if n := len(topLevel(e.Slack.Messages(General))); n != 1 {
		t.Fatalf("%d top-level messages, want the card alone", n)
	}
	if th[0].Edits != 0 {
		t.Fatal("the card was updated within its first minute")
	}
	// A minute on, the card says 1 answer.
	e.step(t, clock, notify.CardUpdateEvery)
	if m := e.Slack.Thread(General, card)[0]; m.Edits != 1 || !strings.Contains(m.Flat(), "1 answer ") {
		t.Fatalf("want one update with 1 answer (%d edits):%s", m.Edits, m.Flat())
	}

	// A burst within one minute: an answer, the acceptance, an edit, votes, closed.
	clock.Advance(time.Second)
	e.SOE.AddAnswer(main, q, e.soeUser("ivan"), "Only with the new toolchain.")
	e.SOE.AcceptAnswer(main, q, a1)
	e.SOE.EditQuestion(main, q, func(fq *soefake.FakeQuestion) {
		fq.Title, fq.Score, fq.Closed, fq.Obsolete = "Go 1.26 in production: approved?", 4, true, true
	})
	e.step(t, clock, time.Second)
	e.step(t, clock, time.Second)
	if m := e.Slack.Thread(General, card)[0]; m.Edits != 1 {
		t.Fatalf("updated %d times within a minute", m.Edits)
	}
	e.step(t, clock, notify.CardUpdateEvery)
	e.step(t, clock, notify.CardUpdateEvery)
	m := e.Slack.Thread(General, card)[0]
	for _, want := range []string{"Go 1.26 in production: approved?", "2 answers", "accepted", "score 4", "closed", "obsolete"} {
		if !strings.Contains(m.Flat(), want) {
			t.Errorf("card lacks %q:%s", want, m.Flat())
		}
	}
	if m.Edits != 2 {
		t.Errorf("%d edits: the burst must be one update (latest state wins)", m.Edits)
	}
	th = e.Slack.Thread(General, card)
	if len(th) != 4 || !strings.Contains(th[3].Flat(), "Accepted answer") {
		t.Fatalf("want card, two answers, the acceptance:%s", dump(th))
	}

	// An answer to a question with no card here: its card first, the answer in its thread.
	e.SOE.AddAnswer(main, old, e.soeUser("carol"), "Run go mod tidy in CI.")
	e.step(t, clock, time.Second)
	top = topLevel(e.Slack.Messages(General))
	if len(top) != 2 || !strings.Contains(top[1].Flat(), "older question about Go modules") || strings.Contains(top[1].Flat(), "New question") {
		t.Fatalf("want the older question's card:%s", dump(top))
	}
	if th := e.Slack.Thread(General, top[1].TS); len(th) != 2 || !strings.Contains(th[1].Flat(), "go mod tidy") {
		t.Fatalf("want the answer in its thread:%s", dump(th))
	}
	// Nothing repeats.
	e.step(t, clock, notify.CardUpdateEvery)
	if n, m := len(e.cards(General)), len(topLevel(e.Slack.Messages(General))); n != 1+3+1 || m != 2 {
		t.Fatalf("%d deliveries, %d cards:%s", n, m, dump(e.Slack.Messages(General)))
	}
}

func TestCardsThreadsOff(t *testing.T) {
	e, clock := cardBot(t)
	alice := SlackUser("alice")
	e.notifyLink(t, "alice", "")
	main := soe.MainSite()
	e.sees(t, e.slash(t, alice, General, "config threads maybe"), "Usage")
	m := e.sees(t, e.slash(t, alice, General, "config threads off"), "one message per event")
	if !m.InChannel {
		t.Fatal("the change must be announced in the channel")
	}
	e.sees(t, e.slash(t, alice, General, "config threads"), "*one message per event*")
	e.sees(t, e.slash(t, alice, General, "subscribe go"), "subscribed this channel to")
	e.step(t, clock, time.Second)
	q := e.SOE.AddQuestion(main, e.soeUser("bob"), "How do we vendor Go dependencies?", "Offline builds.", "go")
	e.step(t, clock, time.Second)
	e.SOE.AddAnswer(main, q, e.soeUser("erin"), "go mod vendor.")
	e.step(t, clock, time.Second)
	cs := e.cards(General)
	if len(cs) != 2 || len(topLevel(cs)) != 2 || !strings.Contains(cs[1].Flat(), "New answer* to") {
		t.Fatalf("want two messages, no threads:%s", dump(cs))
	}
	e.step(t, clock, 2*notify.CardUpdateEvery)
	if cs := e.cards(General); cs[0].Edits != 0 {
		t.Fatal("threads off: nothing is updated in place")
	}
	// Back on: the next question is a card again, its answers in its thread.
	e.sees(t, e.slash(t, alice, General, "config threads on"), "question cards")
	q2 := e.SOE.AddQuestion(main, e.soeUser("bob"), "Go workspaces for monorepos?", "go.work?", "go")
	e.step(t, clock, time.Second)
	e.SOE.AddAnswer(main, q2, e.soeUser("erin"), "Yes, go.work.")
	e.step(t, clock, time.Second)
	top := topLevel(e.Slack.Messages(General))
	if len(top) != 3 {
		t.Fatalf("%s", dump(top))
	}
	if th := e.Slack.Thread(General, top[2].TS); len(th) != 2 {
		t.Fatalf("threads on again: want the answer in the card's thread:%s", dump(th))
	}
}

// A card Slack refuses to update (someone deleted it) is posted again
// once; refused again, it is left alone.
func TestCardRefusedUpdateIsRepostedOnce(t *testing.T) {
	e, clock := cardBot(t)
	alice := SlackUser("alice")
	e.notifyLink(t, "alice", "")
	main := soe.MainSite()
	e.sees(t, e.slash(t, alice, General, "subscribe go"), "subscribed this channel to")
	e.step(t, clock, time.Second)
	q := e.SOE.AddQuestion(main, e.soeUser("bob"), "Go generics or interfaces?", "For a plugin API.", "go")
	e.step(t, clock, time.Second)
	first := topLevel(e.Slack.Messages(General))[0]
	if !e.Slack.DeleteAsUser(General, first.TS) {
		t.Fatal("could not delete the card")
	}
	e.SOE.AddAnswer(main, q, e.soeUser("erin"), "Interfaces first.")
	e.step(t, clock, time.Second)
	e.step(t, clock, notify.CardUpdateEvery)
	top := topLevel(e.Slack.Messages(General))
	if len(top) != 1 || top[0].TS == first.TS || !strings.Contains(top[0].Flat(), "1 answer") {
		t.Fatalf("want the card posted again, once, up to date:%s", dump(top))
	}
	e.Slack.FailMethod("chat.update", "cant_update_message", 1000)
	for i := range 3 {
		e.SOE.AddAnswer(main, q, e.soeUser("ivan"), fmt.Sprintf("Generics for containers (%d).", i))
		e.step(t, clock, notify.CardUpdateEvery)
	}
	if n := len(topLevel(e.Slack.Messages(General))); n != 1 {
		t.Fatalf("%d cards: refused again, a card is not posted again", n)
	}
	if th := e.Slack.Thread(General, top[0].TS); len(th) != 4 {
		t.Fatalf("the answers still go to the thread of the card that is there:%s", dump(th))
	}
}

// A slow Slack (429s) lets a channel fall behind; its backlog becomes one
// message, and nothing is lost or shown twice.
func TestBacklogFoldWithSlowSlack(t *testing.T) {
	e, clock := cardBot(t)
	alice := SlackUser("alice")
	e.notifyLink(t, "alice", "")
	main := soe.MainSite()
	e.sees(t, e.slash(t, alice, General, "subscribe go"), "subscribed this channel to")
	e.step(t, clock, time.Second)
	// Slack answers 429 to every post for a while: cards queue up.
	e.Slack.RateLimit("chat.postMessage", 1_000_000, time.Second)
	for i := range 40 {
		e.SOE.AddQuestion(main, e.soeUser("bob"), fmt.Sprintf("Go question number %02d", i), "Details.", "go")
	}
	e.slowCycle(t, clock, time.Second)
	if n := len(e.cards(General)); n != 0 {
		t.Fatalf("%d posted while Slack refused", n)
	}
	// More activity while it is behind: 70 queued, more than a minute of
	// posts at Slack's pace. They are folded (the fold waits for Slack too).
	for i := 40; i < 70; i++ {
		e.SOE.AddQuestion(main, e.soeUser("bob"), fmt.Sprintf("Go question number %02d", i), "Details.", "go")
	}
	e.slowCycle(t, clock, 10*time.Second)
	e.Slack.RateLimit("chat.postMessage", 0, 0) // Slack keeps up again
	e.slowCycle(t, clock, time.Minute)
	cs := e.cards(General)
	if len(cs) != 1 {
		t.Fatalf("want one fold message, got %d:%s", len(cs), dump(cs))
	}
	txt := cs[0].Flat()
	for _, want := range []string{"70 new questions", "`go`", "since", "Go question number 00", "…and 55 more"} {
		if !strings.Contains(txt, want) {
			t.Errorf("fold lacks %q:%s", want, txt)
		}
	}
	// Nothing shown twice; nothing left behind.
	e.step(t, clock, time.Minute)
	if n := len(e.cards(General)); n != 1 {
		t.Fatalf("%d messages after the fold", n)
	}
	if n, _ := e.App.Parts.Notify.Pending(context.Background()); n != 0 {
		t.Fatalf("%d pending", n)
	}
	ds, _ := e.App.Parts.Notify.Deliveries(context.Background())
	folded := 0
	for _, d := range ds {
		if d.FoldedInto != "" {
			folded++
		}
	}
	if folded != 70 {
		t.Fatalf("%d deliveries folded, want 70", folded)
	}
	// Caught up: the next question is a card again.
	e.SOE.AddQuestion(main, e.soeUser("bob"), "After the fold: a normal card", "x", "go")
	e.step(t, clock, time.Second)
	if cs := e.cards(General); len(cs) != 2 || !strings.Contains(cs[1].Flat(), "New question") {
		t.Fatalf("%s", dump(cs))
	}
}

// slowCycle is step for a Slack that answers 429 (each refused post is
// retried for seconds): delivery errors are expected, and it waits longer.
func (e *Env) slowCycle(t *testing.T, clock *Clock, d time.Duration) {
	t.Helper()
	clock.Advance(d)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, _ = e.App.Parts.Notify.RunOnce(ctx)
}
