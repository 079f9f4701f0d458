package app

import (
	"slices"
	"testing"
)

// An org-wide (Enterprise Grid) install needs org_deploy_enabled, and the
// workspace events it brings are handled.
func TestManifestIsOrgReady(t *testing.T) {
	raw, _ := readManifest(t)
	settings, _ := raw.(map[string]any)["settings"].(map[string]any)
	if on, _ := settings["org_deploy_enabled"].(bool); !on {
		t.Error("manifest.yaml: org_deploy_enabled must be true (Enterprise Grid installs)")
	}
	h := newTestApp(t).Parts.Router.Handles()
	for _, ev := range []string{"team_access_granted", "team_access_revoked"} {
		if !slices.Contains(h.Events, ev) {
			t.Errorf("%s not handled", ev)
		}
	}
}
