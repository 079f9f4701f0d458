package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
)

// openHome sends app_home_opened for user and waits for a Home with match.
func (e *Env) openHome(t *testing.T, user, match string) *slackfake.View {
	t.Helper()
	if _, err := e.Slack.AppHomeOpened(user); err != nil {
		t.Fatal(err)
	}
	v, err := e.Slack.WaitHome(wait(t), user, match)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// homeWithout waits until user's Home no longer contains gone.
func (e *Env) homeWithout(t *testing.T, user, gone string) *slackfake.View {
	t.Helper()
	ctx := wait(t)
	for {
		if v := e.Slack.Home(user); v != nil && !strings.Contains(v.Flat(), gone) {
			return v
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Home of %s still shows %q:\n%s", user, gone, e.Slack.Home(user).Flat())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// homeButtonURL returns the URL of the Home button labelled label.
func homeButtonURL(t *testing.T, v *slackfake.View, label string) string {
	t.Helper()
	return buttonURL(t, slackfake.Message{Blocks: v.Blocks}, label)
}

func TestHomeNewUserConnectsFromHome(t *testing.T) {
	e := bot(t)
	judy := SlackUser("judy")
	v := e.openHome(t, judy, "not connected")
	if v.Type != "home" {
		t.Fatalf("published a %s view", v.Type)
	}
	if strings.Contains(v.Flat(), "Disconnect") {
		t.Error("an unlinked user is offered Disconnect")
	}
	for _, r := range e.SOE.Requests() {
		if strings.Contains(r.Path, "/api/") {
			t.Errorf("Home of an unlinked user called SOE: %s", r.Path)
		}
	}
	// Connecting from the Home's button re-publishes the Home.
	e.connect(t, homeButtonURL(t, v, "Connect"), "judy")
	v, err := e.Slack.WaitHome(wait(t), judy, "connected as")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.Flat(), "Judy Jones") || !strings.Contains(v.Flat(), "Disconnect") {
		t.Fatalf("Home after connecting:\n%s", v.Flat())
	}
	// Mallory has no SOE account at all: the Home still works.
	e.openHome(t, "UMALLORY", "not connected")
}

func TestHomeForLinkedSME(t *testing.T) {
	e := bot(t)
	// Carol is an SME of kubernetes and oncall through the "Platform Team" group.
	carol := e.linkedAs(t, "carol", "")
	v := e.openHome(t, carol, "Tags you are an expert on")
	flat := v.Flat()
	for _, want := range []string{"connected as", "Carol Chen", "kubernetes", "oncall",
		"Unanswered questions in your tags", "How do we rotate the kubeconfig credentials used by CI?",
		"Who should I ask about on-call handover for the payments service?"} {
		if !strings.Contains(flat, want) {
			t.Errorf("Home lacks %q:\n%s", want, flat)
		}
	}
	if strings.Contains(flat, "golang-generics") || strings.Contains(flat, "How do I use type parameters") {
		t.Errorf("Home shows tags carol is no expert on:\n%s", flat)
	}
	var blocks []json.RawMessage
	if err := json.Unmarshal(v.Blocks, &blocks); err != nil || len(blocks) > 100 {
		t.Fatalf("%d blocks, %v", len(blocks), err)
	}

	// Erin is the SME of go.
	erin := e.linkedAs(t, "erin", "")
	v = e.openHome(t, erin, "Tags you are an expert on")
	if flat := v.Flat(); !strings.Contains(flat, "How do I use type parameters with constraints in Go generics?") || strings.Contains(flat, "kubeconfig") {
		t.Errorf("erin's Home:\n%s", flat)
	}

	// Judy's Home before she links shows no expertise.
	e.openHome(t, SlackUser("judy"), "Connect your main-site account to see the tags")

	// Opening again soon is served from the cache: no new SME lookups.
	before := len(e.SOE.Requests())
	e.openHome(t, carol, "Tags you are an expert on")
	for _, r := range e.SOE.Requests()[before:] {
		if strings.Contains(r.Path, "subject-matter-experts") || strings.HasSuffix(r.Path, "/tags") {
			t.Errorf("re-opening the Home called %s", r.Path)
		}
	}
}

func TestHomeDisconnect(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	e.linkedAs(t, "alice", "platform")
	v := e.openHome(t, alice, "Team platform")
	sv, err := v.SlackView()
	if err != nil {
		t.Fatal(err)
	}
	// The Disconnect buttons ask for confirmation first.
	confirms := 0
	for _, b := range sv.Blocks.BlockSet {
		if s, ok := b.(*slack.SectionBlock); ok && s.Accessory != nil && s.Accessory.ButtonElement != nil {
			if btn := s.Accessory.ButtonElement; strings.HasPrefix(btn.ActionID, "home_disconnect") && btn.Confirm != nil {
				confirms++
			}
		}
	}
	if confirms != 2 {
		t.Fatalf("%d Disconnect buttons with a confirmation, want 2:\n%s", confirms, v.Flat())
	}
	e.Slack.T(t).ClickInView(alice, v, "home_disconnect:team:platform", "")
	v = e.homeWithout(t, alice, "Team platform")
	if !strings.Contains(v.Flat(), "Alice Anderson") {
		t.Fatalf("main site connection gone too:\n%s", v.Flat())
	}
	e.Slack.T(t).ClickInView(alice, v, "home_disconnect:main", "")
	if _, err := e.Slack.WaitHome(wait(t), alice, "not connected"); err != nil {
		t.Fatal(err)
	}
	e.sees(t, e.slash(t, alice, General, "whoami"), "not connected a Stack Overflow account")
}
