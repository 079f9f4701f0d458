package slackfake

import (
	"sync"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// Typing into a dispatching input sends block_actions with the view's state
// and hash; what was typed survives a views.update that keeps the block and
// action ids; an update with the hash of before that update is refused.
func TestTypingDispatchesAndSurvivesUpdates(t *testing.T) {
	f := newFake(t, Options{})
	var mu sync.Mutex
	var got []slack.InteractionCallback
	titleInput := func(dispatch bool) *slack.InputBlock {
		in := slack.NewPlainTextInputBlockElement(ptxt("Title"), "title")
		b := slack.NewInputBlock("title_block", ptxt("Title"), nil, in)
		if dispatch {
			in.DispatchActionConfig = &slack.DispatchActionConfig{TriggerActionsOn: []string{"on_character_entered"}}
			b.DispatchAction = true
		}
		return b
	}
	api := runApp(t, f, func(h *socketmode.SocketmodeHandler, api *slack.Client) {
		h.HandleSlashCommand("/soe", func(e *socketmode.Event, c *socketmode.Client) {
			_ = c.Ack(*e.Request)
			cmd := e.Data.(slack.SlashCommand)
			m := modal("soe_"+cmd.Text, "Ask", titleInput(cmd.Text == "dispatch"))
			m.Submit = ptxt("Post")
			_, _ = api.OpenView(cmd.TriggerID, m)
		})
		h.HandleInteractionBlockAction("title", func(e *socketmode.Event, c *socketmode.Client) {
			_ = c.Ack(*e.Request)
			mu.Lock()
			got = append(got, e.Data.(slack.InteractionCallback))
			mu.Unlock()
		})
	})
	x := f.T(t)

	x.Slash("U1", "C1", "quiet")
	v := x.ExpectView("U1", "soe_quiet")
	if s, err := f.TypeInView("U1", v, "title", "", "no dispatch"); err != nil || s != nil {
		t.Fatalf("input without dispatch_action sent %v, %v", s, err)
	}
	if text, ok := f.ViewByID(v.ID).Entered("title_block", "title"); !ok || text != "no dispatch" {
		t.Errorf("entered = %q, %v", text, ok)
	}

	x.Slash("U1", "C1", "dispatch")
	v = x.ExpectView("U1", "soe_dispatch")
	s, err := f.TypeInView("U1", v, "title", "", "How do I")
	if err != nil || s == nil {
		t.Fatalf("TypeInView = %v, %v", s, err)
	}
	x.Ack(s)
	mu.Lock()
	ic := got[len(got)-1]
	mu.Unlock()
	if ic.View.ID != v.ID || ic.View.Hash != v.Hash || ic.View.State.Values["title_block"]["title"].Value != "How do I" ||
		ic.ActionCallback.BlockActions[0].Value != "How do I" {
		t.Fatalf("block_actions = %+v", ic)
	}
	upd := modal("soe_ask", "Ask", titleInput(true), slack.NewSectionBlock(txt("Similar: …"), nil, nil))
	upd.Submit = ptxt("Post")
	r, err := api.UpdateView(upd, "", ic.View.Hash, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := f.ViewByID(v.ID).Entered("title_block", "title"); text != "How do I" {
		t.Errorf("typed text lost by the update: %q", text)
	}
	if _, err := api.UpdateView(upd, "", ic.View.Hash, v.ID); slackErr(err) != "hash_conflict" {
		t.Errorf("stale hash: %v", err)
	}
	if _, err := api.UpdateView(modal("soe_ask", "Ask", slack.NewSectionBlock(txt("Posted"), nil, nil)), "", r.Hash, v.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.ViewByID(v.ID).Entered("title_block", "title"); ok {
		t.Error("state kept for an input the view no longer has")
	}
}
