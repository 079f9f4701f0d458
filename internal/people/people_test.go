package people

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/soe"
)

var errDown = errors.New("soe: 503")

// fakeSource is an SOE site: tags by name, SMEs by tag id, groups and users
// by id; errs makes a call fail ("tag:<name>", "smes:<id>", "group:<id>",
// "user:<id>"). It counts the calls.
type fakeSource struct {
	scope  soe.Scope
	tags   map[string]*soe.TagSummary
	suggs  []string
	smes   map[int]*soe.SubjectMatterExperts
	groups map[int]*soe.UserGroup
	users  map[int]*soe.User
	errs   map[string]error

	mu    sync.Mutex
	calls map[string]int
}

func (s *fakeSource) count(kind string, key any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[kind]++
	return s.errs[fmt.Sprintf("%s:%v", kind, key)]
}

func (s *fakeSource) n(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[kind]
}

func (s *fakeSource) Scope() soe.Scope { return s.scope }

func (s *fakeSource) TagByName(_ context.Context, name string) (*soe.TagSummary, []string, error) {
	if err := s.count("tag", name); err != nil {
		return nil, nil, err
	}
	if t, ok := s.tags[strings.ToLower(name)]; ok { // SOE ignores case
		return t, nil, nil
	}
	return nil, s.suggs, soe.ErrNotFound
}

func (s *fakeSource) Tag(_ context.Context, id int) (*soe.Tag, error) {
	if err := s.count("tagid", id); err != nil {
		return nil, err
	}
	for _, t := range s.tags {
		if t.ID == id {
			return &soe.Tag{TagSummary: *t, SubjectMatterExperts: s.smes[id]}, nil
		}
	}
	return nil, soe.ErrNotFound
}

func (s *fakeSource) SubjectMatterExperts(_ context.Context, tagID int) (*soe.SubjectMatterExperts, error) {
	if err := s.count("smes", tagID); err != nil {
		return nil, err
	}
	if e, ok := s.smes[tagID]; ok {
		return e, nil
	}
	return nil, soe.ErrNotFound
}

func (s *fakeSource) UserGroup(_ context.Context, id int) (*soe.UserGroup, error) {
	if err := s.count("group", id); err != nil {
		return nil, err
	}
	if g, ok := s.groups[id]; ok {
		return g, nil
	}
	return nil, soe.ErrNotFound
}

func (s *fakeSource) User(_ context.Context, id int) (*soe.User, error) {
	if err := s.count("user", id); err != nil {
		return nil, err
	}
	if u, ok := s.users[id]; ok {
		return u, nil
	}
	return nil, soe.ErrNotFound
}

// fakeLinks: SOE user id -> Slack id of whoever linked it (any team/scope).
type fakeLinks struct {
	linked map[int]string
	err    error
}

func (l fakeLinks) SlackUserFor(_ context.Context, _ string, _ soe.Scope, soeUserID int) (string, bool, error) {
	if l.err != nil {
		return "", false, l.err
	}
	id, ok := l.linked[soeUserID]
	return id, ok, nil
}

// fakeSlack: lower email -> Slack user; errs: email -> error. It counts lookups.
type fakeSlack struct {
	users map[string]*slack.User
	errs  map[string]error

	mu      sync.Mutex
	lookups int
}

func (s *fakeSlack) LookupUserByEmail(_ context.Context, email string) (*slack.User, error) {
	s.mu.Lock()
	s.lookups++
	s.mu.Unlock()
	if err := s.errs[email]; err != nil {
		return nil, err
	}
	if u, ok := s.users[email]; ok {
		return u, nil
	}
	return nil, chat.ErrUserNotFound
}

func us(ids ...int) []soe.UserSummary {
	var out []soe.UserSummary
	for _, id := range ids {
		out = append(out, soe.UserSummary{ID: id, Name: fmt.Sprintf("user %d", id), WebURL: fmt.Sprintf("https://acme.example/users/%d", id)})
	}
	return out
}

func ps(ids ...int) []Person {
	var out []Person
	for _, u := range us(ids...) {
		out = append(out, Person{ID: u.ID, Name: u.Name, ProfileURL: u.WebURL})
	}
	return out
}

func TestTagExpertsExpandsGroups(t *testing.T) {
	tests := []struct {
		name     string
		smes     *soe.SubjectMatterExperts
		groups   map[int]*soe.UserGroup
		errs     map[string]error
		want     *Experts
		wantErr  error
		groupsIn int // UserGroup calls
	}{
		{
			name:   "members sent with the group are not loaded again",
			smes:   &soe.SubjectMatterExperts{Users: us(1), UserGroups: []soe.UserGroup{{ID: 10, Name: "Platform", Users: us(2, 3)}}},
			groups: map[int]*soe.UserGroup{10: {ID: 10, Users: us(9)}},
			want:   &Experts{Users: ps(1), Groups: []Group{{ID: 10, Name: "Platform", Members: ps(2, 3)}}},
		},
		{
			name:     "a group sent without members is loaded",
			smes:     &soe.SubjectMatterExperts{UserGroups: []soe.UserGroup{{ID: 10, Name: "Platform"}}},
			groups:   map[int]*soe.UserGroup{10: {ID: 10, Name: "Platform", Users: us(2, 3)}},
			want:     &Experts{Groups: []Group{{ID: 10, Name: "Platform", Members: ps(2, 3)}}},
			groupsIn: 1,
		},
		{
			name:     "a group SOE no longer finds has no members",
			smes:     &soe.SubjectMatterExperts{Users: us(1), UserGroups: []soe.UserGroup{{ID: 10, Name: "Gone"}}},
			want:     &Experts{Users: ps(1), Groups: []Group{{ID: 10, Name: "Gone"}}},
			groupsIn: 1,
		},
		{
			name:     "a group the caller may not see has no members",
			smes:     &soe.SubjectMatterExperts{UserGroups: []soe.UserGroup{{ID: 10, Name: "Secret"}}},
			errs:     map[string]error{"group:10": fmt.Errorf("reading group: %w", soe.ErrForbidden)},
			want:     &Experts{Groups: []Group{{ID: 10, Name: "Secret"}}},
			groupsIn: 1,
		},
		{
			name:     "a group that fails otherwise fails the lookup",
			smes:     &soe.SubjectMatterExperts{UserGroups: []soe.UserGroup{{ID: 10, Name: "Platform"}}},
			errs:     map[string]error{"group:10": errDown},
			wantErr:  errDown,
			groupsIn: 1,
		},
		{
			name:    "SMEs turned off pass through",
			errs:    map[string]error{"smes:1": fmt.Errorf("smes: %w", soe.ErrSMEDisabled)},
			wantErr: soe.ErrSMEDisabled,
		},
		{
			name: "a tag SOE no longer finds has no experts",
			want: &Experts{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{smes: map[int]*soe.SubjectMatterExperts{}, groups: tt.groups, errs: tt.errs}
			if tt.smes != nil {
				src.smes[1] = tt.smes
			}
			d := New(Config{}, nil, &fakeSlack{})
			got, err := d.TagExperts(context.Background(), src, 1)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
			if n := src.n("group"); n != tt.groupsIn {
				t.Errorf("%d UserGroup calls, want %d", n, tt.groupsIn)
			}
		})
	}
}

func TestLookupsAreCached(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	src := &fakeSource{
		tags:   map[string]*soe.TagSummary{"go": {ID: 1, Name: "go"}},
		suggs:  []string{"golang"},
		smes:   map[int]*soe.SubjectMatterExperts{1: {Users: us(1), UserGroups: []soe.UserGroup{{ID: 10}}}},
		groups: map[int]*soe.UserGroup{10: {ID: 10, Users: us(2)}},
	}
	d := New(Config{TTL: time.Minute, Now: clock}, nil, &fakeSlack{})
	ctx := context.Background()
	for range 3 {
		if e, err := d.TagNameExperts(ctx, src, "Go"); err != nil || !e.Has(2) {
			t.Fatalf("TagNameExperts: %+v, %v", e, err)
		}
	}
	for kind, want := range map[string]int{"tag": 1, "smes": 1, "group": 1} {
		if n := src.n(kind); n != want {
			t.Errorf("%d %s calls for 3 lookups, want %d", n, kind, want)
		}
	}
	// Another scope is another site.
	other := &fakeSource{scope: soe.TeamScope("platform"), tags: src.tags, smes: src.smes, groups: src.groups}
	if _, err := d.TagExperts(ctx, other, 1); err != nil || other.n("smes") != 1 {
		t.Errorf("team scope served from the main site's cache (%v)", err)
	}
	// A missing tag is not remembered: every lookup gets the suggestions.
	for range 2 {
		tag, sugg, err := d.Tag(ctx, src, "golng")
		if tag != nil || !errors.Is(err, soe.ErrNotFound) || !reflect.DeepEqual(sugg, []string{"golang"}) {
			t.Fatalf("missing tag: %v %q %v", tag, sugg, err)
		}
	}
	if e, err := d.TagNameExperts(ctx, src, "golng"); err != nil || len(e.Everyone()) != 0 {
		t.Errorf("experts of a missing tag: %+v, %v", e, err)
	}
	// After the TTL SOE is asked again.
	now = now.Add(2 * time.Minute)
	if _, err := d.TagExperts(ctx, src, 1); err != nil || src.n("smes") != 2 {
		t.Errorf("expired entry served (%d SME calls, %v)", src.n("smes"), err)
	}
}

func TestSlackID(t *testing.T) {
	emails := map[int]*soe.User{
		2: {UserSummary: us(2)[0], Email: "Bob@Acme.example"},
		3: {UserSummary: us(3)[0], Email: "carol@acme.example"},
		4: {UserSummary: us(4)[0], Email: "gone@acme.example"},
		5: {UserSummary: us(5)[0], Email: "robot@acme.example"},
		6: {UserSummary: us(6)[0]}, // the caller may not see the email
		7: {UserSummary: us(7)[0], Email: "flaky@acme.example"},
	}
	sl := &fakeSlack{
		users: map[string]*slack.User{
			"bob@acme.example":   {ID: "UBOB"},
			"gone@acme.example":  {ID: "UGONE", Deleted: true},
			"robot@acme.example": {ID: "UBOT", IsBot: true},
		},
		errs: map[string]error{"flaky@acme.example": errors.New("slack: ratelimited")},
	}
	tests := []struct {
		name    string
		links   Links
		errs    map[string]error
		id      int
		want    string
		wantErr error
		userIn  int // SOE User calls
	}{
		{name: "via a link", links: fakeLinks{linked: map[int]string{1: "UALICE"}}, id: 1, want: "UALICE"},
		{name: "via email", links: fakeLinks{}, id: 2, want: "UBOB", userIn: 1},
		{name: "no links service", id: 2, want: "UBOB", userIn: 1},
		{name: "email unknown to Slack", links: fakeLinks{}, id: 3, userIn: 1},
		{name: "deleted Slack user", id: 4, userIn: 1},
		{name: "bot Slack user", id: 5, userIn: 1},
		{name: "email not shown to the caller", id: 6, userIn: 1},
		{name: "Slack lookup failed: no mention, no error", id: 7, userIn: 1},
		{name: "SOE user gone", id: 99, userIn: 1},
		{name: "SOE user hidden", id: 2, errs: map[string]error{"user:2": soe.ErrForbidden}, userIn: 1},
		{name: "SOE down", id: 2, errs: map[string]error{"user:2": errDown}, wantErr: errDown, userIn: 1},
		{name: "links store failed", links: fakeLinks{err: errDown}, id: 2, wantErr: errDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{users: emails, errs: tt.errs}
			d := New(Config{}, tt.links, sl)
			got, err := d.SlackID(context.Background(), "T1", src, 42, tt.id)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("SlackID(%d) = %q, %v; want %q, %v", tt.id, got, err, tt.want, tt.wantErr)
			}
			if n := src.n("user"); n != tt.userIn {
				t.Errorf("%d SOE User calls, want %d", n, tt.userIn)
			}
		})
	}
}

func TestSlackIDIsCachedPerCaller(t *testing.T) {
	src := &fakeSource{users: map[int]*soe.User{2: {UserSummary: us(2)[0], Email: "bob@acme.example"}}}
	sl := &fakeSlack{users: map[string]*slack.User{"bob@acme.example": {ID: "UBOB"}}}
	d := New(Config{}, nil, sl)
	ctx := context.Background()
	for range 3 {
		if id, err := d.SlackID(ctx, "T1", src, 42, 2); id != "UBOB" || err != nil {
			t.Fatalf("SlackID = %q, %v", id, err)
		}
	}
	if src.n("user") != 1 || sl.lookups != 1 {
		t.Errorf("3 lookups made %d SOE and %d Slack calls, want 1 and 1", src.n("user"), sl.lookups)
	}
	// Another caller may see other emails: SOE is asked again, Slack is not.
	if id, _ := d.SlackID(ctx, "T1", src, 43, 2); id != "UBOB" || src.n("user") != 2 || sl.lookups != 1 {
		t.Errorf("another caller: %q, %d SOE calls, %d Slack calls", id, src.n("user"), sl.lookups)
	}
	// Another workspace is another Slack.
	if _, _ = d.SlackID(ctx, "T2", src, 42, 2); sl.lookups != 2 {
		t.Errorf("another workspace served from T1's cache")
	}
}

func TestInSlack(t *testing.T) {
	src := &fakeSource{users: map[int]*soe.User{
		2: {UserSummary: us(2)[0], Email: "bob@acme.example"},
		3: {UserSummary: us(3)[0], Email: "carol@acme.example"},
	}}
	sl := &fakeSlack{users: map[string]*slack.User{"bob@acme.example": {ID: "UBOB"}, "carol@acme.example": {ID: "UCAROL"}}}
	d := New(Config{}, fakeLinks{linked: map[int]string{1: "UALICE"}}, sl)
	in := &Experts{Users: ps(1, 9), Groups: []Group{{ID: 10, Name: "Platform", Members: ps(2, 3)}}}
	got, err := d.InSlack(context.Background(), "T1", src, 42, in)
	if err != nil {
		t.Fatal(err)
	}
	want := &Experts{Users: ps(1, 9), Groups: []Group{{ID: 10, Name: "Platform", Members: ps(2, 3)}}}
	want.Users[0].SlackID, want.Groups[0].Members[0].SlackID, want.Groups[0].Members[1].SlackID = "UALICE", "UBOB", "UCAROL"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if in.Users[0].SlackID != "" || in.Groups[0].Members[0].SlackID != "" {
		t.Error("InSlack changed its input (a cached value)")
	}

	src.errs = map[string]error{"user:9": errDown}
	d = New(Config{}, fakeLinks{linked: map[int]string{1: "UALICE"}}, sl)
	got, err = d.InSlack(context.Background(), "T1", src, 42, in)
	if !errors.Is(err, errDown) || got == nil || got.Users[0].SlackID != "UALICE" || got.Groups[0].Members[0].SlackID != "UBOB" {
		t.Errorf("partial failure: %+v, %v", got, err)
	}
}

func TestEveryone(t *testing.T) {
	tests := []struct {
		name string
		e    Experts
		want []int
	}{
		{name: "none", want: nil},
		{name: "users first, then members, each once",
			e:    Experts{Users: ps(3, 1), Groups: []Group{{Members: ps(2, 1)}, {Members: ps(3, 4, 2)}}},
			want: []int{3, 1, 2, 4}},
		{name: "groups only", e: Experts{Groups: []Group{{Members: ps(5)}, {}}}, want: []int{5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, p := range tt.e.Everyone() {
				got = append(got, p.ID)
			}
			if !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(tt.e.IDs(), tt.want) {
				t.Fatalf("Everyone = %v, IDs = %v; want %v", got, tt.e.IDs(), tt.want)
			}
			for _, id := range tt.want {
				if !tt.e.Has(id) {
					t.Errorf("Has(%d) = false", id)
				}
			}
			if tt.e.Has(99) || tt.e.Has(0) {
				t.Error("Has of a stranger")
			}
		})
	}
}

// Once a tag's id is known (it never changes), an expired tag costs one SOE
// round trip: GET /tags/{id} answers with the tag and its SMEs together.
func TestTagWithExpertsKnownTagIsOneCall(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	src := &fakeSource{
		tags:   map[string]*soe.TagSummary{"go": {ID: 1, Name: "go", SubjectMatterExpertCount: new(2)}},
		smes:   map[int]*soe.SubjectMatterExperts{1: {Users: us(1), UserGroups: []soe.UserGroup{{ID: 10, Users: us(2)}}}},
		groups: map[int]*soe.UserGroup{},
	}
	d := New(Config{TTL: time.Nanosecond, Now: clock}, nil, &fakeSlack{})
	ctx := context.Background()
	// First time: by name, and no experts in that answer.
	tag, ex, _, err := d.TagWithExperts(ctx, src, "go")
	if err != nil || tag.ID != 1 || ex != nil || src.n("tag") != 1 {
		t.Fatalf("first lookup: %+v %+v %v (%d by-name calls)", tag, ex, err, src.n("tag"))
	}
	now = now.Add(time.Minute) // every TTL'd entry expired; the id is not
	tag, ex, _, err = d.TagWithExperts(ctx, src, "Go")
	if err != nil || tag.ID != 1 || ex == nil || !ex.Has(2) {
		t.Fatalf("known tag: %+v %+v %v", tag, ex, err)
	}
	if src.n("tag") != 1 || src.n("tagid") != 1 || src.n("smes") != 0 {
		t.Fatalf("calls: by name %d, by id %d, smes %d; want 1, 1, 0", src.n("tag"), src.n("tagid"), src.n("smes"))
	}
	// A tag that is gone by id is looked up by name again.
	src.tags = map[string]*soe.TagSummary{"go": {ID: 7, Name: "go"}}
	now = now.Add(time.Minute)
	if tag, _, _, err := d.TagWithExperts(ctx, src, "go"); err != nil || tag.ID != 7 || src.n("tag") != 2 {
		t.Fatalf("recreated tag: %+v %v (%d by-name calls)", tag, err, src.n("tag"))
	}
}
