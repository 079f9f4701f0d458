package channels

import (
	"context"
	"errors"
	"testing"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/soe"
)

// sharedMembers is stubMembers that also answers conversations.info.
type sharedMembers struct {
	stubMembers
	shared map[string]bool
	err    error
}

func (s *sharedMembers) ConversationInfo(_ context.Context, ch string) (*slack.Channel, error) {
	if s.err != nil {
		return nil, s.err
	}
	c := &slack.Channel{}
	c.ID, c.IsExtShared = ch, s.shared[ch]
	return c, nil
}

func TestSlackConnectNeverSeesPrivateTeams(t *testing.T) {
	platform := soe.TeamScope("platform")
	ctx := context.Background()
	sm := &sharedMembers{stubMembers: stubMembers{members: map[string][]string{"CCONNECT": {"UALICE"}, "CHOME": {"UALICE"}}, complete: true},
		shared: map[string]bool{"CCONNECT": true}}
	a := NewAudience(open(t), sm, stubLinks{{TeamID: "T1", UserID: "UALICE", Scope: platform}}, nil)
	if err := a.Allow(ctx, "T1", "CCONNECT", platform); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		channel string
		scope   soe.Scope
		want    bool
	}{
		{"CCONNECT", platform, false},      // even everyone known and "Always" chosen
		{"CCONNECT", soe.MainSite(), true}, // the main site is not private
		{"CHOME", platform, true},          // the same people in a channel of our own
		{"D123", platform, true},           // a DM is never shared
	} {
		if got, err := a.MaySee(ctx, "T1", c.channel, c.scope); got != c.want || err != nil {
			t.Errorf("MaySee(%s, %s) = %v, %v; want %v", c.channel, c.scope.Key(), got, err, c.want)
		}
	}
	sm.err = errors.New("slack down")
	if got, err := a.MaySee(ctx, "T1", "CHOME", platform); got || err == nil {
		t.Errorf("when Slack cannot say: %v, %v", got, err)
	}
}
