package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// The whole tour, as `go run ./cmd/demo` plays it: exit 0 and the key
// moments of every feature in the output.
func TestDemoTourPasses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"-http"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
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
		"Connected as Alice Anderson (read-write requested, main site)",
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

func TestDemoFlags(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		code  int
		usage bool
	}{
		{[]string{"-nope"}, 2, true},
		{[]string{"extra"}, 2, true},
		{[]string{"-h"}, 0, true},
	} {
		var errb strings.Builder
		if code := run(context.Background(), tc.args, strings.NewReader(""), io.Discard, &errb); code != tc.code {
			t.Errorf("demo %v: exit %d, want %d", tc.args, code, tc.code)
		}
		if got := strings.Contains(errb.String(), "Usage: demo"); got != tc.usage {
			t.Errorf("demo %v: usage on stderr is %v, want %v:\n%s", tc.args, got, tc.usage, errb.String())
		}
	}
}
