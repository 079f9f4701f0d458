package slackfake

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func TestAuthAndMethodErrors(t *testing.T) {
	f := newFake(t, Options{})
	api := apiClient(t, f)
	r, err := api.AuthTest()
	if err != nil || r.UserID != "UBOT" || r.TeamID != "T0ACME" || r.BotID == "" {
		t.Fatalf("auth.test = %+v, %v", r, err)
	}
	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(f.APIURL()), slack.OptionHTTPClient(apiHTTP(t)))
	if _, err := bad.AuthTest(); slackErr(err) != "invalid_auth" {
		t.Errorf("bad token: %v", err)
	}
	appOnly := slack.New(f.AppToken(), slack.OptionAPIURL(f.APIURL()), slack.OptionHTTPClient(apiHTTP(t)))
	if _, _, err := appOnly.PostMessage("C1", slack.MsgOptionText("x", false)); slackErr(err) != "not_allowed_token_type" {
		t.Errorf("app token on chat.postMessage: %v", err)
	}
	wrongApp := slack.New(f.BotToken(), slack.OptionAppLevelToken(f.BotToken()), slack.OptionAPIURL(f.APIURL()), slack.OptionHTTPClient(apiHTTP(t)))
	if _, _, err := wrongApp.StartSocketModeContext(t.Context()); slackErr(err) != "not_allowed_token_type" {
		t.Errorf("bot token on apps.connections.open: %v", err)
	}
	// App-level tokens must come in the Authorization header.
	resp, err := postForm(t, f.APIURL()+"apps.connections.open", "token="+f.AppToken())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := f.Calls("apps.connections.open"); len(cs) != 2 || cs[1].Err != "not_authed" || f.Opens() != 0 {
		t.Errorf("form app token: %+v", cs)
	}
	// Unknown method.
	resp, err = postForm(t, f.APIURL()+"nope.nothing", "token="+f.BotToken())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := f.Calls("nope.nothing"); len(cs) != 1 || cs[0].Err != "unknown_method" || cs[0].Token != "xoxb-…" {
		t.Errorf("unknown method calls = %+v", cs)
	}
	// Missing trailing slash lands in the catch-all.
	noSlash := slack.New(f.BotToken(), slack.OptionAPIURL(strings.TrimSuffix(f.APIURL(), "/")), slack.OptionHTTPClient(apiHTTP(t)))
	if _, err := noSlash.AuthTest(); err == nil {
		t.Errorf("API URL without slash should fail")
	}
	// users.*
	u, err := api.GetUserInfo("U1")
	if err != nil || u.Name != "alice" || u.Profile.Email != "alice@example.com" || u.RealName != "Alice A" {
		t.Errorf("users.info = %+v, %v", u, err)
	}
	if _, err := api.GetUserInfo("U404"); slackErr(err) != "user_not_found" {
		t.Errorf("users.info unknown: %v", err)
	}
	if u, err := api.GetUserByEmail("BOB@example.com"); err != nil || u.ID != "U2" {
		t.Errorf("lookupByEmail = %+v, %v", u, err)
	}
	if _, err := api.GetUserByEmail("nobody@example.com"); slackErr(err) != "users_not_found" {
		t.Errorf("lookupByEmail unknown: %v", err)
	}
	ti, err := api.GetTeamInfo()
	if err != nil || ti.ID != "T0ACME" || ti.Domain != "acme" || ti.Name != "Acme" {
		t.Errorf("team.info = %+v, %v", ti, err)
	}
	if n := len(f.Errors()); n != 7 {
		for _, c := range f.Errors() {
			t.Logf("%s %d %s", c.Method, c.Status, c.Err)
		}
		t.Errorf("errors = %d, want 7", n)
	}
}

// postForm posts a raw form to the fake, within the test's context.
func postForm(t *testing.T, u, form string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return http.DefaultClient.Do(req)
}

func apiHTTP(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestChatPostingRules(t *testing.T) {
	f := newFake(t, Options{})
	api := apiClient(t, f)
	for _, tc := range []struct {
		name, channel, want string
	}{
		{"member channel", "C1", ""},
		{"channel by name", "#general", ""},
		{"public non-member (chat:write.public)", "C4", ""},
		{"private non-member", "C2", "not_in_channel"},
		{"archived", "C3", "is_archived"},
		{"unknown", "C999", "channel_not_found"},
		{"user id -> DM", "U1", ""},
		{"unknown user", "U999", "channel_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := api.PostMessage(tc.channel, slack.MsgOptionText("hello "+tc.name, false))
			if got := slackErr(err); got != tc.want {
				t.Fatalf("err = %q, want %q", got, tc.want)
			}
		})
	}
	if _, _, err := api.PostMessage("C1"); slackErr(err) != "no_text" {
		t.Errorf("empty message: %v", err)
	}
	dm, _, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U2"}})
	if err != nil || dm.ID != "DU2" {
		t.Fatalf("conversations.open = %+v, %v", dm, err)
	}
	ch, _, err := api.PostMessage(dm.ID, slack.MsgOptionText("psst", false))
	if err != nil || ch != "DU2" {
		t.Fatalf("post to DM = %q, %v", ch, err)
	}
	x := f.T(t)
	x.ExpectDM("U2", "psst")
	x.ExpectDM("U1", "hello user id -> DM")
	// Ephemerals.
	if _, err := api.PostEphemeral("C1", "U1", slack.MsgOptionText("only you", false)); err != nil {
		t.Fatal(err)
	}
	if m := x.ExpectEphemeral("U1", "only you"); m.Channel != "C1" || !m.Ephemeral || m.Kind != "ephemeral" {
		t.Errorf("ephemeral = %+v", m)
	}
	f.AddUser(User{ID: "U3", Name: "carol"})
	if _, err := api.PostEphemeral("C1", "U3", slack.MsgOptionText("x", false)); slackErr(err) != "user_not_in_channel" {
		t.Errorf("ephemeral to non-member: %v", err)
	}
	info, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "C1"})
	if err != nil || info.Name != "general" || !info.IsMember || info.IsPrivate {
		t.Errorf("conversations.info = %+v, %v", info, err)
	}
	if _, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "C2"}); slackErr(err) != "channel_not_found" {
		t.Errorf("conversations.info private: %v", err)
	}
}

func TestChatUpdateMetadataHistoryRoundTrip(t *testing.T) {
	f := newFake(t, Options{})
	api := apiClient(t, f)
	md := slack.SlackMetadata{EventType: "soe_question", EventPayload: map[string]any{"question_id": "42"}}
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("Q: how?", false), slack.MsgOptionMetadata(md),
		slack.MsgOptionBlocks(slack.NewSectionBlock(txt("*How?*"), nil, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, ts2, err := api.PostMessage("C1", slack.MsgOptionText("second", false))
	if err != nil {
		t.Fatal(err)
	}
	if !tsLess(ts, ts2) {
		t.Fatalf("ts not monotonic: %s %s", ts, ts2)
	}
	// Thread reply.
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("an answer", false), slack.MsgOptionTS(ts)); err != nil {
		t.Fatal(err)
	}
	// Update replaces text and blocks in place.
	if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("Q: how? (answered)", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(txt("*How?* answered"), nil, nil))); err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages("C1")
	if len(msgs) != 3 || msgs[0].Text != "Q: how? (answered)" || !msgs[0].Replaced || !strings.Contains(Flatten(msgs[0].Blocks), "answered") ||
		msgs[0].MetadataType != "soe_question" || msgs[0].MetadataPayload["question_id"] != "42" || msgs[0].ReplyCount != 1 {
		t.Fatalf("messages = %+v", msgs)
	}
	if _, _, _, err := api.UpdateMessage("C1", "1.000001", slack.MsgOptionText("x", false)); slackErr(err) != "message_not_found" {
		t.Errorf("update unknown: %v", err)
	}
	hm := f.PostAsUser("U1", "C1", "mine", "")
	if _, _, _, err := api.UpdateMessage("C1", hm.TS, slack.MsgOptionText("x", false)); slackErr(err) != "cant_update_message" {
		t.Errorf("update user's message: %v", err)
	}

	// History: newest first, top-level only, metadata only when asked for.
	h, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C1", IncludeAllMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Messages) != 3 || h.Messages[0].Timestamp != hm.TS || h.Messages[2].Timestamp != ts {
		t.Fatalf("history = %+v", h.Messages)
	}
	q := h.Messages[2]
	if q.Metadata.EventType != "soe_question" || q.Metadata.EventPayload["question_id"] != "42" || q.ReplyCount != 1 ||
		q.BotID == "" || len(q.Blocks.BlockSet) != 1 || q.Edited == nil {
		t.Errorf("history message = %+v", q.Msg)
	}
	h, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C1", Limit: 1, Oldest: ts})
	if err != nil || len(h.Messages) != 1 || !h.HasMore || h.Messages[0].Metadata.EventType != "" {
		t.Fatalf("history limit/oldest = %+v, %v", h, err)
	}
	h, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C1", Cursor: h.ResponseMetaData.NextCursor, Oldest: ts})
	if err != nil || len(h.Messages) != 1 || h.Messages[0].Timestamp != ts2 {
		t.Fatalf("history page 2 = %+v, %v", h, err)
	}
	replies, _, _, err := api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: "C1", Timestamp: ts})
	if err != nil || len(replies) != 2 || replies[1].Text != "an answer" || replies[1].ThreadTimestamp != ts {
		t.Fatalf("replies = %+v, %v", replies, err)
	}
	if _, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C4"}); slackErr(err) != "not_in_channel" {
		t.Errorf("history of non-member channel: %v", err)
	}
	link, err := api.GetPermalink(&slack.PermalinkParameters{Channel: "C1", Ts: ts})
	if err != nil || link != "https://acme.slack.com/archives/C1/p"+strings.ReplaceAll(ts, ".", "") {
		t.Errorf("permalink = %q, %v", link, err)
	}
	if _, _, err := api.DeleteMessage("C1", ts2); err != nil {
		t.Fatal(err)
	}
	if len(f.Messages("C1")) != 3 || len(f.AllMessages("C1")) != 4 {
		t.Errorf("after delete: %d / %d", len(f.Messages("C1")), len(f.AllMessages("C1")))
	}
	if _, _, err := api.DeleteMessage("C1", ts2); slackErr(err) != "message_not_found" {
		t.Errorf("double delete: %v", err)
	}
	c := f.Calls("chat.postMessage")[0]
	if c.Via != "form" || c.Form.Get("token") != "xoxb-…" || !strings.Contains(c.Form.Get("metadata"), "soe_question") {
		t.Errorf("recorded call = %+v", c)
	}
}

func TestRateLimits(t *testing.T) {
	t.Run("injected", func(t *testing.T) {
		f := newFake(t, Options{})
		api := apiClient(t, f)
		f.RateLimit("chat.postMessage", 1, 2*time.Second)
		_, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false))
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
			t.Fatalf("err = %#v", err)
		}
		if _, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false)); err != nil {
			t.Fatalf("second call: %v", err)
		}
		if es := f.Errors(); len(es) != 1 || es[0].Status != 429 {
			t.Errorf("errors = %+v", es)
		}
	})
	t.Run("per channel", func(t *testing.T) {
		clk := newClock()
		f := newFake(t, Options{PostRatePerChannel: 1, Now: clk.Now})
		api := apiClient(t, f)
		post := func(ch string) error { _, _, err := api.PostMessage(ch, slack.MsgOptionText("x", false)); return err }
		if err := post("C1"); err != nil {
			t.Fatal(err)
		}
		var rl *slack.RateLimitedError
		if err := post("C1"); !errors.As(err, &rl) || rl.RetryAfter != time.Second {
			t.Fatalf("burst: %v", err)
		}
		if err := post("C4"); err != nil {
			t.Fatalf("other channel: %v", err)
		}
		clk.Advance(time.Second)
		if err := post("C1"); err != nil {
			t.Fatalf("after a second: %v", err)
		}
	})
	t.Run("fail and latency", func(t *testing.T) {
		f := newFake(t, Options{})
		api := apiClient(t, f)
		f.FailMethod("users.info", "fatal_error", 1)
		f.SetLatency("users.info", 50*time.Millisecond)
		start := time.Now()
		if _, err := api.GetUserInfo("U1"); slackErr(err) != "fatal_error" {
			t.Fatalf("err = %v", err)
		}
		if _, err := api.GetUserInfo("U1"); err != nil || time.Since(start) < 100*time.Millisecond {
			t.Fatalf("second: %v after %s", err, time.Since(start))
		}
	})
}

func TestResponseURLRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		wantErr func(error) bool
	}{
		{"404 like Slack", 0, func(err error) bool {
			var sc slack.StatusCodeError
			return errors.As(err, &sc) && sc.Code == 404
		}},
		{"200 ok:false", 200, func(err error) bool { return slackErr(err) == "used_url" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			f := newFake(t, Options{Now: clk.Now, ResponseURLErrorStatus: tc.status})
			api := runApp(t, f, func(h *socketmode.SocketmodeHandler, _ *slack.Client) {
				h.HandleSlashCommand("/soe", func(e *socketmode.Event, c *socketmode.Client) { _ = c.Ack(*e.Request) })
			})
			s := f.T(t).Slash("U1", "C1", "x")
			post := func(opts ...slack.MsgOption) error {
				_, _, err := api.PostMessage("", append([]slack.MsgOption{slack.MsgOptionResponseURL(s.ResponseURL, slack.ResponseTypeEphemeral)}, opts...)...)
				return err
			}
			if err := post(slack.MsgOptionText("Searching…", false)); err != nil {
				t.Fatal(err)
			}
			// replace_original on a slash command replaces the previous response.
			if err := post(slack.MsgOptionText("3 results", false), slack.MsgOptionReplaceOriginal(s.ResponseURL)); err != nil {
				t.Fatal(err)
			}
			if eph := f.Ephemerals("U1"); len(eph) != 1 || eph[0].Text != "3 results" || !eph[0].Replaced {
				t.Fatalf("ephemerals = %+v", eph)
			}
			// in_channel: a channel message posted as the user.
			if _, _, err := api.PostMessage("", slack.MsgOptionResponseURL(s.ResponseURL, slack.ResponseTypeInChannel), slack.MsgOptionText("shared answer", false)); err != nil {
				t.Fatal(err)
			}
			m := f.T(t).ExpectMessage("C1", "shared answer")
			if m.BotPosted || m.User != "U1" || !m.InChannel || m.ResponseURL != s.ResponseURL {
				t.Errorf("in_channel message = %+v", m)
			}
			for i := 0; i < 2; i++ {
				if err := post(slack.MsgOptionText("more", false)); err != nil {
					t.Fatalf("use %d: %v", i+4, err)
				}
			}
			if err := post(slack.MsgOptionText("sixth", false)); !tc.wantErr(err) {
				t.Fatalf("6th use: %#v", err)
			}
			if rs := f.Responses(s.ResponseURL); len(rs) != 5 || !rs[1].Replaced {
				t.Errorf("responses = %d", len(rs))
			}
			es := f.Errors()
			if len(es) != 1 || es[0].Method != "response_url" || es[0].Err != "used_url" {
				t.Errorf("errors = %+v", es)
			}
			// TTL with the injected clock.
			s2 := f.T(t).Slash("U1", "C1", "y")
			clk.Advance(31 * time.Minute)
			_, _, err := api.PostMessage("", slack.MsgOptionResponseURL(s2.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("late", false))
			if err == nil {
				t.Fatal("expired response_url accepted")
			}
			if es := f.Errors(); es[len(es)-1].Err != "expired_url" {
				t.Errorf("last error = %+v", es[len(es)-1])
			}
			s3 := f.T(t).Slash("U1", "C1", "z")
			f.ExpireResponseURLs()
			if _, _, err := api.PostMessage("", slack.MsgOptionResponseURL(s3.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("late", false)); err == nil {
				t.Fatal("ExpireResponseURLs had no effect")
			}
		})
	}
}

func TestResponseURLWireFormat(t *testing.T) {
	f := newFake(t, Options{})
	api := runApp(t, f, func(h *socketmode.SocketmodeHandler, _ *slack.Client) {
		h.HandleSlashCommand("/soe", func(e *socketmode.Event, c *socketmode.Client) { _ = c.Ack(*e.Request) })
	})
	s := f.T(t).Slash("U1", "C1", "x")
	if _, _, err := api.PostMessage("", slack.MsgOptionResponseURL(s.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("plain", false)); err != nil {
		t.Fatal(err)
	}
	c := f.Calls("response_url")[0]
	if _, ok := c.JSON["blocks"]; !ok || c.JSON["blocks"] != nil {
		t.Errorf("expected blocks:null in %v", c.JSON)
	}
	if m := f.T(t).ExpectResponse(s, "plain"); m.MetadataType != "" || m.Blocks != nil {
		t.Errorf("response = %+v", m)
	}
}
