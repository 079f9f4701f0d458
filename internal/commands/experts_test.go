package commands

import (
	"reflect"
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/router"

	"github.com/soebot/soebot/internal/soe"
)

func TestParseExpertsArgs(t *testing.T) {
	tests := []struct {
		in      string
		tags    []string
		team    string
		problem string
	}{
		{in: "go", tags: []string{"go"}},
		{in: "[Go] #Kubernetes", tags: []string{"go", "kubernetes"}},
		{in: "go,postgresql go", tags: []string{"go", "postgresql"}},
		{in: "kubernetes team platform", tags: []string{"kubernetes"}, team: "platform"},
		{in: "", problem: "name a tag"},
		{in: "team platform", problem: "name a tag"},
		{in: "a b c d e f", problem: "at most 5"},
		{in: strings.Repeat("x", 36), problem: "longer than 35"},
		{in: "c++ <!channel>", problem: "characters tags cannot contain"},
		{in: "go team", problem: "team"},
	}
	for _, tt := range tests {
		tags, team, problem := parseExpertsArgs(router.Fields(tt.in))
		if tt.problem != "" {
			if !strings.Contains(problem, tt.problem) {
				t.Errorf("%q: problem %q, want %q", tt.in, problem, tt.problem)
			}
			continue
		}
		if problem != "" || !reflect.DeepEqual(tags, tt.tags) || team != tt.team {
			t.Errorf("%q: got %q %q %q", tt.in, tags, team, problem)
		}
	}
}

func expertsFixture() []tagExperts {
	n := 2
	return []tagExperts{
		{Typed: "kubernetes", Tag: &soe.TagSummary{ID: 1, Name: "kubernetes", WebURL: "https://acme.example/questions/tagged/kubernetes", PostCount: 42, WatcherCount: 7, SubjectMatterExpertCount: &n},
			Users: []person{
				{ID: 1, Name: "Alice", ProfileURL: "https://acme.example/users/1", SlackID: "UALICE"},
				{ID: 2, Name: "Bob <!channel> & co", ProfileURL: "https://acme.example/users/2"},
			},
			Groups: []expertGroup{{Name: "Platform <@U999>", Members: []person{
				{ID: 3, Name: "Carol", ProfileURL: "https://acme.example/users/3", SlackID: "UCAROL"},
				{ID: 4, Name: "Dave", ProfileURL: "https://acme.example/users/4"},
			}}}},
		{Typed: "terraform", Tag: &soe.TagSummary{ID: 5, Name: "terraform", WebURL: "https://acme.example/questions/tagged/terraform", WatcherCount: 3}},
		{Typed: "kuberntes", Suggestions: []string{"kubernetes", "kubectl"}},
	}
}

func TestRenderExpertsGolden(t *testing.T) {
	b := New(Config{}, Deps{})
	b.AddExperts(0)
	x := &experts{b: b}
	golden(t, "experts_private", x.render(soe.MainSite(), expertsFixture(), renderOpts{shareValue: `{"s":"main","t":["kubernetes","terraform","kuberntes"]}`}))
	golden(t, "experts_shared", x.render(soe.TeamScope("platform"), expertsFixture()[:1], renderOpts{sharedBy: "UALICE"}))
	golden(t, "experts_sme_disabled", x.render(soe.MainSite(), []tagExperts{{Typed: "go", Tag: &soe.TagSummary{Name: "go"}, SMEDisabled: true}}, renderOpts{}))
}

func TestRenderExpertsEscapesSOEContent(t *testing.T) {
	b := New(Config{}, Deps{})
	x := &experts{b: b}
	m := x.render(soe.MainSite(), expertsFixture(), renderOpts{})
	js := string(mustJSON(t, m.Blocks))
	for _, bad := range []string{"<!channel>", "<@U999>"} {
		if strings.Contains(js, bad) {
			t.Errorf("rendered message contains live %s", bad)
		}
	}
	if !strings.Contains(js, "<@UALICE>") {
		t.Error("mapped expert is not mentioned")
	}
}
