package notify

import (
	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/postcard"
)

// The Upvote / Bookmark / Accept rows of the question and answer cards
// (postcard.ActionRow; internal/features/cardactions handles the clicks
// with the clicker's own token).

// questionRow is the row of ev's question.
func withQuestionRow(blocks []slack.Block, ev *Event) []slack.Block {
	if ev.Question.ID <= 0 {
		return blocks
	}
	return append(blocks, postcard.ActionRow(postcard.Ref{Scope: ev.Scope, QuestionID: ev.Question.ID}, postcard.State{}))
}

// withAnswerRow is blocks and the row of one of ev's answers (none for an
// answer without an id); accepted says whether the card shows it as the
// accepted answer.
func withAnswerRow(blocks []slack.Block, ev *Event, a AnswerInfo, accepted bool) []slack.Block {
	if a.ID <= 0 || ev.Question.ID <= 0 {
		return blocks
	}
	r := postcard.Ref{Scope: ev.Scope, QuestionID: ev.Question.ID, AnswerID: a.ID}
	return append(blocks, postcard.ActionRow(r, postcard.State{Accepted: accepted}))
}
