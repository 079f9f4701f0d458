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

// QuestionListOptions filters and pages GET /questions.
type QuestionListOptions struct {
	Page     int
	PageSize int    // 0 (server default 15), 15, 30, 50 or 100
	Sort     string // activity | creation | score
	Order    string // asc | desc
	// TagIDs are OR-ed by SOE.
	TagIDs            []int
	IsAnswered        *bool
	HasAcceptedAnswer *bool
	AuthorID          int
	// From/To filter on the creation date.
	From, To time.Time
}

// Question sort and order values.
const (
	SortActivity = "activity"
	SortCreation = "creation"
	SortScore    = "score"
	OrderAsc     = "asc"
	OrderDesc    = "desc"
)

// QuestionSummary is SOE's QuestionSummaryResponseModel. Body is HTML.
type QuestionSummary struct {
	ID               int
	Title            string
	Body             string
	WebURL           string
	ShareURL         string
	Tags             []TagSummary
	Owner            *UserSummary
	LastEditor       *UserSummary
	CreationDate     time.Time
	LastActivityDate *time.Time
	Score            int
	AnswerCount      int
	ViewCount        int
	IsAnswered       bool
	IsClosed         bool
	IsDeleted        bool
	IsObsolete       bool
}

// TagNames returns the names of the question's tags.
func (q *QuestionSummary) TagNames() []string {
	out := make([]string, 0, len(q.Tags))
	for _, t := range q.Tags {
		out = append(out, t.Name)
	}
	return out
}

// Question is SOE's QuestionResponseModel.
type Question struct {
	QuestionSummary
	BodyMarkdown string
}

// QuestionInput is the body of a new question. Body is Markdown; Tags are
// tag names (new ones are created by SOE).
type QuestionInput struct {
	Title string
	Body  string
	Tags  []string
}

// Product limits, checked before sending so users get a clear message.
const (
	MaxTitleLength  = 150
	MaxBodyLength   = 30000
	MaxTags         = 5
	MaxTagLength    = 35
	disallowedInTag = "<>&\"'`()[]{}\\/_=~|^@$%*?!"
)

// Validate checks in against SOE's documented content limits. A nil error
// does not guarantee SOE accepts the question (e.g. duplicates).
func (in QuestionInput) Validate() error {
	errs := map[string][]string{}
	title := strings.TrimSpace(in.Title)
	switch {
	case title == "":
		errs["Title"] = append(errs["Title"], "The title is required.")
	case utf8.RuneCountInString(title) > MaxTitleLength:
		errs["Title"] = append(errs["Title"], fmt.Sprintf("Title cannot be longer than %d characters.", MaxTitleLength))
	}
	switch {
	case strings.TrimSpace(in.Body) == "":
		errs["Body"] = append(errs["Body"], "The body is required.")
	case utf8.RuneCountInString(in.Body) > MaxBodyLength:
		errs["Body"] = append(errs["Body"], fmt.Sprintf("Body cannot be longer than %d characters.", MaxBodyLength))
	}
	switch {
	case len(in.Tags) == 0:
		errs["Tags"] = append(errs["Tags"], "At least one tag is required.")
	case len(in.Tags) > MaxTags:
		errs["Tags"] = append(errs["Tags"], fmt.Sprintf("At most %d tags are allowed.", MaxTags))
	}
	for _, t := range in.Tags {
		switch {
		case strings.TrimSpace(t) == "":
			errs["Tags"] = append(errs["Tags"], "Tags cannot be empty.")
		case utf8.RuneCountInString(t) > MaxTagLength:
			errs["Tags"] = append(errs["Tags"], fmt.Sprintf("Tag %q is longer than %d characters.", t, MaxTagLength))
		case strings.ContainsAny(t, disallowedInTag) || strings.ContainsAny(t, " \t\n"):
			errs["Tags"] = append(errs["Tags"], fmt.Sprintf("Tag %q contains characters that are not allowed.", t))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &ProblemError{Status: http.StatusBadRequest, Title: "Question not valid", Errors: errs}
}

type wireQuestionSummary struct {
	ID               int              `json:"id"`
	Title            string           `json:"title"`
	Body             string           `json:"body"`
	Tags             []wireTag        `json:"tags"`
	Owner            *wireUserSummary `json:"owner"`
	LastEditor       *wireUserSummary `json:"lastEditor"`
	CreationDate     apiTime          `json:"creationDate"`
	LastActivityDate apiTime          `json:"lastActivityDate"`
	Score            int              `json:"score"`
	IsAnswered       bool             `json:"isAnswered"`
	AnswerCount      int              `json:"answerCount"`
	ViewCount        int              `json:"viewCount"`
	WebURL           string           `json:"webUrl"`
	ShareURL         string           `json:"shareUrl"`
	IsDeleted        bool             `json:"isDeleted"`
	IsObsolete       bool             `json:"isObsolete"`
	IsClosed         bool             `json:"isClosed"`
}

func (w *wireQuestionSummary) conv() QuestionSummary {
	return QuestionSummary{
		ID: w.ID, Title: w.Title, Body: w.Body, WebURL: w.WebURL, ShareURL: w.ShareURL,
		Tags: convTags(w.Tags), Owner: w.Owner.ptr(), LastEditor: w.LastEditor.ptr(),
		CreationDate: w.CreationDate.val(), LastActivityDate: w.LastActivityDate.ptr(),
		Score: w.Score, AnswerCount: w.AnswerCount, ViewCount: w.ViewCount,
		IsAnswered: w.IsAnswered, IsClosed: w.IsClosed, IsDeleted: w.IsDeleted, IsObsolete: w.IsObsolete,
	}
}

type wireQuestion struct {
	wireQuestionSummary
	BodyMarkdown string `json:"bodyMarkdown"`
}

func (w *wireQuestion) conv() *Question {
	return &Question{QuestionSummary: w.wireQuestionSummary.conv(), BodyMarkdown: w.BodyMarkdown}
}

// QuestionsPage returns one page of questions (GET /questions).
func (c *Client) QuestionsPage(ctx context.Context, opt QuestionListOptions) (*Page[QuestionSummary], error) {
	q, err := pageQuery(opt.Page, opt.PageSize, opt.Sort, opt.Order)
	if err != nil {
		return nil, err
	}
	for _, id := range opt.TagIDs {
		q.Add("tagId", strconv.Itoa(id))
	}
	if opt.IsAnswered != nil {
		q.Set("isAnswered", strconv.FormatBool(*opt.IsAnswered))
	}
	if opt.HasAcceptedAnswer != nil {
		q.Set("hasAcceptedAnswer", strconv.FormatBool(*opt.HasAcceptedAnswer))
	}
	if opt.AuthorID > 0 {
		q.Set("authorId", strconv.Itoa(opt.AuthorID))
	}
	if !opt.From.IsZero() {
		q.Set("from", opt.From.UTC().Format(time.RFC3339))
	}
	if !opt.To.IsZero() {
		q.Set("to", opt.To.UTC().Format(time.RFC3339))
	}
	var w wirePage[wireQuestionSummary]
	if err := c.get(ctx, "/questions", "/questions", q, &w); err != nil {
		return nil, err
	}
	return convertPage(&w, (*wireQuestionSummary).conv), nil
}

// Questions iterates over all matching questions, page by page from
// opt.Page (default 1) until totalPages. An error is yielded once, last.
func (c *Client) Questions(ctx context.Context, opt QuestionListOptions) iter.Seq2[QuestionSummary, error] {
	return walk(ctx, opt.Page, func(ctx context.Context, page int) (*Page[QuestionSummary], error) {
		o := opt
		o.Page = page
		return c.QuestionsPage(ctx, o)
	})
}

// Question returns one question with its Markdown body (GET /questions/{id}).
func (c *Client) Question(ctx context.Context, id int) (*Question, error) {
	if id <= 0 {
		return nil, fmt.Errorf("soe: invalid question id %d: %w", id, ErrNotFound)
	}
	var w wireQuestion
	if err := c.get(ctx, "/questions/{id}", "/questions/"+strconv.Itoa(id), nil, &w); err != nil {
		return nil, err
	}
	return w.conv(), nil
}

// CreateQuestion posts a question as the token's user (POST /questions,
// needs write_access). It is never retried: on a temporary error the question
// may or may not exist.
func (c *Client) CreateQuestion(ctx context.Context, in QuestionInput) (*Question, error) {
	if err := in.Validate(); err != nil {
		return nil, fmt.Errorf("soe: POST /questions: %w", err)
	}
	body := struct {
		Title string   `json:"title"`
		Body  string   `json:"body"`
		Tags  []string `json:"tags"`
	}{strings.TrimSpace(in.Title), in.Body, in.Tags}
	var w wireQuestion
	if err := c.do(ctx, &request{method: http.MethodPost, tmpl: "/questions", path: "/questions", body: body, out: &w}); err != nil {
		return nil, err
	}
	return w.conv(), nil
}
