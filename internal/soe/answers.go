package soe

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AnswerListOptions pages GET /questions/{id}/answers.
type AnswerListOptions struct {
	Page     int
	PageSize int
	Sort     string // score | modified | creation
	Order    string // asc | desc
}

// SortModified is an answers-only sort value (SortScore and SortCreation also apply).
const SortModified = "modified"

// AnswerSummary is SOE's AnswerSummaryResponseModel. Body is HTML.
type AnswerSummary struct {
	ID               int
	QuestionID       int
	Score            int
	Body             string
	WebURL           string
	ShareLink        string
	IsAccepted       bool
	Owner            *UserSummary
	CreationDate     time.Time
	LastActivityDate *time.Time
	CommentCount     int
}

// Answer is SOE's AnswerResponseModel.
type Answer struct {
	AnswerSummary
	BodyMarkdown string
}

type wireAnswerSummary struct {
	ID               int              `json:"id"`
	QuestionID       int              `json:"questionId"`
	Body             string           `json:"body"`
	Score            int              `json:"score"`
	IsAccepted       bool             `json:"isAccepted"`
	CreationDate     apiTime          `json:"creationDate"`
	LastActivityDate apiTime          `json:"lastActivityDate"`
	Owner            *wireUserSummary `json:"owner"`
	CommentCount     int              `json:"commentCount"`
	WebURL           *string          `json:"webUrl"`
	ShareLink        *string          `json:"shareLink"`
}

func (w *wireAnswerSummary) conv() AnswerSummary {
	return AnswerSummary{ID: w.ID, QuestionID: w.QuestionID, Score: w.Score, Body: w.Body,
		WebURL: deref(w.WebURL), ShareLink: deref(w.ShareLink), IsAccepted: w.IsAccepted,
		Owner: w.Owner.ptr(), CreationDate: w.CreationDate.val(), LastActivityDate: w.LastActivityDate.ptr(),
		CommentCount: w.CommentCount}
}

type wireAnswer struct {
	wireAnswerSummary
	BodyMarkdown string `json:"bodyMarkdown"`
}

func (w *wireAnswer) conv() *Answer {
	return &Answer{AnswerSummary: w.wireAnswerSummary.conv(), BodyMarkdown: w.BodyMarkdown}
}

// AnswersPage returns one page of a question's answers.
func (c *Client) AnswersPage(ctx context.Context, questionID int, opt AnswerListOptions) (*Page[AnswerSummary], error) {
	if questionID <= 0 {
		return nil, fmt.Errorf("soe: invalid question id %d: %w", questionID, ErrNotFound)
	}
	q, err := pageQuery(opt.Page, opt.PageSize, opt.Sort, opt.Order)
	if err != nil {
		return nil, err
	}
	var w wirePage[wireAnswerSummary]
	if err := c.get(ctx, "/questions/{id}/answers", "/questions/"+strconv.Itoa(questionID)+"/answers", q, &w); err != nil {
		return nil, err
	}
	return convertPage(&w, (*wireAnswerSummary).conv), nil
}

// Answers iterates over all answers of a question.
func (c *Client) Answers(ctx context.Context, questionID int, opt AnswerListOptions) iter.Seq2[AnswerSummary, error] {
	return walk(ctx, opt.Page, func(ctx context.Context, page int) (*Page[AnswerSummary], error) {
		o := opt
		o.Page = page
		return c.AnswersPage(ctx, questionID, o)
	})
}

// Answer returns one answer with its Markdown body.
func (c *Client) Answer(ctx context.Context, questionID, answerID int) (*Answer, error) {
	if questionID <= 0 || answerID <= 0 {
		return nil, fmt.Errorf("soe: invalid question/answer id %d/%d: %w", questionID, answerID, ErrNotFound)
	}
	var w wireAnswer
	p := "/questions/" + strconv.Itoa(questionID) + "/answers/" + strconv.Itoa(answerID)
	if err := c.get(ctx, "/questions/{id}/answers/{id}", p, nil, &w); err != nil {
		return nil, err
	}
	return w.conv(), nil
}

// CreateAnswer posts a Markdown answer as the token's user (POST
// /questions/{id}/answers, needs write_access). Never retried.
func (c *Client) CreateAnswer(ctx context.Context, questionID int, bodyMarkdown string) (*Answer, error) {
	if questionID <= 0 {
		return nil, fmt.Errorf("soe: invalid question id %d: %w", questionID, ErrNotFound)
	}
	if strings.TrimSpace(bodyMarkdown) == "" || utf8.RuneCountInString(bodyMarkdown) > MaxBodyLength {
		return nil, fmt.Errorf("soe: POST /questions/{id}/answers: %w", &ProblemError{Status: http.StatusBadRequest,
			Title: "Answer not valid", Errors: map[string][]string{"Body": {fmt.Sprintf("The body must be 1 to %d characters.", MaxBodyLength)}}})
	}
	body := struct {
		Body string `json:"body"`
	}{bodyMarkdown}
	var w wireAnswer
	p := "/questions/" + strconv.Itoa(questionID) + "/answers"
	if err := c.do(ctx, &request{method: http.MethodPost, tmpl: "/questions/{id}/answers", path: p, body: body, out: &w}); err != nil {
		return nil, err
	}
	return w.conv(), nil
}
