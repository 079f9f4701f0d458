package cardactions

import (
	"fmt"
	"html"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/postcard"
)

// titleLen bounds a question title in a confirmation.
const titleLen = 150

// What the clicker sees (ephemeral: through the click's response_url).

// ReadOnlyIntro is the first line of the Reconnect prompt for a read-only
// connection.
const ReadOnlyIntro = ":lock: Your connection is read-only; reconnect with write access to upvote, bookmark or accept from Slack."

// OutOfDate answers a button whose value the bot cannot read.
func OutOfDate() chat.Message {
	return blockkit.Warning("That button is out of date. Open the post on Stack Overflow instead.")
}

// OwnPost is SOE refusing a vote on the clicker's own post.
func OwnPost() chat.Message {
	return blockkit.Text(":no_entry_sign: You cannot vote on your own post.")
}

// OnlyTheAsker is SOE refusing to let someone other than the asker accept.
func OnlyTheAsker() chat.Message {
	return blockkit.Text(":no_entry_sign: Only the asker can accept this answer.")
}

// AlreadyVoted is SOE refusing a second upvote.
func AlreadyVoted() chat.Message {
	return blockkit.Text(":ballot_box_with_check: You already upvoted this; Stack Overflow counts one vote per person.")
}

// Confirmation is the short "done" of a successful action. title (a
// question's, maybe HTML-escaped) and url may be empty.
func Confirmation(verb string, answer bool, st postcard.State, title, url string) chat.Message {
	what := "the question"
	if answer {
		what = "the answer"
	}
	switch {
	case url != "" && title != "":
		what = "*" + mrkdwn.Link(url, mrkdwn.Truncate(html.UnescapeString(title), titleLen)) + "*"
	case url != "":
		what = mrkdwn.Link(url, what)
	}
	score := ""
	if st.Score != nil {
		score = fmt.Sprintf(" Its score is now %d.", *st.Score)
	}
	switch verb {
	case verbUpvote:
		return blockkit.Text(fmt.Sprintf(":arrow_up: You upvoted %s.%s", what, score))
	case verbBookmark:
		return blockkit.Text(fmt.Sprintf(":bookmark: You bookmarked %s; find it under your bookmarks on Stack Overflow.", what))
	default:
		return blockkit.Text(fmt.Sprintf(":white_check_mark: You accepted %s. The card shows it as accepted.", what))
	}
}
