package ttlcache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestGetOrLoad(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := New[string, int](time.Minute, 10, clk.now)
	loads := 0
	load := func(context.Context) (int, error) { loads++; return loads, nil }
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		advance time.Duration
		want    int
	}{
		{"first load", 0, 1},
		{"cached", 30 * time.Second, 1},
		{"expired", time.Minute, 2},
	} {
		clk.t = clk.t.Add(tc.advance)
		if v, err := c.GetOrLoad(ctx, "k", load); err != nil || v != tc.want {
			t.Errorf("%s: got %d, %v; want %d", tc.name, v, err, tc.want)
		}
	}
}

func TestErrorsNotCached(t *testing.T) {
	c := New[string, int](time.Minute, 10, nil)
	boom := errors.New("boom")
	if _, err := c.GetOrLoad(context.Background(), "k", func(context.Context) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	v, err := c.GetOrLoad(context.Background(), "k", func(context.Context) (int, error) { return 7, nil })
	if err != nil || v != 7 || c.Len() != 1 {
		t.Fatalf("got %d, %v, len %d", v, err, c.Len())
	}
}

func TestConcurrentLoadsShared(t *testing.T) {
	c := New[string, int](time.Minute, 10, nil)
	var loads atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.GetOrLoad(context.Background(), "k", func(context.Context) (int, error) {
				loads.Add(1)
				<-release
				return 42, nil
			})
			if err != nil || v != 42 {
				t.Errorf("got %d, %v", v, err)
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads, want 1", n)
	}
}

func TestWaiterGivesUpWithItsContext(t *testing.T) {
	c := New[string, int](time.Minute, 10, nil)
	started, release := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = c.GetOrLoad(context.Background(), "k", func(context.Context) (int, error) {
			close(started)
			<-release
			return 1, nil
		})
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.GetOrLoad(ctx, "k", func(context.Context) (int, error) { return 2, nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	close(release)
}

func TestBounded(t *testing.T) {
	c := New[int, int](time.Minute, 8, nil)
	for i := range 100 {
		_, _ = c.GetOrLoad(context.Background(), i, func(context.Context) (int, error) { return i, nil })
	}
	if n := c.Len(); n > 8 {
		t.Fatalf("len %d > max 8", n)
	}
}

func TestRecent(t *testing.T) {
	r := NewRecent(time.Hour, 4)
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		key  string
		at   time.Duration
		want bool
	}{
		{"a", 0, true},
		{"a", time.Minute, false},
		{"b", time.Minute, true},
		{"a", time.Hour, true}, // an hour after it was first seen
		{"a", time.Hour + time.Minute, false},
	} {
		if got := r.First(tc.key, t0.Add(tc.at)); got != tc.want {
			t.Errorf("First(%q, +%v) = %v, want %v", tc.key, tc.at, got, tc.want)
		}
	}
	for i := range 100 {
		r.First(string(rune('a'+i%26))+string(rune('A'+i/26)), t0)
	}
	if n := len(r.seen); n > 4 {
		t.Fatalf("%d keys kept, max 4", n)
	}
}

func TestDelete(t *testing.T) {
	c := New[string, int](time.Minute, 10, nil)
	c.Put("k", 1)
	c.Delete("k")
	c.Delete("never there")
	if _, ok := c.Get("k"); ok {
		t.Fatal("deleted key still cached")
	}
	if v, _ := c.GetOrLoad(context.Background(), "k", func(context.Context) (int, error) { return 2, nil }); v != 2 {
		t.Fatalf("after delete: %d, want a fresh load", v)
	}
}
