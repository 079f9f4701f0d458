package cardactions

import (
	"testing"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/postcard"
)

// Every message the clicker can get from this feature, as Slack receives it.
func TestMessagesGolden(t *testing.T) {
	three := 3
	st := postcard.State{Score: &three}
	hostile := "Why does &lt;!channel&gt; &amp; <@U999> *break* our pods?"
	for name, m := range map[string]chat.Message{
		"upvoted_question":  Confirmation(verbUpvote, false, st, hostile, "https://acme.example/questions/12/why"),
		"upvoted_answer":    Confirmation(verbUpvote, true, postcard.State{Score: &three, Accepted: true}, "", "https://acme.example/a/34"),
		"bookmarked":        Confirmation(verbBookmark, false, st, "Which Go linter settings do we share?", "https://acme.example/questions/12/which"),
		"accepted":          Confirmation(verbAccept, true, postcard.State{Score: &three, Accepted: true}, "", "https://acme.example/a/34"),
		"accepted_no_url":   Confirmation(verbAccept, true, postcard.State{Accepted: true}, "", ""),
		"refused_own_post":  OwnPost(),
		"refused_not_asker": OnlyTheAsker(),
		"refused_voted":     AlreadyVoted(),
		"out_of_date":       OutOfDate(),
		"read_only_intro":   blockkit.Text(ReadOnlyIntro),
	} {
		golden.Message(t, name, m)
	}
}

func TestVerbOf(t *testing.T) {
	for id, want := range map[string]string{
		"card_upvote:q12": verbUpvote, "card_upvote:a34": verbUpvote, "card_bookmark:a34": verbBookmark,
		"card_accept:a34": verbAccept, "card_accept": verbAccept, "card_delete:q1": "", "": "", "share:1": "",
	} {
		if got := verbOf(id); got != want {
			t.Errorf("verbOf(%q) = %q, want %q", id, got, want)
		}
	}
}
