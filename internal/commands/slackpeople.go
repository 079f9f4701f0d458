package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/soe"
)

// slackMapper maps SOE users to Slack users of a workspace, for the features
// that mention or DM SOE people (experts, ask). Lookups are cached.
type slackMapper struct {
	b *Bot
	// mapped: (team, scope, caller SOE id, SOE user id) -> Slack id or "";
	// emails: (team, lower email) -> Slack id or "".
	mapped *cache[string, string]
	emails *cache[string, string]
}

func newSlackMapper(b *Bot, ttl time.Duration) *slackMapper {
	return &slackMapper{
		b:      b,
		mapped: newCache[string, string](ttl, 20000, b.now),
		emails: newCache[string, string](ttl, 20000, b.now),
	}
}

// smePeople resolves SME users and groups (with members) to persons with
// Slack ids, using the caller's client c.
func (m *slackMapper) smePeople(ctx context.Context, teamID string, c *soe.Client, link *linking.Link, smes *soe.SubjectMatterExperts) ([]person, []expertGroup, error) {
	var users []person
	for _, u := range smes.Users {
		users = append(users, person{ID: u.ID, Name: u.Name, ProfileURL: u.WebURL})
	}
	var groups []expertGroup
	for _, g := range smes.UserGroups {
		members := g.Users
		if len(members) == 0 {
			full, err := c.UserGroup(ctx, g.ID)
			if err != nil && !errors.Is(err, soe.ErrNotFound) && !errors.Is(err, soe.ErrForbidden) {
				return nil, nil, err
			}
			if full != nil {
				members = full.Users
			}
		}
		eg := expertGroup{Name: g.Name}
		for _, u := range members {
			eg.Members = append(eg.Members, person{ID: u.ID, Name: u.Name, ProfileURL: u.WebURL})
		}
		groups = append(groups, eg)
	}
	// Map everyone to Slack, a few at a time.
	var all []*person
	for i := range users {
		all = append(all, &users[i])
	}
	for gi := range groups {
		for mi := range groups[gi].Members {
			all = append(all, &groups[gi].Members[mi])
		}
	}
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for _, p := range all {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id, err := m.slackID(ctx, teamID, c, link, p.ID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			p.SlackID = id
		}()
	}
	wg.Wait()
	return users, groups, firstErr
}

// slackID maps an SOE user to a Slack user of this workspace: exactly, via a
// link someone made in this scope, or through an email the caller is allowed
// to see that Slack knows. Never by display name.
func (m *slackMapper) slackID(ctx context.Context, teamID string, c *soe.Client, link *linking.Link, soeUserID int) (string, error) {
	scope := c.Scope()
	if links := m.b.links; links != nil {
		id, ok, err := links.SlackUserFor(ctx, teamID, scope, soeUserID)
		if err != nil {
			return "", err
		}
		if ok {
			return id, nil
		}
	}
	caller := 0
	if link != nil {
		caller = link.SOEUserID
	}
	key := fmt.Sprintf("%s\x00%s\x00%d\x00%d", teamID, scope.Key(), caller, soeUserID)
	return m.mapped.GetOrLoad(ctx, key, func(ctx context.Context) (string, error) {
		u, err := c.User(ctx, soeUserID)
		switch {
		case errors.Is(err, soe.ErrNotFound), errors.Is(err, soe.ErrForbidden):
			return "", nil
		case err != nil:
			return "", err
		case u.Email == "":
			return "", nil
		}
		email := strings.ToLower(u.Email)
		return m.emails.GetOrLoad(ctx, teamID+"\x00"+email, func(ctx context.Context) (string, error) {
			su, err := m.b.slack.LookupUserByEmail(ctx, email)
			if errors.Is(err, chat.ErrUserNotFound) {
				return "", nil
			}
			if err != nil {
				m.b.log.WarnContext(ctx, "users.lookupByEmail failed", "err", err)
				return "", nil // a Slack hiccup only costs a mention
			}
			if su.Deleted || su.IsBot {
				return "", nil
			}
			return su.ID, nil
		})
	})
}
