package soe

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Article is SOE's ArticleResponseModel. Body is HTML; Type is one of
// knowledgeArticle, announcement, policy, howToGuide.
type Article struct {
	ID               int
	Title            string
	Body             string
	BodyMarkdown     string
	WebURL           string
	ShareURL         string
	Tags             []TagSummary
	Owner            *UserSummary
	Score            int
	ViewCount        int
	CreationDate     time.Time
	LastActivityDate *time.Time
	Type             string
}

type wireArticle struct {
	ID               int              `json:"id"`
	Type             string           `json:"type"`
	Title            string           `json:"title"`
	Body             string           `json:"body"`
	BodyMarkdown     string           `json:"bodyMarkdown"`
	Tags             []wireTag        `json:"tags"`
	Owner            *wireUserSummary `json:"owner"`
	CreationDate     apiTime          `json:"creationDate"`
	LastActivityDate apiTime          `json:"lastActivityDate"`
	Score            int              `json:"score"`
	ViewCount        int              `json:"viewCount"`
	WebURL           string           `json:"webUrl"`
	ShareURL         string           `json:"shareUrl"`
}

// Article returns an article by id (GET /articles/{id}).
func (c *Client) Article(ctx context.Context, id int) (*Article, error) {
	if id <= 0 {
		return nil, fmt.Errorf("soe: invalid article id %d: %w", id, ErrNotFound)
	}
	var w wireArticle
	if err := c.get(ctx, "/articles/{id}", "/articles/"+strconv.Itoa(id), nil, &w); err != nil {
		return nil, err
	}
	return &Article{ID: w.ID, Title: w.Title, Body: w.Body, BodyMarkdown: w.BodyMarkdown, WebURL: w.WebURL,
		ShareURL: w.ShareURL, Tags: convTags(w.Tags), Owner: w.Owner.ptr(), Score: w.Score, ViewCount: w.ViewCount,
		CreationDate: w.CreationDate.val(), LastActivityDate: w.LastActivityDate.ptr(), Type: w.Type}, nil
}
