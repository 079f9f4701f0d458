package soe

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
)

// AddSubjectMatterExpertUsers makes users SMEs of a tag (POST
// /tags/{id}/subject-matter-experts/users, needs write_access) and returns
// the tag's SMEs after the change. SOE decides who may: others get
// ErrForbidden; ErrSMEDisabled (422) when the feature is off. Never retried.
func (c *Client) AddSubjectMatterExpertUsers(ctx context.Context, tagID int, userIDs []int) (*SubjectMatterExperts, error) {
	if tagID <= 0 {
		return nil, fmt.Errorf("soe: invalid tag id %d: %w", tagID, ErrNotFound)
	}
	if len(userIDs) == 0 {
		return nil, fmt.Errorf("soe: no users to add as SMEs: %w", ErrNotFound)
	}
	for _, id := range userIDs {
		if id <= 0 {
			return nil, fmt.Errorf("soe: invalid user id %d: %w", id, ErrNotFound)
		}
	}
	var w wireSMEs
	r := &request{method: http.MethodPost, tmpl: "/tags/{id}/subject-matter-experts/users",
		path: "/tags/" + strconv.Itoa(tagID) + "/subject-matter-experts/users", body: userIDs, out: &w}
	if err := c.do(ctx, r); err != nil {
		return nil, err
	}
	return w.conv(), nil
}

// RemoveSubjectMatterExpertUser removes one user from a tag's SMEs (DELETE
// /tags/{id}/subject-matter-experts/users/{userId}, needs write_access).
// Errors as AddSubjectMatterExpertUsers.
func (c *Client) RemoveSubjectMatterExpertUser(ctx context.Context, tagID, userID int) error {
	if tagID <= 0 || userID <= 0 {
		return fmt.Errorf("soe: invalid tag/user id %d/%d: %w", tagID, userID, ErrNotFound)
	}
	r := &request{method: http.MethodDelete, tmpl: "/tags/{id}/subject-matter-experts/users/{id}",
		path: "/tags/" + strconv.Itoa(tagID) + "/subject-matter-experts/users/" + strconv.Itoa(userID)}
	return c.do(ctx, r)
}
