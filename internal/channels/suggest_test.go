package channels

import (
	"context"
	"errors"
	"testing"
)

func TestSuggestSetting(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	steps := []struct {
		name string
		do   func() error
		want Suggest
	}{
		{name: "off by default", do: func() error { return nil }},
		{name: "on", do: func() error { return s.SetSuggest(ctx, "T1", "C1", true) }, want: Suggest{On: true}},
		{name: "not helpful", do: func() error { _, err := s.NotHelpful(ctx, "T1", "C1"); return err }, want: Suggest{On: true, NotHelpful: 1}},
		{name: "off keeps what was learnt", do: func() error { return s.SetSuggest(ctx, "T1", "C1", false) }, want: Suggest{NotHelpful: 1}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := s.SuggestSetting(ctx, "T1", "C1")
		if err != nil || got != st.want {
			t.Errorf("%s: %+v, %v; want %+v", st.name, got, err, st.want)
		}
	}
	if got, _ := s.SuggestSetting(ctx, "T1", "C2"); got.On {
		t.Error("another channel is on")
	}
	if err := s.SetSuggest(ctx, "T1", "bad id!", true); !errors.Is(err, ErrBadInput) {
		t.Errorf("bad id: %v", err)
	}
	if got, err := s.SuggestSetting(ctx, "", "C1"); err != nil || got.On {
		t.Errorf("no team: %+v, %v", got, err)
	}
}
