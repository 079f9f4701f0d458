package soe

import (
	"context"
	"fmt"
	"net/http"
)

// Community is SOE's CommunitySummaryResponseModel (main site only).
type Community struct {
	ID          int
	Name        string
	Description string
	MemberCount int
	Tags        []TagSummary
}

// Communities lists all communities (GET /communities, all pages). Communities
// exist only on the main site, so a team client also asks the main site.
func (c *Client) Communities(ctx context.Context) ([]Community, error) {
	var out []Community
	for page := 1; ; page++ {
		q, _ := pageQuery(page, 100, "name", "asc")
		var w wirePage[struct {
			ID          int       `json:"id"`
			Name        string    `json:"name"`
			Description string    `json:"description"`
			MemberCount int       `json:"memberCount"`
			Tags        []wireTag `json:"tags"`
		}]
		if err := c.do(ctx, &request{method: http.MethodGet, tmpl: "/communities", path: "/communities",
			query: q, out: &w, mainOnly: true}); err != nil {
			return nil, err
		}
		for _, it := range w.Items {
			out = append(out, Community{ID: it.ID, Name: it.Name, Description: it.Description,
				MemberCount: it.MemberCount, Tags: convTags(it.Tags)})
		}
		if len(w.Items) == 0 || page >= w.TotalPages {
			return out, nil
		}
	}
}

// Community reads one community with its tags (GET /communities/{id}; main
// site only, like Communities). Its members are not read.
func (c *Client) Community(ctx context.Context, id int) (*Community, error) {
	if id <= 0 {
		return nil, fmt.Errorf("%w: community %d", ErrNotFound, id)
	}
	var w struct {
		ID          int       `json:"id"`
		Name        string    `json:"name"`
		Description string    `json:"description"`
		MemberCount int       `json:"memberCount"`
		Tags        []wireTag `json:"tags"`
	}
	if err := c.do(ctx, &request{method: http.MethodGet, tmpl: "/communities/{id}", path: fmt.Sprintf("/communities/%d", id),
		out: &w, mainOnly: true}); err != nil {
		return nil, err
	}
	return &Community{ID: w.ID, Name: w.Name, Description: w.Description, MemberCount: w.MemberCount, Tags: convTags(w.Tags)}, nil
}
