package subscriptions

import (
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

func TestTakeDigest(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    notify.Cadence
		rest    string
		problem string
	}{
		{"go digest daily", notify.CadenceDaily, "go", ""},
		{"go kubernetes DIGEST weekly accepted", notify.CadenceWeekly, "go kubernetes accepted", ""},
		{"digest hourly all", notify.CadenceHourly, "all", ""},
		{"go", "", "go", ""},
		{"go digest", "", "", "say how often"},
		{"go digest 3h", "", "", "a digest is"},
		{"go digest monthly", "", "", "a digest is"},
		{"go digest daily digest weekly", "", "", "once"},
	} {
		c, rest, problem := takeDigest(strings.Fields(tc.in))
		if c != tc.want || strings.Join(rest, " ") != tc.rest || !strings.Contains(problem, tc.problem) || (tc.problem == "") != (problem == "") {
			t.Errorf("%q: %q %q %q", tc.in, c, rest, problem)
		}
	}
}

func TestParseSubscribeDigest(t *testing.T) {
	a, problem := parseSubscribeArgs(strings.Fields("go digest daily team platform"))
	if problem != "" || a.Digest != notify.CadenceDaily || a.Team != "platform" || a.Kinds != notify.AllKinds || len(a.Tags) != 1 {
		t.Fatalf("%+v %q", a, problem)
	}
	a, _ = parseSubscribeArgs(strings.Fields("go digest weekly questions"))
	if a.Kinds != notify.KindQuestions {
		t.Fatalf("explicit kinds are kept: %v", a.Kinds)
	}
}

func TestParseCadenceChoice(t *testing.T) {
	for _, tc := range []struct {
		in      string
		handled bool
		want    cadenceChoice
		problem bool
	}{
		{"answers daily", true, cadenceChoice{Alert: notify.AlertAnswers, Cadence: notify.CadenceDaily, On: true}, false},
		{"expert 3h", true, cadenceChoice{Alert: notify.AlertExpert, Cadence: notify.Cadence3h, On: true}, false},
		{"answers immediate", true, cadenceChoice{Alert: notify.AlertAnswers, Cadence: notify.CadenceImmediate, On: true}, false},
		{"answers on", false, cadenceChoice{}, false},
		{"answers off", false, cadenceChoice{}, false},
		{"answers sometimes", true, cadenceChoice{}, true},
		{"digest weekly", true, cadenceChoice{Digest: true, Cadence: notify.CadenceWeekly, On: true}, false},
		{"digest off", true, cadenceChoice{Digest: true, Cadence: notify.CadenceWeekly}, false},
		{"digest daily", true, cadenceChoice{}, true},
		{"digest", true, cadenceChoice{}, true},
		{"", false, cadenceChoice{}, false},
		{"weather daily", false, cadenceChoice{}, false},
	} {
		got, handled, problem := parseCadenceChoice(strings.Fields(tc.in))
		if handled != tc.handled || got != tc.want || (problem != "") != tc.problem {
			t.Errorf("%q: %+v %v %q", tc.in, got, handled, problem)
		}
	}
}

func FuzzParseCadenceChoice(f *testing.F) {
	for _, s := range []string{"answers daily", "digest weekly", "go digest hourly team x", "expert 3h", "digest", "answers \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Fields(s)
		if ch, ok, problem := parseCadenceChoice(args); ok && problem == "" && ch.On && !ch.Digest &&
			ch.Cadence != notify.CadenceImmediate && !ch.Cadence.IsDigest() {
			t.Fatalf("%q: cadence %q", s, ch.Cadence)
		}
		if c, _, problem := takeDigest(args); problem == "" && c != "" && !c.IsDigest() {
			t.Fatalf("%q: digest %q", s, c)
		}
		_, _ = parseSubscribeArgs(args)
	})
}

func TestDigestGolden(t *testing.T) {
	n := New(Config{}, Deps{Router: router.New(router.Config{}, router.Deps{})})
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	sub := notify.Subscription{ID: "4", TeamID: "T1", ChannelID: "CGENERAL", CreatorID: "UALICE", Scope: soe.MainSite(), Tags: []string{"go"},
		Kinds: notify.AllKinds, Created: at, Digest: notify.CadenceDaily, TZ: "Europe/Berlin"}
	golden.Message(t, "digest_subscribed", n.subscribedMessage("UALICE", sub))
	golden.Message(t, "digest_subscriptions", renderListing(auditEntries([]notify.Subscription{sub}), false, "/soe", listingNow))
	golden.Message(t, "digest_usage", n.usage("a digest is `hourly`, `daily` or `weekly`, not `monthly`"))
	p := notify.Prefs{Answers: true, AnswersEvery: notify.CadenceDaily, Expert: true, ExpertDigest: true, TZ: "Europe/Berlin"}
	golden.Message(t, "digest_notify_answers_daily", cadenceChangedMessage(cadenceChoice{Alert: notify.AlertAnswers, Cadence: notify.CadenceDaily, On: true}, p, "/soe"))
	golden.Message(t, "digest_notify_expert_immediate", cadenceChangedMessage(cadenceChoice{Alert: notify.AlertExpert, Cadence: notify.CadenceImmediate, On: true}, p, "/soe"))
	golden.Message(t, "digest_notify_answers_off", cadenceChangedMessage(cadenceChoice{Alert: notify.AlertAnswers}, notify.Prefs{}, "/soe"))
	golden.Message(t, "digest_notify_expert_digest_on", cadenceChangedMessage(cadenceChoice{Digest: true, On: true}, p, "/soe"))
	golden.Message(t, "digest_notify_expert_digest_off", cadenceChangedMessage(cadenceChoice{Digest: true}, notify.Prefs{}, "/soe"))
}
