package notify

import (
	"errors"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/soe"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestDaytime(t *testing.T) {
	berlin, tokyo, ny := mustLoc(t, "Europe/Berlin"), mustLoc(t, "Asia/Tokyo"), mustLoc(t, "America/New_York")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		at   string
		loc  *time.Location
		want string
	}{
		{"day in Berlin", "2026-03-10T13:00:00Z", berlin, "2026-03-10T13:00:00Z"},
		{"08:00 sharp is day", "2026-03-10T07:00:00Z", berlin, "2026-03-10T07:00:00Z"},
		{"19:59 is day", "2026-03-10T18:59:00Z", berlin, "2026-03-10T18:59:00Z"},
		{"20:00 is night: next morning", "2026-03-10T19:00:00Z", berlin, "2026-03-11T07:00:00Z"},
		{"small hours: this morning", "2026-03-10T02:00:00Z", berlin, "2026-03-10T07:00:00Z"},
		{"22:00 in Tokyo", "2026-03-10T13:00:00Z", tokyo, "2026-03-10T23:00:00Z"},
		{"nil location is UTC", "2026-03-10T21:30:00Z", nil, "2026-03-11T08:00:00Z"},
		// DST: New York springs forward on 2026-03-08; 08:00 is then 12:00 UTC.
		{"night before DST change", "2026-03-08T04:00:00Z", ny, "2026-03-08T12:00:00Z"},
		{"night after DST change", "2026-03-09T02:00:00Z", ny, "2026-03-09T12:00:00Z"},
		// Berlin falls back on 2026-10-25: 08:00 is 07:00 UTC again.
		{"Berlin fall back", "2026-10-24T20:00:00Z", berlin, "2026-10-25T07:00:00Z"},
		{"into the new year", "2026-12-31T12:00:00Z", tokyo, "2026-12-31T23:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Daytime(utc(tt.at), tt.loc).UTC()
			if !got.Equal(utc(tt.want)) {
				t.Fatalf("Daytime(%s) = %s, want %s", tt.at, got.Format(time.RFC3339), tt.want)
			}
		})
	}
}

func TestFormatAgeAndAgeWords(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0m"}, {-time.Minute, "0m"}, {45 * time.Minute, "45m"}, {4 * time.Hour, "4h"}, {90 * time.Minute, "1h30m"},
		{48 * time.Hour, "2d"}, {30 * time.Hour, "1d 6h"}, {4*time.Hour + 29*time.Second, "4h"},
	}
	for _, tt := range tests {
		if got := FormatAge(tt.d); got != tt.want {
			t.Errorf("FormatAge(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	words := []struct {
		age, after time.Duration
		want       string
	}{
		{4*time.Hour + time.Minute, 4 * time.Hour, "4h"},
		{14*time.Hour + 2*time.Minute, 4 * time.Hour, "14h"},
		{3*time.Hour + 59*time.Minute, 4 * time.Hour, "4h"}, // never less than the delay
		{20*time.Minute + 10*time.Second, 15 * time.Minute, "20m"},
		{8*time.Hour + time.Minute, 8 * time.Hour, "8h"},
	}
	for _, w := range words {
		if got := ageWords(w.age, w.after); got != w.want {
			t.Errorf("ageWords(%v, %v) = %q, want %q", w.age, w.after, got, w.want)
		}
	}
}

func TestParseDelay(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"4h", 4 * time.Hour, true}, {"90m", 90 * time.Minute, true}, {"1h30m", 90 * time.Minute, true},
		{"2d", 48 * time.Hour, true}, {"2D", 48 * time.Hour, true}, {" 3h ", 3 * time.Hour, true},
		{"", 0, false}, {"soon", 0, false}, {"-4h", 0, false}, {"0h", 0, false}, {"0d", 0, false}, {"1000d", 0, false}, {"4", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseDelay(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseDelay(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTimersCheckAndChannelAfter(t *testing.T) {
	tests := []struct {
		t       Timers
		ok      bool
		channel time.Duration
	}{
		{Timers{}, true, 0},
		{Timers{Escalate: 4 * time.Hour}, true, 8 * time.Hour},
		{Timers{Escalate: 4 * time.Hour, EscalateChannel: 6 * time.Hour}, true, 6 * time.Hour},
		{Timers{Escalate: 4 * time.Hour, EscalateChannel: 4 * time.Hour}, false, 4 * time.Hour},
		{Timers{EscalateChannel: 6 * time.Hour}, false, 0},
		{Timers{Unanswered: 14 * time.Minute}, false, 0},
		{Timers{Unanswered: 31 * 24 * time.Hour}, false, 0},
		{Timers{Unanswered: 15 * time.Minute, Escalate: 30 * 24 * time.Hour}, true, 60 * 24 * time.Hour},
	}
	for _, tt := range tests {
		err := tt.t.Check()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadInput)) {
			t.Errorf("%+v.Check() = %v, want ok=%v", tt.t, err, tt.ok)
		}
		if got := tt.t.ChannelAfter(); got != tt.channel {
			t.Errorf("%+v.ChannelAfter() = %v, want %v", tt.t, got, tt.channel)
		}
	}
}

func TestFinished(t *testing.T) {
	esc := &Subscription{Timers: Timers{Escalate: time.Hour}}
	unans := &Subscription{Timers: Timers{Unanswered: time.Hour}}
	both := &Subscription{Timers: Timers{Escalate: time.Hour, Unanswered: time.Hour}}
	tests := []struct {
		name string
		w    watch
		sub  *Subscription
		want bool
	}{
		{"escalation not posted", watch{Routed: true}, esc, false},
		{"posted, a DM deferred", watch{Routed: true, Posted: true, SMEs: []smeEntry{{UserID: "U1", Done: true}, {UserID: "U2"}}}, esc, false},
		{"posted, DMs done", watch{Routed: true, Posted: true, SMEs: []smeEntry{{UserID: "U1", Done: true}}}, esc, true},
		{"unanswered announced", watch{Announced: true}, unans, true},
		{"unanswered waiting", watch{}, unans, false},
		{"both, only announced", watch{Announced: true}, both, false},
		{"both done", watch{Announced: true, Routed: true, Posted: true}, both, true},
	}
	for _, tt := range tests {
		if got := finished(&tt.w, tt.sub); got != tt.want {
			t.Errorf("%s: finished = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTimerRenderGolden(t *testing.T) {
	q := fixtureQuestion()
	main := soe.MainSite()
	value := "main|173"
	cases := []struct {
		name string
		ev   Event
	}{
		{"notify_unanswered", Event{ID: "main/unans/173", Kind: EventUnanswered, Scope: main, Question: q,
			Timer: &TimerInfo{Age: 4*time.Hour + 2*time.Minute, After: 4 * time.Hour}}},
		{"notify_escalation_dm", Event{ID: "main/esc/173/dm/T1/U1", Kind: EventEscalationDM, Scope: main, Question: q,
			Timer: &TimerInfo{Age: 4*time.Hour + time.Minute, After: 4 * time.Hour, Value: value}}},
		{"notify_escalation_channel", Event{ID: "main/esc/173/ch/1", Kind: EventEscalation, Scope: main, Question: q,
			Timer: &TimerInfo{Age: 8 * time.Hour, After: 8 * time.Hour, Mentions: []string{"UALICE", "UCAROL"}, ThreadTS: "1700000000.000100"}}},
		{"notify_escalation_channel_one", Event{ID: "main/esc/173/ch/1", Kind: EventEscalation, Scope: soe.TeamScope("platform"), Question: q,
			Timer: &TimerInfo{Age: 8 * time.Hour, After: 8 * time.Hour, Mentions: []string{"UALICE"}, Skipped: 2, Unknown: 1}}},
		{"notify_escalation_channel_nobody", Event{ID: "main/esc/173/ch/1", Kind: EventEscalation, Scope: main, Question: q,
			Timer: &TimerInfo{Age: 8 * time.Hour, After: 8 * time.Hour, Skipped: 1, Unknown: 3, Off: []string{"go", "kubernetes"}}}},
		{"notify_escalation_summary", Event{ID: "escsum/T1/U1/2026-03-10", Kind: EventEscSummary, Scope: main,
			Timer: &TimerInfo{Questions: []QuestionInfo{*q, {ID: 174, Title: "Second <b>one</b>", URL: "https://acme.example/questions/174"}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := Render(&c.ev, "escalation", "/soe")
			golden(t, c.name, m)
			if c.ev.Kind == EventEscalation && m.ThreadTS != c.ev.Timer.ThreadTS {
				t.Fatalf("thread %q, want %q", m.ThreadTS, c.ev.Timer.ThreadTS)
			}
		})
	}
	many := Event{ID: "escsum/x", Kind: EventEscSummary, Scope: main, Timer: &TimerInfo{}}
	for i := range 40 {
		many.Timer.Questions = append(many.Timer.Questions, QuestionInfo{ID: i, Title: "Q", URL: "https://acme.example/q"})
	}
	golden(t, "notify_escalation_summary_many", Render(&many, "escalation", "/soe"))
}
