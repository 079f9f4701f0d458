package slackfake

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func TestTriggerIDExpiryAndSingleUse(t *testing.T) {
	clk := newClock()
	f := newFake(t, Options{Now: clk.Now})
	api := runApp(t, f, func(h *socketmode.SocketmodeHandler, _ *slack.Client) {
		h.HandleSlashCommand("/soe", func(e *socketmode.Event, c *socketmode.Client) { _ = c.Ack(*e.Request) })
	})
	x := f.T(t)
	m := modal("soe_ask", "Ask", slack.NewSectionBlock(txt("hi"), nil, nil))

	s := x.Slash("U1", "C1", "ask")
	if _, err := api.OpenView(s.TriggerID, m); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, err := api.OpenView(s.TriggerID, m); slackErr(err) != "exchanged_trigger_id" {
		t.Errorf("second use: %v", err)
	}
	s = x.Slash("U1", "C1", "ask")
	clk.Advance(3100 * time.Millisecond)
	if _, err := api.OpenView(s.TriggerID, m); slackErr(err) != "expired_trigger_id" {
		t.Errorf("expired: %v", err)
	}
	if _, err := api.OpenView("1.2.bogus", m); slackErr(err) != "invalid_trigger_id" {
		t.Errorf("bogus: %v", err)
	}
	s = x.Slash("U2", "C1", "ask")
	clk.Advance(2900 * time.Millisecond)
	if _, err := api.OpenView(s.TriggerID, m); err != nil {
		t.Errorf("within TTL: %v", err)
	}
	if v := x.ExpectView("U2", "soe_ask"); v.User != "U2" || v.Stack != 1 || v.Title != "Ask" {
		t.Errorf("view = %+v", v)
	}
}

func TestViewsLifecycle(t *testing.T) {
	f := newFake(t, Options{})
	var mu sync.Mutex
	ackWith := map[string]any{} // callback_id -> ack payload
	var lastSubmission slack.InteractionCallback
	api := runApp(t, f, func(h *socketmode.SocketmodeHandler, api *slack.Client) {
		h.HandleSlashCommand("/soe", func(e *socketmode.Event, c *socketmode.Client) {
			_ = c.Ack(*e.Request)
			cmd := e.Data.(slack.SlashCommand)
			m := modal("soe_ask", "Ask a question",
				slack.NewInputBlock("title_block", ptxt("Title"), nil, slack.NewPlainTextInputBlockElement(ptxt("Your question"), "title")),
				slack.NewInputBlock("tags_block", ptxt("Tags"), nil, slack.NewOptionsSelectBlockElement(slack.MultiOptTypeExternal, ptxt("tags"), "tags")),
				slack.NewActionBlock("more", slack.NewButtonBlockElement("add_details", "x", ptxt("Add details"))),
			)
			m.PrivateMetadata = cmd.ChannelID
			m.ExternalID = "ask-" + cmd.UserID
			if _, err := api.OpenView(cmd.TriggerID, m); err != nil {
				t.Errorf("views.open: %v", err)
			}
		})
		h.HandleInteractionBlockAction("add_details", func(e *socketmode.Event, c *socketmode.Client) {
			_ = c.Ack(*e.Request)
			ic := e.Data.(slack.InteractionCallback)
			// The error (push_limit_reached at 3 views) is asserted via f.Calls.
			_, _ = api.PushView(ic.TriggerID, modal("soe_details", "Details", slack.NewSectionBlock(txt("details"), nil, nil)))
		})
		h.HandleInteraction(slack.InteractionTypeBlockSuggestion, func(e *socketmode.Event, c *socketmode.Client) {
			ic := e.Data.(slack.InteractionCallback)
			_ = c.Ack(*e.Request, map[string]any{"options": []any{
				map[string]any{"text": map[string]any{"type": "plain_text", "text": ic.Value + "-lang"}, "value": ic.Value},
			}})
		})
		h.Handle(socketmode.EventTypeInteractive, func(e *socketmode.Event, c *socketmode.Client) {
			ic := e.Data.(slack.InteractionCallback)
			if ic.Type != slack.InteractionTypeViewSubmission {
				return
			}
			mu.Lock()
			lastSubmission = ic
			p := ackWith[ic.View.CallbackID]
			mu.Unlock()
			if p == nil {
				_ = c.Ack(*e.Request)
			} else {
				_ = c.Ack(*e.Request, p)
			}
		})
	})
	x := f.T(t)
	x.Slash("U1", "C1", "ask")
	v := x.ExpectView("U1", "soe_ask")
	if v.PrivateMetadata != "C1" || v.ExternalID != "ask-U1" || !strings.Contains(v.Flat(), "Title: [Your question]") {
		t.Fatalf("view = %+v\n%s", v, v.Flat())
	}

	// views.update: stale hash -> hash_conflict; by external_id works.
	upd := modal("soe_ask", "Ask a question", slack.NewInputBlock("title_block", ptxt("Title"), nil,
		slack.NewPlainTextInputBlockElement(ptxt("Your question"), "title")),
		slack.NewActionBlock("more", slack.NewButtonBlockElement("add_details", "x", ptxt("Add details"))),
		slack.NewSectionBlock(txt("updated!"), nil, nil))
	upd.ExternalID = "ask-U1"
	upd.PrivateMetadata = "C1"
	r, err := api.UpdateView(upd, "", v.Hash, v.ID)
	if err != nil || r.View.Hash == v.Hash || r.View.ID != v.ID {
		t.Fatalf("views.update = %+v, %v", r, err)
	}
	if _, err := api.UpdateView(upd, "", v.Hash, v.ID); slackErr(err) != "hash_conflict" {
		t.Errorf("stale hash: %v", err)
	}
	if _, err := api.UpdateView(upd, "ask-U1", "", ""); err != nil {
		t.Errorf("by external_id: %v", err)
	}
	if _, err := api.UpdateView(upd, "", "", "VNOPE"); slackErr(err) != "not_found" {
		t.Errorf("unknown view: %v", err)
	}
	v = f.TopView("U1")
	if !v.Matches("updated!") {
		t.Fatalf("top view not updated: %s", v.Flat())
	}

	// block_suggestion: ack payload carries options.
	s, err := f.BlockSuggestion("U1", v, "tags", "", "go")
	if err != nil {
		t.Fatal(err)
	}
	a := x.Ack(s)
	var opts struct{ Options []slack.OptionBlockObject }
	if err := a.Decode(&opts); err != nil || len(opts.Options) != 1 || opts.Options[0].Value != "go" {
		t.Errorf("suggestion ack = %s", a.Payload)
	}

	// Errors: view stays, errors recorded.
	mu.Lock()
	ackWith["soe_ask"] = slack.NewErrorsViewSubmissionResponse(map[string]string{"title_block": "too short"})
	mu.Unlock()
	x.Submit("U1", v, map[string]map[string]any{
		"title_block": {"title": TextValue("Go?")},
	})
	if e := f.ViewErrors(v.ID); e["title_block"] != "too short" {
		t.Fatalf("view errors = %v", e)
	}
	if len(f.OpenViews("U1")) != 1 {
		t.Fatalf("view closed on errors")
	}
	mu.Lock()
	if got := lastSubmission.View.State.Values["title_block"]["title"]; got.Value != "Go?" || got.Type != "plain_text_input" {
		t.Errorf("state = %+v", lastSubmission.View.State)
	}
	if lastSubmission.View.Hash == "" || lastSubmission.View.PrivateMetadata != "C1" || lastSubmission.View.ID != v.ID {
		t.Errorf("submitted view = %+v", lastSubmission.View)
	}
	mu.Unlock()

	// Errors keyed by a non-input block are recorded as an error.
	mu.Lock()
	ackWith["soe_ask"] = slack.NewErrorsViewSubmissionResponse(map[string]string{"more": "nope"})
	mu.Unlock()
	x.Submit("U1", v, nil)
	var ackErrs []Call
	for _, c := range f.Errors() {
		if c.Method == "ack" {
			ackErrs = append(ackErrs, c)
		}
	}
	if len(ackErrs) != 1 || ackErrs[0].Err != "invalid_errors" {
		t.Errorf("ack errors = %+v", ackErrs)
	}

	// Push from a button in the view, up to 3 views.
	x.ClickInView("U1", v, "add_details", "")
	d := x.ExpectView("U1", "soe_details")
	if d.Stack != 2 || d.RootViewID != v.ID || d.PreviousViewID != v.ID {
		t.Fatalf("pushed = %+v", d)
	}
	// Ack push from the details view -> 3 views; another push -> push_limit_reached.
	mu.Lock()
	ackWith["soe_details"] = slack.NewPushViewSubmissionResponse(&slack.ModalViewRequest{Type: slack.VTModal, Title: ptxt("Third"), CallbackID: "soe_third",
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(txt("third"), nil, nil)}}})
	mu.Unlock()
	x.Submit("U1", d, nil)
	third := x.ExpectView("U1", "soe_third")
	if third.Stack != 3 || len(f.OpenViews("U1")) != 3 {
		t.Fatalf("stack = %d", len(f.OpenViews("U1")))
	}
	pushes := len(f.Calls("views.push"))
	x.ClickInView("U1", v, "add_details", "")
	// The handler's views.push runs after the ack.
	for deadline := time.Now().Add(3 * time.Second); len(f.Calls("views.push")) == pushes && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if cs := f.Calls("views.push"); len(cs) == pushes || cs[len(cs)-1].Err != "push_limit_reached" {
		t.Errorf("views.push at 3 = %+v", cs)
	}
	// Empty ack closes the top view.
	x.Submit("U1", third, nil)
	if vs := f.OpenViews("U1"); len(vs) != 2 || vs[1].CallbackID != "soe_details" {
		t.Fatalf("after empty ack: %d views", len(vs))
	}
	// update replaces the submitted (top) view.
	mu.Lock()
	ackWith["soe_details"] = slack.NewUpdateViewSubmissionResponse(&slack.ModalViewRequest{Type: slack.VTModal, Title: ptxt("Thanks"), CallbackID: "soe_thanks",
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(txt("Posted!"), nil, nil)}}})
	mu.Unlock()
	x.Submit("U1", d, nil)
	top := f.TopView("U1")
	if top.ID != d.ID || top.CallbackID != "soe_thanks" || top.Hash == d.Hash || !top.Matches("Posted!") {
		t.Fatalf("after update: %+v", top)
	}
	// clear closes everything.
	mu.Lock()
	ackWith["soe_thanks"] = slack.NewClearViewSubmissionResponse()
	mu.Unlock()
	x.Submit("U1", top, nil)
	if vs := f.OpenViews("U1"); len(vs) != 0 {
		t.Fatalf("after clear: %d views", len(vs))
	}
	if _, err := f.ViewSubmission("U1", v, nil); err == nil {
		t.Errorf("submitting a closed view should fail")
	}
	if _, err := api.UpdateView(upd, "", "", v.ID); slackErr(err) != "not_found" {
		t.Errorf("update closed view: %v", err)
	}
}

func TestHomeAndCloseView(t *testing.T) {
	f := newFake(t, Options{})
	closed := make(chan slack.InteractionCallback, 1)
	api := runApp(t, f, func(h *socketmode.SocketmodeHandler, _ *slack.Client) {
		h.HandleSlashCommand("/soe", func(e *socketmode.Event, c *socketmode.Client) { _ = c.Ack(*e.Request) })
		h.HandleInteraction(slack.InteractionTypeViewClosed, func(e *socketmode.Event, c *socketmode.Client) {
			_ = c.Ack(*e.Request)
			closed <- e.Data.(slack.InteractionCallback)
		})
	})
	x := f.T(t)
	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, CallbackID: "home", Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewHeaderBlock(ptxt("Stack Overflow")), slack.NewSectionBlock(txt("Hello <@U1>"), nil, nil)}}}
	r, err := api.PublishView("U1", home, "")
	if err != nil {
		t.Fatal(err)
	}
	hv := x.ExpectHome("U1", "Hello @U1")
	if hv.Type != "home" || hv.ID != r.View.ID {
		t.Errorf("home = %+v", hv)
	}
	if _, err := api.PublishView("U1", home, "stale"); slackErr(err) != "hash_conflict" {
		t.Errorf("stale publish: %v", err)
	}
	home.Blocks.BlockSet = append(home.Blocks.BlockSet, slack.NewSectionBlock(txt("v2"), nil, nil))
	if _, err := api.PublishView("U1", home, r.View.Hash); err != nil {
		t.Fatal(err)
	}
	if hv2 := x.ExpectHome("U1", "v2"); hv2.ID != hv.ID {
		t.Errorf("home id changed")
	}

	s := x.Slash("U1", "C1", "x")
	m := modal("soe_ask", "Ask", slack.NewSectionBlock(txt("hi"), nil, nil))
	m.NotifyOnClose = true
	if _, err := api.OpenView(s.TriggerID, m); err != nil {
		t.Fatal(err)
	}
	x.ExpectView("U1", "soe_ask")
	sent, err := f.CloseView("U1")
	if err != nil || sent == nil {
		t.Fatalf("CloseView = %v, %v", sent, err)
	}
	select {
	case ic := <-closed:
		if ic.View.CallbackID != "soe_ask" {
			t.Errorf("view_closed = %+v", ic.View)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no view_closed")
	}
	if len(f.OpenViews("U1")) != 0 {
		t.Errorf("view still open")
	}
	if es := f.Errors(); len(es) != 1 || es[0].Err != "hash_conflict" {
		t.Errorf("errors = %+v", es)
	}
}

func TestBlockKitLimits(t *testing.T) {
	f := newFake(t, Options{})
	api := apiClient(t, f)
	sections := func(n int) []slack.Block {
		var bs []slack.Block
		for i := 0; i < n; i++ {
			bs = append(bs, slack.NewSectionBlock(txt("s"), nil, nil))
		}
		return bs
	}
	for _, tc := range []struct {
		name     string
		call     func() error
		wantErr  string
		wantText string
	}{
		{"50 blocks ok", func() error {
			_, _, err := api.PostMessage("C1", slack.MsgOptionBlocks(sections(50)...))
			return err
		}, "", ""},
		{"51 blocks", func() error {
			_, _, err := api.PostMessage("C1", slack.MsgOptionBlocks(sections(51)...))
			return err
		}, "invalid_blocks", "no more than 50 items [json-pointer:/blocks]"},
		{"section 3001 chars", func() error {
			_, _, err := api.PostMessage("C1", slack.MsgOptionBlocks(slack.NewDividerBlock(), slack.NewSectionBlock(txt(strings.Repeat("é", 3001)), nil, nil)))
			return err
		}, "invalid_blocks", "must be less than 3001 characters [json-pointer:/blocks/1/text/text]"},
		{"section 3000 chars ok", func() error {
			_, _, err := api.PostMessage("C1", slack.MsgOptionBlocks(slack.NewSectionBlock(txt(strings.Repeat("é", 3000)), nil, nil)))
			return err
		}, "", ""},
		{"header 151", func() error {
			_, err := api.PostEphemeral("C1", "U1", slack.MsgOptionBlocks(slack.NewHeaderBlock(ptxt(strings.Repeat("h", 151)))))
			return err
		}, "invalid_blocks", "must be less than 151 characters [json-pointer:/blocks/0/text/text]"},
		{"update too", func() error {
			_, ts, _ := api.PostMessage("C1", slack.MsgOptionText("x", false))
			_, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionBlocks(sections(51)...))
			return err
		}, "invalid_blocks", "no more than 50"},
		{"modal title 25", func() error {
			_, err := api.OpenView("1.2.any", modal("x", strings.Repeat("t", 25), sections(1)...))
			return err
		}, "invalid_arguments", "must be less than 25 characters [json-pointer:/view/title/text]"},
		{"modal 101 blocks", func() error {
			_, err := api.OpenView("1.2.any", modal("x", "ok", sections(101)...))
			return err
		}, "invalid_arguments", "no more than 100 items [json-pointer:/view/blocks]"},
		{"home 100 blocks ok", func() error {
			_, err := api.PublishView("U1", slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: sections(100)}}, "")
			return err
		}, "", ""},
		{"input without submit", func() error {
			m := modal("x", "ok", slack.NewInputBlock("b", ptxt("L"), nil, slack.NewPlainTextInputBlockElement(nil, "a")))
			m.Submit = nil
			_, err := api.OpenView("1.2.any", m)
			return err
		}, "invalid_arguments", "missing required field: submit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.Errors())
			err := tc.call()
			if got := slackErr(err); got != tc.wantErr {
				t.Fatalf("err = %q, want %q", got, tc.wantErr)
			}
			if tc.wantErr == "" {
				return
			}
			var se slack.SlackErrorResponse
			_ = errors.As(err, &se)
			all := strings.Join(append(append([]string{}, se.ResponseMetadata.Messages...), errorStrings(se)...), "\n")
			if !strings.Contains(all, tc.wantText) {
				t.Errorf("details = %q, want %q", all, tc.wantText)
			}
			if len(f.Errors()) != before+1 {
				t.Errorf("error not recorded")
			}
		})
	}
}

func errorStrings(se slack.SlackErrorResponse) []string {
	var out []string
	for _, e := range se.Errors {
		if e.Message != nil {
			out = append(out, *e.Message)
		}
	}
	return out
}

func TestFlatten(t *testing.T) {
	blocks := []slack.Block{
		slack.NewHeaderBlock(ptxt("Results for go & rust")),
		slack.NewSectionBlock(txt("*<https://so.example/q/1|How to &lt;go&gt;?>* by <@U1>"), []*slack.TextBlockObject{txt("Score: 5"), txt("Answers: 2")},
			slack.NewAccessory(slack.NewButtonBlockElement("open", "1", ptxt("Open")))),
		slack.NewDividerBlock(),
		slack.NewContextBlock("", txt("Asked in <#C1|general>"), ptxt("2 days ago")),
		slack.NewActionBlock("", slack.NewButtonBlockElement("vote", "1", ptxt("Upvote")),
			func() *slack.ButtonBlockElement {
				b := slack.NewButtonBlockElement("", "", ptxt("View"))
				b.URL = "https://so.example/q/1"
				return b
			}()),
		slack.NewInputBlock("t", ptxt("Title"), ptxt("Be specific"), slack.NewPlainTextInputBlockElement(ptxt("e.g. how do I…"), "title")),
		slack.NewInputBlock("s", ptxt("Team"), nil, slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, ptxt("Pick one"), "team",
			slack.NewOptionBlockObject("a", ptxt("Alpha"), nil))),
	}
	raw, _ := json.Marshal(blocks)
	want := strings.Join([]string{
		"# Results for go & rust",
		"*How to <go>? (https://so.example/q/1)* by @U1\nScore: 5 | Answers: 2  [Open]",
		"---",
		"Asked in #general · 2 days ago",
		"[Upvote] [View](https://so.example/q/1)",
		"Title: [e.g. how do I…] (Be specific)",
		"Team: [Pick one ▾]",
	}, "\n")
	if got := Flatten(raw); got != want {
		t.Errorf("Flatten =\n%s\nwant\n%s", got, want)
	}
	if Flatten(nil) != "" || Flatten(json.RawMessage(`null`)) != "" || Flatten(json.RawMessage(`{bad`)) != "" {
		t.Error("Flatten of empty/invalid input should be empty")
	}
	m := Message{Text: "a &lt; b", Blocks: raw}
	for _, s := range []string{"a < b", "a &lt; b", "[Upvote]", "<@U1>", "@U1", "How to <go>?", "Score: 5"} {
		if !m.Matches(s) {
			t.Errorf("Matches(%q) = false", s)
		}
	}
	if m.Matches("nothing here") {
		t.Error("unexpected match")
	}
}
