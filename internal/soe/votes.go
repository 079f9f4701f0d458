package soe

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
)

// Votes, bookmarks and accepting an answer (write_access; the token's own
// user acts). SOE decides who may: voting on one's own post, accepting an
// answer to someone else's question, voting twice are refused with problem
// details (403 or 400). Writes are never retried.

// UpvoteQuestion upvotes a question (POST /questions/{id}/upvote) and
// returns it with its new score.
func (c *Client) UpvoteQuestion(ctx context.Context, questionID int) (*Question, error) {
	return c.questionWrite(ctx, questionID, "upvote")
}

// BookmarkQuestion bookmarks a question for the token's user (POST
// /questions/{id}/bookmark, 201).
func (c *Client) BookmarkQuestion(ctx context.Context, questionID int) (*Question, error) {
	return c.questionWrite(ctx, questionID, "bookmark")
}

func (c *Client) questionWrite(ctx context.Context, questionID int, verb string) (*Question, error) {
	if questionID <= 0 {
		return nil, fmt.Errorf("soe: invalid question id %d: %w", questionID, ErrNotFound)
	}
	var w wireQuestion
	p := "/questions/" + strconv.Itoa(questionID) + "/" + verb
	if err := c.do(ctx, &request{method: http.MethodPost, tmpl: "/questions/{id}/" + verb, path: p, out: &w}); err != nil {
		return nil, err
	}
	return w.conv(), nil
}

// UpvoteAnswer upvotes an answer (POST
// /questions/{questionId}/answers/{answerId}/upvote) and returns it with its
// new score.
func (c *Client) UpvoteAnswer(ctx context.Context, questionID, answerID int) (*AnswerSummary, error) {
	return c.answerWrite(ctx, questionID, answerID, "upvote")
}

// AcceptAnswer accepts an answer (POST
// /questions/{questionId}/answers/{answerId}/accept); only the question's
// asker may.
func (c *Client) AcceptAnswer(ctx context.Context, questionID, answerID int) (*AnswerSummary, error) {
	return c.answerWrite(ctx, questionID, answerID, "accept")
}

func (c *Client) answerWrite(ctx context.Context, questionID, answerID int, verb string) (*AnswerSummary, error) {
	if questionID <= 0 || answerID <= 0 {
		return nil, fmt.Errorf("soe: invalid question/answer id %d/%d: %w", questionID, answerID, ErrNotFound)
	}
	var w wireAnswerSummary
	p := "/questions/" + strconv.Itoa(questionID) + "/answers/" + strconv.Itoa(answerID) + "/" + verb
	if err := c.do(ctx, &request{method: http.MethodPost, tmpl: "/questions/{id}/answers/{id}/" + verb, path: p, out: &w}); err != nil {
		return nil, err
	}
	s := w.conv()
	return &s, nil
}
