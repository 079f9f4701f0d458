package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

// The ask modal as the ask feature builds it (internal/features/ask/view.go).
const (
	askCallbackID = "soe_ask_modal"
	askTitle      = "How do I roll back a Helm release in the platform cluster?"
	askBody       = "We deployed a bad chart version of payments-api. `helm rollback` asks for a revision number: " +
		"how do I find the last good one, and is it safe while traffic is flowing?"
)

// noSOEBeforeOpen checks that views.open (for the command s) came before any
// SOE API call made after s was typed: a trigger_id lives only 3 s.
func (t *tour) noSOEBeforeOpen(s *slackfake.Sent) error {
	var opened time.Time
	for _, c := range t.e.Slack.Calls("views.open") {
		if !c.At.Before(s.SentAt) {
			opened = c.At
			break
		}
	}
	if opened.IsZero() {
		return errors.New("views.open was not called")
	}
	for _, r := range t.e.SOE.Requests() {
		if strings.HasPrefix(r.Path, "/api/") && r.Time.After(s.SentAt) && r.Time.Before(opened) {
			return fmt.Errorf("soebot called Stack Overflow (%s %s, %v after the command) before opening the form (%v after it)",
				r.Method, r.Path, r.Time.Sub(s.SentAt).Round(time.Microsecond), opened.Sub(s.SentAt).Round(time.Microsecond))
		}
	}
	t.printf("    (the form opened %v after the command, before any Stack Overflow call)\n", opened.Sub(s.SentAt).Round(time.Millisecond))
	return nil
}

// quiet waits until the fake SOE has seen no request for d (at most Wait).
func (t *tour) quiet(ctx context.Context, d time.Duration) {
	deadline := time.Now().Add(t.o.Wait)
	n, since := len(t.e.SOE.Requests()), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
		if m := len(t.e.SOE.Requests()); m != n {
			n, since = m, time.Now()
		} else if time.Since(since) >= d {
			return
		}
	}
}

// askStep: /soe ask <title> → the modal → tag suggestions → submit →
// "Posted" in the modal and a confirmation where alice typed the command.
func (t *tour) askStep(ctx context.Context) error {
	alice := e2e.SlackUser("alice")
	// Background work of earlier steps (Home tabs refreshed after linking)
	// may still call SOE; let it finish so that any call seen between the
	// command and views.open is the command's own.
	t.quiet(ctx, 200*time.Millisecond)
	s, err := t.slash(ctx, alice, e2e.General, "ask "+askTitle)
	if err != nil {
		return err
	}
	wctx, cancel := t.wait(ctx)
	defer cancel()
	v, err := t.e.Slack.WaitView(wctx, alice, askCallbackID)
	if err != nil {
		return fmt.Errorf("no question form opened: %w", err)
	}
	t.showView("a form opens for alice", v)
	if err := t.noSOEBeforeOpen(s); err != nil {
		return err
	}
	if err := t.expect(t.r.View(v), askTitle); err != nil {
		return fmt.Errorf("the form is not prefilled with the title: %w", err)
	}

	t.printf("  alice types \"kube\" in Tags; Slack asks soebot for suggestions\n")
	sug, err := t.e.Slack.BlockSuggestion(alice, v, "ask_tags", "", "kube")
	if err != nil {
		return err
	}
	ack, err := t.e.Slack.WaitAck(wctx, sug.EnvelopeID)
	if err != nil {
		return fmt.Errorf("tag suggestions were not answered: %w", err)
	}
	var opts struct {
		Options []slack.OptionBlockObject `json:"options"`
	}
	if err := ack.Decode(&opts); err != nil {
		return fmt.Errorf("tag suggestions: %w", err)
	}
	var names []string
	for _, o := range opts.Options {
		if o.Text != nil {
			names = append(names, o.Text.Text)
		}
	}
	t.printf("    suggested: %s\n", strings.Join(names, ", "))
	found := false
	for _, o := range opts.Options {
		found = found || o.Value == "kubernetes"
	}
	if !found {
		return fmt.Errorf("\"kubernetes\" is not among the suggestions for \"kube\": %q", names)
	}

	values := map[string]map[string]any{
		"ask_title":  {"ask_title": slackfake.TextValue(askTitle)},
		"ask_body":   {"body": slackfake.TextValue(askBody)},
		"ask_tags":   {"ask_tags": slackfake.OptionsValue("kubernetes")},
		"ask_notify": {"notify": slackfake.CheckboxValue(true, "notify")},
	}
	t.printf("  alice writes the body, picks the tag kubernetes, ticks \"Notify the subject-matter experts\" and presses [Post question]\n")
	t.printf("%s", Box("submitted", "Title: "+askTitle+"\nBody: "+askBody+"\nTags: kubernetes\nExperts: [x] Notify the subject-matter experts of these tags"))
	sub, err := t.e.Slack.ViewSubmission(alice, v, values)
	if err != nil {
		return err
	}
	if _, err := t.e.Slack.WaitAck(wctx, sub.EnvelopeID); err != nil {
		return fmt.Errorf("the submission was not acknowledged: %w", err)
	}
	if errs := t.e.Slack.ViewErrors(v.ID); len(errs) > 0 {
		return fmt.Errorf("the form refused the submission: %v", errs)
	}
	m, err := t.e.Slack.WaitResponse(wctx, s.ResponseURL, "Posted")
	if err != nil {
		return fmt.Errorf("no confirmation where alice asked: %w", err)
	}
	if pv := t.e.Slack.ViewByID(v.ID); pv != nil && !pv.Closed {
		t.showView("the form now says", pv)
	}
	t.show(m)
	if err := t.expect(t.r.Message(m), askTitle, "kubernetes"); err != nil {
		return err
	}
	id := firstQuestionID(m)
	q, ok := t.e.SOE.QuestionByID(soe.MainSite(), id)
	if !ok {
		return fmt.Errorf("the confirmation links to question %d, which Stack Overflow does not have", id)
	}
	if q.AuthorID != t.e.SOE.UserByName("alice").ID || q.Title != askTitle {
		return fmt.Errorf("question %d on Stack Overflow is by user %d, titled %q", id, q.AuthorID, q.Title)
	}
	// The experts who use soebot hear of it by DM.
	dm, err := t.e.Slack.WaitDM(wctx, e2e.SlackUser("bob"), askTitle)
	if err != nil {
		return errors.New("bob, an expert on kubernetes, was not told about the question")
	}
	t.show(dm)
	return nil
}
