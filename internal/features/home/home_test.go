package home

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

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/soe"
)

func homeBot() *Feature {
	return New(Config{SiteURL: "https://acme.example"}, Deps{})
}

func homeGolden(t *testing.T, name string, b *Feature, d *data) {
	t.Helper()
	blocks := b.render(d)
	if len(blocks) > maxBlocks {
		t.Fatalf("%s: %d blocks", name, len(blocks))
	}
	golden.Message(t, name, chat.Message{Text: "home", Blocks: blocks})
}

func TestRenderHomeGolden(t *testing.T) {
	b := homeBot()
	n := 4
	alice := linking.Link{TeamID: "T1", UserID: "UALICE", Scope: soe.MainSite(), SOEUserID: 1, SOEName: "Alice Anderson",
		SOEProfileURL: "https://acme.example/users/1", WriteAccess: true}
	team := linking.Link{TeamID: "T1", UserID: "UALICE", Scope: soe.TeamScope("platform"), SOEUserID: 1, SOEName: "Alice <!channel>",
		Invalid: true, InvalidReason: "Stack Overflow refused the token", Expiry: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}

	homeGolden(t, "home_new_user", b, &data{Connections: []conn{{Scope: soe.MainSite(), ConnectURL: "https://bot.example/link/abc"}}})

	homeGolden(t, "home_sme", b, &data{
		Connections: []conn{{Scope: soe.MainSite(), Link: &alice}, {Scope: team.Scope, Link: &team, ConnectURL: "https://bot.example/link/def"}},
		Extra:       [][]slack.Block{{blockkit.Section("*Your channel subscriptions*\n#general: `kubernetes`")}},
		Expertise: &expertise{
			Tags: []soe.TagSummary{{ID: 101, Name: "kubernetes", WebURL: "https://acme.example/questions/tagged/kubernetes", SubjectMatterExpertCount: &n}},
			Questions: []soe.QuestionSummary{
				{ID: 120, Title: "How do we rotate the kubeconfig credentials used by CI?", WebURL: "https://acme.example/questions/120/x",
					Tags: []soe.TagSummary{{Name: "kubernetes"}, {Name: "kubectl"}}, Owner: &soe.UserSummary{Name: "Carol Chen"}, AnswerCount: 1},
				{ID: 121, Title: "<!here> &amp; spam", WebURL: "https://acme.example/questions/121", Owner: &soe.UserSummary{Name: "<@U1>"}},
			},
		},
	})
	homeGolden(t, "home_not_sme", b, &data{
		Connections: []conn{{Scope: soe.MainSite(), Link: &alice}},
		Expertise:   &expertise{Partial: true, Checked: 30},
	})
	homeGolden(t, "home_sme_disabled", b, &data{
		Connections: []conn{{Scope: soe.MainSite(), Link: &alice}},
		Expertise:   &expertise{SMEDisabled: true},
	})
	homeGolden(t, "home_failed", b, &data{LinksFailed: true, ExpertiseFail: "Stack Overflow did not answer in time."})
}

func TestRenderHomeEscapesAndCaps(t *testing.T) {
	b := homeBot()
	var extra [][]slack.Block
	for range 120 {
		extra = append(extra, []slack.Block{blockkit.Section("x")})
	}
	blocks := b.render(&data{Extra: extra})
	if len(blocks) > maxBlocks {
		t.Fatalf("%d blocks", len(blocks))
	}
	js := string(golden.Marshal(t, blocks))
	if !strings.Contains(js, "blocks left out") {
		t.Error("capping is not said")
	}
}

func TestHomeSectionsRunInOrderAndSurvivePanics(t *testing.T) {
	b := homeBot()
	b.AddSection(func(_ context.Context, team, user string) []slack.Block {
		return []slack.Block{blockkit.Section("first " + team + " " + user)}
	})
	b.AddSection(func(context.Context, string, string) []slack.Block { panic("boom") })
	b.AddSection(func(context.Context, string, string) []slack.Block { return nil })
	b.AddSection(func(context.Context, string, string) []slack.Block { return []slack.Block{blockkit.Section("second")} })
	d := b.gather(context.Background(), "T1", "U1")
	if len(d.Extra) != 2 {
		t.Fatalf("extra sections: %d", len(d.Extra))
	}
	js := string(golden.Marshal(t, b.render(d)))
	i, j := strings.Index(js, "first T1 U1"), strings.Index(js, "second")
	if i < 0 || j < i {
		t.Errorf("sections missing or out of order: %s", js)
	}
}

// site is a fake SOE site for the expertise lookup: tags with SMEs in
// order of use, their SMEs, groups by id; it counts the calls.
type site struct {
	tags      []soe.TagSummary
	total     int // TotalCount of the tags page (default len(tags))
	smes      map[int]*soe.SubjectMatterExperts
	smeErr    map[int]error
	groups    map[int]*soe.UserGroup
	groupErr  error
	questions []soe.QuestionSummary

	mu        sync.Mutex
	calls     map[string]int
	askedTags []int
}

func (s *site) count(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[kind]++
}

func (s *site) n(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[kind]
}

func (s *site) Scope() soe.Scope { return soe.MainSite() }

func (s *site) TagByName(context.Context, string) (*soe.TagSummary, []string, error) {
	return nil, nil, errors.New("not used")
}

func (s *site) Tag(context.Context, int) (*soe.Tag, error) { return nil, errors.New("not used") }

func (s *site) User(context.Context, int) (*soe.User, error) { return nil, errors.New("not used") }

func (s *site) TagsPage(_ context.Context, opt soe.TagListOptions) (*soe.Page[soe.TagSummary], error) {
	s.count("tags")
	if opt.HasSMEs == nil || !*opt.HasSMEs || opt.Sort != "postCount" {
		return nil, errors.New("unexpected tag query")
	}
	total := s.total
	if total == 0 {
		total = len(s.tags)
	}
	return &soe.Page[soe.TagSummary]{Items: s.tags[:min(len(s.tags), opt.PageSize)], TotalCount: total}, nil
}

func (s *site) SubjectMatterExperts(_ context.Context, tagID int) (*soe.SubjectMatterExperts, error) {
	s.count("smes")
	if err := s.smeErr[tagID]; err != nil {
		return nil, err
	}
	if e, ok := s.smes[tagID]; ok {
		return e, nil
	}
	return &soe.SubjectMatterExperts{}, nil
}

func (s *site) UserGroup(_ context.Context, id int) (*soe.UserGroup, error) {
	s.count("group")
	if s.groupErr != nil {
		return nil, s.groupErr
	}
	if g, ok := s.groups[id]; ok {
		return g, nil
	}
	return nil, soe.ErrNotFound
}

func (s *site) QuestionsPage(_ context.Context, opt soe.QuestionListOptions) (*soe.Page[soe.QuestionSummary], error) {
	s.count("questions")
	s.mu.Lock()
	s.askedTags = opt.TagIDs
	s.mu.Unlock()
	return &soe.Page[soe.QuestionSummary]{Items: s.questions}, nil
}

func withSMEs(n int) *int { return &n }

// tagsWithSMEs are n tags (ids 1..n), each with SMEs.
func tagsWithSMEs(n int) []soe.TagSummary {
	var out []soe.TagSummary
	for i := 1; i <= n; i++ {
		out = append(out, soe.TagSummary{ID: i, Name: fmt.Sprintf("tag%d", i), SubjectMatterExpertCount: withSMEs(1)})
	}
	return out
}

func questions(n int) []soe.QuestionSummary {
	var out []soe.QuestionSummary
	for i := range n {
		out = append(out, soe.QuestionSummary{ID: 100 + i})
	}
	return out
}

func TestFindExpertise(t *testing.T) {
	const me = 7
	direct := &soe.SubjectMatterExperts{Users: []soe.UserSummary{{ID: me}}}
	viaGroup := &soe.SubjectMatterExperts{UserGroups: []soe.UserGroup{{ID: 50}}} // members left out
	groups := map[int]*soe.UserGroup{50: {ID: 50, Users: []soe.UserSummary{{ID: 3}, {ID: me}}}}
	twoGroups := func(n int) map[int]*soe.SubjectMatterExperts {
		m := map[int]*soe.SubjectMatterExperts{}
		for i := 1; i <= n; i++ {
			m[i] = &soe.SubjectMatterExperts{UserGroups: []soe.UserGroup{{ID: 1000 + 2*i}, {ID: 1001 + 2*i}}}
		}
		return m
	}
	down := errors.New("soe: 500")
	tests := []struct {
		name    string
		site    *site
		want    expertise // Questions compared by count
		wantQs  int
		wantErr error
		calls   map[string]int
	}{
		{name: "direct and through a group",
			site: &site{tags: tagsWithSMEs(3), smes: map[int]*soe.SubjectMatterExperts{1: direct, 3: viaGroup}, groups: groups, questions: questions(15)},
			want: expertise{Checked: 3, Tags: []soe.TagSummary{tagsWithSMEs(3)[0], tagsWithSMEs(3)[2]}}, wantQs: maxQuestions,
			calls: map[string]int{"tags": 1, "smes": 3, "group": 1, "questions": 1}},
		{name: "no expert tags: no question lookup",
			site:  &site{tags: tagsWithSMEs(2), total: 120},
			want:  expertise{Checked: 2, Partial: true},
			calls: map[string]int{"tags": 1, "smes": 2}},
		{name: "SMEs off (no counts on tags)",
			site:  &site{tags: []soe.TagSummary{{ID: 1, Name: "go"}}},
			want:  expertise{SMEDisabled: true},
			calls: map[string]int{"tags": 1}},
		{name: "SMEs off (SOE says so)",
			site:  &site{tags: tagsWithSMEs(2), smeErr: map[int]error{1: soe.ErrSMEDisabled}},
			want:  expertise{SMEDisabled: true},
			calls: map[string]int{"tags": 1, "smes": 1}},
		{name: "a tag the user may not see is skipped",
			site:  &site{tags: tagsWithSMEs(2), smes: map[int]*soe.SubjectMatterExperts{2: direct}, smeErr: map[int]error{1: soe.ErrForbidden}},
			want:  expertise{Checked: 2, Tags: tagsWithSMEs(2)[1:]},
			calls: map[string]int{"tags": 1, "smes": 2, "questions": 1}},
		{name: "SOE down",
			site:    &site{tags: tagsWithSMEs(2), smeErr: map[int]error{1: down}},
			wantErr: down,
			calls:   map[string]int{"tags": 1, "smes": 1}},
		{name: "a group lookup failing fails the lookup",
			site:    &site{tags: tagsWithSMEs(2), smes: map[int]*soe.SubjectMatterExperts{1: viaGroup}, groupErr: down},
			wantErr: down,
			calls:   map[string]int{"tags": 1, "smes": 1, "group": 1}},
		{name: "at most 30 tags are checked",
			site:  &site{tags: tagsWithSMEs(100), total: 300},
			want:  expertise{Checked: maxSMETagChecks, Partial: true},
			calls: map[string]int{"tags": 1, "smes": maxSMETagChecks}},
		{name: "the SOE call budget ends the checks",
			site:  &site{tags: tagsWithSMEs(30), smes: twoGroups(30)},
			want:  expertise{Checked: 14, Partial: true}, // 3 calls a tag: 14 tags reach 42
			calls: map[string]int{"tags": 1, "smes": 14, "group": 28}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(Config{}, Deps{People: people.New(people.Config{}, nil, nil)})
			got, err := f.findExpertise(context.Background(), tt.site, me)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				if len(got.Questions) != tt.wantQs {
					t.Errorf("%d questions, want %d", len(got.Questions), tt.wantQs)
				}
				got.Questions = nil
				if !reflect.DeepEqual(*got, tt.want) {
					t.Errorf("got %+v\nwant %+v", *got, tt.want)
				}
			}
			for _, kind := range []string{"tags", "smes", "group", "questions"} {
				if n := tt.site.n(kind); n != tt.calls[kind] {
					t.Errorf("%d %s calls, want %d", n, kind, tt.calls[kind])
				}
			}
		})
	}
}

// The SME lists are the directory's: the next user's Home (or the next
// render) spends the budget only on the tags not cached yet, so the checks
// reach further each time.
func TestFindExpertiseUsesTheDirectorysCache(t *testing.T) {
	s := &site{tags: tagsWithSMEs(30), smes: map[int]*soe.SubjectMatterExperts{}}
	for i := 1; i <= 30; i++ {
		s.smes[i] = &soe.SubjectMatterExperts{UserGroups: []soe.UserGroup{{ID: 1000 + 2*i}, {ID: 1001 + 2*i}}}
	}
	f := New(Config{}, Deps{People: people.New(people.Config{}, nil, nil)})
	ctx := context.Background()
	for i, want := range []struct{ checked, calls int }{{14, 42}, {28, 42}, {30, 6}, {30, 0}} {
		before := s.n("smes") + s.n("group")
		ex, err := f.findExpertise(ctx, s, 7+i)
		if err != nil || ex.Checked != want.checked || ex.Partial != (want.checked < 30) {
			t.Fatalf("render %d: %+v, %v; want %d tags checked", i+1, ex, err, want.checked)
		}
		if calls := s.n("smes") + s.n("group") - before; calls != want.calls {
			t.Errorf("render %d made %d SME/group calls, want %d", i+1, calls, want.calls)
		}
	}
}
