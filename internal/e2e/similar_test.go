package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe/soefake"
)

// typeTitle types text into the ask form's title, one keystroke at a time
// (each keystroke is one block_actions, as with on_character_entered).
func (e *Env) typeTitle(t *testing.T, user string, v *slackfake.View, from, text string) {
	t.Helper()
	for i := len([]rune(from)); i <= len([]rune(text)); i++ {
		s, err := e.Slack.TypeInView(user, v, "ask_title", "ask_title", string([]rune(text)[:i]))
		if err != nil {
			t.Fatal(err)
		}
		if s == nil {
			t.Fatal("typing in the title sent nothing: it must dispatch on_character_entered")
		}
		if _, err := e.Slack.WaitAck(wait(t), s.EnvelopeID); err != nil {
			t.Fatal(err)
		}
	}
}

const similarSeed = "How do I restart a Kubernetes deployment without downtime?"

func TestAskShowsSimilarQuestionsAsTheTitleIsTyped(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	e.slash(t, alice, General, "ask")
	v := e.askForm(t, alice)
	before := e.searchCalls()

	e.typeTitle(t, alice, v, "", "How do I restart kubernetes")
	got, err := e.Slack.WaitViewMatch(wait(t), alice, askModal, "Already asked?")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Matches(similarSeed) || !got.Matches("2 answers") {
		t.Errorf("similar questions lack the seeded one:\n%s", got.Flat())
	}
	if n := e.searchCalls() - before; n != 1 {
		t.Errorf("a burst of %d keystrokes cost %d searches, want 1", len("How do I restart kubernetes"), n)
	}
	if text, _ := got.Entered("ask_title", "ask_title"); text != "How do I restart kubernetes" {
		t.Errorf("the update lost what was typed: %q", text)
	}

	// Typing on to a title nothing matches takes the list away.
	e.typeTitle(t, alice, got, "How do I restart kubernetes", "How do I restart kubernetes zebras")
	if _, err := waitViewWithout(t, e, alice, "Already asked?"); err != nil {
		t.Fatal(err)
	}
	// Posting is unaffected.
	v = e.askForm(t, alice)
	e.submitAsk(t, alice, v, askValues{title: "How do I restart kubernetes zebras", body: "Zebras!", tags: []string{"kubernetes"}})
	if _, err := e.Slack.WaitViewMatch(wait(t), alice, askModal, "Posted"); err != nil {
		t.Fatal(err)
	}
	// Searched as alice, with her own token (the one that posted her question).
	var posted string
	for _, r := range e.SOE.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/questions") {
			posted = r.TokenHash
		}
	}
	for _, r := range e.SOE.Requests() {
		if strings.HasSuffix(r.Path, "/search") && (r.TokenHash == "" || r.TokenHash != posted) {
			t.Errorf("search sent with another token than alice's")
		}
	}
	e.Slack.T(t).ExpectNoErrors()
}

// waitViewWithout waits until user's top modal no longer contains gone.
func waitViewWithout(t *testing.T, e *Env, user, gone string) (*slackfake.View, error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := e.Slack.TopView(user)
		if v != nil && !v.Matches(gone) {
			return v, nil
		}
		if time.Now().After(deadline) {
			t.Fatalf("the modal still shows %q:\n%s", gone, v.Flat())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAskPrefilledFromAMessageShowsSimilarQuestions(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	msg := e.Slack.PostAsUser(SlackUser("bob"), General, "how do I restart a kubernetes deployment?", "")
	sent, err := e.Slack.MessageShortcut(alice, General, "soe_ask_message", msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitAck(wait(t), sent.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	v, err := e.Slack.WaitViewMatch(wait(t), alice, askModal, "Already asked?")
	if err != nil {
		t.Fatal(err)
	}
	if !v.Matches(similarSeed) || !v.Matches("Prefilled from a message by bob") {
		t.Errorf("prefilled form:\n%s", v.Flat())
	}
}

func TestAskSimilarSearchFailingLeavesTheFormAsItIs(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	e.slash(t, alice, General, "ask")
	v := e.askForm(t, alice)
	e.SOE.SetFaults(soefake.Faults{Status: map[string]int{"GET /search": 503}})
	e.typeTitle(t, alice, v, "How do I restart kubernetes", "How do I restart kubernetes")
	time.Sleep(1500 * time.Millisecond) // debounce + the failing search
	if got := e.Slack.TopView(alice); got.Hash != v.Hash {
		t.Fatalf("the form changed after a failing search:\n%s", got.Flat())
	}
	e.SOE.SetFaults(soefake.Faults{})
	e.submitAsk(t, alice, v, askValues{title: "How do I restart kubernetes", body: "b", tags: []string{"kubernetes"}})
	if _, err := e.Slack.WaitViewMatch(wait(t), alice, askModal, "Posted"); err != nil {
		t.Fatal(err)
	}
}

// A slow search whose results arrive after the user pressed Post never
// overwrites "Posting…"/"Posted": the update carries the hash it read, and
// Slack refuses it.
func TestAskLateSimilarResultsNeverOverwriteThePostedView(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	e.slash(t, alice, General, "ask")
	v := e.askForm(t, alice)
	e.SOE.SetFaults(soefake.Faults{Latency: 1500 * time.Millisecond})
	e.typeTitle(t, alice, v, "How do I restart kubernetes", "How do I restart kubernetes")
	time.Sleep(700 * time.Millisecond) // the debounce is over: the search is under way
	e.submitAsk(t, alice, v, askValues{title: "How do I restart kubernetes", body: "b", tags: []string{"kubernetes"}})
	if _, err := e.Slack.WaitViewMatch(wait(t), alice, askModal, "Posted"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // the late results have come and gone
	if got := e.Slack.TopView(alice); got == nil || !got.Matches("Posted") || got.Matches("Already asked?") {
		t.Fatalf("late similar questions overwrote the posted view:\n%s", got.Flat())
	}
	conflicts := 0
	for _, c := range e.Slack.Errors() {
		if c.Method == "views.update" && c.Err == "hash_conflict" {
			conflicts++
		}
	}
	if conflicts != 1 {
		t.Errorf("%d views.update refused with hash_conflict, want 1 (the stale similar questions)", conflicts)
	}
	e.SOE.SetFaults(soefake.Faults{})
}
