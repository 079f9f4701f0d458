package slackfake

import (
	"fmt"
	"slices"
)

// Grid makes the fake an Enterprise Grid organization with the app
// installed org-wide: user ids are org-wide (a User belongs to its home
// Workspace but acts in any), every envelope carries enterprise_id, the
// team_id of the workspace it happened in (the channel's, else the
// person's home), is_enterprise_install and org-level authorizations;
// auth.test answers for the organization (no team_id) and team.info needs
// its team argument, as with an org-level token.
type Grid struct {
	EnterpriseID, EnterpriseName string // defaults "E0ACME", "Acme Corp"
	// Workspaces of the organization; the first is where users and
	// channels without a TeamID live. Default: one, Options.TeamID.
	Workspaces []Workspace
}

// Workspace is one workspace of a Grid organization.
type Workspace struct{ ID, Name, Domain string }

func (f *Fake) grid() *Grid { return f.opts.Grid }

// defaultGrid fills a Grid's defaults from opts.
func defaultGrid(opts *Options) {
	if opts.Grid == nil {
		return
	}
	cp := *opts.Grid
	cp.Workspaces = slices.Clone(cp.Workspaces)
	g := &cp
	opts.Grid = g
	if g.EnterpriseID == "" {
		g.EnterpriseID = "E0ACME"
	}
	if g.EnterpriseName == "" {
		g.EnterpriseName = "Acme Corp"
	}
	if len(g.Workspaces) == 0 {
		g.Workspaces = []Workspace{{ID: opts.TeamID, Name: opts.TeamName, Domain: opts.TeamDomain}}
	}
}

// EnterpriseID is the Grid organization's id ("" without Grid).
func (f *Fake) EnterpriseID() string {
	if g := f.grid(); g != nil {
		return g.EnterpriseID
	}
	return ""
}

// userTeamLocked is the home workspace of user: its TeamID, else the
// first workspace (or the fake's team).
func (f *Fake) userTeamLocked(id string) string {
	if u := f.users[id]; u != nil && u.TeamID != "" {
		return u.TeamID
	}
	if g := f.grid(); g != nil {
		return g.Workspaces[0].ID
	}
	return f.opts.TeamID
}

// externalLocked reports whether user belongs to another organization.
func (f *Fake) externalLocked(id string) bool {
	u := f.users[id]
	return u != nil && u.EnterpriseID != "" && u.EnterpriseID != f.EnterpriseID()
}

// workspaceLocked is the workspace an envelope of user in channel happens
// in: the channel's, else the person's home workspace.
func (f *Fake) workspaceLocked(user, channel string) string {
	if c := f.channels[channel]; c != nil {
		switch {
		case c.TeamID != "":
			return c.TeamID
		case f.grid() != nil:
			return f.grid().Workspaces[0].ID
		}
		return f.opts.TeamID
	}
	return f.userTeamLocked(user)
}

// gridPayload rewrites an envelope's payload the way Slack sends it to an
// org-wide app (see Grid). Without Grid it changes nothing.
func (f *Fake) gridPayload(env *envelope, payload any) {
	p, ok := payload.(map[string]any)
	g := f.grid()
	if !ok || g == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	channel := env.channel
	if ev, ok := p["event"].(map[string]any); ok && channel == "" {
		channel, _ = ev["channel"].(string)
	}
	ws, ent := f.workspaceLocked(env.user, channel), g.EnterpriseID
	userTeam := f.userTeamLocked(env.user)
	if f.externalLocked(env.user) {
		ent = f.users[env.user].EnterpriseID
	}
	switch env.typ {
	case "slash_commands":
		p["team_id"], p["enterprise_id"], p["is_enterprise_install"] = ws, g.EnterpriseID, true
		if f.externalLocked(env.user) {
			p["team_id"], p["enterprise_id"] = userTeam, ent // the person's own organization
		}
	case "interactive":
		p["team"] = map[string]any{"id": ws, "domain": f.domainLocked(ws), "enterprise_id": g.EnterpriseID}
		p["enterprise"] = map[string]any{"id": g.EnterpriseID, "name": g.EnterpriseName}
		p["is_enterprise_install"] = true
		if u, ok := p["user"].(map[string]any); ok {
			u["team_id"] = userTeam
		}
	case "events_api":
		p["team_id"], p["enterprise_id"], p["is_enterprise_install"] = ws, g.EnterpriseID, true
		p["authorizations"] = []any{map[string]any{
			"enterprise_id": g.EnterpriseID, "team_id": nil, "user_id": f.opts.BotUserID,
			"is_bot": true, "is_enterprise_install": true,
		}}
		if ev, ok := p["event"].(map[string]any); ok && env.user != "" {
			ev["user_team"] = userTeam
		}
	}
}

func (f *Fake) domainLocked(team string) string {
	if g := f.grid(); g != nil {
		for _, w := range g.Workspaces {
			if w.ID == team {
				return w.Domain
			}
		}
	}
	return f.opts.TeamDomain
}

// apiGridTeamInfo is team.info with an org-level token: it needs team.
func (f *Fake) apiGridTeamInfo(q *apiReq) apiResp {
	team := q.str("team")
	for _, w := range f.grid().Workspaces {
		if w.ID == team {
			return ok(map[string]any{"team": map[string]any{
				"id": w.ID, "name": w.Name, "domain": w.Domain, "enterprise_id": f.grid().EnterpriseID,
				"enterprise_name": f.grid().EnterpriseName, "icon": map[string]any{"image_default": true},
			}})
		}
	}
	if team == "" {
		return fail("missing_argument")
	}
	return fail("team_not_found")
}

// TeamAccess sends team_access_granted (granted) or team_access_revoked for
// teams, as Slack does when an org admin adds the app to workspaces or
// removes it. While a workspace is revoked the bot cannot post in its
// channels (channel_not_found).
func (f *Fake) TeamAccess(granted bool, teams ...string) (*Sent, error) {
	if f.grid() == nil {
		return nil, fmt.Errorf("slackfake: TeamAccess needs Options.Grid")
	}
	typ := "team_access_revoked"
	f.mu.Lock()
	for _, t := range teams {
		if granted {
			delete(f.revoked, t)
		} else {
			f.revoked[t] = true
		}
	}
	f.mu.Unlock()
	if granted {
		typ = "team_access_granted"
	}
	return f.Event(typ, map[string]any{"team_ids": slices.Clone(teams)})
}

// revokedLocked reports whether channel c lives in a workspace the app
// was removed from.
func (f *Fake) revokedLocked(c *Channel) bool {
	if c == nil || f.grid() == nil {
		return false
	}
	ws := c.TeamID
	if ws == "" {
		ws = f.grid().Workspaces[0].ID
	}
	return f.revoked[ws]
}
