package channels

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/soe"
)

type stubMembers struct {
	members  map[string][]string
	bots     map[string]bool
	complete bool
	err      error
	infos    int
}

func (s *stubMembers) ChannelMembers(_ context.Context, ch string, limit int) ([]string, bool, error) {
	m := s.members[ch]
	return m[:min(len(m), limit)], s.complete, s.err
}

func (s *stubMembers) UserInfo(_ context.Context, u string) (*slack.User, error) {
	s.infos++
	return &slack.User{ID: u, IsBot: s.bots[u]}, nil
}

type stubLinks []linking.Link

func (s stubLinks) ScopeLinks(context.Context, soe.Scope) ([]linking.Link, error) { return s, nil }

func TestMaySee(t *testing.T) {
	platform := soe.TeamScope("platform")
	now := time.Unix(1_800_000_000, 0)
	links := stubLinks{
		{TeamID: "T1", UserID: "UALICE", Scope: platform},
		{TeamID: "T1", UserID: "UBOB", Scope: platform},
		{TeamID: "T1", UserID: "UCAROL", Scope: platform, Invalid: true},
		{TeamID: "T1", UserID: "UDAVE", Scope: platform, Expiry: now.Add(-time.Hour)},
		{TeamID: "T1", UserID: "UERIN", Scope: soe.MainSite()},
	}
	members := map[string][]string{
		"CTEAM":    {"UBOT", "UALICE", "UBOB"},
		"CMIXED":   {"UBOT", "UALICE", "UERIN"},
		"CINVALID": {"UALICE", "UCAROL"},
		"CEXPIRED": {"UALICE", "UDAVE"},
	}
	tests := []struct {
		name     string
		channel  string
		scope    soe.Scope
		complete bool
		want     bool
	}{
		{"main site always", "CMIXED", soe.MainSite(), true, true},
		{"a DM with the bot", "D123", platform, true, true},
		{"everyone on the team (bots aside)", "CTEAM", platform, true, true},
		{"someone not on the team", "CMIXED", platform, true, false},
		{"a revoked link is not known", "CINVALID", platform, true, false},
		{"an expired link is not known", "CEXPIRED", platform, true, false},
		{"too many members to check", "CTEAM", platform, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := &stubMembers{members: members, bots: map[string]bool{"UBOT": true}, complete: tt.complete}
			a := NewAudience(open(t), sm, links, func() time.Time { return now })
			got, err := a.MaySee(context.Background(), "T1", tt.channel, tt.scope)
			if err != nil || got != tt.want {
				t.Fatalf("MaySee = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestMaySeeAlwaysInThisChannel(t *testing.T) {
	platform := soe.TeamScope("platform")
	sm := &stubMembers{members: map[string][]string{"CMIXED": {"UALICE", "UERIN"}}, complete: true}
	a := NewAudience(open(t), sm, stubLinks{{TeamID: "T1", UserID: "UALICE", Scope: platform}}, nil)
	ctx := context.Background()
	if ok, _ := a.MaySee(ctx, "T1", "CMIXED", platform); ok {
		t.Fatal("mixed channel may see before Always")
	}
	if err := a.Allow(ctx, "T1", "CMIXED", platform); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.MaySee(ctx, "T1", "CMIXED", platform); !ok || err != nil {
		t.Fatalf("after Always: %v, %v", ok, err)
	}
	if ok, _ := a.MaySee(ctx, "T1", "CMIXED", soe.TeamScope("security")); ok {
		t.Fatal("Always for platform allowed another team")
	}
}

func TestMaySeeSlackError(t *testing.T) {
	boom := errors.New("slack down")
	a := NewAudience(open(t), &stubMembers{err: boom}, stubLinks{}, nil)
	if ok, err := a.MaySee(context.Background(), "T1", "C1", soe.TeamScope("platform")); ok || !errors.Is(err, boom) {
		t.Fatalf("MaySee = %v, %v", ok, err)
	}
}
