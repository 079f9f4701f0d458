package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The whole tour, as `go run ./cmd/bot demo` plays it: exit 0 and the key
// moments of every feature in the output.
func TestDemoTourPasses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"demo", "-http"}, func(string) (string, bool) { return "", false }, &out, &errb)
	if code != 0 {
		t.Fatalf("bot demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	o := out.String()
	for _, want := range []string{
		"Local URLs", "fake SOE",
		"alice types in #general:  /soe help",
		"Connect your Stack Overflow account",
		"web page: Connect Stack Overflow",
		"clicks [Continue] → redirected to Stack Overflow",
		"web page: Connected",
		"DM from soebot to alice",
		"Connected as Alice Anderson (read-write, main site)",
		"@bob (Bob Brown", // mentions shown by name
		"in #general, from soebot",
		"Shared by @alice",
		"== Ask a question ==", "Posted:", "I let 3 subject-matter experts know",
		"Results 1–5",
		"subscribed this channel to `go`", "New answer",
		"Your Stack Overflow connections",
		"Disconnected your Stack Overflow account",
		"All ", "steps of the tour did what they should.",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, bad := range []string{"FAILED", "<@U", "&lt;", "&amp;"} {
		if strings.Contains(o, bad) {
			t.Errorf("output contains %q", bad)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", o)
	}
}

func TestDemoBadFlags(t *testing.T) {
	for _, args := range [][]string{{"demo", "-nope"}, {"demo", "extra"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, func(string) (string, bool) { return "", false }, &out, &errb); code != 2 {
			t.Errorf("bot %v: exit %d, want 2", args, code)
		}
		if !strings.Contains(errb.String(), "Usage: bot demo") {
			t.Errorf("bot %v: no usage on stderr:\n%s", args, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"demo", "-h"}, func(string) (string, bool) { return "", false }, &out, &errb); code != 0 {
		t.Errorf("bot demo -h: exit %d", code)
	}
}
