package slackfake

import (
	"testing"

	"github.com/slack-go/slack"
)

// Threads as living cards use them: replies with metadata (read back from
// conversations.replies), reply_broadcast recorded and shown in the
// channel's history, chat.update of a deleted card refused.
func TestThreadRepliesBroadcastAndDeletedUpdates(t *testing.T) {
	f := newFake(t, Options{})
	api := apiClient(t, f)
	_, card, err := api.PostMessage("C1", slack.MsgOptionText("card", false))
	if err != nil {
		t.Fatal(err)
	}
	md := slack.SlackMetadata{EventType: "soe_event", EventPayload: map[string]any{"delivery_id": "d1"}}
	_, reply, err := api.PostMessage("C1", slack.MsgOptionText("an answer", false), slack.MsgOptionTS(card), slack.MsgOptionMetadata(md))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("also in channel", false), slack.MsgOptionTS(card), slack.MsgOptionBroadcast()); err != nil {
		t.Fatal(err)
	}
	th := f.Thread("C1", card)
	if len(th) != 3 || th[1].Broadcast || !th[2].Broadcast || th[0].ReplyCount != 2 {
		t.Fatalf("thread = %+v", th)
	}
	h, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: "C1"})
	if err != nil || len(h.Messages) != 2 || h.Messages[0].Text != "also in channel" {
		t.Fatalf("history shows the card and the broadcast reply only: %+v %v", h, err)
	}
	rs, _, _, err := api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: "C1", Timestamp: card, IncludeAllMetadata: true})
	if err != nil || len(rs) != 3 || rs[1].Timestamp != reply || rs[1].Metadata.EventPayload["delivery_id"] != "d1" {
		t.Fatalf("replies = %+v, %v", rs, err)
	}
	if _, _, _, err := api.UpdateMessage("C1", reply, slack.MsgOptionText("edited answer", false)); err != nil {
		t.Fatalf("a bot's thread reply can be updated: %v", err)
	}
	if !f.DeleteAsUser("C1", card) {
		t.Fatal("delete")
	}
	if _, _, _, err := api.UpdateMessage("C1", card, slack.MsgOptionText("x", false)); slackErr(err) != "message_not_found" {
		t.Fatalf("update of a deleted card: %v", err)
	}
}
