package reveal

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/soe"
)

type stubAudience struct {
	may     bool
	err     error
	allowed []string
}

func (s *stubAudience) MaySee(context.Context, string, string, soe.Scope) (bool, error) {
	return s.may, s.err
}

func (s *stubAudience) Allow(_ context.Context, team, channel string, scope soe.Scope) error {
	s.allowed = append(s.allowed, team+"/"+channel+"/"+scope.Key())
	return nil
}

func TestGatePass(t *testing.T) {
	team := soe.TeamScope("platform")
	env := &chat.Envelope{TeamID: "T1", UserID: "U1", Interaction: &slack.InteractionCallback{Channel: slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: "C1"}}}}}
	b := Buttons{Show: "x_reveal", Always: "x_always", ShowLabel: "Share", Value: "v"}
	tests := []struct {
		name       string
		aud        *stubAudience
		action     string
		scope      soe.Scope
		want       bool
		wantAsked  bool
		wantAllowd bool
	}{
		{"main site never asks", &stubAudience{}, "x", soe.MainSite(), true, false, false},
		{"everyone on the team", &stubAudience{may: true}, "x", team, true, false, false},
		{"someone not on the team: ask", &stubAudience{}, "x", team, false, true, false},
		{"the question's Share", &stubAudience{}, "x_reveal", team, true, false, false},
		{"Always is remembered", &stubAudience{}, "x_always", team, true, false, true},
		{"cannot tell: ask", &stubAudience{may: true, err: errors.New("slack down")}, "x", team, false, true, false},
		{"no audience: ask", nil, "x", team, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g Gate
			if tt.aud != nil {
				g.Audience = tt.aud
			}
			var asked []chat.Message
			got := g.Pass(context.Background(), env, tt.action, tt.scope, "this post", b, func(m chat.Message) { asked = append(asked, m) })
			if got != tt.want || (len(asked) == 1) != tt.wantAsked {
				t.Fatalf("Pass = %v, asked %d; want %v, asked %v", got, len(asked), tt.want, tt.wantAsked)
			}
			if tt.aud != nil && (len(tt.aud.allowed) == 1) != tt.wantAllowd {
				t.Fatalf("allowed %v", tt.aud.allowed)
			}
		})
	}
}

func TestQuestion(t *testing.T) {
	m := Question(soe.TeamScope("platform"), "C123", "this post", Buttons{Show: "s", Always: "a", ShowLabel: "Share", Value: "v"})
	text := m.Blocks[0].(*slack.SectionBlock).Text.Text
	if !strings.Contains(text, "team platform") || !strings.Contains(text, "<#C123>") {
		t.Fatalf("question: %s", text)
	}
	acts := m.Blocks[1].(*slack.ActionBlock).Elements.ElementSet
	var ids []string
	for _, e := range acts {
		ids = append(ids, e.(*slack.ButtonBlockElement).ActionID)
	}
	if strings.Join(ids, ",") != "s,"+ActionNotNow+",a" {
		t.Fatalf("buttons %v", ids)
	}
}
