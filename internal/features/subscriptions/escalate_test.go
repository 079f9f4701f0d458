package subscriptions

import (
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

func TestParseSubscribeTimers(t *testing.T) {
	h := time.Hour
	tests := []struct {
		in      string
		want    subscribeArgs
		problem string
	}{
		{in: "go escalate 4h", want: subscribeArgs{Tags: []string{"go"}, Kinds: notify.DefaultKinds, Timers: notify.Timers{Escalate: 4 * h}}},
		{in: "go escalate 4h 12h", want: subscribeArgs{Tags: []string{"go"}, Kinds: notify.DefaultKinds, Timers: notify.Timers{Escalate: 4 * h, EscalateChannel: 12 * h}}},
		{in: "go Escalate 2d kubernetes", want: subscribeArgs{Tags: []string{"go", "kubernetes"}, Kinds: notify.DefaultKinds, Timers: notify.Timers{Escalate: 48 * h}}},
		{in: "go unanswered 4h", want: subscribeArgs{Tags: []string{"go"}, Kinds: notify.KindQuestions, Timers: notify.Timers{Unanswered: 4 * h}}},
		{in: "go unanswered 4h all", want: subscribeArgs{Tags: []string{"go"}, Kinds: notify.AllKinds, Timers: notify.Timers{Unanswered: 4 * h}}},
		{in: "go unanswered 90m escalate 1h team platform", want: subscribeArgs{Tags: []string{"go"}, Kinds: notify.KindQuestions, Team: "platform",
			Timers: notify.Timers{Unanswered: 90 * time.Minute, Escalate: h}}},
		{in: "go escalate", problem: "`escalate 4h`"},
		{in: "go unanswered", problem: "`unanswered 4h`"},
		{in: "go escalate soon", problem: "not a delay"},
		{in: "go escalate 5m", problem: "between 15m and 30d"},
		{in: "go escalate 4h 2h", problem: "longer than the DM delay"},
		{in: "go escalate 4h escalate 5h", problem: "once"},
		{in: "go unanswered 4h unanswered 5h", problem: "once"},
		{in: "escalate 4h", problem: "name a tag"},
		{in: "go unanswered <!channel>", problem: "not a delay"},
	}
	for _, tt := range tests {
		got, problem := parseSubscribeArgs(router.Fields(tt.in))
		if tt.problem != "" {
			if !strings.Contains(problem, tt.problem) {
				t.Errorf("%q: problem %q, want %q", tt.in, problem, tt.problem)
			}
			if strings.Contains(problem, "<!") {
				t.Errorf("%q: live mention in %q", tt.in, problem)
			}
			continue
		}
		if problem != "" || got.Timers != tt.want.Timers || got.Kinds != tt.want.Kinds || strings.Join(got.Tags, ",") != strings.Join(tt.want.Tags, ",") || got.Team != tt.want.Team {
			t.Errorf("%q: got %+v %q, want %+v", tt.in, got, problem, tt.want)
		}
	}
}

func TestEscalateGolden(t *testing.T) {
	n := New(Config{}, Deps{Router: router.New(router.Config{}, router.Deps{})})
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	esc := notify.Subscription{ID: "4", TeamID: "T1", ChannelID: "CGENERAL", CreatorID: "UALICE", Scope: soe.MainSite(), Tags: []string{"kubernetes"},
		Kinds: notify.DefaultKinds, Created: at, Timers: notify.Timers{Escalate: 4 * time.Hour}}
	unans := notify.Subscription{ID: "5", TeamID: "T1", ChannelID: "CGENERAL", CreatorID: "UALICE", Scope: soe.MainSite(), Tags: []string{"go"},
		Kinds: notify.KindQuestions, Created: at, Timers: notify.Timers{Unanswered: 4 * time.Hour, Escalate: 2 * time.Hour, EscalateChannel: 6 * time.Hour}}
	golden.Message(t, "notify_subscribed_escalate", n.subscribedMessage("UALICE", esc))
	golden.Message(t, "notify_subscribed_unanswered", n.subscribedMessage("UALICE", unans))
	golden.Message(t, "notify_subscriptions_timers", renderListing([]notify.AuditEntry{{Subscription: esc}, {Subscription: unans}}, false, "/soe", at))
	if l := auditLine(notify.AuditEntry{Subscription: unans}, at); !strings.Contains(l, "questions · unanswered 4h · escalate 2h (DM the experts; here after 6h)") {
		t.Errorf("audit line: %s", l)
	}
	golden.Message(t, "notify_usage_timers", n.usage("`soon` is not a delay; write it like `4h`, `90m` or `2d`"))
	q := notify.QuestionInfo{ID: 173, Title: "Why does <!channel> &amp; break?", URL: "https://acme.example/questions/173"}
	off := n.subscribedMessage("UALICE", esc)
	off.Blocks = append(off.Blocks, blockkit.Context(":warning: "+smesOffText(soe.MainSite(), []string{"kubernetes"})))
	golden.Message(t, "notify_subscribed_escalate_smes_off", off)
	if smesOffText(soe.MainSite(), nil) != "" {
		t.Error("no tag off: no warning")
	}
	golden.Message(t, "notify_declined", declinedMessage(notify.Declined{Question: q, Found: true}, nil))
	golden.Message(t, "notify_declined_settled", declinedMessage(notify.Declined{}, nil))
	golden.Message(t, "notify_declined_stale", declinedMessage(notify.Declined{}, notify.ErrBadInput))
	for _, m := range []chat.Message{declinedMessage(notify.Declined{Question: q, Found: true}, nil), n.subscribedMessage("UALICE", esc)} {
		if js := m.Text + string(golden.Marshal(t, m.Blocks)); strings.Contains(js, "<!channel>") {
			t.Errorf("live mention in %s", js)
		}
	}
}
