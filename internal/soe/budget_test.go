package soe_test

import (
	"context"
	"testing"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

// Throttle reports the token bucket SOE last announced for the token, per
// token: another token's calls do not move it.
func TestThrottleReportsTheTokenBucket(t *testing.T) {
	e := newEnv(t, soefake.Options{}, soe.Config{})
	a := e.svc.Client(soe.MainSite(), e.fake.MintToken(1))
	b := e.svc.Client(soe.MainSite(), e.fake.MintToken(2))
	if th := a.Throttle(); th.Known {
		t.Fatalf("before any call: %+v", th)
	}
	for range 3 {
		if _, err := a.QuestionsPage(context.Background(), soe.QuestionListOptions{Page: 1, PageSize: 15}); err != nil {
			t.Fatal(err)
		}
	}
	th := a.Throttle()
	if !th.Known || th.CallsLeft != soe.TokenBucketSize-3 || th.UntilNextRefill <= 0 {
		t.Fatalf("after 3 calls: %+v", th)
	}
	if again := e.svc.Client(soe.MainSite(), "other").Throttle(); again.Known {
		t.Fatalf("an unused token: %+v", again)
	}
	if th := b.Throttle(); th.Known {
		t.Fatalf("b made no call: %+v", th)
	}
}
