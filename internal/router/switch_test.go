package router

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
)

type replies struct{ got []string }

func (r *replies) Reply(_ context.Context, _ *chat.Envelope, m chat.Message) {
	r.got = append(r.got, m.Text)
}
func (r *replies) Command() string { return "/soe" }

func TestRunSwitch(t *testing.T) {
	for _, c := range []struct {
		name, channel string
		args          []string
		refuse        bool
		want          string
		saved         string // "" nothing saved
	}{
		{"show", "C1", nil, false, "shown false", ""},
		{"on", "C1", []string{"on"}, false, "changed U1 true", "true"},
		{"enable", "C1", []string{"Enable"}, false, "changed U1 true", "true"},
		{"off", "C1", []string{"no"}, false, "changed U1 false", "false"},
		{"bad word", "C1", []string{"maybe"}, false, "Usage: `/soe config x on`", ""},
		{"two words", "C1", []string{"on", "off"}, false, "Usage:", ""},
		{"in a DM", "D1", []string{"on"}, false, "Usage:", ""},
		{"refused", "C1", []string{"on"}, true, "refused", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rt, saved := &replies{}, ""
			s := Switch{Name: "x", Alone: "says which",
				Get: func(context.Context, string, string) (bool, error) { return false, nil },
				Set: func(_ context.Context, _, _ string, on bool) error {
					saved = map[bool]string{true: "true", false: "false"}[on]
					return nil
				},
				Shown: func(on bool) chat.Message {
					return chat.Message{Text: "shown " + map[bool]string{true: "true", false: "false"}[on]}
				},
				Changed: func(u string, on bool) chat.Message {
					return chat.Message{Text: "changed " + u + " " + map[bool]string{true: "true", false: "false"}[on]}
				},
			}
			if c.refuse {
				s.Refuse = func(context.Context, *Request, bool) *chat.Message { m := blockkit.Text("refused"); return &m }
			}
			RunSwitch(context.Background(), rt, slog.New(slog.DiscardHandler), &Request{Env: &chat.Envelope{}, TeamID: "T1", ChannelID: c.channel, UserID: "U1"}, c.args, s)
			if len(rt.got) != 1 || !strings.Contains(rt.got[0], c.want) {
				t.Fatalf("replies %q, want one containing %q", rt.got, c.want)
			}
			if saved != c.saved {
				t.Fatalf("saved %q, want %q", saved, c.saved)
			}
		})
	}
}
