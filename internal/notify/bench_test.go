package notify

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/store"
)

// addSubs stores n subscriptions on the main site in one transaction: one
// per channel, spread over 50 tags ("tag0".."tag49"); subscription 0 follows
// "busy" with every kind. The channels do not exist in the fake Slack; only
// subscription 0's channel (#general) is ever posted to.
func addSubs(b *testing.B, e *env, n int) {
	b.Helper()
	now := time.Now().Add(-time.Hour)
	err := e.db.Update(context.Background(), func(tx store.Tx) error {
		for i := range n {
			sub := Subscription{ID: fmt.Sprintf("%010d", i+1), TeamID: team, ChannelID: fmt.Sprintf("CBENCH%06d", i),
				CreatorID: slackID("alice"), Scope: mainSite, Tags: []string{fmt.Sprintf("tag%d", i%50)}, Kinds: DefaultKinds, Created: now}
			if i == 0 {
				sub.ChannelID, sub.Tags, sub.Kinds = chGeneral, []string{"busy"}, AllKinds
			}
			if err := putSubTx(tx, sub); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPollCycle measures SOE API calls per poll cycle for 1, 100 and
// 10,000 subscriptions on one scope, idle and with one new answer per cycle
// (in a tag one subscription follows). soe-calls/cycle counts the HTTP
// requests the fake SOE received.
func BenchmarkPollCycle(b *testing.B) {
	for _, activity := range []bool{false, true} {
		for _, n := range []int{1, 100, 10000} {
			name := fmt.Sprintf("subs=%d/idle", n)
			if activity {
				name = fmt.Sprintf("subs=%d/one-answer-per-cycle", n)
			}
			b.Run(name, func(b *testing.B) {
				e := newEnv(b)
				ctx := context.Background()
				e.link("alice", mainSite)
				addSubs(b, e, n)
				if _, err := e.svc.Prime(ctx, e.client("alice", mainSite)); err != nil {
					b.Fatal(err)
				}
				qid := e.question(mainSite, "judy", "A busy question that keeps getting answers", "busy")
				if _, err := e.svc.RunOnce(ctx); err != nil { // announces the question
					b.Fatal(err)
				}
				before := apiRequests(e)
				posts := len(e.posts(chGeneral))
				b.ResetTimer()
				for i := range b.N {
					if activity {
						e.answer(mainSite, qid, "erin", fmt.Sprintf("Answer number %d.", i))
					}
					if _, err := e.svc.RunOnce(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				calls := apiRequests(e) - before
				b.ReportMetric(float64(calls)/float64(b.N), "soe-calls/cycle")
				b.ReportMetric(float64(len(e.posts(chGeneral))-posts)/float64(b.N), "posts/cycle")
			})
		}
	}
}

func apiRequests(e *env) int {
	n := 0
	for _, r := range e.soe.Requests() {
		if strings.HasPrefix(r.Path, "/api/") {
			n++
		}
	}
	return n
}
