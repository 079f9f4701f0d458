package notify

import (
	"testing"
	"time"

	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/soe"
)

func TestTokenAllowanceIsTenPercentOfSOEsBudget(t *testing.T) {
	if soe.TokenCallsPerHour != 6000 || TokenAllowance() != 600 {
		t.Fatalf("budget %d/h, allowance %d/h", soe.TokenCallsPerHour, TokenAllowance())
	}
}

func TestNextInterval(t *testing.T) {
	const lo, hi = 5 * time.Second, time.Minute
	base := control{Min: lo, Max: hi, SinceActivity: -1, CallsPerCycle: 1, Tokens: 1, Healthy: 1}
	with := func(f func(*control)) control { c := base; f(&c); return c }
	cases := []struct {
		name string
		in   control
		want time.Duration
	}{
		{"never active: the maximum", base, hi},
		// One token, one call a cycle: 600 calls an hour would be every 6 s;
		// the floor aims at 90% of it (540), every 6.67 s.
		{"just active, one token: the budget floor", with(func(c *control) { c.SinceActivity = 0 }), 6666666667},
		{"just active, two tokens: the minimum", with(func(c *control) { c.SinceActivity = 0; c.Tokens, c.Healthy = 2, 2 }), lo},
		{"a minute of quiet", with(func(c *control) { c.SinceActivity = time.Minute }), 15 * time.Second},
		{"four minutes of quiet: the maximum", with(func(c *control) { c.SinceActivity = 4 * time.Minute }), hi},
		{"an hour of quiet stays at the maximum", with(func(c *control) { c.SinceActivity = time.Hour }), hi},
		{"a failure doubles", with(func(c *control) {
			c.SinceActivity = 0
			c.Tokens, c.Healthy = 2, 2
			c.Failed, c.Prev = true, 8*time.Second
		}), 16 * time.Second},
		{"failures stop at the maximum", with(func(c *control) { c.SinceActivity = 0; c.Failed, c.Prev = true, 50*time.Second }), hi},
		{"every token strained: the maximum", with(func(c *control) { c.SinceActivity = 0; c.Tokens, c.Healthy = 3, 0 }), hi},
		{"strained tokens do not count", with(func(c *control) { c.SinceActivity = 0; c.Tokens, c.Healthy = 3, 1 }), 6666666667},
		// 12 calls a cycle over 3 tokens: 4 per token a cycle, 540 an hour → every 26.7 s.
		{"costly cycles raise the floor", with(func(c *control) { c.SinceActivity = 0; c.CallsPerCycle = 12; c.Tokens, c.Healthy = 3, 3 }), 26666666667},
		// 20 calls a cycle with one token: 133 s, above the maximum.
		{"the budget wins over the maximum", with(func(c *control) { c.CallsPerCycle = 20 }), 133333333334},
		{"no owner token yet", with(func(c *control) { c.SinceActivity = 0; c.Tokens, c.Healthy = 0, 0 }), 6666666667},
		{"fixed interval (min = max)", with(func(c *control) { c.Min = hi; c.SinceActivity = 0; c.Tokens, c.Healthy = 2, 2 }), hi},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextInterval(tc.in); got != tc.want {
				t.Fatalf("nextInterval(%+v) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

// A token rotated at the interval nextInterval picks never goes over its
// allowance in any hour.
func TestNextIntervalKeepsEveryTokenUnderItsAllowance(t *testing.T) {
	for _, calls := range []float64{1, 2, 3, 7, 25} {
		for tokens := 1; tokens <= 5; tokens++ {
			c := control{Min: time.Second, Max: time.Minute, SinceActivity: 0, CallsPerCycle: calls, Tokens: tokens, Healthy: tokens}
			d := nextInterval(c)
			perTokenHour := float64(time.Hour/d) * calls / float64(tokens)
			if perTokenHour > float64(TokenAllowance()) {
				t.Errorf("calls %v, tokens %d: every %s is %.0f calls/h per token", calls, tokens, d, perTokenHour)
			}
		}
	}
}

func TestTokenUse(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC)
	var u tokenUse
	for i := range 90 { // one call a minute for 90 minutes
		u.add(t0.Add(time.Duration(i)*time.Minute), 1)
	}
	now := t0.Add(89 * time.Minute)
	cases := []struct {
		name string
		at   time.Time
		want int
	}{
		{"the last hour only", now, 60},
		{"half an hour later", now.Add(30 * time.Minute), 30},
		{"two hours later", now.Add(2 * time.Hour), 0},
	}
	for _, tc := range cases {
		if got := u.lastHour(tc.at); got != tc.want {
			t.Errorf("%s: lastHour = %d, want %d", tc.name, got, tc.want)
		}
	}
	if len(u.Minutes) > 60 {
		t.Errorf("kept %d minutes, want at most 60", len(u.Minutes))
	}
	var nilUse *tokenUse
	if nilUse.lastHour(now) != 0 || nilUse.strained(now) {
		t.Error("an unknown token has no use and is not strained")
	}
}

func TestTokenStrained(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		u     tokenUse
		after time.Duration
		want  bool
	}{
		{"headers never seen", tokenUse{}, 0, false},
		{"full bucket", tokenUse{Known: true, Left: 5000, LeftAt: at}, 0, false},
		{"low bucket", tokenUse{Known: true, Left: 120, LeftAt: at}, 0, true},
		{"empty bucket", tokenUse{Known: true, Left: 0, LeftAt: at}, time.Minute, true},
		// 100 a minute: 120 + 4×100 = 520 after four minutes.
		{"refilled since", tokenUse{Known: true, Left: 120, LeftAt: at}, 4 * time.Minute, false},
	}
	for _, tc := range cases {
		if got := tc.u.strained(at.Add(tc.after)); got != tc.want {
			t.Errorf("%s: strained = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRoomLeft(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	used := func(n int) *tokenUse { u := &tokenUse{}; u.add(now, n); return u }
	cases := []struct {
		name string
		a    adaptState
		want bool
	}{
		{"no token seen yet", adaptState{}, true},
		{"one token with room", adaptState{CallsPerCycle: 1, Tokens: map[string]*tokenUse{"T/A": used(300)}}, true},
		{"one token spent", adaptState{CallsPerCycle: 1, Tokens: map[string]*tokenUse{"T/A": used(600)}}, false},
		{"a cycle would go over", adaptState{CallsPerCycle: 5, Tokens: map[string]*tokenUse{"T/A": used(597)}}, false},
		{"another token has room", adaptState{CallsPerCycle: 1, Tokens: map[string]*tokenUse{"T/A": used(600), "T/B": used(10)}}, true},
	}
	for _, tc := range cases {
		if got := tc.a.roomLeft(now); got != tc.want {
			t.Errorf("%s: roomLeft = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRotatePrefersHealthyLeastUsedTokens(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s := &Service{opts: Options{Interval: time.Minute, IntervalMin: 5 * time.Second}, now: func() time.Time { return now }}
	link := func(u string) linking.Link { return linking.Link{TeamID: "T", UserID: u} }
	used := func(n int) *tokenUse { u := &tokenUse{}; u.add(now, n); return u }
	cases := []struct {
		name   string
		tokens map[string]*tokenUse
		want   string
	}{
		{"nothing known: candidates' order", nil, "ABC"},
		{"least used first", map[string]*tokenUse{"T/A": used(9), "T/B": used(3), "T/C": used(5)}, "BCA"},
		{"ties keep the order", map[string]*tokenUse{"T/A": used(4), "T/B": used(4)}, "CAB"},
		{"strained last", map[string]*tokenUse{"T/A": {Known: true, Left: 10, LeftAt: now}}, "BCA"},
	}
	for _, tc := range cases {
		p := &scopePlan{adapt: &adaptRun{state: adaptState{Tokens: tc.tokens}}}
		got := ""
		for _, l := range s.rotate(p, []linking.Link{link("A"), link("B"), link("C")}) {
			got += l.UserID
		}
		if got != tc.want {
			t.Errorf("%s: order %s, want %s", tc.name, got, tc.want)
		}
	}
}
