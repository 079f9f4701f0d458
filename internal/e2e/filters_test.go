package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/soe"
)

// Subscription filters (issue 17 point 4) through the real bot: exclusions,
// groups of required tags, communities (refreshed as they change), the
// listing in the grammar, the preview and its button, and bad input.

func filtersBot(t *testing.T) (*Env, *Clock) {
	t.Helper()
	clock := NewClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	e := bot(t, func(o *Options) {
		o.Clock = clock
		o.Env = map[string]string{"CACHE_TTL": "10m"}
	})
	return e, clock
}

// titles are the question titles of the cards posted in channel.
func (e *Env) cardTitles(channel string) string {
	var out []string
	for _, c := range e.cards(channel) {
		out = append(out, c.Flat())
	}
	return strings.Join(out, "\n---\n")
}

func TestFiltersExcludeAndRequireTags(t *testing.T) {
	e, clock := filtersBot(t)
	e.notifyLink(t, "alice", "")
	alice := SlackUser("alice")
	main := soe.MainSite()
	e.sees(t, e.slash(t, alice, General, "subscribe go -golang-generics"), "subscribed this channel to", "`go -golang-generics`")
	e.sees(t, e.slash(t, alice, Random, "subscribe go+kubernetes"), "subscribed this channel to", "`go+kubernetes`")
	e.cycle(t)

	clock.Advance(time.Second)
	judy := e.soeUser("judy")
	e.SOE.AddQuestion(main, judy, "Plain Go question", "x", "go")
	e.SOE.AddQuestion(main, judy, "Generics question to leave out", "x", "go", "golang-generics")
	e.SOE.AddQuestion(main, judy, "Go client for Kubernetes", "x", "go", "kubernetes")
	e.SOE.AddQuestion(main, judy, "Only Kubernetes", "x", "kubernetes")
	clock.Advance(time.Second)
	e.cycle(t)

	general := e.cardTitles(General)
	if len(e.cards(General)) != 2 || !strings.Contains(general, "Plain Go question") || !strings.Contains(general, "Go client for Kubernetes") {
		t.Fatalf("go -golang-generics posted:\n%s", general)
	}
	random := e.cardTitles(Random)
	if len(e.cards(Random)) != 1 || !strings.Contains(random, "Go client for Kubernetes") {
		t.Fatalf("go+kubernetes posted:\n%s", random)
	}

	// The listing shows each subscription in the grammar, to copy back,
	// with owners, mode, last delivery and last error.
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "`/soe subscribe go -golang-generics`", "kept running by @UALICE",
		"mode: questions, answers", "last delivery: just now", "no errors")
	e.sees(t, e.slash(t, alice, General, "subscriptions mine"), "`/soe subscribe go+kubernetes`", "`/soe subscribe go -golang-generics`")

	// Subscribing the same filters again replaces it; one of its tags stops it.
	e.sees(t, e.slash(t, alice, General, "subscribe go -golang-generics accepted"), "accepted answers")
	m := e.sees(t, e.slash(t, alice, General, "subscriptions"), "accepted")
	if strings.Count(m.Flat(), "/soe subscribe go -golang-generics") != 1 {
		t.Fatalf("not replaced:\n%s", m.Flat())
	}
	e.sees(t, e.slash(t, alice, Random, "unsubscribe kubernetes"), "unsubscribed this channel from", "`kubernetes`")
	e.sees(t, e.slash(t, alice, Random, "subscriptions"), "no subscriptions")
}

func TestFiltersCommunityFollowsItsTags(t *testing.T) {
	e, clock := filtersBot(t)
	e.notifyLink(t, "alice", "")
	alice := SlackUser("alice")
	main := soe.MainSite()
	e.sees(t, e.slash(t, alice, General, "subscribe community nowhere"), "There is no community `nowhere`", "`cloud-native`")
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "no subscriptions")
	e.sees(t, e.slash(t, alice, General, `subscribe community "Cloud Native" questions`), "subscribed this channel to", "`community cloud-native`")
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "`/soe subscribe community cloud-native questions`", "Cloud Native: 2 tags")
	e.cycle(t)

	clock.Advance(time.Second)
	judy := e.soeUser("judy")
	e.SOE.AddQuestion(main, judy, "Terraform state locking", "x", "terraform")
	e.SOE.AddQuestion(main, judy, "Python packaging", "x", "python")
	clock.Advance(time.Second)
	e.cycle(t)
	if got := e.cardTitles(General); len(e.cards(General)) != 1 || !strings.Contains(got, "Terraform state locking") {
		t.Fatalf("community posted:\n%s", got)
	}

	// The community changes: within CACHE_TTL the old tags still apply,
	// after it the poller expands it again.
	e.SOE.SetCommunityTags(1, "kubernetes", "python")
	clock.Advance(time.Minute)
	e.SOE.AddQuestion(main, judy, "Python before the refresh", "x", "python")
	clock.Advance(time.Second)
	e.cycle(t)
	if n := len(e.cards(General)); n != 1 {
		t.Fatalf("refreshed before CACHE_TTL:\n%s", e.cardTitles(General))
	}
	clock.Advance(10 * time.Minute)
	e.SOE.AddQuestion(main, judy, "Python after the refresh", "x", "python")
	e.SOE.AddQuestion(main, judy, "Terraform after the refresh", "x", "terraform")
	clock.Advance(time.Second)
	e.cycle(t)
	got := e.cardTitles(General)
	if len(e.cards(General)) != 2 || !strings.Contains(got, "Python after the refresh") {
		t.Fatalf("after the refresh:\n%s", got)
	}
	e.sees(t, e.slash(t, alice, General, "unsubscribe community cloud-native"), "unsubscribed this channel from the community `cloud-native`")
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "no subscriptions")
}

func TestFiltersPreviewThenCreate(t *testing.T) {
	e, clock := filtersBot(t)
	alice := SlackUser("alice")
	main := soe.MainSite()
	judy, erin := e.soeUser("judy"), e.soeUser("erin")
	q := e.SOE.AddQuestion(main, judy, "Recent Go question", "x", "go")
	e.SOE.AddQuestion(main, judy, "Recent generics question", "x", "go", "golang-generics")
	clock.Advance(time.Hour)
	e.SOE.AddAnswer(main, q, erin, "An answer.")
	clock.Advance(8 * 24 * time.Hour)
	old := e.SOE.AddQuestion(main, judy, "Go question with a fresh answer", "x", "go")
	clock.Advance(time.Hour)
	e.SOE.AddAnswer(main, old, erin, "Fresh.")
	e.notifyLink(t, "alice", "")
	before := len(e.SOE.Requests())

	s := e.slash(t, alice, General, "subscribe go -golang-generics preview")
	m := e.sees(t, s, "Preview of", "`/soe subscribe go -golang-generics`", "would have posted *2* messages", "1 new question, 1 answer",
		"Go question with a fresh answer", "Subscribe this channel")
	if m.InChannel || strings.Contains(m.Flat(), "Recent") {
		t.Fatalf("preview must be ephemeral and cover 7 days:\n%s", m.Flat())
	}
	if calls := len(e.SOE.Requests()) - before; calls > 20 {
		t.Fatalf("preview made %d SOE calls", calls)
	}
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "no subscriptions")

	c := e.Slack.T(t).Click(alice, m, "notify_preview_create", "")
	if _, err := e.Slack.WaitResponse(wait(t), c.ResponseURL, "subscribed this channel to"); err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.Responses(c.ResponseURL)))
	}
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "`/soe subscribe go -golang-generics`")

	// A preview of nothing says so, and a community preview names its tags.
	e.sees(t, e.slash(t, alice, Random, "subscribe kubectl preview"), "would have posted nothing here")
	e.sees(t, e.slash(t, alice, Random, "subscribe community go-at-acme preview"), "`/soe subscribe community go-at-acme`", "Go at Acme has 2 tags")
}

func TestFiltersBadInputChangesNothing(t *testing.T) {
	e, _ := filtersBot(t)
	e.notifyLink(t, "alice", "")
	alice := SlackUser("alice")
	for _, tt := range []struct{ text, want, also string }{
		{"subscribe go !legacy", "I do not know the filter `!legacy`", ""},
		{"subscribe go --old", "`go+kubernetes`: only questions with both tags", ""},
		{"subscribe go community", "`community` needs a name", ""},
		{"subscribe -python", "alone excludes from nothing", ""},
		{"subscribe go -go", "could never match a question (`go` is both wanted and excluded)", ""},
		{"subscribe go+kubernetes -kubernetes", "`go+kubernetes` needs `kubernetes` but excludes it", ""},
		{"subscribe all go+kubernetes", "either tags or `all`", ""},
		{"subscribe go -nosuchtag", "There is no tag `nosuchtag`", ""},
		{"subscribe go except golang-generics", "I do not know the filter `except`", "For example `/soe subscribe go -legacy`"},
		{"subscribe community cloud-native -kubernetes -terraform", "could never match a question (every tag of the community Cloud Native is excluded)", ""},
	} {
		want := []string{tt.want}
		if tt.also != "" {
			want = append(want, tt.also)
		}
		e.sees(t, e.slash(t, alice, General, tt.text), want...)
	}
	e.sees(t, e.slash(t, alice, General, "subscriptions"), "no subscriptions")
}

func TestFiltersPrivateTeamConfirmKeepsFilters(t *testing.T) {
	e, clock := filtersBot(t)
	carol := SlackUser("carol")
	e.notifyLink(t, "carol", "platform")
	platform := soe.TeamScope("platform")
	m := e.sees(t, e.slash(t, carol, General, "subscribe kubernetes -argocd team platform"), "`kubernetes -argocd team platform`", "Subscribe anyway")
	ok := e.Slack.T(t).Click(carol, m, "notify_sub_confirm", "")
	if _, err := e.Slack.WaitResponse(wait(t), ok.ResponseURL, "subscribed this channel to"); err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.Responses(ok.ResponseURL)))
	}
	e.sees(t, e.slash(t, carol, General, "subscriptions"), "`/soe subscribe kubernetes -argocd team platform`")
	e.cycle(t)
	clock.Advance(time.Second)
	dave := e.soeUser("dave")
	e.SOE.AddQuestion(platform, dave, "Cluster autoscaler limits", "x", "kubernetes")
	e.SOE.AddQuestion(platform, dave, "Argo CD sync waves on the cluster", "x", "kubernetes", "argocd")
	clock.Advance(time.Second)
	e.cycle(t)
	if got := e.cardTitles(General); len(e.cards(General)) != 1 || !strings.Contains(got, "Cluster autoscaler limits") {
		t.Fatalf("team filter posted:\n%s", got)
	}
}
