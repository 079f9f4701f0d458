package e2e

import (
	"strings"
	"testing"
)

// Replies that need no SOE call travel in the ack itself: Slack shows them
// at once, and the bot makes no response_url round trip for them.
func TestRepliesThatNeedNoSOERideInTheAck(t *testing.T) {
	e := bot(t)
	alice := SlackUser("alice")
	for _, tt := range []struct {
		text, want string
	}{
		{"", "Stack Overflow in Slack"},
		{"help", "Stack Overflow in Slack"},
		{"frobnicate the thing", "I did not understand"},
		{"experts", "name a tag"},
		{"experts go,rust,java,kotlin,scala,swift", "at most 5 tags"},
		{"search", "Tell me what to search for"},
		{"subscribe", "name a tag"},
		{"unsubscribe", "That did not work"},
		{"link to something", "Usage: `/soe link`"},
	} {
		t.Run(tt.text, func(t *testing.T) {
			s, err := e.Slack.SlashCommand(alice, General, "/soe", tt.text)
			if err != nil {
				t.Fatal(err)
			}
			ack, err := e.Slack.WaitAck(wait(t), s.EnvelopeID)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(ack.Payload), tt.want) {
				t.Fatalf("ack payload lacks %q: %s", tt.want, ack.Payload)
			}
			e.sees(t, s, tt.want)
		})
	}
	for _, c := range e.Slack.Calls("response_url") {
		t.Errorf("a response_url post for a reply the ack carried: %v", c.JSON)
	}
	e.Slack.T(t).ExpectNoErrors()
}
