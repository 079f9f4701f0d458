package soe

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// UserSummary is SOE's UserSummaryResponseModel.
type UserSummary struct {
	ID int
	// AccountID is the network-wide account id (nil when unknown).
	AccountID  *int
	Name       string
	AvatarURL  string
	WebURL     string
	Role       string
	Reputation int
}

// User is SOE's UserDetailsResponseModel. Email is "" when hidden (it is
// only visible to admins and to the user themself).
type User struct {
	UserSummary
	Email      string
	JobTitle   string
	Department string
	// ExternalID is the SCIM/SAML external id, if any.
	ExternalID string
}

// UserGroup is SOE's UserGroupResponseModel.
type UserGroup struct {
	ID          int
	Name        string
	Description string
	Users       []UserSummary
}

type wireUserSummary struct {
	ID         int    `json:"id"`
	AccountID  *int   `json:"accountId"`
	Name       string `json:"name"`
	AvatarURL  string `json:"avatarUrl"`
	WebURL     string `json:"webUrl"`
	Reputation int    `json:"reputation"`
	Role       string `json:"role"`
}

func (w *wireUserSummary) conv() UserSummary {
	return UserSummary{ID: w.ID, AccountID: w.AccountID, Name: w.Name, AvatarURL: w.AvatarURL,
		WebURL: w.WebURL, Role: w.Role, Reputation: w.Reputation}
}

func (w *wireUserSummary) ptr() *UserSummary {
	if w == nil {
		return nil
	}
	u := w.conv()
	return &u
}

func convUsers(ws []wireUserSummary) []UserSummary {
	out := make([]UserSummary, 0, len(ws))
	for i := range ws {
		out = append(out, ws[i].conv())
	}
	return out
}

type wireUser struct {
	wireUserSummary
	Email      *string `json:"email"`
	JobTitle   *string `json:"jobTitle"`
	Department *string `json:"department"`
	ExternalID *string `json:"externalId"`
}

func (w *wireUser) conv() *User {
	return &User{UserSummary: w.wireUserSummary.conv(), Email: deref(w.Email), JobTitle: deref(w.JobTitle),
		Department: deref(w.Department), ExternalID: deref(w.ExternalID)}
}

type wireUserGroup struct {
	ID          int               `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Users       []wireUserSummary `json:"users"`
}

func (w *wireUserGroup) conv() UserGroup {
	return UserGroup{ID: w.ID, Name: w.Name, Description: w.Description, Users: convUsers(w.Users)}
}

// Me returns the token's user (GET /users/me). It is the cheapest way to
// validate a token.
func (c *Client) Me(ctx context.Context) (*User, error) {
	var w wireUser
	if err := c.get(ctx, "/users/me", "/users/me", nil, &w); err != nil {
		return nil, err
	}
	return w.conv(), nil
}

// User returns a user by id (GET /users/{userId}).
func (c *Client) User(ctx context.Context, id int) (*User, error) {
	if id <= 0 {
		return nil, fmt.Errorf("soe: invalid user id %d: %w", id, ErrNotFound)
	}
	var w wireUser
	if err := c.get(ctx, "/users/{id}", "/users/"+strconv.Itoa(id), nil, &w); err != nil {
		return nil, err
	}
	return w.conv(), nil
}

// UserByEmail finds a user by e-mail (GET /users/by-email/{email}). SOE only
// allows this for admins: other tokens get ErrForbidden, a normal answer.
func (c *Client) UserByEmail(ctx context.Context, email string) (*User, error) {
	if email == "" {
		return nil, fmt.Errorf("soe: empty email: %w", ErrNotFound)
	}
	var w wireUser
	if err := c.get(ctx, "/users/by-email/{email}", "/users/by-email/"+url.PathEscape(email), nil, &w); err != nil {
		return nil, err
	}
	return w.conv(), nil
}

// UserGroup returns a user group with its members (GET /user-groups/{id}).
func (c *Client) UserGroup(ctx context.Context, id int) (*UserGroup, error) {
	if id <= 0 {
		return nil, fmt.Errorf("soe: invalid user group id %d: %w", id, ErrNotFound)
	}
	var w wireUserGroup
	if err := c.get(ctx, "/user-groups/{id}", "/user-groups/"+strconv.Itoa(id), nil, &w); err != nil {
		return nil, err
	}
	g := w.conv()
	return &g, nil
}
