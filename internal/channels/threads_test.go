package channels

import (
	"context"
	"testing"
)

func TestThreadsDefaultOnAndPerChannel(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	for _, c := range []struct {
		team, channel string
		want          bool
	}{{"T1", "C1", true}, {"T1", "C2", true}, {"", "", true}} {
		if on, err := s.ThreadsOn(ctx, c.team, c.channel); err != nil || on != c.want {
			t.Fatalf("%s/%s: %v %v", c.team, c.channel, on, err)
		}
	}
	if err := s.SetThreads(ctx, "T1", "C1", false); err != nil {
		t.Fatal(err)
	}
	if on, _ := s.ThreadsOn(ctx, "T1", "C1"); on {
		t.Fatal("off was not kept")
	}
	if on, _ := s.ThreadsOn(ctx, "T1", "C2"); !on {
		t.Fatal("another channel changed")
	}
	if err := s.SetThreads(ctx, "T1", "C1", true); err != nil {
		t.Fatal(err)
	}
	if on, _ := s.ThreadsOn(ctx, "T1", "C1"); !on {
		t.Fatal("on was not restored")
	}
	if err := s.SetThreads(ctx, "T1", "bad id", false); err == nil {
		t.Fatal("a bad id must be refused")
	}
}
