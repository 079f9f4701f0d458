package slackfake

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

func TestConnectHelloAndPingsKeepAlive(t *testing.T) {
	f := newFake(t, Options{PingEvery: 50 * time.Millisecond})
	hello := make(chan struct{}, 1)
	runApp(t, f, func(h *socketmode.SocketmodeHandler, _ *slack.Client) {
		h.Handle(socketmode.EventTypeHello, func(*socketmode.Event, *socketmode.Client) {
			select {
			case hello <- struct{}{}:
			default:
			}
		})
	}, socketmode.OptionPingInterval(300*time.Millisecond))
	select {
	case <-hello:
	case <-time.After(3 * time.Second):
		t.Fatal("no hello event")
	}
	// Without pings the client would reconnect every 300ms.
	time.Sleep(900 * time.Millisecond)
	if n := f.Opens(); n != 1 {
		t.Fatalf("apps.connections.open calls = %d, want 1 (pings must keep the client connected)", n)
	}
	c := f.Calls("apps.connections.open")[0]
	if c.Via != "bearer" || c.Token != "xapp-…" {
		t.Errorf("connections.open auth = %s %q", c.Via, c.Token)
	}
}

func TestAckRecordedWithPayload(t *testing.T) {
	f := newFake(t, Options{})
	var mu sync.Mutex
	var got slack.SlashCommand
	runApp(t, f, func(h *socketmode.SocketmodeHandler, _ *slack.Client) {
		h.HandleSlashCommand("/soe", func(e *socketmode.Event, c *socketmode.Client) {
			cmd := e.Data.(slack.SlashCommand)
			mu.Lock()
			got = cmd
			mu.Unlock()
			_ = c.Ack(*e.Request, map[string]any{"response_type": "ephemeral", "text": "working on " + cmd.Text})
		})
	})
	s, err := f.SlashCommand("U1", "C1", "/soe", "search go")
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.WaitAck(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]string
	if err := a.Decode(&p); err != nil || p["text"] != "working on search go" {
		t.Fatalf("ack payload = %s (%v)", a.Payload, err)
	}
	if a.Type != "slash_commands" || a.Latency <= 0 || a.Latency > 3*time.Second {
		t.Errorf("ack meta = %+v", a)
	}
	mu.Lock()
	if got.UserID != "U1" || got.UserName != "alice" || got.ChannelName != "general" || got.TeamDomain != "acme" ||
		got.TriggerID != s.TriggerID || got.ResponseURL != s.ResponseURL || got.APIAppID == "" {
		t.Errorf("slash command decoded = %+v", got)
	}
	mu.Unlock()
	// The ack message is shown to the user as an ephemeral response.
	m, err := f.WaitEphemeral(ctx5(t), "U1", "working on search go")
	if err != nil {
		t.Fatal(err)
	}
	if !m.FromAck || m.ResponseURL != s.ResponseURL || m.Channel != "C1" {
		t.Errorf("ack message = %+v", m)
	}
	if rs := f.Responses(s.ResponseURL); len(rs) != 1 || !rs[0].FromAck {
		t.Errorf("responses = %+v", rs)
	}
	if len(f.Acks()) != 1 || len(f.Unacked()) != 0 {
		t.Errorf("acks = %v unacked = %v", f.Acks(), f.Unacked())
	}
}

func TestDisconnectReconnectsExactlyOnce(t *testing.T) {
	f := newFake(t, Options{})
	runApp(t, f, func(h *socketmode.SocketmodeHandler, _ *slack.Client) {
		h.HandleSlashCommand("/soe", func(e *socketmode.Event, c *socketmode.Client) { _ = c.Ack(*e.Request) })
	})
	if err := f.Disconnect("refresh_requested"); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitOpens(ctx5(t), 2); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitConnected(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	// The envelope goes to the new connection.
	f.T(t).Slash("U1", "C1", "hi")
	time.Sleep(300 * time.Millisecond)
	if n := f.Opens(); n != 2 {
		t.Fatalf("opens = %d, want 2", n)
	}
}

func TestDropConnectionReconnects(t *testing.T) {
	f := newFake(t, Options{})
	runApp(t, f, func(h *socketmode.SocketmodeHandler, _ *slack.Client) {
		h.HandleEvents(slackevents.AppMention, func(e *socketmode.Event, c *socketmode.Client) { _ = c.Ack(*e.Request) })
	}, socketmode.OptionPingInterval(time.Second))
	if err := f.DropConnection(); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitOpens(ctx5(t), 2); err != nil {
		t.Fatal(err)
	}
	f.T(t).Event("app_mention", map[string]any{"user": "U1", "channel": "C1", "text": "<@UBOT> hi", "ts": "1700000000.000200"})
	// The mentioned message is now in the channel: the app can reply in its thread.
	api := apiClient(t, f)
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("a reply", false), slack.MsgOptionTS("1700000000.000200")); err != nil {
		t.Fatal(err)
	}
	th := f.Thread("C1", "1700000000.000200")
	if len(th) != 2 || th[0].User != "U1" || th[0].ReplyCount != 1 || th[1].Text != "a reply" || !tsLess(th[0].TS, th[1].TS) {
		t.Fatalf("thread = %+v", th)
	}
}

func TestSendWithoutSocketFails(t *testing.T) {
	f := newFake(t, Options{SendWait: 100 * time.Millisecond})
	if _, err := f.SlashCommand("U1", "C1", "/soe", "x"); err == nil || !strings.Contains(err.Error(), "no app connected") {
		t.Fatalf("err = %v", err)
	}
}

func TestInteractivePayloadsDecode(t *testing.T) {
	f := newFake(t, Options{})
	got := make(chan socketmode.Event, 16)
	api := runApp(t, f, func(h *socketmode.SocketmodeHandler, _ *slack.Client) {
		h.Handle(socketmode.EventTypeInteractive, func(e *socketmode.Event, c *socketmode.Client) {
			_ = c.Ack(*e.Request)
			got <- *e
		})
		h.Handle(socketmode.EventTypeEventsAPI, func(e *socketmode.Event, c *socketmode.Client) {
			_ = c.Ack(*e.Request)
			got <- *e
		})
	})
	next := func() socketmode.Event {
		t.Helper()
		select {
		case e := <-got:
			return e
		case <-time.After(3 * time.Second):
			t.Fatal("no event")
		}
		return socketmode.Event{}
	}
	x := f.T(t)

	// block_actions on a bot message with a button.
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("pick", false), slack.MsgOptionBlocks(
		slack.NewSectionBlock(txt("Question *42*"), nil, nil),
		slack.NewActionBlock("", slack.NewButtonBlockElement("vote_up", "Q42", ptxt("Upvote"))),
	))
	if err != nil {
		t.Fatal(err)
	}
	msg := x.ExpectMessage("C1", "[Upvote]")
	if msg.TS != ts || !msg.BotPosted {
		t.Fatalf("msg = %+v", msg)
	}
	s := x.Click("U2", msg, "vote_up", "")
	ic := next().Data.(slack.InteractionCallback)
	if ic.Type != slack.InteractionTypeBlockActions || len(ic.ActionCallback.BlockActions) != 1 {
		t.Fatalf("callback = %+v", ic)
	}
	ba := ic.ActionCallback.BlockActions[0]
	if ba.ActionID != "vote_up" || ba.Value != "Q42" || ba.BlockID == "" || ba.Type != "button" {
		t.Errorf("action = %+v", ba)
	}
	if ic.Container.Type != "message" || ic.Container.MessageTs != ts || ic.Container.ChannelID != "C1" ||
		ic.Channel.ID != "C1" || ic.User.ID != "U2" || ic.User.Name != "bob" || ic.ResponseURL != s.ResponseURL ||
		ic.TriggerID != s.TriggerID || ic.Team.ID != "T0ACME" {
		t.Errorf("callback = %+v", ic)
	}
	if ic.Message.Timestamp != ts || len(ic.Message.Blocks.BlockSet) != 2 {
		t.Errorf("message = %+v", ic.Message)
	}

	// replace_original through the response_url replaces the source message.
	if _, _, err := api.PostMessage("", slack.MsgOptionReplaceOriginal(s.ResponseURL), slack.MsgOptionText("voted!", false)); err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages("C1")
	if len(msgs) != 1 || msgs[0].Text != "voted!" || !msgs[0].Replaced || msgs[0].Blocks != nil {
		t.Fatalf("after replace: %+v", msgs)
	}
	// delete_original deletes it.
	if _, _, err := api.PostMessage("", slack.MsgOptionDeleteOriginal(s.ResponseURL)); err != nil {
		t.Fatal(err)
	}
	if msgs := f.Messages("C1"); len(msgs) != 0 {
		t.Fatalf("after delete: %+v", msgs)
	}

	// message shortcut on a human message.
	hm := f.PostAsUser("U1", "C1", "How do I deploy?", "")
	s = x.MessageShortcut("U2", "C1", "soe_save_message", hm)
	ic = next().Data.(slack.InteractionCallback)
	if ic.Type != slack.InteractionTypeMessageAction || ic.CallbackID != "soe_save_message" || ic.Message.Text != "How do I deploy?" ||
		ic.Message.User != "U1" || ic.Message.Timestamp != hm.TS || ic.Channel.ID != "C1" || ic.ResponseURL != s.ResponseURL || ic.TriggerID == "" {
		t.Errorf("message_action = %+v", ic)
	}

	// global shortcut.
	x.Shortcut("U1", "soe_ask_question")
	ic = next().Data.(slack.InteractionCallback)
	if ic.Type != slack.InteractionTypeShortcut || ic.CallbackID != "soe_ask_question" || ic.TriggerID == "" {
		t.Errorf("shortcut = %+v", ic)
	}

	// Events: app_home_opened, link_shared, retries.
	if _, err := api.PublishView("U1", slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(txt("Welcome home"), nil, nil)}}}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.AppHomeOpened("U1"); err != nil {
		t.Fatal(err)
	}
	ev := next().Data.(slackevents.EventsAPIEvent)
	aho, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || aho.User != "U1" || aho.Tab != "home" || aho.Channel != "DU1" || aho.View == nil || aho.View.Type != slack.VTHomeTab {
		t.Errorf("app_home_opened = %#v", ev.InnerEvent.Data)
	}
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); !ok || cb.EventID == "" || len(cb.Authorizations) != 1 || cb.TeamID != "T0ACME" {
		t.Errorf("outer = %#v", ev.Data)
	}

	_, err = f.LinkShared("U1", "C1", "1700000000.000100", []string{"https://acme.stackenterprise.co/questions/42"})
	if err != nil {
		t.Fatal(err)
	}
	e := next()
	ls := e.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.LinkSharedEvent)
	if len(ls.Links) != 1 || ls.Links[0].Domain != "acme.stackenterprise.co" || ls.MessageTimeStamp != "1700000000.000100" {
		t.Errorf("link_shared = %+v", ls)
	}
	var raw struct {
		Event struct {
			UnfurlID string `json:"unfurl_id"`
			Source   string `json:"source"`
		} `json:"event"`
	}
	_ = json.Unmarshal(e.Request.Payload, &raw)
	if raw.Event.Source != "conversations_history" || raw.Event.UnfurlID == "" {
		t.Fatalf("raw link_shared = %s", e.Request.Payload)
	}
	if _, _, _, err := api.UnfurlMessageByID(raw.Event.UnfurlID, raw.Event.Source, map[string]slack.Attachment{
		"https://acme.stackenterprise.co/questions/42": {Title: "How to X"}}); err != nil {
		t.Fatal(err)
	}
	if u := f.Unfurls("C1", "1700000000.000100"); !strings.Contains(string(u["https://acme.stackenterprise.co/questions/42"]), "How to X") {
		t.Errorf("unfurls = %v", u)
	}

	// A link typed in the composer: channel COMPOSER, message_ts = unfurl_id.
	_, cid, err := f.ComposerLinkShared("U1", []string{"https://acme.stackenterprise.co/questions/43"})
	if err != nil {
		t.Fatal(err)
	}
	e = next()
	ls = e.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.LinkSharedEvent)
	_ = json.Unmarshal(e.Request.Payload, &raw)
	if ls.Channel != ComposerChannel || ls.MessageTimeStamp != cid || raw.Event.UnfurlID != cid || raw.Event.Source != "composer" {
		t.Fatalf("composer link_shared = %s", e.Request.Payload)
	}
	if _, _, _, err := api.UnfurlMessageByID(cid, "composer", map[string]slack.Attachment{
		"https://acme.stackenterprise.co/questions/43": {Title: "How to Y"}}); err != nil {
		t.Fatal(err)
	}
	if u := f.Unfurls(ComposerChannel, cid); !strings.Contains(string(u["https://acme.stackenterprise.co/questions/43"]), "How to Y") {
		t.Errorf("composer unfurls = %v", u)
	}

	s1, err := f.EventWithID("Ev0DUPE", "app_mention", map[string]any{"user": "U1", "channel": "C1", "text": "hi"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	e1 := next()
	s2, err := f.EventWithID("Ev0DUPE", "app_mention", map[string]any{"user": "U1", "channel": "C1", "text": "hi"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	e2 := next()
	if s1.EventID != "Ev0DUPE" || s2.EventID != "Ev0DUPE" || s1.EnvelopeID == s2.EnvelopeID ||
		e1.Request.RetryAttempt != 0 || e2.Request.RetryAttempt != 1 || e2.Request.RetryReason != "timeout" {
		t.Errorf("retries: %+v %+v", e1.Request, e2.Request)
	}
	x.ExpectNoErrors()

	// COMPOSER takes only the message_ts of a composer link_shared.
	if _, _, _, err := api.UnfurlMessage(ComposerChannel, "1700000000.000100", map[string]slack.Attachment{
		"https://acme.stackenterprise.co/questions/43": {Title: "How to Y"}}); err == nil || !strings.Contains(err.Error(), "cannot_find_message") {
		t.Errorf("unfurl in COMPOSER with a real ts: %v", err)
	}
}

func TestWaitHelpersTimeOutWithContext(t *testing.T) {
	f := newFake(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	f.PostAsUser("U1", "C1", "something else", "")
	_, err := f.WaitMessage(ctx, "C1", "nope")
	if err == nil || !strings.Contains(err.Error(), "something else") {
		t.Fatalf("err = %v", err)
	}
}
