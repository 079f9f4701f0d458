package experts

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

func TestParseCurateArgs(t *testing.T) {
	tests := []struct {
		in      string
		curate  bool
		want    curateArgs
		problem string
	}{
		{in: "add <@UERIN|erin> go", curate: true, want: curateArgs{add: true, person: "UERIN", tag: "go"}},
		{in: "REMOVE <@UERIN> [Go] team platform", curate: true, want: curateArgs{person: "UERIN", tag: "go", team: "platform"}},
		{in: "add @erin go", curate: true, problem: "mention the person"},
		{in: "add <@UERIN|erin>", curate: true, problem: "name the tag"},
		{in: "add <@UERIN|erin> go rust", curate: true, problem: "one tag at a time"},
		{in: "add <@UERIN|erin> <!here>", curate: true, problem: "characters tags cannot contain"},
		{in: "add <@U<b>|x> go", curate: true, problem: "mention the person"},
		{in: "add <@UERIN|erin> go team", curate: true, problem: "team"},
		{in: "add go", curate: false},     // the tags "add" and "go"
		{in: "remove", curate: false},     // the tag "remove"
		{in: "kubernetes", curate: false}, // a lookup
	}
	for _, tt := range tests {
		args := router.Fields(tt.in)
		if got := isCurate(args); got != tt.curate {
			t.Errorf("isCurate(%q) = %v", tt.in, got)
		}
		if !tt.curate {
			continue
		}
		got, problem := parseCurateArgs(args)
		if tt.problem != "" {
			if !strings.Contains(problem, tt.problem) {
				t.Errorf("%q: problem %q, want %q", tt.in, problem, tt.problem)
			}
			continue
		}
		if problem != "" || got != tt.want {
			t.Errorf("%q: got %+v %q, want %+v", tt.in, got, problem, tt.want)
		}
	}
}

// fakeCurateSOE is the caller's SOE client: it knows erin (id 5) by email
// when admin, and answers the SME writes with err.
type fakeCurateSOE struct {
	admin   bool
	err     error
	added   []int
	removed []int
}

func (s *fakeCurateSOE) Scope() soe.Scope { return soe.MainSite() }
func (s *fakeCurateSOE) TagByName(context.Context, string) (*soe.TagSummary, []string, error) {
	return nil, nil, soe.ErrNotFound
}
func (s *fakeCurateSOE) Tag(context.Context, int) (*soe.Tag, error) { return nil, soe.ErrNotFound }
func (s *fakeCurateSOE) SubjectMatterExperts(context.Context, int) (*soe.SubjectMatterExperts, error) {
	return nil, soe.ErrNotFound
}
func (s *fakeCurateSOE) UserGroup(context.Context, int) (*soe.UserGroup, error) {
	return nil, soe.ErrNotFound
}
func (s *fakeCurateSOE) User(context.Context, int) (*soe.User, error) { return nil, soe.ErrNotFound }
func (s *fakeCurateSOE) UserByEmail(_ context.Context, email string) (*soe.User, error) {
	if !s.admin {
		return nil, fmt.Errorf("by email: %w", soe.ErrForbidden)
	}
	if email == "erin@acme.example" {
		return &soe.User{UserSummary: soe.UserSummary{ID: 5, Name: "Erin"}}, nil
	}
	return nil, soe.ErrNotFound
}
func (s *fakeCurateSOE) AddSubjectMatterExpertUsers(_ context.Context, _ int, ids []int) (*soe.SubjectMatterExperts, error) {
	s.added = append(s.added, ids...)
	return &soe.SubjectMatterExperts{}, s.err
}
func (s *fakeCurateSOE) RemoveSubjectMatterExpertUser(_ context.Context, _, id int) error {
	s.removed = append(s.removed, id)
	return s.err
}

type fakeSlackUsers struct{ Slack }

func (fakeSlackUsers) UserInfo(_ context.Context, id string) (*slack.User, error) {
	u := &slack.User{ID: id}
	u.Profile.Email = strings.ToLower(strings.TrimPrefix(id, "U")) + "@acme.example"
	return u, nil
}

type fakeLinks map[string]int // Slack user → SOE id on the main site

func (l fakeLinks) Links(_ context.Context, _, user string) ([]linking.Link, error) {
	if id, ok := l[user]; ok {
		return []linking.Link{{UserID: user, Scope: soe.MainSite(), SOEUserID: id}}, nil
	}
	return nil, nil
}

type forgot []string

func (f *forgot) Forget(_ soe.Scope, id int, name string) { *f = append(*f, fmt.Sprint(id, name)) }

func TestCurateGolden(t *testing.T) {
	n := 1
	tf := &soe.TagSummary{ID: 7, Name: "terraform", WebURL: "https://acme.example/questions/tagged/terraform", PostCount: 3, SubjectMatterExpertCount: &n}
	tests := []struct {
		name      string
		in        string
		admin     bool
		err       error
		smesOff   bool
		changed   bool
		wantForgt int
	}{
		{name: "experts_added", in: "add <@UERIN|erin> terraform", admin: true, changed: true},
		{name: "experts_removed", in: "remove <@UCAROL|carol> terraform", changed: true}, // carol is linked
		{name: "experts_not_moderator", in: "add <@UCAROL|carol> terraform", err: fmt.Errorf("x: %w", soe.ErrForbidden)},
		{name: "experts_unknown_person", in: "add <@UERIN|erin> terraform"}, // not linked, caller no admin
		{name: "experts_curate_no_tag", in: "add <@UERIN|erin> terrafrom", admin: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePeople{tags: map[string]*soe.TagSummary{"terraform": tf},
				experts: map[int]*people.Experts{7: {Users: []people.Person{{ID: 5, Name: "Erin Evans", ProfileURL: "https://acme.example/users/5"}}}}}
			var fg forgot
			x := New(Config{}, Deps{People: p, Slack: fakeSlackUsers{}, Links: fakeLinks{"UCAROL": 3}, Curator: &fg})
			src := &fakeCurateSOE{admin: tt.admin, err: tt.err}
			ca, problem := parseCurateArgs(router.Fields(tt.in))
			if problem != "" {
				t.Fatal(problem)
			}
			m, err := x.curate(context.Background(), "T1", src, &linking.Link{SOEUserID: 8}, ca)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(src.added) + len(src.removed); got != map[bool]int{true: 1}[tt.changed] && tt.err == nil {
				t.Errorf("SOE writes %v %v", src.added, src.removed)
			}
			if tt.changed != (len(fg) == 1) {
				t.Errorf("forgot %v after a change=%v", fg, tt.changed)
			}
			golden.Message(t, tt.name, m)
		})
	}
	x := New(Config{}, Deps{})
	golden.Message(t, "experts_curate_usage", x.curateUsage("name the tag"))
}
