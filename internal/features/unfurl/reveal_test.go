package unfurl

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/soe"
)

type stubSlack struct{ ephemerals []chat.Message }

func (s *stubSlack) Unfurl(context.Context, string, string, map[string]slack.Attachment) error {
	return nil
}

func (s *stubSlack) PostEphemeral(_ context.Context, _, _ string, m chat.Message) error {
	s.ephemerals = append(s.ephemerals, m)
	return nil
}

func (s *stubSlack) Respond(context.Context, string, chat.Message) error { return nil }

type stubLinks struct{}

func (stubLinks) Client(context.Context, string, string, soe.Scope) (*soe.Client, *linking.Link, error) {
	return nil, &linking.Link{}, nil
}

func (stubLinks) Invalidate(context.Context, string, string, soe.Scope, string) error { return nil }

type noAudience struct{}

func (noAudience) MaySee(context.Context, string, string, soe.Scope) (bool, error) { return false, nil }
func (noAudience) Allow(context.Context, string, string, soe.Scope) error          { return nil }

// The question's buttons carry the links to preview, never more than a
// button value holds (Slack refuses the message otherwise).
func TestAskFirstFitsAButton(t *testing.T) {
	sl := &stubSlack{}
	u := New(Config{SiteURL: "https://acme.example"}, Deps{Slack: sl, Links: stubLinks{}, Audience: noAudience{}})
	var urls []string
	for i := range maxLinks {
		urls = append(urls, "https://acme.example/c/platform/questions/"+strconv.Itoa(100+i)+"/"+strings.Repeat("very-long-slug-", 30))
	}
	ev := linkSharedEvent{User: "U1", Channel: "C1", MessageTS: "1.2", Links: linksOf(urls)}
	links := u.parse(ev)
	team := soe.TeamScope("platform")
	if u.mayShow(context.Background(), "T1", ev, team) {
		t.Fatal("a team preview may be shown without asking")
	}
	u.askFirst(context.Background(), "T1", ev, team, links)
	if len(sl.ephemerals) != 1 {
		t.Fatalf("%d questions asked, want 1", len(sl.ephemerals))
	}
	btn := sl.ephemerals[0].Blocks[1].(*slack.ActionBlock).Elements.ElementSet[0].(*slack.ButtonBlockElement)
	var v revealValue
	if len(btn.Value) > maxValue || json.Unmarshal([]byte(btn.Value), &v) != nil || len(v.URLs) == 0 || len(v.URLs) == len(urls) {
		t.Fatalf("button value of %d bytes with %d of %d links", len(btn.Value), len(v.URLs), len(urls))
	}
	// The message box has no channel yet: nothing is asked there.
	ev.Channel, ev.Source = "COMPOSER", "composer"
	u.askFirst(context.Background(), "T1", ev, team, links)
	if len(sl.ephemerals) != 1 {
		t.Fatal("asked in the composer")
	}
}
