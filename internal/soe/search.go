package soe

import (
	"context"
	"time"
)

// SearchOptions are the parameters of GET /search.
type SearchOptions struct {
	Query    string
	Page     int
	PageSize int
	Sort     string // relevance | newest | active | score
}

// Search sort values.
const (
	SortRelevance = "relevance"
	SortNewest    = "newest"
	SortActive    = "active"
)

// Search result types.
const (
	ResultQuestion = "question"
	ResultAnswer   = "answer"
	ResultArticle  = "article"
)

// SearchResult is one item of the search union. ID is the questionId,
// answerId or articleId depending on Type; ParentQuestionID is set for answers.
type SearchResult struct {
	Type              string
	ID                int
	ParentQuestionID  int
	Title             string
	Snippet           string
	WebURL            string
	Tags              []string
	Owner             *UserSummary
	CreationDate      time.Time
	Score             int
	AnswerCount       int
	ViewCount         int
	HasAcceptedAnswer bool
	IsAccepted        bool
	ArticleType       string
}

// QuestionID returns the question a result belongs to (0 for articles).
func (r *SearchResult) QuestionID() int {
	switch r.Type {
	case ResultQuestion:
		return r.ID
	case ResultAnswer:
		return r.ParentQuestionID
	}
	return 0
}

type wireSearchResult struct {
	Type              string           `json:"type"`
	Title             string           `json:"title"`
	Snippet           string           `json:"snippet"`
	Tags              []wireTag        `json:"tags"`
	Owner             *wireUserSummary `json:"owner"`
	CreationDate      apiTime          `json:"creationDate"`
	Score             int              `json:"score"`
	WebURL            string           `json:"webUrl"`
	QuestionID        int              `json:"questionId"`
	AnswerCount       int              `json:"answerCount"`
	HasAcceptedAnswer bool             `json:"hasAcceptedAnswer"`
	ViewCount         int              `json:"viewCount"`
	AnswerID          int              `json:"answerId"`
	ParentQuestionID  int              `json:"parentQuestionId"`
	IsAccepted        bool             `json:"isAccepted"`
	ArticleID         int              `json:"articleId"`
	ArticleType       string           `json:"articleType"`
}

func (w *wireSearchResult) conv() SearchResult {
	r := SearchResult{Type: w.Type, Title: w.Title, Snippet: w.Snippet, WebURL: w.WebURL,
		Owner: w.Owner.ptr(), CreationDate: w.CreationDate.val(), Score: w.Score,
		AnswerCount: w.AnswerCount, ViewCount: w.ViewCount, HasAcceptedAnswer: w.HasAcceptedAnswer,
		IsAccepted: w.IsAccepted, ParentQuestionID: w.ParentQuestionID, ArticleType: w.ArticleType}
	switch {
	case w.Type == ResultAnswer || (w.Type == "" && w.AnswerID != 0):
		r.Type, r.ID = ResultAnswer, w.AnswerID
	case w.Type == ResultArticle || (w.Type == "" && w.ArticleID != 0):
		r.Type, r.ID = ResultArticle, w.ArticleID
	default:
		if r.Type == "" {
			r.Type = ResultQuestion
		}
		r.ID = w.QuestionID
	}
	r.Tags = make([]string, 0, len(w.Tags))
	for _, t := range w.Tags {
		r.Tags = append(r.Tags, t.Name)
	}
	return r
}

// Search runs a full-text search over questions, answers and articles
// (GET /search). Results come back most relevant/recent first.
func (c *Client) Search(ctx context.Context, opt SearchOptions) (*Page[SearchResult], error) {
	q, err := pageQuery(opt.Page, opt.PageSize, opt.Sort, "")
	if err != nil {
		return nil, err
	}
	if opt.Query != "" {
		q.Set("query", opt.Query)
	}
	var w wirePage[wireSearchResult]
	if err := c.get(ctx, "/search", "/search", q, &w); err != nil {
		return nil, err
	}
	return convertPage(&w, (*wireSearchResult).conv), nil
}
