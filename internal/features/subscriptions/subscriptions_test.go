package subscriptions

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

func TestParseSubscribeArgs(t *testing.T) {
	tests := []struct {
		in      string
		want    subscribeArgs
		problem string
	}{
		{in: "go", want: subscribeArgs{Tags: []string{"go"}, Kinds: notify.DefaultKinds}},
		{in: "go kubernetes", want: subscribeArgs{Tags: []string{"go", "kubernetes"}, Kinds: notify.DefaultKinds}},
		{in: "[Go],#Kubernetes go", want: subscribeArgs{Tags: []string{"go", "kubernetes"}, Kinds: notify.DefaultKinds}},
		{in: "go accepted", want: subscribeArgs{Tags: []string{"go"}, Kinds: notify.KindAccepted}},
		{in: "go questions answers", want: subscribeArgs{Tags: []string{"go"}, Kinds: notify.DefaultKinds}},
		{in: "go all", want: subscribeArgs{Tags: []string{"go"}, Kinds: notify.AllKinds}},
		{in: "all", want: subscribeArgs{Every: true, Kinds: notify.DefaultKinds}},
		{in: "all all", want: subscribeArgs{Every: true, Kinds: notify.AllKinds}},
		{in: "all accepted team Platform", want: subscribeArgs{Every: true, Kinds: notify.KindAccepted, Team: "platform"}},
		{in: "[questions]", want: subscribeArgs{Tags: []string{"questions"}, Kinds: notify.DefaultKinds}},
		{in: "terraform team platform answers", want: subscribeArgs{Tags: []string{"terraform"}, Kinds: notify.KindAnswers, Team: "platform"}},
		{in: "", problem: "name a tag"},
		{in: "answers", problem: "name a tag"},
		{in: "all go", problem: "either tags or `all`"},
		{in: "a b c d e f g h i j k", problem: "at most 10"},
		{in: "<!channel>", problem: "characters tags cannot contain"},
		{in: "go team", problem: "team"},
	}
	for _, tt := range tests {
		got, problem := parseSubscribeArgs(router.Fields(tt.in))
		if tt.problem != "" {
			if !strings.Contains(problem, tt.problem) {
				t.Errorf("%q: problem %q, want %q", tt.in, problem, tt.problem)
			}
			continue
		}
		if problem != "" || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %+v %q, want %+v", tt.in, got, problem, tt.want)
		}
	}
}

func TestParseUnsubscribeArgs(t *testing.T) {
	tests := []struct {
		in      string
		tags    []string
		all     bool
		team    string
		problem string
	}{
		{in: "go", tags: []string{"go"}},
		{in: "go, kubernetes team platform", tags: []string{"go", "kubernetes"}, team: "platform"},
		{in: "all", all: true},
		{in: "", problem: "name the tags"},
		{in: "all go", problem: "either"},
		{in: "c++ <@U1>", problem: "cannot contain"},
	}
	for _, tt := range tests {
		tags, all, team, problem := parseUnsubscribeArgs(router.Fields(tt.in))
		if tt.problem != "" {
			if !strings.Contains(problem, tt.problem) {
				t.Errorf("%q: problem %q", tt.in, problem)
			}
			continue
		}
		if problem != "" || !reflect.DeepEqual(tags, tt.tags) || all != tt.all || team != tt.team {
			t.Errorf("%q: %v %v %q %q", tt.in, tags, all, team, problem)
		}
	}
}

func subsFixture() []notify.Subscription {
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	return []notify.Subscription{
		{ID: "1", TeamID: "T1", ChannelID: "CGENERAL", CreatorID: "UALICE", Scope: soe.MainSite(), Tags: []string{"go", "kubernetes"}, Kinds: notify.DefaultKinds, Created: at},
		{ID: "2", TeamID: "T1", ChannelID: "CGENERAL", CreatorID: "UCAROL", Scope: soe.TeamScope("platform"), Kinds: notify.KindAccepted, Created: at, Paused: true},
		{ID: "3", TeamID: "T1", ChannelID: "COLD", CreatorID: "UALICE", Scope: soe.MainSite(), Tags: []string{"terraform"}, Kinds: notify.AllKinds, Created: at, Disabled: true, DisabledReason: "is_archived"},
	}
}

func TestNotifyGolden(t *testing.T) {
	n := New(Config{}, Deps{Router: router.New(router.Config{}, router.Deps{})})
	subs := subsFixture()
	golden.Message(t, "notify_subscriptions_channel", renderListing(auditEntries(subs[:2]), false, "/soe", listingNow))
	golden.Message(t, "notify_subscriptions_mine", renderListing(auditEntries(subs), true, "/soe", listingNow))
	golden.Message(t, "notify_subscriptions_none", renderListing(nil, false, "/soe", listingNow))
	golden.Message(t, "notify_subscribed", n.subscribedMessage("UALICE", subs[0]))
	golden.Message(t, "notify_subscribed_every_tag_team", n.subscribedMessage("UCAROL", subs[1]))
	golden.Message(t, "notify_confirm_team_public", n.confirmMessage(soe.TeamScope("platform"), subscribeArgs{Tags: []string{"kubernetes"}, Kinds: notify.DefaultKinds}, "CGENERAL"))
	golden.Message(t, "notify_unsubscribed", n.unsubscribedMessage("UBOB", notify.Unsubscribed{Removed: []string{"go"}, NotFound: []string{"python"}, Subs: 1}, false))
	golden.Message(t, "notify_unsubscribed_nothing", n.unsubscribedMessage("UBOB", notify.Unsubscribed{NotFound: []string{"python"}}, false))
	golden.Message(t, "notify_alerts", renderAlerts(notify.Prefs{Answers: true}, "/soe"))
	golden.Message(t, "notify_alert_on", alertChangedMessage(notify.AlertExpert, true, notify.Prefs{Expert: true}, "/soe"))
	golden.Message(t, "notify_config_show", configShowMessage(soe.TeamScope("platform"), true, "/soe"))
	sc := soe.TeamScope("platform")
	golden.Message(t, "notify_config_set", configSetMessage("UALICE", &sc, "/soe"))
	golden.Message(t, "notify_dm_refusal", n.dmRefusal())
	golden.Message(t, "notify_usage", n.usage("name a tag, or `all` for every tag"))
	golden.Message(t, "notify_home", chat.Message{Blocks: renderHomeNotify(notify.Prefs{Expert: true}, subs, "/soe", time.Minute)})
	golden.Message(t, "notify_home_empty", chat.Message{Blocks: renderHomeNotify(notify.Prefs{}, nil, "/soe", time.Minute)})
}

func TestNotifyMessagesEscape(t *testing.T) {
	n := New(Config{}, Deps{Router: router.New(router.Config{}, router.Deps{})})
	sub := notify.Subscription{ChannelID: "C1><!channel", CreatorID: "U1", Scope: soe.TeamScope("x<!here>"), Tags: []string{"a<@U2>"}, Kinds: notify.AllKinds,
		Disabled: true, DisabledReason: "<!everyone>"}
	for _, m := range []chat.Message{renderListing(auditEntries([]notify.Subscription{sub}), true, "/soe", listingNow), n.subscribedMessage("U1", sub)} {
		js := m.Text + string(golden.Marshal(t, m.Blocks))
		for _, bad := range []string{"<!channel", "<!here>", "<@U2>", "<!everyone>"} {
			if strings.Contains(js, bad) {
				t.Errorf("live %s in %s", bad, js)
			}
		}
	}
}

// FuzzParseSubscribeArgs: whatever is typed, a parse that succeeds yields
// valid tags (or every tag), known kinds and a valid team slug.
func FuzzParseSubscribeArgs(f *testing.F) {
	for _, s := range []string{"go", "all all team platform", "[questions], go accepted", "“go kubernetes” answers", "team", "<!channel> go", "all go",
		"go escalate 4h 8h", "go unanswered 90m all", "go escalate 2d unanswered 1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, problem := parseSubscribeArgs(router.Fields(in))
		if problem != "" {
			return
		}
		if a.Every == (len(a.Tags) > 0 || len(a.Filter.AllOf) > 0 || a.Filter.Community != "") || len(a.Tags) > maxSubscribeTags {
			t.Fatalf("%q: %+v", in, a)
		}
		if a.Kinds == 0 || a.Kinds&^notify.AllKinds != 0 {
			t.Fatalf("%q: kinds %v", in, a.Kinds)
		}
		for _, tag := range a.Tags {
			if router.ValidateTag(tag) != "" || strings.ContainsAny(tag, "<>&") {
				t.Fatalf("%q: tag %q", in, tag)
			}
		}
		if a.Team != "" && !router.ValidTeamSlug(a.Team) {
			t.Fatalf("%q: team %q", in, a.Team)
		}
		if a.Timers.Check() != nil {
			t.Fatalf("%q: timers %+v", in, a.Timers)
		}
		tags, all, _, p := parseUnsubscribeArgs(router.Fields(in))
		if p == "" && all == (len(tags) > 0) {
			t.Fatalf("unsubscribe %q: %v %v", in, tags, all)
		}
	})
}
