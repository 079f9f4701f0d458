package app

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/soebot/soebot/internal/reference"
)

type manifest struct {
	Features struct {
		SlashCommands []struct {
			Command string `yaml:"command"`
		} `yaml:"slash_commands"`
		Shortcuts []struct {
			CallbackID string `yaml:"callback_id"`
			Type       string `yaml:"type"`
		} `yaml:"shortcuts"`
		AppHome struct {
			HomeTabEnabled bool `yaml:"home_tab_enabled"`
		} `yaml:"app_home"`
		UnfurlDomains []string `yaml:"unfurl_domains"`
	} `yaml:"features"`
	OAuth struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		EventSubscriptions struct {
			BotEvents []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		SocketMode bool `yaml:"socket_mode_enabled"`
	} `yaml:"settings"`
}

func readManifest(t *testing.T) (raw any, m manifest) {
	t.Helper()
	root, err := reference.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatalf("manifest.yaml: %v", err)
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest.yaml: %v", err)
	}
	return raw, m
}

func TestManifestMatchesSchema(t *testing.T) {
	schemaPath, err := reference.Path("slack/app-manifest.schema.json")
	if err != nil {
		if reference.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	raw, _ := readManifest(t)
	// Round-trip through JSON so YAML maps become map[string]any.
	j, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytesReader(j))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("manifest.yaml does not match Slack's schema:\n%v", err)
	}
}

// The manifest declares exactly what the code handles: every command,
// shortcut and event the bot routes is declared, and nothing declared is
// unhandled.
func TestManifestDeclaresWhatTheCodeHandles(t *testing.T) {
	_, m := readManifest(t)
	a := newTestApp(t)
	h := a.Parts.Router.Handles()

	var cmds, shortcuts []string
	for _, c := range m.Features.SlashCommands {
		cmds = append(cmds, c.Command)
	}
	for _, s := range m.Features.Shortcuts {
		shortcuts = append(shortcuts, s.CallbackID)
	}
	sort.Strings(cmds)
	sort.Strings(shortcuts)
	// message.channels, message.groups…: Slack sends them all as "message".
	var events []string
	for _, ev := range m.Settings.EventSubscriptions.BotEvents {
		if strings.HasPrefix(ev, "message.") {
			ev = "message"
		}
		if !slices.Contains(events, ev) {
			events = append(events, ev)
		}
	}
	sort.Strings(events)

	if !slices.Equal(cmds, h.Commands) {
		t.Errorf("slash commands: manifest %v, code %v", cmds, h.Commands)
	}
	if !slices.Equal(shortcuts, nonNil(h.Shortcuts)) && !(len(shortcuts) == 0 && len(h.Shortcuts) == 0) {
		t.Errorf("shortcuts: manifest %v, code %v", shortcuts, h.Shortcuts)
	}
	if !slices.Equal(events, nonNil(h.Events)) && !(len(events) == 0 && len(h.Events) == 0) {
		t.Errorf("events: manifest %v, code %v", events, h.Events)
	}
	if home := slices.Contains(h.Events, "app_home_opened"); home != m.Features.AppHome.HomeTabEnabled {
		t.Errorf("home tab enabled=%v but app_home_opened handled=%v", m.Features.AppHome.HomeTabEnabled, home)
	}
	if !m.Settings.SocketMode {
		t.Error("socket_mode_enabled must be true")
	}
	// Scopes each handled feature needs.
	need := []string{"commands", "chat:write"}
	if slices.Contains(h.Events, "link_shared") {
		need = append(need, "links:read", "links:write")
	}
	if a.Parts.Router.HasSubcommand("report") { // the chart: files.uploadV2
		need = append(need, "files:write")
	}
	if a.Parts.Router.HasSubcommand("subscriptions") { // subscriptions all: users.info is_admin/is_owner
		need = append(need, "users:read")
	}
	for _, ev := range m.Settings.EventSubscriptions.BotEvents {
		switch ev {
		case "message.channels":
			need = append(need, "channels:history")
		case "message.groups":
			need = append(need, "groups:history")
		}
	}
	for _, s := range need {
		if !slices.Contains(m.OAuth.Scopes.Bot, s) {
			t.Errorf("bot scope %s missing", s)
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// newTestApp builds the fully wired bot (not running) on a loopback listener.
func newTestApp(t *testing.T) *App {
	t.Helper()
	ln, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(mapLookup(map[string]string{
		"SLACK_APP_TOKEN": "xapp-1-test", "SLACK_BOT_TOKEN": "xoxb-test",
		"SLACK_API_URL": "http://127.0.0.1:1/api/", "SOE_URL": "http://127.0.0.1:2",
		"SOE_CLIENT_ID": "1", "PUBLIC_URL": "http://127.0.0.1:3",
		"DB_PATH": filepath.Join(t.TempDir(), "soebot.db"), "HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0",
		"TOKEN_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	}))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, Options{Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close(); _ = a.close() })
	return a
}

func mapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}
