package slackfake

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func TestGridEnvelopesAndWebAPI(t *testing.T) {
	f := newFake(t, Options{Grid: &Grid{EnterpriseID: "E1", Workspaces: []Workspace{{ID: "TA", Name: "A", Domain: "a"}, {ID: "TB", Name: "B", Domain: "b"}}}})
	f.AddChannel(Channel{ID: "CB", Name: "beta", TeamID: "TB", Members: []string{"U1", f.BotUserID()}})
	f.AddUser(User{ID: "WX", Name: "vic", TeamID: "TX", EnterpriseID: "EX"})
	payloads := make(chan json.RawMessage, 10)
	api := runApp(t, f, func(h *socketmode.SocketmodeHandler, _ *slack.Client) {
		h.HandleDefault(func(e *socketmode.Event, c *socketmode.Client) {
			if e.Request != nil && len(e.Request.Payload) > 0 {
				payloads <- e.Request.Payload
				_ = c.Ack(*e.Request)
			}
		})
	})
	next := func() map[string]any {
		t.Helper()
		select {
		case raw := <-payloads:
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			return m
		case <-time.After(5 * time.Second):
			t.Fatal("no envelope")
		}
		return nil
	}
	if _, err := f.SlashCommand("U1", "CB", "/soe", "help"); err != nil {
		t.Fatal(err)
	}
	p := next()
	if org, _ := p["is_enterprise_install"].(bool); p["team_id"] != "TB" || p["enterprise_id"] != "E1" || !org {
		t.Errorf("slash in workspace B: %v", p)
	}
	if _, err := f.SlashCommand("WX", "C1", "/soe", "help"); err != nil {
		t.Fatal(err)
	}
	if p := next(); p["team_id"] != "TX" || p["enterprise_id"] != "EX" {
		t.Errorf("slash of a person of another organization: %v", p)
	}
	if _, err := f.TeamAccess(false, "TB"); err != nil {
		t.Fatal(err)
	}
	p = next()
	ev, _ := p["event"].(map[string]any)
	auth, _ := p["authorizations"].([]any)
	if len(auth) != 1 {
		t.Fatalf("authorizations: %v", p)
	}
	if org, _ := auth[0].(map[string]any)["is_enterprise_install"].(bool); ev["type"] != "team_access_revoked" || !org {
		t.Errorf("team_access_revoked: %v", p)
	}
	if _, _, err := api.PostMessage("CB", slack.MsgOptionText("hi", false)); slackErr(err) != "channel_not_found" {
		t.Errorf("post in a removed workspace: %v", err)
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("post in workspace A: %v", err)
	}
	at, err := api.AuthTest()
	if err != nil || at.EnterpriseID != "E1" || at.TeamID != "" {
		t.Errorf("auth.test: %+v %v", at, err)
	}
	if _, err := api.GetTeamInfo(); slackErr(err) != "missing_argument" {
		t.Errorf("team.info without team: %v", err)
	}
	if ti, err := api.GetOtherTeamInfoContext(t.Context(), "TB"); err != nil || ti.Name != "B" {
		t.Errorf("team.info TB: %+v %v", ti, err)
	}
}
