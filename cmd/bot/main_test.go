package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestNoEnvironmentExits2NamingEveryMissingVariable(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), nil, func(string) (string, bool) { return "", false }, &out, &errb)
	if code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	for _, v := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SOE_URL", "SOE_CLIENT_ID", "PUBLIC_URL"} {
		if !strings.Contains(errb.String(), v) {
			t.Errorf("stderr does not name %s:\n%s", v, errb.String())
		}
	}
}

func TestHelpListsVariables(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{arg}, func(string) (string, bool) { return "", false }, &out, &errb); code != 0 {
			t.Fatalf("bot %s exit %d: %s", arg, code, errb.String())
		}
		for _, v := range []string{"SLACK_APP_TOKEN", "SOE_URL", "POLL_INTERVAL", "backup", "rotate-keys", "healthcheck"} {
			if !strings.Contains(out.String(), v) {
				t.Errorf("bot %s output lacks %s", arg, v)
			}
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	// demo is its own binary (cmd/demo): the bot does not link the fakes.
	for _, cmd := range []string{"frobnicate", "demo"} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{cmd}, func(string) (string, bool) { return "", false }, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
			t.Errorf("bot %s: exit %d, stderr %q", cmd, code, errb.String())
		}
	}
}

func TestMalformedValuesNeverEchoTokens(t *testing.T) {
	env := map[string]string{"SLACK_APP_TOKEN": "xoxb-SENTINEL-1", "SLACK_BOT_TOKEN": "xoxp-SENTINEL-2", "SOE_URL": "::", "SOE_CLIENT_ID": "1", "PUBLIC_URL": "https://x"}
	var out, errb bytes.Buffer
	code := run(context.Background(), nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &out, &errb)
	if code != 2 || strings.Contains(errb.String(), "SENTINEL") {
		t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
	}
}

func TestSubscriptionsExportUsage(t *testing.T) {
	for _, args := range [][]string{{"subscriptions"}, {"subscriptions", "import"}, {"subscriptions", "export", "x"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, func(string) (string, bool) { return "", false }, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage: bot subscriptions export") {
			t.Errorf("bot %v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
