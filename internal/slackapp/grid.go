package slackapp

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/soebot/soebot/internal/chat"
)

// install is the app's own organization as auth.test names it: the
// enterprise (Enterprise Grid, org-wide or workspace install) and the
// workspace (empty for an org-wide token).
type install struct {
	enterprise, team string
}

// learnInstall asks auth.test once who the app is installed for, so that
// people of another organization (Slack Connect) can be told apart. When it
// fails nobody is taken to be external.
func (a *App) learnInstall(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r, err := a.api.AuthTestContext(ctx)
	if err != nil {
		a.log.WarnContext(ctx, "auth.test failed; people of other organizations are not told apart", "err", err)
		return
	}
	a.install.Store(&install{enterprise: r.EnterpriseID, team: r.TeamID})
}

// gridPayload is what an envelope says about organizations, whatever its
// type: slash commands (enterprise_id, team_id of the person's workspace),
// interactions (enterprise, team, user.team_id) and events (authorizations,
// event.user_team).
type gridPayload struct {
	EnterpriseID        string               `json:"enterprise_id"`
	TeamID              string               `json:"team_id"`
	IsEnterpriseInstall any                  `json:"is_enterprise_install"`
	Enterprise          *struct{ ID string } `json:"enterprise"`
	Team                *struct{ ID string } `json:"team"`
	User                json.RawMessage      `json:"user"`
	Authorizations      []struct {
		EnterpriseID        *string `json:"enterprise_id"`
		TeamID              *string `json:"team_id"`
		IsEnterpriseInstall bool    `json:"is_enterprise_install"`
	} `json:"authorizations"`
	Event struct {
		UserTeam string `json:"user_team"`
	} `json:"event"`
	ExtShared bool `json:"is_ext_shared_channel"`
}

// orgFields fills env's Workspace, EnterpriseID, OrgInstall, the tenant
// TeamID and External from its raw payload. A payload without enterprise
// leaves TeamID as it was: single-workspace installs key exactly as before.
func orgFields(env *chat.Envelope, in *install) {
	var p gridPayload
	if len(env.Raw) == 0 || json.Unmarshal(env.Raw, &p) != nil {
		return
	}
	ws, ent, org := env.TeamID, p.EnterpriseID, truthy(p.IsEnterpriseInstall)
	if p.Enterprise != nil && ent == "" {
		ent = p.Enterprise.ID
	}
	if p.Team != nil && p.Team.ID != "" {
		ws = p.Team.ID
	}
	if len(p.Authorizations) > 0 {
		a := p.Authorizations[0]
		if a.EnterpriseID != nil && ent == "" {
			ent = *a.EnterpriseID
		}
		org = org || a.IsEnterpriseInstall
	}
	env.Workspace, env.EnterpriseID, env.OrgInstall = ws, ent, org
	env.TeamID = chat.Tenant(ent, ws, org)
	userEnt, userTeam := "", p.Event.UserTeam
	switch {
	case env.Slash != nil:
		userEnt, userTeam = p.EnterpriseID, p.TeamID
	case env.Interaction != nil:
		var u struct {
			TeamID string `json:"team_id"`
		}
		if bytes.HasPrefix(bytes.TrimSpace(p.User), []byte("{")) && json.Unmarshal(p.User, &u) == nil {
			userTeam = u.TeamID
		}
	}
	env.UserTeam = userTeam
	env.External = external(in, userEnt, userTeam) || sharedStranger(in, p.ExtShared, userTeam, ws)
}

// sharedStranger: an event of an org-wide install in a Slack Connect
// channel names only the person's workspace (user_team), not their
// organization; one not of the event's workspace is taken to be external
// (at worst a colleague of another workspace gets no preview or suggestion
// there).
func sharedStranger(in *install, extShared bool, userTeam, workspace string) bool {
	return in != nil && in.enterprise != "" && extShared && userTeam != "" && userTeam != workspace
}

// external reports whether a person of userEnt/userTeam (either may be
// unknown: "") belongs to another organization than the install.
func external(in *install, userEnt, userTeam string) bool {
	switch {
	case in == nil:
		return false
	case in.enterprise != "":
		return userEnt != "" && userEnt != in.enterprise
	case userEnt != "":
		return true // the install has no enterprise; the person's has one
	default:
		return userTeam != "" && in.team != "" && userTeam != in.team
	}
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true"
	}
	return false
}

// workspaceName is team.info for one workspace of an org-wide install
// (an org-level token must name the team), cached per workspace.
func (c *Client) workspaceName(ctx context.Context, team string) string {
	c.mu.Lock()
	name, ok := c.teamNames[team]
	c.mu.Unlock()
	if ok {
		return name
	}
	err := c.call(ctx, "team.info", func() error {
		ti, err := c.api.GetOtherTeamInfoContext(ctx, team)
		if err == nil {
			name = ti.Name
		}
		return err
	})
	if err != nil {
		c.log.WarnContext(ctx, "team.info failed", "team", team, "err", err)
		return ""
	}
	c.mu.Lock()
	if c.teamNames == nil {
		c.teamNames = map[string]string{}
	}
	c.teamNames[team] = name
	c.mu.Unlock()
	return name
}
