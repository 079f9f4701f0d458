package soe

import (
	"fmt"
	"net/url"
	"strings"
)

// Scope selects where API calls go: the main site (Team == "") or a private
// team (Team is the team slug, the "c/<slug>" segment of the team URL).
type Scope struct{ Team string }

// MainSite returns the scope of the SOE main site.
func MainSite() Scope { return Scope{} }

// TeamScope returns the scope of the private team with the given slug.
func TeamScope(slug string) Scope { return Scope{Team: slug} }

// IsTeam reports whether s is a private team.
func (s Scope) IsTeam() bool { return s.Team != "" }

// Key returns a stable key, "main" or "team:<slug>", suitable for storage.
func (s Scope) Key() string {
	if s.IsTeam() {
		return "team:" + s.Team
	}
	return "main"
}

// String returns a user-facing description: "main site" or "team <slug>".
func (s Scope) String() string {
	if s.IsTeam() {
		return "team " + s.Team
	}
	return "main site"
}

// ParseScopeKey is the inverse of Scope.Key.
func ParseScopeKey(k string) (Scope, error) {
	switch {
	case k == "main":
		return MainSite(), nil
	case strings.HasPrefix(k, "team:"):
		slug := strings.TrimPrefix(k, "team:")
		if slug == "" || strings.ContainsAny(slug, "/?#% ") {
			return Scope{}, fmt.Errorf("soe: invalid team slug in scope key %q", k)
		}
		return TeamScope(slug), nil
	default:
		return Scope{}, fmt.Errorf("soe: invalid scope key %q (want \"main\" or \"team:<slug>\")", k)
	}
}

// pathPrefix is the part inserted between the API base URL and a resource path.
func (s Scope) pathPrefix() string {
	if s.IsTeam() {
		return "/teams/" + url.PathEscape(s.Team)
	}
	return ""
}
