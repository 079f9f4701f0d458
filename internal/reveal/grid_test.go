package reveal

import (
	"context"
	"errors"
	"testing"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/soe"
)

type sharedAudience struct {
	stubAudience
	shared bool
	err    error
}

func (s *sharedAudience) ExtShared(context.Context, string) (bool, error) { return s.shared, s.err }

func TestGateRefusesPrivateTeamsInSlackConnect(t *testing.T) {
	platform := soe.TeamScope("platform")
	b := Buttons{Show: "show", Always: "always", ShowLabel: "Share", Value: "v"}
	env := &chat.Envelope{TeamID: "T1", Interaction: &slack.InteractionCallback{}}
	env.Interaction.Channel.ID = "CCONNECT"
	for _, c := range []struct {
		name    string
		aud     *sharedAudience
		action  string
		scope   soe.Scope
		pass    bool
		replied bool
	}{
		{"the Share button itself is refused", &sharedAudience{stubAudience: stubAudience{may: true}, shared: true}, "show", platform, false, true},
		{"Always is refused and not remembered", &sharedAudience{shared: true}, "always", platform, false, true},
		{"unknown: refused", &sharedAudience{err: errors.New("down")}, "show", platform, false, true},
		{"the main site is fine", &sharedAudience{shared: true}, "share", soe.MainSite(), true, false},
		{"not shared: as before", &sharedAudience{}, "show", platform, true, false},
	} {
		var got []chat.Message
		pass := Gate{Audience: c.aud}.Pass(context.Background(), env, c.action, c.scope, "this post", b, func(m chat.Message) { got = append(got, m) })
		if pass != c.pass || (len(got) > 0) != c.replied || len(c.aud.allowed) != 0 {
			t.Errorf("%s: pass=%v replies=%d allowed=%v", c.name, pass, len(got), c.aud.allowed)
		}
	}
}

func TestSlackConnectMessageGolden(t *testing.T) {
	golden.Message(t, "slack_connect", SlackConnectMessage(soe.TeamScope("platform"), "CCONNECT"))
}
