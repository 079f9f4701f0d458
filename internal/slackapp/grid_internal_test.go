package slackapp

import (
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/soebot/soebot/internal/chat"
)

func TestOrgFields(t *testing.T) {
	single := &install{team: "T1"}
	org := &install{enterprise: "E1"}
	type want struct {
		tenant, workspace, enterprise string
		orgInstall, external          bool
	}
	for _, c := range []struct {
		name string
		in   *install
		env  chat.Envelope
		raw  string
		want want
	}{
		{"single-workspace slash: keys as before", single, chat.Envelope{TeamID: "T1", Slash: &slack.SlashCommand{}},
			`{"team_id":"T1","is_enterprise_install":false}`, want{"T1", "T1", "", false, false}},
		{"single-workspace slash from another workspace", single, chat.Envelope{TeamID: "T9", Slash: &slack.SlashCommand{}},
			`{"team_id":"T9"}`, want{"T9", "T9", "", false, true}},
		{"Grid workspace install keeps the team key", &install{enterprise: "E1", team: "T1"}, chat.Envelope{TeamID: "T1", Slash: &slack.SlashCommand{}},
			`{"team_id":"T1","enterprise_id":"E1","is_enterprise_install":"false"}`, want{"T1", "T1", "E1", false, false}},
		{"org-wide slash in workspace B", org, chat.Envelope{TeamID: "T2", Slash: &slack.SlashCommand{}},
			`{"team_id":"T2","enterprise_id":"E1","is_enterprise_install":true}`, want{"E1", "T2", "E1", true, false}},
		{"org-wide slash from another organization", org, chat.Envelope{TeamID: "T9", Slash: &slack.SlashCommand{}},
			`{"team_id":"T9","enterprise_id":"E9","is_enterprise_install":true}`, want{"E9", "T9", "E9", true, true}},
		{"org-wide interaction", org, chat.Envelope{TeamID: "T2", Interaction: &slack.InteractionCallback{}},
			`{"team":{"id":"T2"},"enterprise":{"id":"E1"},"is_enterprise_install":true,"user":{"id":"W1","team_id":"T3"}}`, want{"E1", "T2", "E1", true, false}},
		{"single-workspace interaction of an external person", single, chat.Envelope{TeamID: "T1", Interaction: &slack.InteractionCallback{}},
			`{"team":{"id":"T1"},"enterprise":null,"user":{"id":"U9","team_id":"T9"}}`, want{"T1", "T1", "", false, true}},
		{"org-wide event (authorizations)", org, chat.Envelope{TeamID: "T2", Event: &slackevents.EventsAPIEvent{}},
			`{"team_id":"T2","authorizations":[{"enterprise_id":"E1","team_id":null,"is_enterprise_install":true}],"event":{"user_team":"T2"}}`, want{"E1", "T2", "E1", true, false}},
		{"single-workspace event of an external person", single, chat.Envelope{TeamID: "T1", Event: &slackevents.EventsAPIEvent{}},
			`{"team_id":"T1","authorizations":[{"enterprise_id":null,"team_id":"T1"}],"event":{"user_team":"T9"}}`, want{"T1", "T1", "", false, true}},
		{"org-wide event in a Slack Connect channel from another workspace", org, chat.Envelope{TeamID: "T2", Event: &slackevents.EventsAPIEvent{}},
			`{"team_id":"T2","is_ext_shared_channel":true,"authorizations":[{"enterprise_id":"E1","is_enterprise_install":true}],"event":{"user_team":"T9"}}`, want{"E1", "T2", "E1", true, true}},
		{"org-wide event in a Slack Connect channel from its workspace", org, chat.Envelope{TeamID: "T2", Event: &slackevents.EventsAPIEvent{}},
			`{"team_id":"T2","is_ext_shared_channel":true,"authorizations":[{"enterprise_id":"E1","is_enterprise_install":true}],"event":{"user_team":"T2"}}`, want{"E1", "T2", "E1", true, false}},
		{"no install known: nobody external", nil, chat.Envelope{TeamID: "T9", Slash: &slack.SlashCommand{}},
			`{"team_id":"T9","enterprise_id":"E9"}`, want{"T9", "T9", "E9", false, false}},
		{"undecodable payload changes nothing", org, chat.Envelope{TeamID: "T1", Slash: &slack.SlashCommand{}},
			`{`, want{"T1", "", "", false, false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := c.env
			env.Raw = []byte(c.raw)
			orgFields(&env, c.in)
			got := want{env.TeamID, env.Workspace, env.EnterpriseID, env.OrgInstall, env.External}
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
