package channels

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

func open(t *testing.T) *Settings {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "t.db"), store.Options{Buckets: Buckets()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return New(db)
}

func TestChannelScope(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	team := soe.TeamScope("platform")
	steps := []struct {
		name   string
		set    *soe.Scope
		clear  bool
		want   soe.Scope
		wantOK bool
	}{
		{name: "unset"},
		{name: "set a team", set: &team, want: team, wantOK: true},
		{name: "cleared", clear: true},
	}
	for _, st := range steps {
		if st.set != nil || st.clear {
			if err := s.SetChannelScope(ctx, "T1", "C1", st.set); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		got, ok, err := s.ChannelScope(ctx, "T1", "C1")
		if err != nil || ok != st.wantOK || got != st.want {
			t.Errorf("%s: got %v, %v, %v; want %v, %v", st.name, got, ok, err, st.want, st.wantOK)
		}
	}
	if _, ok, _ := s.ChannelScope(ctx, "T1", "C2"); ok {
		t.Error("another channel has the default")
	}
}

func TestBadIDs(t *testing.T) {
	s := open(t)
	main := soe.MainSite()
	if err := s.SetChannelScope(context.Background(), "T1", "C/../x", &main); !errors.Is(err, ErrBadInput) {
		t.Fatalf("err = %v, want ErrBadInput", err)
	}
	if _, ok, err := s.ChannelScope(context.Background(), "", "C1"); ok || err != nil {
		t.Fatalf("ok %v err %v for an empty team", ok, err)
	}
}
