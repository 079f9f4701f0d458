package commands

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/soe"
)

func homeBot() *Bot {
	b := New(Config{SiteURL: "https://acme.example"}, Deps{})
	b.AddHome(0)
	return b
}

func homeGolden(t *testing.T, name string, b *Bot, d *homeData) {
	t.Helper()
	blocks := b.renderHome(d)
	if len(blocks) > maxHomeBlocks {
		t.Fatalf("%s: %d blocks", name, len(blocks))
	}
	golden(t, name, chat.Message{Text: "home", Blocks: blocks})
}

func TestRenderHomeGolden(t *testing.T) {
	b := homeBot()
	n := 4
	alice := linking.Link{TeamID: "T1", UserID: "UALICE", Scope: soe.MainSite(), SOEUserID: 1, SOEName: "Alice Anderson",
		SOEProfileURL: "https://acme.example/users/1", WriteAccess: true}
	team := linking.Link{TeamID: "T1", UserID: "UALICE", Scope: soe.TeamScope("platform"), SOEUserID: 1, SOEName: "Alice <!channel>",
		Invalid: true, InvalidReason: "Stack Overflow refused the token", Expiry: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}

	homeGolden(t, "home_new_user", b, &homeData{Connections: []homeConn{{Scope: soe.MainSite(), ConnectURL: "https://bot.example/link/abc"}}})

	homeGolden(t, "home_sme", b, &homeData{
		Connections: []homeConn{{Scope: soe.MainSite(), Link: &alice}, {Scope: team.Scope, Link: &team, ConnectURL: "https://bot.example/link/def"}},
		Extra:       [][]slack.Block{{blockkit.Section("*Your channel subscriptions*\n#general: `kubernetes`")}},
		Expertise: &homeExpertise{
			Tags: []soe.TagSummary{{ID: 101, Name: "kubernetes", WebURL: "https://acme.example/questions/tagged/kubernetes", SubjectMatterExpertCount: &n}},
			Questions: []soe.QuestionSummary{
				{ID: 120, Title: "How do we rotate the kubeconfig credentials used by CI?", WebURL: "https://acme.example/questions/120/x",
					Tags: []soe.TagSummary{{Name: "kubernetes"}, {Name: "kubectl"}}, Owner: &soe.UserSummary{Name: "Carol Chen"}, AnswerCount: 1},
				{ID: 121, Title: "<!here> &amp; spam", WebURL: "https://acme.example/questions/121", Owner: &soe.UserSummary{Name: "<@U1>"}},
			},
		},
	})
	homeGolden(t, "home_not_sme", b, &homeData{
		Connections: []homeConn{{Scope: soe.MainSite(), Link: &alice}},
		Expertise:   &homeExpertise{Partial: true},
	})
	homeGolden(t, "home_sme_disabled", b, &homeData{
		Connections: []homeConn{{Scope: soe.MainSite(), Link: &alice}},
		Expertise:   &homeExpertise{SMEDisabled: true},
	})
	homeGolden(t, "home_failed", b, &homeData{LinksFailed: true, ExpertiseFail: "Stack Overflow did not answer in time."})
}

func TestRenderHomeEscapesAndCaps(t *testing.T) {
	b := homeBot()
	var extra [][]slack.Block
	for range 120 {
		extra = append(extra, []slack.Block{blockkit.Section("x")})
	}
	blocks := b.renderHome(&homeData{Extra: extra})
	if len(blocks) > maxHomeBlocks {
		t.Fatalf("%d blocks", len(blocks))
	}
	js := string(mustJSON(t, blocks))
	if !strings.Contains(js, "blocks left out") {
		t.Error("capping is not said")
	}
}

func TestHomeSectionsRunInOrderAndSurvivePanics(t *testing.T) {
	b := homeBot()
	b.AddHomeSection(func(ctx context.Context, team, user string) []slack.Block {
		return []slack.Block{blockkit.Section("first " + team + " " + user)}
	})
	b.AddHomeSection(func(context.Context, string, string) []slack.Block { panic("boom") })
	b.AddHomeSection(func(context.Context, string, string) []slack.Block { return nil })
	b.AddHomeSection(func(context.Context, string, string) []slack.Block { return []slack.Block{blockkit.Section("second")} })
	d := b.gatherHome(context.Background(), "T1", "U1")
	if len(d.Extra) != 2 {
		t.Fatalf("extra sections: %d", len(d.Extra))
	}
	js := string(mustJSON(t, b.renderHome(d)))
	i, j := strings.Index(js, "first T1 U1"), strings.Index(js, "second")
	if i < 0 || j < i {
		t.Errorf("sections missing or out of order: %s", js)
	}
}

func TestIsSME(t *testing.T) {
	smes := &soe.SubjectMatterExperts{
		Users:      []soe.UserSummary{{ID: 1}},
		UserGroups: []soe.UserGroup{{ID: 1, Users: []soe.UserSummary{{ID: 3}}}, {ID: 2}},
	}
	loaded := 0
	load := func(g soe.UserGroup) []soe.UserSummary {
		if len(g.Users) > 0 {
			return g.Users
		}
		loaded++
		return []soe.UserSummary{{ID: 7}}
	}
	for id, want := range map[int]bool{1: true, 3: true, 7: true, 9: false, 0: false} {
		if got := isSME(smes, id, load); got != want {
			t.Errorf("isSME(%d) = %v, want %v", id, got, want)
		}
	}
	if isSME(nil, 1, load) {
		t.Error("nil SMEs")
	}
}

// A Home render that started before another, but finishes after it, is not
// published over it; publishes of one user never overlap.
func TestHomeOrderDropsOlderRender(t *testing.T) {
	var o homeOrder
	older, newer := o.start(), o.start()
	var published []uint64
	pub := func(n uint64) func() error {
		return func() error { published = append(published, n); return nil }
	}
	if stale, err := o.publish("T1/U1", newer, pub(newer)); stale || err != nil {
		t.Fatalf("newer: stale %v, err %v", stale, err)
	}
	if stale, err := o.publish("T1/U1", older, pub(older)); !stale || err != nil {
		t.Fatalf("older after newer: stale %v, err %v", stale, err)
	}
	// Another user is independent.
	if stale, _ := o.publish("T1/U2", older, pub(older)); stale {
		t.Fatal("another user's render dropped")
	}
	if !slices.Equal(published, []uint64{newer, older}) {
		t.Fatalf("published %v", published)
	}
	// A failed publish does not count as published.
	third := o.start()
	if _, err := o.publish("T1/U1", third, func() error { return errors.New("slack down") }); err == nil {
		t.Fatal("error lost")
	}
	if stale, _ := o.publish("T1/U1", third, pub(third)); stale {
		t.Fatal("retry of a failed publish dropped")
	}

	var wg sync.WaitGroup
	var inFlight, overlaps atomic.Int32
	for range 50 {
		n := o.start()
		wg.Go(func() {
			_, _ = o.publish("T1/U3", n, func() error {
				if inFlight.Add(1) > 1 {
					overlaps.Add(1)
				}
				time.Sleep(100 * time.Microsecond)
				inFlight.Add(-1)
				return nil
			})
		})
	}
	wg.Wait()
	if overlaps.Load() != 0 {
		t.Fatalf("%d overlapping publishes for one user", overlaps.Load())
	}
}
