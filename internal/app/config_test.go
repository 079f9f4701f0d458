package app

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func TestLoadConfig(t *testing.T) {
	valid := map[string]string{
		"SLACK_APP_TOKEN": "xapp-1-A", "SLACK_BOT_TOKEN": "xoxb-1", "SOE_URL": "https://acme.stackenterprise.co/",
		"SOE_CLIENT_ID": "42", "PUBLIC_URL": "https://bot.acme.example",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range valid {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<unset>" {
				delete(m, kv[i])
				continue
			}
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    []string // substrings of the error; nil = valid
		notWant []string
	}{
		{name: "valid with defaults", env: valid},
		{name: "empty", env: map[string]string{}, want: []string{"SLACK_APP_TOKEN is required", "SLACK_BOT_TOKEN is required", "SOE_URL is required", "SOE_CLIENT_ID is required", "PUBLIC_URL is required"}},
		{name: "wrong token kinds never echoed", env: with("SLACK_BOT_TOKEN", "xoxp-SECRET-user-token", "SLACK_APP_TOKEN", "xoxb-SECRET2"),
			want: []string{"SLACK_BOT_TOKEN must be a bot token", "SLACK_APP_TOKEN must be an app-level token"}, notWant: []string{"SECRET"}},
		{name: "bad urls", env: with("SOE_URL", "acme", "PUBLIC_URL", "ftp://x", "SLACK_API_URL", "https://slack.com/api"),
			want: []string{"SOE_URL must be", "PUBLIC_URL must be", "SLACK_API_URL must end in /"}},
		{name: "bad duration and level", env: with("POLL_INTERVAL", "soon", "LOG_LEVEL", "loud", "LOG_FORMAT", "xml"),
			want: []string{"POLL_INTERVAL", "LOG_LEVEL", "LOG_FORMAT"}},
		{name: "bad bool", env: with("LINK_REQUIRE_EMAIL_MATCH", "maybe"), want: []string{"LINK_REQUIRE_EMAIL_MATCH"}},
		{name: "bad addr", env: with("HTTP_ADDR", "8080"), want: []string{"HTTP_ADDR"}},
		{name: "bad admin addr", env: with("ADMIN_ADDR", "9090"), want: []string{`ADMIN_ADDR "9090" is not host:port`}},
		{name: "admin on the public port", env: with("HTTP_ADDR", ":8080", "ADMIN_ADDR", "127.0.0.1:8080"), want: []string{"ADMIN_ADDR", "another port than HTTP_ADDR"}},
		{name: "bad trusted proxies", env: with("TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal, 10.0.0.0/40"),
			want: []string{"TRUSTED_PROXIES", `"proxy.internal"`, `"10.0.0.0/40"`}, notWant: []string{`"10.0.0.0/8"`}},
		{name: "bad workers", env: with("HANDLER_WORKERS", "0"), want: []string{"HANDLER_WORKERS"}},
		{name: "workers not a number", env: with("HANDLER_WORKERS", "lots"), want: []string{"HANDLER_WORKERS"}},
		{name: "admin users", env: with("ADMIN_SLACK_USERS", " UADMIN1, ,W2 ")},
		{name: "bad admin users", env: with("ADMIN_SLACK_USERS", "UOK,#general,C123"), want: []string{"ADMIN_SLACK_USERS", `"#general"`, `"C123"`}, notWant: []string{`"UOK"`}},
		{name: "Basic/Business without a team", env: with("SOE_URL", "https://stackoverflowteams.com/", "SOE_CLIENT_ID", "<unset>"),
			want: []string{"must name the team", "stackoverflowteams.com/c/<team>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig(mapLookup(tt.env))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if cfg.SOEAPIURL != "https://acme.stackenterprise.co/api/v3" || cfg.PollInterval != time.Minute || cfg.HTTPAddr != ":8080" || !cfg.LinkRequireEmailMatch || cfg.HandlerWorkers != 512 ||
					cfg.AdminAddr != "127.0.0.1:9090" || len(cfg.TrustedProxies) != 0 {
					t.Fatalf("defaults not applied: %+v", cfg)
				}
				if got := strings.Join(cfg.AdminSlackUsers, ","); tt.env["ADMIN_SLACK_USERS"] != "" && got != "UADMIN1,W2" {
					t.Fatalf("ADMIN_SLACK_USERS read as %q", got)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("want *ConfigError, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error leaks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestBasicBusinessConfig: SOE_URL …/c/<team> selects Stack Overflow for
// Teams Basic/Business: the API base defaults to api.stackoverflowteams.com
// and SOE_CLIENT_ID is not needed.
func TestBasicBusinessConfig(t *testing.T) {
	base := map[string]string{"SLACK_APP_TOKEN": "xapp-1-A", "SLACK_BOT_TOKEN": "xoxb-1", "PUBLIC_URL": "https://bot.acme.example"}
	tests := []struct {
		name, site, api, wantTeam, wantAPI string
	}{
		{"team site", "https://stackoverflowteams.com/c/acme-corp/", "", "acme-corp", "https://api.stackoverflowteams.com/v3/teams/acme-corp"},
		{"www", "https://www.stackoverflowteams.com/c/acme", "", "acme", "https://api.stackoverflowteams.com/v3/teams/acme"},
		{"API overridden", "https://stackoverflowteams.com/c/acme", "http://127.0.0.1:9/v3/teams/acme/", "acme", "http://127.0.0.1:9/v3/teams/acme"},
		{"Enterprise", "https://acme.stackenterprise.co", "", "", "https://acme.stackenterprise.co/api/v3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"SOE_URL": tt.site, "SOE_API_URL": tt.api}
			if tt.wantTeam == "" {
				env["SOE_CLIENT_ID"] = "42"
			}
			for k, v := range base {
				env[k] = v
			}
			cfg, err := LoadConfig(mapLookup(env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.SOETeam != tt.wantTeam || cfg.SOEAPIURL != tt.wantAPI {
				t.Fatalf("team %q api %q; want %q %q", cfg.SOETeam, cfg.SOEAPIURL, tt.wantTeam, tt.wantAPI)
			}
		})
	}
}

func TestUsageListsEveryVariable(t *testing.T) {
	var b strings.Builder
	if err := Usage(&b); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_API_URL", "SOE_URL", "SOE_API_URL", "SOE_CLIENT_ID", "PUBLIC_URL", "HTTP_ADDR", "ADMIN_ADDR", "TRUSTED_PROXIES", "LINK_REQUIRE_EMAIL_MATCH", "DB_PATH", "TOKEN_KEY", "POLL_INTERVAL", "LOG_LEVEL", "LOG_FORMAT", "HANDLER_WORKERS"} {
		if !strings.Contains(b.String(), v) {
			t.Errorf("usage lacks %s", v)
		}
	}
}

func TestTrustedProxiesParsed(t *testing.T) {
	cfg, err := LoadConfig(mapLookup(map[string]string{
		"SLACK_APP_TOKEN": "xapp-1-A", "SLACK_BOT_TOKEN": "xoxb-1", "SOE_URL": "https://acme.stackenterprise.co",
		"SOE_CLIENT_ID": "42", "PUBLIC_URL": "https://bot.acme.example",
		"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7 ,2001:db8::/32", "ADMIN_ADDR": "0.0.0.0:9100",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range cfg.TrustedProxies {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 192.0.2.7/32 2001:db8::/32" || cfg.AdminAddr != "0.0.0.0:9100" {
		t.Fatalf("%v %q", got, cfg.AdminAddr)
	}
}
