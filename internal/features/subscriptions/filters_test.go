package subscriptions

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

var listingNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func auditEntries(subs []notify.Subscription) []notify.AuditEntry {
	out := make([]notify.AuditEntry, len(subs))
	for i, s := range subs {
		out[i].Subscription = s
	}
	return out
}

func TestParseSubscribeFilters(t *testing.T) {
	d := notify.DefaultKinds
	tests := []struct {
		in      string
		want    subscribeArgs
		kind    problemKind
		problem string
	}{
		{in: "go -legacy", want: subscribeArgs{Tags: []string{"go"}, Kinds: d, Filter: filterSpec{Exclude: []string{"legacy"}}}},
		{in: "go -legacy -[Old] -legacy", want: subscribeArgs{Tags: []string{"go"}, Kinds: d, Filter: filterSpec{Exclude: []string{"legacy", "old"}}}},
		{in: "go+kubernetes", want: subscribeArgs{Kinds: d, Filter: filterSpec{AllOf: [][]string{{"go", "kubernetes"}}}}},
		{in: "Kubernetes+go terraform go+kubernetes", want: subscribeArgs{Tags: []string{"terraform"}, Kinds: d, Filter: filterSpec{AllOf: [][]string{{"go", "kubernetes"}}}}},
		{in: "go+go", want: subscribeArgs{Tags: []string{"go"}, Kinds: d}},
		{in: "c++ c+++go", want: subscribeArgs{Tags: []string{"c++"}, Kinds: d, Filter: filterSpec{AllOf: [][]string{{"c++", "go"}}}}},
		{in: "notepad++", want: subscribeArgs{Tags: []string{"notepad++"}, Kinds: d}},
		{in: "all -legacy accepted", want: subscribeArgs{Every: true, Kinds: notify.KindAccepted, Filter: filterSpec{Exclude: []string{"legacy"}}}},
		{in: "community cloud-native", want: subscribeArgs{Kinds: d, Filter: filterSpec{Community: "cloud-native"}}},
		{in: `community "Cloud Native" -terraform questions`, want: subscribeArgs{Kinds: notify.KindQuestions, Filter: filterSpec{Community: "Cloud Native", Exclude: []string{"terraform"}}}},
		{in: "go preview", want: subscribeArgs{Tags: []string{"go"}, Kinds: d, Preview: true}},
		{in: "[not] go", want: subscribeArgs{Tags: []string{"not", "go"}, Kinds: d}},
		{in: "[preview] [community]", want: subscribeArgs{Tags: []string{"preview", "community"}, Kinds: d}},
		{in: "go+kubernetes team platform preview", want: subscribeArgs{Kinds: d, Team: "platform", Preview: true, Filter: filterSpec{AllOf: [][]string{{"go", "kubernetes"}}}}},
		// Unknown filter words get the grammar.
		{in: "go !legacy", kind: problemFilter, problem: "I do not know the filter `!legacy`"},
		{in: "go not:legacy", kind: problemFilter, problem: "I do not know the filter"},
		{in: "go except legacy", kind: problemFilter, problem: "I do not know the filter `except`: to leave a tag out write `-legacy`"},
		{in: "go --legacy", kind: problemFilter, problem: "I do not know the filter"},
		{in: "go -", kind: problemFilter, problem: "I do not know the filter `-`"},
		{in: "+go", kind: problemFilter, problem: "I do not know the filter `+go`"},
		{in: "go -a+b", kind: problemFilter, problem: "I do not know the filter"},
		{in: "go community", kind: problemFilter, problem: "`community` needs a name"},
		{in: "community a community b", kind: problemFilter, problem: "at most one"},
		{in: "-legacy", kind: problemFilter, problem: "alone excludes from nothing"},
		// Contradictions are refused with the reason.
		{in: "go -go", kind: problemContradiction, problem: "`go` is both wanted and excluded"},
		{in: "go+x -x", kind: problemContradiction, problem: "`go+x` needs `x` but excludes it"},
		{in: "[Go] -go", kind: problemContradiction, problem: "both wanted and excluded"},
		// The grammar's other rules still hold.
		{in: "all go+kubernetes", kind: problemUsage, problem: "either tags or `all`"},
		{in: "all community x", kind: problemUsage, problem: "either tags or `all`"},
	}
	for _, tt := range tests {
		got, problem := parseSubscribeArgs(router.Fields(tt.in))
		if tt.problem != "" {
			if !strings.Contains(problem, tt.problem) || got.problem != tt.kind {
				t.Errorf("%q: problem %q (%d), want %q (%d)", tt.in, problem, got.problem, tt.problem, tt.kind)
			}
			continue
		}
		if problem != "" || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %+v %q, want %+v", tt.in, got, problem, tt.want)
		}
	}
}

// TestExpressionRoundTrip: what the listing shows parses back to the same
// subscription.
func TestExpressionRoundTrip(t *testing.T) {
	for _, in := range []string{"go", "go kubernetes -legacy", "go+kubernetes terraform", "all -legacy accepted", "all",
		"[preview] -[all] questions answers accepted", "[and] [or] -[not]", "c+++go -java", "go+kubernetes team platform", "community cloud-native -terraform",
		"go unanswered 4h", "go unanswered 30h answers", "go -legacy escalate 90m", "go escalate 1h30m 2d", "go+kubernetes unanswered 2d escalate 4h 12h"} {
		args, problem := parseSubscribeArgs(router.Fields(in))
		if problem != "" {
			t.Fatalf("%q: %s", in, problem)
		}
		expr := expression(specSubscription(args))
		back, problem := parseSubscribeArgs(router.Fields(expr))
		if problem != "" || !reflect.DeepEqual(back, args) {
			t.Errorf("%q → %q → %+v %q, want %+v", in, expr, back, problem, args)
		}
	}
}

func TestCommunitySlug(t *testing.T) {
	for in, want := range map[string]string{"Cloud Native": "cloud-native", "Data & Analytics": "data-analytics", "  Go at Acme ": "go-at-acme", "CI/CD": "ci-cd", "": ""} {
		if got := communitySlug(in); got != want {
			t.Errorf("communitySlug(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSubscribeFilters: whatever is typed, a parse that succeeds yields
// valid tags in every filter, no contradiction, and a grammar that reads
// back to the same thing.
func FuzzSubscribeFilters(f *testing.F) {
	for _, s := range []string{"go -legacy", "go+kubernetes", "c+++go", "-x", "go -go", "community “Cloud Native” -x", "all -x+y", "++", "-+", "a+b+c -d preview"} {
		f.Add(s)
	}
	f.Add("go unanswered 4h escalate 90m 3h")
	f.Fuzz(func(t *testing.T, in string) {
		a, problem := parseSubscribeArgs(router.Fields(in))
		if problem != "" {
			return
		}
		for _, g := range a.Filter.AllOf {
			if len(g) < 2 {
				t.Fatalf("%q: group %v", in, g)
			}
			for _, tag := range g {
				if router.ValidateTag(tag) != "" {
					t.Fatalf("%q: group tag %q", in, tag)
				}
			}
		}
		for _, tag := range a.Filter.Exclude {
			if router.ValidateTag(tag) != "" || strings.HasPrefix(tag, "-") {
				t.Fatalf("%q: excluded tag %q", in, tag)
			}
		}
		sub := specSubscription(a)
		if why := sub.Contradiction(); why != "" {
			t.Fatalf("%q: contradiction %s passed", in, why)
		}
		if oddTags(a) {
			return // a tag only brackets can say ([a+b]) inside a group or an exclusion: not written back exactly
		}
		if a.Filter.Community != "" && communitySlug(a.Filter.Community) == "" {
			return // a name with no letters: read back differently, refused when resolved
		}
		back, p := parseSubscribeArgs(router.Fields(expression(sub)))
		a.Preview, a.Filter.Community, back.Filter.Community = false, communitySlug(a.Filter.Community), communitySlug(back.Filter.Community)
		if p != "" || !reflect.DeepEqual(back, a) {
			t.Fatalf("%q → %q → %+v %q, want %+v", in, expression(sub), back, p, a)
		}
	})
}

func filtersFixture() []notify.Subscription {
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	return []notify.Subscription{
		{ID: "1", TeamID: "T1", ChannelID: "CGENERAL", CreatorID: "UALICE", Owners: []string{"UALICE", "UBOB"}, Scope: soe.MainSite(), Tags: []string{"terraform"}, Kinds: notify.DefaultKinds, Created: at,
			Filter: notify.Filter{AllOf: [][]string{{"go", "kubernetes"}}, Exclude: []string{"legacy"}}},
		{ID: "2", TeamID: "T1", ChannelID: "CGENERAL", CreatorID: "UCAROL", Scope: soe.MainSite(), Kinds: notify.AllKinds, Created: at,
			Filter: notify.Filter{Community: &notify.CommunityFilter{ID: 1, Name: "Cloud Native", Tags: []string{"kubernetes", "terraform"}, Refreshed: at}}},
		{ID: "3", TeamID: "T1", ChannelID: "CGENERAL", CreatorID: "UCAROL", Scope: soe.TeamScope("platform"), Kinds: notify.KindQuestions, Created: at, Paused: true,
			Filter: notify.Filter{Exclude: []string{"argocd"}}},
	}
}

func TestFiltersGolden(t *testing.T) {
	n := New(Config{}, Deps{Router: router.New(router.Config{}, router.Deps{})})
	subs := filtersFixture()
	entries := auditEntries(subs)
	entries[0].LastDelivery = listingNow.Add(-3 * time.Hour)
	entries[1].LastDelivery = listingNow.Add(-26 * time.Hour)
	entries[1].LastError, entries[1].LastErrorAt = "ratelimited", listingNow.Add(-5*time.Minute)
	golden.Message(t, "filters_listing", renderListing(entries, false, "/soe", listingNow))
	golden.Message(t, "filters_listing_mine", renderListing(entries[:1], true, "/soe", listingNow))
	golden.Message(t, "filters_subscribed", n.subscribedMessage("UALICE", subs[0]))
	golden.Message(t, "filters_subscribed_community", n.subscribedMessage("UCAROL", subs[1]))
	golden.Message(t, "filters_unknown_word", n.problemMessage(problemFilter, "I do not know the filter `!legacy`"))
	golden.Message(t, "filters_contradiction", n.problemMessage(problemContradiction, "`go` is both wanted and excluded"))
	golden.Message(t, "filters_confirm_team", n.confirmMessage(soe.TeamScope("platform"),
		subscribeArgs{Tags: []string{"kubernetes"}, Kinds: notify.DefaultKinds, Team: "platform", Filter: filterSpec{Exclude: []string{"legacy"}}}, "CGENERAL"))
	q := func(id int, title string, created time.Time, tags ...string) soe.QuestionSummary {
		q := soe.QuestionSummary{ID: id, Title: title, WebURL: "https://soe.example/questions/" + title[:3], CreationDate: created}
		for _, t := range tags {
			q.Tags = append(q.Tags, soe.TagSummary{Name: t})
		}
		return q
	}
	res := previewResult{Questions: 2, Answers: 3, Accepts: 1, Truncated: true, Items: []previewItem{
		{Q: q(1, "How do I <!here> cancel a context?", listingNow, "go"), NewQuestion: true, Answers: 2},
		{Q: q(2, "Pod stuck in Pending", listingNow, "go", "kubernetes"), NewQuestion: true},
		{Q: q(3, "Old question, new answer", listingNow, "terraform"), Answers: 1, Accepted: true},
	}}
	golden.Message(t, "filters_preview", renderPreview("/soe", subs[0], "CGENERAL", res))
	golden.Message(t, "filters_no_community", blockkit.Warning(noCommunityText("nowhere", []string{"`cloud-native`", "`go-at-acme`"})))
	golden.Message(t, "filters_unsubscribed_community", unsubscribedCommunityMessage("/soe", "UALICE", "Cloud Native", 1))
	golden.Message(t, "filters_unsubscribed_community_none", unsubscribedCommunityMessage("/soe", "UALICE", "nowhere", 0))
	golden.Message(t, "filters_preview_community", renderPreview("/soe", subs[1], "CGENERAL", previewResult{}))
}

func TestPreviewOf(t *testing.T) {
	from := listingNow.Add(-7 * 24 * time.Hour)
	recent, old := listingNow.Add(-time.Hour), from.Add(-time.Hour)
	qs := []soe.QuestionSummary{
		{ID: 1, CreationDate: recent, Tags: []soe.TagSummary{{Name: "go"}}},
		{ID: 2, CreationDate: recent, Tags: []soe.TagSummary{{Name: "go"}, {Name: "legacy"}}},
		{ID: 3, CreationDate: old, AnswerCount: 2, Tags: []soe.TagSummary{{Name: "go"}}},
		{ID: 4, CreationDate: recent, Tags: []soe.TagSummary{{Name: "python"}}},
	}
	answers := map[int][]soe.AnswerSummary{3: {{ID: 30, CreationDate: old}, {ID: 31, CreationDate: recent, IsAccepted: true}}}
	tests := []struct {
		name          string
		sub           notify.Subscription
		q, a, accepts int
	}{
		{"go -legacy", notify.Subscription{Tags: []string{"go"}, Kinds: notify.AllKinds, Filter: notify.Filter{Exclude: []string{"legacy"}}}, 1, 1, 1},
		{"go questions", notify.Subscription{Tags: []string{"go"}, Kinds: notify.KindQuestions}, 2, 0, 0},
		{"go+legacy", notify.Subscription{Kinds: notify.DefaultKinds, Filter: notify.Filter{AllOf: [][]string{{"go", "legacy"}}}}, 1, 0, 0},
		{"all -go", notify.Subscription{Kinds: notify.DefaultKinds, Filter: notify.Filter{Exclude: []string{"go"}}}, 1, 0, 0},
	}
	for _, tt := range tests {
		r := previewOf(qs, answers, tt.sub, from)
		if r.Questions != tt.q || r.Answers != tt.a || r.Accepts != tt.accepts {
			t.Errorf("%s: %+v", tt.name, r)
		}
	}
}

func oddTags(a subscribeArgs) bool {
	odd := func(t string) bool { return grammarTag(t) != t }
	for _, g := range a.Filter.AllOf {
		for _, t := range g {
			if odd(t) {
				return true
			}
		}
	}
	for _, t := range a.Filter.Exclude {
		if odd(t) {
			return true
		}
	}
	return false
}
