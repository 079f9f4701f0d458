package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe/soefake"
)

// threadsIn turns living cards on in the channels it names.
type threadsIn map[string]bool

func (t threadsIn) ThreadsOn(_ context.Context, _, channel string) (bool, error) {
	return t[channel], nil
}

// TestCrashRestartThreadsDeliversEachEventExactlyOnce is the crash property
// with living cards: every card and every thread reply posted once, replies
// in their question's card, cards up to date in the end.
func TestCrashRestartThreadsDeliversEachEventExactlyOnce(t *testing.T) {
	if seed := fixedCrashSeed(t); seed != 0 {
		crashPropertyMode(t, seed, propThreads)
		return
	}
	iterations := 8
	if testing.Short() {
		iterations = 3
	}
	for it := range iterations {
		seed := uint64(time.Now().UnixNano()) + uint64(it)
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			crashPropertyMode(t, seed, propThreads)
		})
	}
}

// checkCards: in each threaded channel, one card per question (never two),
// every reply in its question's card thread and never broadcast, and every
// card showing its latest state.
func checkCards(t *testing.T, e *env, ds []Delivery) {
	t.Helper()
	ctx := context.Background()
	byID := map[string]Delivery{}
	for _, d := range ds {
		byID[d.ID] = d
	}
	cards, err := e.svc.Cards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cardTS := map[string]string{} // channel/question → ts
	for _, c := range cards {
		cardTS[fmt.Sprintf("%s/%d", c.ChannelID, c.QuestionID)] = c.TS
		if c.Dirty || c.Reposting {
			t.Errorf("card %s not up to date: %+v", c.Key, c)
		}
	}
	for _, ch := range []string{chGeneral, chOps} {
		perQuestion := map[int]int{}
		for _, m := range e.slack.Messages(ch) {
			if m.Broadcast {
				t.Errorf("%s: a reply was also sent to the channel", ch)
			}
			qid, reply := messageQuestion(t, e, byID, m)
			if qid == 0 {
				continue
			}
			if !reply {
				perQuestion[qid]++
				continue
			}
			if want := cardTS[fmt.Sprintf("%s/%d", ch, qid)]; m.ThreadTS != want {
				t.Errorf("%s: a reply about question %d is in thread %q, its card is %q", ch, qid, m.ThreadTS, want)
			}
		}
		for qid, n := range perQuestion {
			if n != 1 {
				t.Errorf("%s: question %d has %d cards", ch, qid, n)
			}
		}
	}
}

// messageQuestion is the question a notification message is about, and
// whether it is a thread reply.
func messageQuestion(t *testing.T, e *env, byID map[string]Delivery, m slackfake.Message) (int, bool) {
	t.Helper()
	reply := m.ThreadTS != "" && m.ThreadTS != m.TS
	switch m.MetadataType {
	case CardMetadataType:
		key, _ := m.MetadataPayload["card"].(string)
		var qid int
		parts := strings.Split(key, "/")
		if len(parts) >= 4 {
			_, _ = fmt.Sscan(strings.TrimLeft(parts[len(parts)-3], "0"), &qid)
		}
		return qid, reply
	case MetadataType:
		id, _ := m.MetadataPayload["delivery_id"].(string)
		d, ok := byID[id]
		if !ok {
			return 0, reply
		}
		ev, err := e.svc.event(context.Background(), d.EventID)
		if err != nil {
			t.Fatal(err)
		}
		if ev == nil || ev.Question == nil {
			return 0, reply
		}
		return ev.Question.ID, reply
	}
	return 0, reply
}

// cardEnv is a Service with living cards in General and a clock the test moves.
func cardEnv(t *testing.T) (*env, *atomic.Int64) {
	var offset atomic.Int64
	e := newEnv(t, func(o *Options) {
		o.Threads = threadsIn{chGeneral: true}
		o.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	return e, &offset
}

func topLevel(ms []slackfake.Message) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range ms {
		if m.ThreadTS == "" || m.ThreadTS == m.TS {
			out = append(out, m)
		}
	}
	return out
}

func TestCardAnswersInThreadAndUpdatedAtMostOnceAMinute(t *testing.T) {
	e, offset := cardEnv(t)
	e.subscribe("alice", chGeneral, mainSite, AllKinds, "go")
	e.cycle()
	tick()
	q := e.question(mainSite, "judy", "How do we pin Go versions?", "go")
	e.cycle()
	top := topLevel(e.slack.Messages(chGeneral))
	if len(top) != 1 || !strings.Contains(top[0].Flat(), "New question") || !strings.Contains(top[0].Flat(), "0 answers") {
		t.Fatalf("want one question card:%s", flat(top))
	}
	card := top[0]
	tick()
	a1 := e.answer(mainSite, q, "erin", "Use the toolchain directive.")
	e.cycle()
	th := e.slack.Thread(chGeneral, card.TS)
	if len(th) != 2 || !strings.Contains(th[1].Flat(), "New answer") || !strings.Contains(th[1].Flat(), "toolchain") {
		t.Fatalf("want the answer in the card's thread:%s", flat(th))
	}
	if n := len(topLevel(e.slack.Messages(chGeneral))); n != 1 {
		t.Fatalf("%d top-level messages, want the card alone", n)
	}
	// Not updated yet: it was posted less than a minute ago.
	if m := e.slack.Thread(chGeneral, card.TS)[0]; m.Edits != 0 {
		t.Fatalf("updated within the minute: %d edits", m.Edits)
	}
	offset.Add(int64(CardUpdateEvery))
	e.cycle()
	m := e.slack.Thread(chGeneral, card.TS)[0]
	if m.Edits != 1 || !strings.Contains(m.Flat(), "1 answer ") {
		t.Fatalf("want one update showing 1 answer (%d edits):%s", m.Edits, m.Flat())
	}
	// A burst: a second answer, its acceptance, a new title, score, closed.
	tick()
	e.answer(mainSite, q, "ivan", "Or pin it in CI.")
	e.soe.AcceptAnswer(mainSite, q, a1)
	e.soe.EditQuestion(mainSite, q, func(fq *soefake.FakeQuestion) {
		fq.Title, fq.Score, fq.Closed, fq.Obsolete = "Pinning Go versions in CI", 5, true, true
	})
	e.cycle()
	e.cycle()
	if m := e.slack.Thread(chGeneral, card.TS)[0]; m.Edits != 1 {
		t.Fatalf("updated again within the minute: %d edits", m.Edits)
	}
	offset.Add(int64(CardUpdateEvery))
	e.cycle()
	e.cycle()
	m = e.slack.Thread(chGeneral, card.TS)[0]
	for _, want := range []string{"Pinning Go versions in CI", "2 answers", "accepted", "score 5", "closed", "obsolete"} {
		if !strings.Contains(m.Flat(), want) {
			t.Errorf("card lacks %q:%s", want, m.Flat())
		}
	}
	if m.Edits != 2 {
		t.Errorf("%d edits, want 2 (the burst coalesced into one update)", m.Edits)
	}
	th = e.slack.Thread(chGeneral, card.TS)
	if len(th) != 4 || !strings.Contains(th[3].Flat(), "Accepted answer") {
		t.Fatalf("want card, 2 answers, acceptance:%s", flat(th))
	}
}

func TestCardAnswerWithoutCardPostsCardFirst(t *testing.T) {
	e, _ := cardEnv(t)
	q := e.question(mainSite, "judy", "An older question about Go modules", "go")
	tick()
	e.subscribe("alice", chGeneral, mainSite, DefaultKinds, "go")
	e.cycle()
	tick()
	e.answer(mainSite, q, "erin", "Run go mod tidy.")
	e.cycle()
	top := topLevel(e.slack.Messages(chGeneral))
	if len(top) != 1 || top[0].MetadataType != CardMetadataType || strings.Contains(top[0].Flat(), "New question") {
		t.Fatalf("want the question's card (not as new):%s", flat(top))
	}
	th := e.slack.Thread(chGeneral, top[0].TS)
	if len(th) != 2 || !strings.Contains(th[1].Flat(), "go mod tidy") {
		t.Fatalf("want the answer in its thread:%s", flat(th))
	}
}

func TestCardCrashBetweenCardAndReplyPostsEachOnce(t *testing.T) {
	for _, at := range []string{"before", "after"} {
		t.Run(at, func(t *testing.T) {
			var crash atomic.Bool
			hook := func(context.Context, string) error {
				if crash.CompareAndSwap(true, false) {
					return errCrash
				}
				return nil
			}
			e := newEnv(t, func(o *Options) {
				o.Threads = threadsIn{chGeneral: true}
				if at == "before" {
					o.BeforePost = hook
				} else {
					o.AfterPost = hook
				}
			})
			q := e.question(mainSite, "judy", "An older question about Go tests", "go")
			tick()
			e.subscribe("alice", chGeneral, mainSite, DefaultKinds, "go")
			e.cycle()
			tick()
			e.answer(mainSite, q, "erin", "Use t.Parallel.")
			crash.Store(true)
			if _, err := e.svc.RunOnce(context.Background()); !errors.Is(err, ErrStopped) {
				t.Fatalf("want the simulated crash, got %v", err)
			}
			e.open() // restart
			e.cycle()
			e.cycle()
			top := topLevel(e.slack.Messages(chGeneral))
			if len(top) != 1 {
				t.Fatalf("%d cards:%s", len(top), flat(top))
			}
			if th := e.slack.Thread(chGeneral, top[0].TS); len(th) != 2 {
				t.Fatalf("want card and one reply:%s", flat(th))
			}
		})
	}
}

// A card Slack refuses to update is posted again once; refused again, it
// is left alone (never a loop).
func TestCardRefusedUpdateRepostsOnce(t *testing.T) {
	e, offset := cardEnv(t)
	e.subscribe("alice", chGeneral, mainSite, DefaultKinds, "go")
	e.cycle()
	tick()
	q := e.question(mainSite, "judy", "Go generics or interfaces?", "go")
	e.cycle()
	first := topLevel(e.slack.Messages(chGeneral))[0]
	e.slack.DeleteAsUser(chGeneral, first.TS) // someone deleted the card
	tick()
	e.answer(mainSite, q, "erin", "Interfaces first.")
	e.cycle()
	offset.Add(int64(CardUpdateEvery))
	e.cycle()
	top := topLevel(e.slack.Messages(chGeneral))
	if len(top) != 1 || top[0].TS == first.TS || top[0].MetadataType != CardMetadataType || !strings.Contains(top[0].Flat(), "1 answer") {
		t.Fatalf("want the card posted again once, up to date:%s", flat(top))
	}
	// Refused again: left as it is, however much happens.
	e.slack.FailMethod("chat.update", "cant_update_message", 100)
	for range 3 {
		tick()
		e.answer(mainSite, q, "ivan", "Generics when it is a container.")
		offset.Add(int64(CardUpdateEvery))
		e.cycle()
	}
	if n := len(topLevel(e.slack.Messages(chGeneral))); n != 1 {
		t.Fatalf("%d cards: a refused card is re-posted once only", n)
	}
	cards, _ := e.svc.Cards(context.Background())
	if len(cards) != 1 || !cards[0].Dead {
		t.Fatalf("%+v", cards)
	}
	// New answers still reach the thread of the card that is there.
	if th := e.slack.Thread(chGeneral, top[0].TS); len(th) < 2 {
		t.Fatalf("replies missing:%s", flat(th))
	}
}

func TestCardGolden(t *testing.T) {
	q := fixtureQuestion()
	q.AnswerCount, q.Score, q.Closed = 3, 7, true
	c := &Card{Scope: mainSite, State: *q, Accepted: true, New: true}
	golden(t, "notify_living_card", RenderCard(c))
	c2 := &Card{Scope: mainSite, State: *fixtureQuestion()}
	c2.State.Obsolete = true
	golden(t, "notify_living_card_obsolete", RenderCard(c2))
	golden(t, "notify_thread_reply_answer", RenderThreadReply(&Event{Kind: EventAnswers, Scope: mainSite, Question: fixtureQuestion(), Answers: fixtureAnswers(1)}))
	golden(t, "notify_thread_reply_answers", RenderThreadReply(&Event{Kind: EventAnswers, Scope: mainSite, Question: fixtureQuestion(), Answers: fixtureAnswers(7)}))
	golden(t, "notify_thread_reply_accepted", RenderThreadReply(&Event{Kind: EventAccepted, Scope: mainSite, Question: fixtureQuestion(), Answers: fixtureAnswers(1)}))
}

// A crash right after a card was posted again: after the restart it is
// found in the channel's history, not posted a third time.
func TestCardRepostCrashPostsOnce(t *testing.T) {
	var crash atomic.Bool
	var offset atomic.Int64
	e := newEnv(t, func(o *Options) {
		o.Threads = threadsIn{chGeneral: true}
		o.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		o.AfterPost = func(_ context.Context, id string) error {
			if strings.HasPrefix(id, "card:") && crash.CompareAndSwap(true, false) {
				return errCrash
			}
			return nil
		}
	})
	e.subscribe("alice", chGeneral, mainSite, DefaultKinds, "go")
	e.cycle()
	tick()
	q := e.question(mainSite, "judy", "Go error wrapping", "go")
	e.cycle()
	first := topLevel(e.slack.Messages(chGeneral))[0]
	e.slack.DeleteAsUser(chGeneral, first.TS)
	tick()
	e.answer(mainSite, q, "erin", "Use %w.")
	e.cycle()
	crash.Store(true)
	offset.Add(int64(CardUpdateEvery))
	e.cycle() // the update is refused, the re-post "crashes" after posting
	if crash.Load() {
		t.Fatal("the re-post did not happen")
	}
	e.open()
	offset.Add(int64(CardUpdateEvery))
	e.cycle()
	e.cycle()
	top := topLevel(e.slack.Messages(chGeneral))
	if len(top) != 1 || top[0].TS == first.TS {
		t.Fatalf("want exactly one re-posted card:%s", flat(top))
	}
	cards, _ := e.svc.Cards(context.Background())
	if len(cards) != 1 || cards[0].TS != top[0].TS || cards[0].Reposting || cards[0].Dirty {
		t.Fatalf("%+v", cards)
	}
}
