// Package people answers "who is who": a tag's subject-matter experts as
// people (users, and the members of SME user groups), and which Slack user
// of a workspace an SOE user is. SOE is always asked with the caller's own
// client, so nobody learns more than SOE shows them. Lookups are cached.
package people

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/ttlcache"
)

// Source is what the directory asks SOE (a *soe.Client in one scope).
type Source interface {
	Scope() soe.Scope
	TagByName(ctx context.Context, name string) (*soe.TagSummary, []string, error)
	Tag(ctx context.Context, id int) (*soe.Tag, error)
	SubjectMatterExperts(ctx context.Context, tagID int) (*soe.SubjectMatterExperts, error)
	UserGroup(ctx context.Context, id int) (*soe.UserGroup, error)
	User(ctx context.Context, id int) (*soe.User, error)
}

// Links finds the Slack user who linked an SOE account (linking.Service).
type Links interface {
	SlackUserFor(ctx context.Context, teamID string, scope soe.Scope, soeUserID int) (string, bool, error)
}

// Slack finds a Slack user by email (chat.Slack).
type Slack interface {
	LookupUserByEmail(ctx context.Context, email string) (*slack.User, error)
}

// Person is an SOE user, with their Slack id when known ("" otherwise).
type Person struct {
	ID         int
	Name       string
	ProfileURL string
	SlackID    string
}

// Group is an SME user group and its members.
type Group struct {
	ID      int
	Name    string
	Members []Person
}

// Experts are a tag's SMEs: users, and groups with their members.
type Experts struct {
	Users  []Person
	Groups []Group
}

// Everyone is every expert once (users first, then group members).
func (e *Experts) Everyone() []Person {
	var out []Person
	seen := map[int]bool{}
	for _, p := range e.Users {
		if !seen[p.ID] {
			seen[p.ID] = true
			out = append(out, p)
		}
	}
	for _, g := range e.Groups {
		for _, p := range g.Members {
			if !seen[p.ID] {
				seen[p.ID] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// IDs are the SOE user ids of Everyone.
func (e *Experts) IDs() []int {
	var ids []int
	for _, p := range e.Everyone() {
		ids = append(ids, p.ID)
	}
	return ids
}

// Has reports whether SOE user id is an expert, directly or through a group.
func (e *Experts) Has(id int) bool { return slices.Contains(e.IDs(), id) }

// Config tunes the directory's caches.
type Config struct {
	TTL    time.Duration // how long tags, SME lists and mappings are kept (default 5m)
	Now    func() time.Time
	Logger *slog.Logger
}

// Directory looks people up. It is safe for concurrent use.
type Directory struct {
	links Links
	slack Slack
	log   *slog.Logger
	// tags: (scope, lower name) → tag; experts: (scope, tag id) → experts;
	// mapped: (team, scope, caller SOE id, SOE user id) → Slack id or "";
	// emails: (team, lower email) → Slack id or "".
	tags    *ttlcache.Cache[string, *soe.TagSummary]
	experts *ttlcache.Cache[string, *Experts]
	// ids: (scope, lower name) → tag id, kept for a day whatever TTL says: a
	// tag's id never changes, and knowing it saves the by-name lookup (one
	// SOE round trip) on every uncached /soe experts.
	ids    *ttlcache.Cache[string, int]
	mapped *ttlcache.Cache[string, string]
	emails *ttlcache.Cache[string, string]
}

// New returns a directory; links may be nil (no linked accounts known).
func New(cfg Config, links Links, sl Slack) *Directory {
	if cfg.TTL <= 0 {
		cfg.TTL = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Directory{
		links: links, slack: sl, log: cfg.Logger,
		tags:    ttlcache.New[string, *soe.TagSummary](cfg.TTL, 5000, cfg.Now),
		experts: ttlcache.New[string, *Experts](cfg.TTL, 5000, cfg.Now),
		ids:     ttlcache.New[string, int](tagIDTTL, 20000, cfg.Now),
		mapped:  ttlcache.New[string, string](cfg.TTL, 20000, cfg.Now),
		emails:  ttlcache.New[string, string](cfg.TTL, 20000, cfg.Now),
	}
}

// tagIDTTL is how long a tag's id is remembered by name.
const tagIDTTL = 24 * time.Hour

// TagWithExperts looks a tag up by name like Tag and, when SOE includes them
// in the same answer (GET /tags/{id}, once the tag's id is known), returns
// its experts too (groups expanded); experts is nil otherwise, and the
// caller asks TagExperts. So a known tag costs one SOE round trip.
func (d *Directory) TagWithExperts(ctx context.Context, src Source, name string) (tag *soe.TagSummary, experts *Experts, suggestions []string, err error) {
	key := src.Scope().Key() + "\x00" + strings.ToLower(name)
	if t, ok := d.tags.Get(key); ok {
		return t, nil, nil, nil
	}
	if id, ok := d.ids.Get(key); ok {
		full, err := src.Tag(ctx, id)
		switch {
		case err == nil && strings.EqualFold(full.Name, name):
			d.tags.Put(key, &full.TagSummary)
			if full.SubjectMatterExperts == nil || full.SubjectMatterExpertCount == nil {
				return &full.TagSummary, nil, nil, nil
			}
			ex, err := expand(ctx, src, full.SubjectMatterExperts)
			if err != nil {
				return nil, nil, nil, err
			}
			d.experts.Put(fmt.Sprintf("%s\x00%d", src.Scope().Key(), id), ex)
			return &full.TagSummary, ex, nil, nil
		case err != nil && !errors.Is(err, soe.ErrNotFound):
			return nil, nil, nil, err
		}
		// gone or renamed: look it up by name again
	}
	tag, suggestions, err = d.Tag(ctx, src, name)
	return tag, nil, suggestions, err
}

// Tag looks a tag up by name. When there is no such tag, the error is
// soe.ErrNotFound and suggestions are SOE's near names.
func (d *Directory) Tag(ctx context.Context, src Source, name string) (tag *soe.TagSummary, suggestions []string, err error) {
	tag, err = d.tags.GetOrLoad(ctx, src.Scope().Key()+"\x00"+strings.ToLower(name), func(ctx context.Context) (*soe.TagSummary, error) {
		t, sugg, err := src.TagByName(ctx, name)
		if errors.Is(err, soe.ErrNotFound) {
			suggestions = sugg
		}
		if err == nil {
			d.ids.Put(src.Scope().Key()+"\x00"+strings.ToLower(name), t.ID)
		}
		return t, err
	})
	return tag, suggestions, err
}

// TagExperts returns the SMEs of a tag with every group's members. A tag or
// group SOE no longer finds has none; soe.ErrSMEDisabled passes through.
func (d *Directory) TagExperts(ctx context.Context, src Source, tagID int) (*Experts, error) {
	key := fmt.Sprintf("%s\x00%d", src.Scope().Key(), tagID)
	return d.experts.GetOrLoad(ctx, key, func(ctx context.Context) (*Experts, error) {
		smes, err := src.SubjectMatterExperts(ctx, tagID)
		if errors.Is(err, soe.ErrNotFound) {
			return &Experts{}, nil
		}
		if err != nil {
			return nil, err
		}
		return expand(ctx, src, smes)
	})
}

// Forget drops what the directory holds about a tag of scope (its summary,
// with the SME count, and its SMEs), after the caller changed its experts:
// the next lookup reads SOE again.
func (d *Directory) Forget(scope soe.Scope, tagID int, name string) {
	d.tags.Delete(scope.Key() + "\x00" + strings.ToLower(name))
	d.experts.Delete(fmt.Sprintf("%s\x00%d", scope.Key(), tagID))
}

// TagNameExperts is TagExperts for a tag name; a tag that does not exist
// has no experts.
func (d *Directory) TagNameExperts(ctx context.Context, src Source, name string) (*Experts, error) {
	tag, _, err := d.Tag(ctx, src, name)
	if errors.Is(err, soe.ErrNotFound) {
		return &Experts{}, nil
	}
	if err != nil {
		return nil, err
	}
	return d.TagExperts(ctx, src, tag.ID)
}

func expand(ctx context.Context, src Source, smes *soe.SubjectMatterExperts) (*Experts, error) {
	e := &Experts{}
	for _, u := range smes.Users {
		e.Users = append(e.Users, person(u))
	}
	for _, g := range smes.UserGroups {
		members := g.Users
		if len(members) == 0 {
			full, err := src.UserGroup(ctx, g.ID)
			if err != nil && !errors.Is(err, soe.ErrNotFound) && !errors.Is(err, soe.ErrForbidden) {
				return nil, err
			}
			if full != nil {
				members = full.Users
			}
		}
		eg := Group{ID: g.ID, Name: g.Name}
		for _, u := range members {
			eg.Members = append(eg.Members, person(u))
		}
		e.Groups = append(e.Groups, eg)
	}
	return e, nil
}

func person(u soe.UserSummary) Person {
	return Person{ID: u.ID, Name: u.Name, ProfileURL: u.WebURL}
}

// InSlack returns a copy of e with every person's Slack id filled in where
// one is known to the caller (callerSOEID: the caller's own SOE user id, 0
// when unknown), a few lookups at a time. Only a lookup that failed as a
// whole is an error; the people found so far are still returned.
func (d *Directory) InSlack(ctx context.Context, teamID string, src Source, callerSOEID int, e *Experts) (*Experts, error) {
	out := &Experts{Users: slices.Clone(e.Users)}
	for _, g := range e.Groups {
		out.Groups = append(out.Groups, Group{ID: g.ID, Name: g.Name, Members: slices.Clone(g.Members)})
	}
	var all []*Person
	for i := range out.Users {
		all = append(all, &out.Users[i])
	}
	for gi := range out.Groups {
		for mi := range out.Groups[gi].Members {
			all = append(all, &out.Groups[gi].Members[mi])
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
			id, err := d.SlackID(ctx, teamID, src, callerSOEID, p.ID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			p.SlackID = id
		}()
	}
	wg.Wait()
	return out, firstErr
}

// SlackID maps an SOE user to a Slack user of this workspace: exactly, via a
// link someone made in this scope, or through an email the caller is allowed
// to see that Slack knows. Never by display name. "" when unknown.
func (d *Directory) SlackID(ctx context.Context, teamID string, src Source, callerSOEID, soeUserID int) (string, error) {
	scope := src.Scope()
	if d.links != nil {
		id, ok, err := d.links.SlackUserFor(ctx, teamID, scope, soeUserID)
		if err != nil {
			return "", err
		}
		if ok {
			return id, nil
		}
	}
	key := fmt.Sprintf("%s\x00%s\x00%d\x00%d", teamID, scope.Key(), callerSOEID, soeUserID)
	return d.mapped.GetOrLoad(ctx, key, func(ctx context.Context) (string, error) {
		u, err := src.User(ctx, soeUserID)
		switch {
		case errors.Is(err, soe.ErrNotFound), errors.Is(err, soe.ErrForbidden):
			return "", nil
		case err != nil:
			return "", err
		case u.Email == "":
			return "", nil
		}
		return d.byEmail(ctx, teamID, strings.ToLower(u.Email))
	})
}

func (d *Directory) byEmail(ctx context.Context, teamID, email string) (string, error) {
	return d.emails.GetOrLoad(ctx, teamID+"\x00"+email, func(ctx context.Context) (string, error) {
		su, err := d.slack.LookupUserByEmail(ctx, email)
		if errors.Is(err, chat.ErrUserNotFound) {
			return "", nil
		}
		if err != nil {
			d.log.WarnContext(ctx, "users.lookupByEmail failed", "err", err)
			return "", nil // a Slack hiccup only costs a mention
		}
		if su.Deleted || su.IsBot {
			return "", nil
		}
		return su.ID, nil
	})
}
