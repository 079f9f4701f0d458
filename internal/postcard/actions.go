package postcard

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/soe"
)

// The buttons that act on a post from its card (issue 17, "act from the
// card"): Upvote and Bookmark on a question, Upvote, Accept and Bookmark
// (its question) on an answer. internal/features/cardactions handles them
// with the clicker's own token. Action ids carry the post ("card_upvote:q12",
// "card_accept:a34"), so every id is unique in a message with several
// answers; the value is the post's Ref.
const (
	ActionUpvote   = "card_upvote"
	ActionBookmark = "card_bookmark"
	ActionAccept   = "card_accept"
	// ActionsBlock is the block_id prefix of a row ("card_acts:q12").
	ActionsBlock = "card_acts"
)

// Ref names the post a row of buttons acts on: a question (AnswerID 0) or
// one of its answers, in Scope.
type Ref struct {
	Scope      soe.Scope
	QuestionID int
	AnswerID   int
}

// IsAnswer reports whether r names an answer.
func (r Ref) IsAnswer() bool { return r.AnswerID > 0 }

// post is "q12" or "a34", the suffix of the row's ids.
func (r Ref) post() string {
	if r.IsAnswer() {
		return "a" + strconv.Itoa(r.AnswerID)
	}
	return "q" + strconv.Itoa(r.QuestionID)
}

// Value is the buttons' value: "<scope key> <question id> <answer id>".
func (r Ref) Value() string {
	return fmt.Sprintf("%s %d %d", r.Scope.Key(), r.QuestionID, r.AnswerID)
}

// ParseRef reads a Value; anything else is not ok.
func ParseRef(v string) (Ref, bool) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return Ref{}, false
	}
	scope, err := soe.ParseScopeKey(f[0])
	q, qerr := strconv.Atoi(f[1])
	a, aerr := strconv.Atoi(f[2])
	if err != nil || qerr != nil || aerr != nil || q <= 0 || a < 0 {
		return Ref{}, false
	}
	return Ref{Scope: scope, QuestionID: q, AnswerID: a}, true
}

// State is what a row shows of its post, as SOE last said.
type State struct {
	Score    *int // nil: not known (a fresh card shows no score)
	Accepted bool // the answer is the accepted one
}

// ActionRow is the row of buttons of one post.
func ActionRow(r Ref, st State) *slack.ActionBlock {
	v, id := r.Value(), ":"+r.post()
	upvote := "Upvote"
	if st.Score != nil {
		upvote = fmt.Sprintf("Upvote (score %d)", *st.Score)
	}
	els := []slack.BlockElement{blockkit.Button(ActionUpvote+id, upvote, v)}
	if r.IsAnswer() {
		accept := blockkit.Button(ActionAccept+id, "Accept", v)
		if st.Accepted {
			accept = blockkit.PrimaryButton(ActionAccept+id, "✓ Accepted", v)
		}
		els = append(els, accept)
	}
	els = append(els, blockkit.Button(ActionBookmark+id, "Bookmark", v))
	return blockkit.Actions(ActionsBlock+id, els...)
}

// Refresh is blocks with r's row showing st. Accepting an answer also
// clears ✓ from the other answers of that question on the card. ok is
// false when the card has no row for r (nothing to update).
func Refresh(blocks []slack.Block, r Ref, st State) (out []slack.Block, ok bool) {
	out = make([]slack.Block, 0, len(blocks))
	for _, b := range blocks {
		ab, isRow := b.(*slack.ActionBlock)
		if !isRow || !strings.HasPrefix(ab.BlockID, ActionsBlock+":") {
			out = append(out, b)
			continue
		}
		other, parsed := rowRef(ab)
		switch {
		case parsed && other == r:
			out, ok = append(out, ActionRow(r, st)), true
		case parsed && st.Accepted && r.IsAnswer() && other.IsAnswer() && other.QuestionID == r.QuestionID && other.Scope == r.Scope:
			prev := rowState(ab)
			prev.Accepted = false
			out = append(out, ActionRow(other, prev))
		default:
			out = append(out, b)
		}
	}
	return out, ok
}

// rowRef is the post a row acts on (from its first button's value).
func rowRef(ab *slack.ActionBlock) (Ref, bool) {
	if ab.Elements == nil {
		return Ref{}, false
	}
	for _, el := range ab.Elements.ElementSet {
		if btn, isBtn := el.(*slack.ButtonBlockElement); isBtn {
			return ParseRef(btn.Value)
		}
	}
	return Ref{}, false
}

// rowState reads back what a row shows.
func rowState(ab *slack.ActionBlock) State {
	var st State
	for _, el := range ab.Elements.ElementSet {
		btn, isBtn := el.(*slack.ButtonBlockElement)
		if !isBtn || btn.Text == nil {
			continue
		}
		switch {
		case strings.HasPrefix(btn.ActionID, ActionUpvote+":"):
			var n int
			if _, err := fmt.Sscanf(btn.Text.Text, "Upvote (score %d)", &n); err == nil {
				st.Score = &n
			}
		case strings.HasPrefix(btn.ActionID, ActionAccept+":"):
			st.Accepted = strings.Contains(btn.Text.Text, "Accepted")
		}
	}
	return st
}

// RowFor is the row of buttons of a fetched card (a question or an
// answer; ok is false for articles).
func RowFor(p *Card) (*slack.ActionBlock, bool) {
	if p == nil || p.Post.QuestionID <= 0 {
		return nil, false
	}
	score := p.Score
	return ActionRow(p.Post, State{Score: &score, Accepted: p.Post.IsAnswer() && p.Accepted}), true
}
