package demo

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/soebot/soebot/internal/e2e"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	)
}

func startEnv(t *testing.T) *e2e.Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	e, err := e2e.Start(ctx, e2e.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("bot stopped with error: %v", err)
		}
	})
	return e
}

// A failed expectation stops the tour, says why and makes Run fail;
// steps whose feature is missing are skipped and said so.
func TestPlayStopsAtFirstFailure(t *testing.T) {
	e := startEnv(t)
	var out bytes.Buffer
	tr := newTour(e, Options{Out: &out, Wait: 2 * time.Second})
	ran := 0
	err := tr.play(context.Background(), []step{
		{title: "first", run: func(context.Context) error { ran++; return nil }, checked: "first ok"},
		{title: "needs a feature", needs: []string{"frobnicate"}, run: func(context.Context) error { ran++; return nil }},
		{title: "breaks", run: func(context.Context) error { ran++; return errors.New("the reply lacks X") }},
		{title: "never", run: func(context.Context) error { ran++; return nil }},
	})
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "step 2 (breaks)") {
		t.Fatalf("err = %v", err)
	}
	if ran != 2 {
		t.Errorf("%d steps ran, want 2", ran)
	}
	for _, want := range []string{"━━ 1. first", "✓ first ok", "skipped: needs a feature — this build has no /soe frobnicate", "✗ FAILED: the reply lacks X", "stopped at step 2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// -interactive: /soe lines typed as the chosen user get their replies
// printed; :connect follows the last Connect button.
func TestInteractive(t *testing.T) {
	e := startEnv(t)
	var out bytes.Buffer
	tr := newTour(e, Options{Out: &out, As: "erin", Wait: 5 * time.Second})
	in := strings.NewReader("/soe help\nhello\n/soe whoami\n:connect\n/soe experts go\n:quit\n/soe frobnicate\n")
	if err := tr.interactive(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	o := out.String()
	for _, want := range []string{
		"you are erin in #general",
		"/soe help",                              // help reply
		"Type a /soe command",                    // "hello" is not a command
		"not connected a Stack Overflow account", // whoami before linking
		"web page: Connected",                    // :connect
		"Connected as Erin Evans",                // the DM
		"Experts on go", "@erin",                 // experts after linking
	} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(o, "frobnicate") {
		t.Error("a line after :quit was run")
	}
	if t.Failed() {
		t.Logf("output:\n%s", o)
	}
	tr.o.As = "nobody"
	if err := tr.interactive(context.Background(), strings.NewReader("")); err == nil {
		t.Error("an unknown -as user was accepted")
	}
}
