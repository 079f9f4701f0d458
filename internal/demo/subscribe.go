package demo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/soe"
)

const demoAnswer = "Since Go 1.18: `func Map[T, U any](s []T, f func(T) U) []U` — make the result with `make([]U, 0, len(s))` and append `f(v)` for each element. **No reflection needed.**"

// subscribeStep: /soe subscribe go in #general, then erin answers a go
// question on Stack Overflow and the poller posts it in the channel.
func (t *tour) subscribeStep(ctx context.Context) error {
	alice := e2e.SlackUser("alice")
	s, err := t.slash(ctx, alice, e2e.General, "subscribe go")
	if err != nil {
		return err
	}
	if _, err := t.response(ctx, s, "subscribed this channel", "go"); err != nil {
		return err
	}
	qid, title := t.questionTagged("go")
	if qid == 0 {
		return fmt.Errorf("the fake Stack Overflow has no question tagged go")
	}
	time.Sleep(5 * time.Millisecond) // the answer comes strictly after the subscription
	erin := t.e.SOE.UserByName("erin")
	start := time.Now()
	t.printf("\n  Meanwhile on Stack Overflow, erin answers %q\n", title)
	if t.e.SOE.AddAnswer(soe.MainSite(), qid, erin.ID, demoAnswer) == 0 {
		return fmt.Errorf("could not add an answer to question %d", qid)
	}
	t.printf("  … soebot polls Stack Overflow every %v (POLL_INTERVAL) …\n", t.o.PollInterval)
	wctx, cancel := context.WithTimeout(ctx, t.o.Wait+2*t.o.PollInterval)
	defer cancel()
	m, err := t.e.Slack.WaitMessage(wctx, e2e.General, "New answer")
	if err != nil {
		return fmt.Errorf("the new answer was not posted in #general: %w", err)
	}
	elapsed := time.Since(start).Round(10 * time.Millisecond)
	// A living card: the question's card in the channel, the answer in its thread.
	th := t.e.Slack.Thread(e2e.General, m.ThreadTS)
	if m.ThreadTS == "" || len(th) == 0 {
		return fmt.Errorf("the new answer is not in a question card's thread")
	}
	t.show(th[0])
	t.printf("  in the card's thread:\n")
	t.show(m)
	t.printf("    (posted %v after the answer was written)\n", elapsed)
	if err := t.expect(t.r.Message(th[0]), title); err != nil {
		return err
	}
	return t.expect(t.r.Message(m), "No reflection needed", "Erin Evans")
}

// questionTagged finds an open main-site question with tag in the fake SOE
// (ids share one counter from 101).
func (t *tour) questionTagged(tag string) (int, string) {
	for id := 101; id < 1000; id++ {
		q, ok := t.e.SOE.QuestionByID(soe.MainSite(), id)
		if ok && !q.Closed && slices.Contains(q.Tags, tag) {
			return id, q.Title
		}
	}
	return 0, ""
}
