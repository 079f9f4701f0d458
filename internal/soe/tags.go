package soe

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TagListOptions filters and pages GET /tags.
type TagListOptions struct {
	Page     int
	PageSize int
	Sort     string // name | postCount | creationDate
	Order    string
	// PartialName matches tags whose name contains it.
	PartialName string
	// HasSMEs, if set, keeps only tags with (true) or without (false) SMEs.
	HasSMEs *bool
}

// TagSummary is SOE's TagSummaryResponseModel.
type TagSummary struct {
	ID           int
	Name         string
	Description  string
	WebURL       string
	PostCount    int
	WatcherCount int
	// SubjectMatterExpertCount is nil when the SME feature is disabled.
	SubjectMatterExpertCount *int
	CreationDate             time.Time
	HasSynonyms              bool
}

// Tag is SOE's TagResponseModel.
type Tag struct {
	TagSummary
	// SubjectMatterExperts is nil when SOE does not include them.
	SubjectMatterExperts *SubjectMatterExperts
}

// SubjectMatterExperts lists a tag's SMEs: individual users and user groups.
type SubjectMatterExperts struct {
	Users      []UserSummary
	UserGroups []UserGroup
}

// AllUsers returns the individual SMEs plus the members of SME groups,
// de-duplicated by user id, individuals first.
func (s *SubjectMatterExperts) AllUsers() []UserSummary {
	if s == nil {
		return nil
	}
	seen := map[int]bool{}
	var out []UserSummary
	add := func(u UserSummary) {
		if !seen[u.ID] {
			seen[u.ID] = true
			out = append(out, u)
		}
	}
	for _, u := range s.Users {
		add(u)
	}
	for _, g := range s.UserGroups {
		for _, u := range g.Users {
			add(u)
		}
	}
	return out
}

type wireTag struct {
	ID                       int     `json:"id"`
	Name                     string  `json:"name"`
	Description              string  `json:"description"`
	PostCount                int     `json:"postCount"`
	SubjectMatterExpertCount *int    `json:"subjectMatterExpertCount"`
	WatcherCount             int     `json:"watcherCount"`
	CreationDate             apiTime `json:"creationDate"`
	HasSynonyms              bool    `json:"hasSynonyms"`
	WebURL                   string  `json:"webUrl"`
}

func (w *wireTag) conv() TagSummary {
	return TagSummary{ID: w.ID, Name: w.Name, Description: w.Description, WebURL: w.WebURL,
		PostCount: w.PostCount, WatcherCount: w.WatcherCount, SubjectMatterExpertCount: w.SubjectMatterExpertCount,
		CreationDate: w.CreationDate.val(), HasSynonyms: w.HasSynonyms}
}

func convTags(ws []wireTag) []TagSummary {
	out := make([]TagSummary, 0, len(ws))
	for i := range ws {
		out = append(out, ws[i].conv())
	}
	return out
}

type wireSMEs struct {
	Users      []wireUserSummary `json:"users"`
	UserGroups []wireUserGroup   `json:"userGroups"`
}

func (w *wireSMEs) conv() *SubjectMatterExperts {
	if w == nil {
		return nil
	}
	s := &SubjectMatterExperts{Users: convUsers(w.Users), UserGroups: make([]UserGroup, 0, len(w.UserGroups))}
	for i := range w.UserGroups {
		s.UserGroups = append(s.UserGroups, w.UserGroups[i].conv())
	}
	return s
}

type wireTagFull struct {
	wireTag
	SubjectMatterExperts *wireSMEs `json:"subjectMatterExperts"`
}

// TagsPage returns one page of tags (GET /tags).
func (c *Client) TagsPage(ctx context.Context, opt TagListOptions) (*Page[TagSummary], error) {
	q, err := pageQuery(opt.Page, opt.PageSize, opt.Sort, opt.Order)
	if err != nil {
		return nil, err
	}
	if opt.PartialName != "" {
		q.Set("partialName", opt.PartialName)
	}
	if opt.HasSMEs != nil {
		q.Set("hasSmes", strconv.FormatBool(*opt.HasSMEs))
	}
	var w wirePage[wireTag]
	if err := c.get(ctx, "/tags", "/tags", q, &w); err != nil {
		return nil, err
	}
	return convertPage(&w, (*wireTag).conv), nil
}

// Tag returns a tag by id, including its SMEs when SOE sends them.
func (c *Client) Tag(ctx context.Context, id int) (*Tag, error) {
	if id <= 0 {
		return nil, fmt.Errorf("soe: invalid tag id %d: %w", id, ErrNotFound)
	}
	var w wireTagFull
	if err := c.get(ctx, "/tags/{id}", "/tags/"+strconv.Itoa(id), nil, &w); err != nil {
		return nil, err
	}
	return &Tag{TagSummary: w.wireTag.conv(), SubjectMatterExperts: w.SubjectMatterExperts.conv()}, nil
}

// maxSuggestions bounds TagByName's suggestions.
const maxSuggestions = 5

// TagByName resolves an exact, case-insensitive tag name using
// GET /tags?partialName=. There is no get-by-name in API v3. When no tag
// matches exactly it returns an error wrapping ErrNotFound together with up
// to 5 close names, best first.
func (c *Client) TagByName(ctx context.Context, name string) (*TagSummary, []string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, nil, fmt.Errorf("soe: empty tag name: %w", ErrNotFound)
	}
	want := strings.ToLower(name)
	cands := map[string]TagSummary{}
	lookup := func(partial string) (*TagSummary, error) {
		p, err := c.TagsPage(ctx, TagListOptions{PartialName: partial, PageSize: 100, Sort: "postCount", Order: "desc"})
		if err != nil {
			return nil, err
		}
		for _, t := range p.Items {
			if strings.ToLower(t.Name) == want {
				return &t, nil
			}
			cands[t.Name] = t
		}
		return nil, nil
	}
	if t, err := lookup(name); err != nil || t != nil {
		return t, nil, err
	}
	// Broaden with a short prefix to catch typos ("kubernets" -> "kubernetes").
	if r := []rune(want); len(r) > 3 && len(cands) < maxSuggestions {
		if _, err := lookup(string(r[:3])); err != nil {
			return nil, nil, err
		}
	}
	return nil, rankSuggestions(want, cands), fmt.Errorf("soe: no tag named %q in %s: %w", name, c.scope, ErrNotFound)
}

func rankSuggestions(want string, cands map[string]TagSummary) []string {
	type cand struct {
		name     string
		contains bool
		dist     int
		posts    int
	}
	var cs []cand
	for n, t := range cands {
		ln := strings.ToLower(n)
		d := levenshtein(want, ln)
		contains := strings.Contains(ln, want) || strings.Contains(want, ln)
		if !contains && d > max(2, len([]rune(want))/2) {
			continue
		}
		cs = append(cs, cand{n, contains, d, t.PostCount})
	}
	slices.SortFunc(cs, func(a, b cand) int {
		switch {
		case a.dist != b.dist:
			return a.dist - b.dist
		case a.contains != b.contains:
			if a.contains {
				return -1
			}
			return 1
		case a.posts != b.posts:
			return b.posts - a.posts
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]string, 0, min(len(cs), maxSuggestions))
	for i := 0; i < len(cs) && i < maxSuggestions; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// SubjectMatterExperts returns a tag's SMEs. ErrSMEDisabled (HTTP 422) when
// the feature is off on the site.
func (c *Client) SubjectMatterExperts(ctx context.Context, tagID int) (*SubjectMatterExperts, error) {
	if tagID <= 0 {
		return nil, fmt.Errorf("soe: invalid tag id %d: %w", tagID, ErrNotFound)
	}
	var w wireSMEs
	if err := c.get(ctx, "/tags/{id}/subject-matter-experts", "/tags/"+strconv.Itoa(tagID)+"/subject-matter-experts", nil, &w); err != nil {
		return nil, err
	}
	return w.conv(), nil
}

// TagWatchers returns the users watching a tag (not paginated by SOE).
func (c *Client) TagWatchers(ctx context.Context, tagID int) ([]UserSummary, error) {
	if tagID <= 0 {
		return nil, fmt.Errorf("soe: invalid tag id %d: %w", tagID, ErrNotFound)
	}
	var w struct {
		Users []wireUserSummary `json:"users"`
	}
	if err := c.get(ctx, "/tags/{id}/tag-watchers", "/tags/"+strconv.Itoa(tagID)+"/tag-watchers", nil, &w); err != nil {
		return nil, err
	}
	return convUsers(w.Users), nil
}
