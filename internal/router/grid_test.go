package router_test

import (
	"context"
	"errors"
	"testing"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/chat/chattest"
	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/router"
)

func TestExternalMessageGolden(t *testing.T) {
	golden.Message(t, "external_person", router.ExternalMessage())
}

// gridSlack answers users.info with the person's organization.
type gridSlack struct {
	chattest.Recorder
	enterprise string
	err        error
	infos      int
}

func (g *gridSlack) UserInfo(_ context.Context, user string) (*slack.User, error) {
	g.infos++
	if g.err != nil {
		return nil, g.err
	}
	u := &slack.User{ID: user}
	u.Enterprise.EnterpriseID = g.enterprise
	return u, nil
}

func TestExternalPeopleRefused(t *testing.T) {
	click := func(userTeam string, org bool) *chat.Envelope {
		ic := &slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, ResponseURL: "https://hooks/1"}
		ic.ActionCallback.BlockActions = []*slack.BlockAction{{ActionID: "grid_test_click"}}
		return &chat.Envelope{Type: chat.TypeInteractive, TeamID: "E1", Workspace: "TA", EnterpriseID: "E1", OrgInstall: org,
			UserID: "W1", UserTeam: userTeam, Interaction: ic}
	}
	for _, c := range []struct {
		name       string
		env        *chat.Envelope
		enterprise string
		err        error
		refused    bool
		infos      int
	}{
		{"a colleague of the same workspace: no lookup", click("TA", true), "", nil, false, 0},
		{"a colleague of another workspace of the org", click("TB", true), "E1", nil, false, 1},
		{"a person of another organization", click("TX", true), "EX", nil, true, 1},
		{"users.info fails: refused", click("TX", true), "", errors.New("down"), true, 1},
		{"not an org install: as before", click("TX", false), "EX", nil, false, 0},
		{"marked external by the transport", func() *chat.Envelope { e := click("TA", true); e.External = true; return e }(), "", nil, true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			sl := &gridSlack{enterprise: c.enterprise, err: c.err}
			r := router.New(router.Config{}, router.Deps{Slack: sl})
			ran := false
			r.Action("grid_test_click", func(context.Context, *chat.Envelope, *slack.BlockAction) { ran = true })
			r.Handle(context.Background(), c.env)
			if ran == c.refused || (sl.Len() > 0) != c.refused || sl.infos != c.infos {
				t.Errorf("ran=%v replies=%d users.info=%d", ran, sl.Len(), sl.infos)
			}
		})
	}
	// A slash command of an external person is answered in the ack.
	env := &chat.Envelope{Type: chat.TypeSlashCommand, External: true, Slash: &slack.SlashCommand{Text: "experts go"}}
	p, ok := router.New(router.Config{}, router.Deps{}).Ack(context.Background(), env).(map[string]any)
	if !ok || p["text"] != router.ExternalMessage().Text {
		t.Errorf("ack: %v", p)
	}
}
