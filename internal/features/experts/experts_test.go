package experts

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/people"
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

// FuzzParseExpertsArgs: whatever follows "/soe experts", a parse that
// succeeds yields 1 to 5 tags, each a valid tag.
func FuzzParseExpertsArgs(f *testing.F) {
	for _, s := range []string{"", "go team platform", "[go] #k8s,,x", "team", "\x00\xff", "a,b,c,d,e,f", "go,GO [go]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, _, problem := parseExpertsArgs(router.Fields(s))
		if problem != "" {
			return
		}
		if len(tags) == 0 || len(tags) > maxTags {
			t.Fatalf("%d tags %q accepted from %q", len(tags), tags, s)
		}
		for _, tag := range tags {
			if p := router.ValidateTag(tag); p != "" {
				t.Fatalf("invalid tag %q accepted from %q: %s", tag, s, p)
			}
		}
	})
}

func TestParseShareValue(t *testing.T) {
	tests := []struct {
		raw   string
		ok    bool
		scope soe.Scope
	}{
		{raw: `{"s":"main","t":["go","kubernetes"]}`, ok: true, scope: soe.MainSite()},
		{raw: `{"s":"team:platform","t":["go"],"q":"an ask prefill"}`, ok: true, scope: soe.TeamScope("platform")},
		{raw: `{"s":"main","t":[]}`},
		{raw: `{"s":"main","t":["a","b","c","d","e","f"]}`},
		{raw: `{"s":"team:","t":["go"]}`},
		{raw: `{"s":"main","t":["<!channel>"]}`},
		{raw: `not json`},
	}
	for _, tt := range tests {
		_, scope, ok := parseShareValue(tt.raw)
		if ok != tt.ok || (ok && scope != tt.scope) {
			t.Errorf("parseShareValue(%s) = %v, %v; want %v, %v", tt.raw, scope, ok, tt.scope, tt.ok)
		}
	}
}

func expertsFixture() []tagExperts {
	n := 2
	return []tagExperts{
		{Typed: "kubernetes", Tag: &soe.TagSummary{ID: 1, Name: "kubernetes", WebURL: "https://acme.example/questions/tagged/kubernetes", PostCount: 42, WatcherCount: 7, SubjectMatterExpertCount: &n},
			Users: []people.Person{
				{ID: 1, Name: "Alice", ProfileURL: "https://acme.example/users/1", SlackID: "UALICE"},
				{ID: 2, Name: "Bob <!channel> & co", ProfileURL: "https://acme.example/users/2"},
			},
			Groups: []people.Group{{Name: "Platform <@U999>", Members: []people.Person{
				{ID: 3, Name: "Carol", ProfileURL: "https://acme.example/users/3", SlackID: "UCAROL"},
				{ID: 4, Name: "Dave", ProfileURL: "https://acme.example/users/4"},
			}}}},
		{Typed: "terraform", Tag: &soe.TagSummary{ID: 5, Name: "terraform", WebURL: "https://acme.example/questions/tagged/terraform", WatcherCount: 3}},
		{Typed: "kuberntes", Suggestions: []string{"kubernetes", "kubectl"}},
	}
}

func TestRenderExpertsGolden(t *testing.T) {
	x := New(Config{}, Deps{})
	golden.Message(t, "experts_private", x.render(soe.MainSite(), expertsFixture(), renderOpts{shareValue: `{"s":"main","t":["kubernetes","terraform","kuberntes"]}`}))
	golden.Message(t, "experts_shared", x.render(soe.TeamScope("platform"), expertsFixture()[:1], renderOpts{sharedBy: "UALICE"}))
	golden.Message(t, "experts_sme_disabled", x.render(soe.MainSite(), []tagExperts{{Typed: "go", Tag: &soe.TagSummary{Name: "go"}, SMEDisabled: true}}, renderOpts{}))
}

func TestRenderExpertsEscapesSOEContent(t *testing.T) {
	x := New(Config{}, Deps{})
	m := x.render(soe.MainSite(), expertsFixture(), renderOpts{})
	js := string(golden.Marshal(t, m.Blocks))
	for _, bad := range []string{"<!channel>", "<@U999>"} {
		if strings.Contains(js, bad) {
			t.Errorf("rendered message contains live %s", bad)
		}
	}
	if !strings.Contains(js, "<@UALICE>") {
		t.Error("mapped expert is not mentioned")
	}
}

// asker is an ask feature that makes buttons named after their arguments.
type asker struct{}

func (asker) AskButton(suffix, label string, scope soe.Scope, tags []string, title string) *slack.ButtonBlockElement {
	return blockkit.Button("ask_open:"+suffix, label, scope.Key()+"|"+strings.Join(tags, ",")+"|"+title)
}

func TestRenderOffersAskOnlyWhenAvailableAndPrivate(t *testing.T) {
	tests := []struct {
		name   string
		asker  Asker
		opts   renderOpts
		want   []string
		absent []string
	}{
		{name: "ask available", asker: asker{}, opts: renderOpts{shareValue: "{}"},
			want: []string{`"ask_open:kubernetes"`, "Ask the experts", "main|kubernetes|", `"ask_open:terraform"`, "Ask a question in this tag", "You could ask a question"}},
		{name: "ask not registered", opts: renderOpts{shareValue: "{}"},
			absent: []string{"ask_open", "You could ask a question"}},
		{name: "shared in the channel", asker: asker{}, opts: renderOpts{sharedBy: "UALICE"},
			want: []string{"Shared by"}, absent: []string{"ask_open", "You could ask a question", "Share in channel"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := New(Config{}, Deps{Asker: tt.asker})
			js := string(golden.Marshal(t, x.render(soe.MainSite(), expertsFixture(), tt.opts).Blocks))
			for _, w := range tt.want {
				if !strings.Contains(js, w) {
					t.Errorf("lacks %s:\n%s", w, js)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(js, a) {
					t.Errorf("has %s", a)
				}
			}
		})
	}
}

// fakePeople answers from fixed experts and counts the calls.
type fakePeople struct {
	tags    map[string]*soe.TagSummary
	experts map[int]*people.Experts
	err     map[string]error // "tag", "experts", "slack"
	calls   []string
}

func (p *fakePeople) TagWithExperts(ctx context.Context, src people.Source, name string) (*soe.TagSummary, *people.Experts, []string, error) {
	t, sugg, err := p.Tag(ctx, src, name)
	return t, nil, sugg, err
}

func (p *fakePeople) Tag(_ context.Context, _ people.Source, name string) (*soe.TagSummary, []string, error) {
	p.calls = append(p.calls, "tag "+name)
	if err := p.err["tag"]; err != nil {
		return nil, nil, err
	}
	if t, ok := p.tags[name]; ok {
		return t, nil, nil
	}
	return nil, []string{"kubernetes"}, soe.ErrNotFound
}

func (p *fakePeople) TagExperts(_ context.Context, _ people.Source, tagID int) (*people.Experts, error) {
	p.calls = append(p.calls, "experts")
	if err := p.err["experts"]; err != nil {
		return nil, err
	}
	return p.experts[tagID], nil
}

func (p *fakePeople) InSlack(_ context.Context, _ string, _ people.Source, _ int, e *people.Experts) (*people.Experts, error) {
	p.calls = append(p.calls, "slack")
	out := &people.Experts{Users: append([]people.Person{}, e.Users...)}
	for i := range out.Users {
		out.Users[i].SlackID = "U" + out.Users[i].Name
	}
	return out, p.err["slack"]
}

func TestLookupTag(t *testing.T) {
	down := errors.New("soe down")
	two := 2
	k8s := &soe.TagSummary{ID: 1, Name: "kubernetes", SubjectMatterExpertCount: &two}
	off := &soe.TagSummary{ID: 2, Name: "legacy"} // no SME count: SMEs are off
	tests := []struct {
		name  string
		typed string
		err   map[string]error
		want  tagExperts
		fail  error
		calls string
	}{
		{name: "found", typed: "kubernetes",
			want:  tagExperts{Typed: "kubernetes", Tag: k8s, Users: []people.Person{{ID: 1, Name: "ALICE", SlackID: "UALICE"}}},
			calls: "tag kubernetes,experts,slack"},
		{name: "no such tag", typed: "kuberntes",
			want: tagExperts{Typed: "kuberntes", Suggestions: []string{"kubernetes"}}, calls: "tag kuberntes"},
		{name: "SMEs off (SOE says so)", typed: "kubernetes", err: map[string]error{"experts": soe.ErrSMEDisabled},
			want: tagExperts{Typed: "kubernetes", Tag: k8s, SMEDisabled: true}, calls: "tag kubernetes,experts"},
		{name: "SMEs off (the tag has no SME count)", typed: "legacy",
			want: tagExperts{Typed: "legacy", Tag: off, SMEDisabled: true}, calls: "tag legacy"},
		{name: "tag lookup failed", typed: "kubernetes", err: map[string]error{"tag": down}, fail: down, calls: "tag kubernetes"},
		{name: "SME lookup failed", typed: "kubernetes", err: map[string]error{"experts": down}, fail: down, calls: "tag kubernetes,experts"},
		{name: "Slack mapping failed", typed: "kubernetes", err: map[string]error{"slack": down}, fail: down, calls: "tag kubernetes,experts,slack"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePeople{
				tags:    map[string]*soe.TagSummary{"kubernetes": k8s, "legacy": off},
				experts: map[int]*people.Experts{1: {Users: []people.Person{{ID: 1, Name: "ALICE"}}}},
				err:     tt.err,
			}
			x := New(Config{}, Deps{People: p})
			got, err := x.lookupTag(context.Background(), "T1", nil, 42, tt.typed)
			if !errors.Is(err, tt.fail) {
				t.Fatalf("err = %v, want %v", err, tt.fail)
			}
			if tt.fail == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if c := strings.Join(p.calls, ","); c != tt.calls {
				t.Errorf("calls %s, want %s", c, tt.calls)
			}
		})
	}
}
