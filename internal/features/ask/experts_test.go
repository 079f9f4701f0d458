package ask

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/soe"
)

// fakePeople answers from maps: tags by name, experts by tag id, Slack ids
// by SOE id.
type fakePeople struct {
	tags    map[string]int // name -> id (missing: soe.ErrNotFound)
	tagErr  error
	experts map[int]*people.Experts
	smeErr  error
	slack   map[int]string
}

func (f *fakePeople) Tag(_ context.Context, _ people.Source, name string) (*soe.TagSummary, []string, error) {
	if f.tagErr != nil {
		return nil, nil, f.tagErr
	}
	id, ok := f.tags[name]
	if !ok {
		return nil, nil, soe.ErrNotFound
	}
	return &soe.TagSummary{ID: id, Name: name}, nil, nil
}

func (f *fakePeople) TagExperts(_ context.Context, _ people.Source, tagID int) (*people.Experts, error) {
	if f.smeErr != nil {
		return nil, f.smeErr
	}
	if e, ok := f.experts[tagID]; ok {
		return e, nil
	}
	return &people.Experts{}, nil
}

func (f *fakePeople) InSlack(_ context.Context, _ string, _ people.Source, _ int, e *people.Experts) (*people.Experts, error) {
	out := &people.Experts{}
	for _, p := range e.Users {
		p.SlackID = f.slack[p.ID]
		out.Users = append(out.Users, p)
	}
	for _, g := range e.Groups {
		ng := people.Group{ID: g.ID, Name: g.Name}
		for _, p := range g.Members {
			p.SlackID = f.slack[p.ID]
			ng.Members = append(ng.Members, p)
		}
		out.Groups = append(out.Groups, ng)
	}
	return out, nil
}

// errSOEDown stands for any failure of SOE.
var errSOEDown = errors.New("soe: 503")

// dmSlack records DMs; the other Slack calls are not used by notifyExperts.
type dmSlack struct {
	Slack
	fail map[string]bool
	dms  map[string][]chat.Message
}

func (s *dmSlack) DM(_ context.Context, user string, m chat.Message) (string, string, error) {
	if s.fail[user] {
		return "", "", errors.New("im closed")
	}
	s.dms[user] = append(s.dms[user], m)
	return "D" + user, "1.0", nil
}

func TestNotifyExperts(t *testing.T) {
	const asker, askerSOE = "UALICE", 1
	alice := people.Person{ID: askerSOE, Name: "alice"}
	bob := people.Person{ID: 2, Name: "bob"}
	carol := people.Person{ID: 3, Name: "carol"}
	dave := people.Person{ID: 4, Name: "dave"}
	erin := people.Person{ID: 5, Name: "erin"}
	platform := people.Group{ID: 9, Name: "Platform", Members: []people.Person{carol, alice, dave}}
	slackIDs := map[int]string{askerSOE: asker, 2: "UBOB", 3: "UCAROL", 4: "UDAVE"}
	k8s := &people.Experts{Users: []people.Person{alice, bob}, Groups: []people.Group{platform}}
	oncall := &people.Experts{Users: []people.Person{carol}, Groups: []people.Group{platform}}

	tests := []struct {
		name   string
		people *fakePeople
		fail   map[string]bool
		tags   []string
		told   []string
		note   string
		dmTags map[string]string // Slack id -> the tags its DM names
	}{
		{name: "one DM per expert, every tag, never the asker",
			people: &fakePeople{tags: map[string]int{"kubernetes": 10, "oncall": 11}, experts: map[int]*people.Experts{10: k8s, 11: oncall}, slack: slackIDs},
			tags:   []string{"kubernetes", "oncall"}, told: []string{"UBOB", "UCAROL", "UDAVE"},
			dmTags: map[string]string{"UBOB": "`kubernetes` you are", "UCAROL": "`kubernetes` and `oncall`", "UDAVE": "`kubernetes` and `oncall`"}},
		{name: "a failed DM is not counted",
			people: &fakePeople{tags: map[string]int{"kubernetes": 10}, experts: map[int]*people.Experts{10: k8s}, slack: slackIDs},
			fail:   map[string]bool{"UCAROL": true}, tags: []string{"kubernetes"}, told: []string{"UBOB", "UDAVE"}},
		{name: "new tag",
			people: &fakePeople{}, tags: []string{"brand-new"},
			note: "These tags have no subject-matter experts (other than you), so I notified nobody."},
		{name: "only the asker",
			people: &fakePeople{tags: map[string]int{"go": 12}, experts: map[int]*people.Experts{12: {Users: []people.Person{alice}}}, slack: slackIDs},
			tags:   []string{"go"}, note: "These tags have no subject-matter experts (other than you), so I notified nobody."},
		{name: "nobody in Slack",
			people: &fakePeople{tags: map[string]int{"go": 12}, experts: map[int]*people.Experts{12: {Users: []people.Person{erin, {ID: 6}}}}, slack: slackIDs},
			tags:   []string{"go"}, note: "The 2 subject-matter experts of these tags could not be found in Slack, so I notified nobody."},
		{name: "SMEs turned off",
			people: &fakePeople{tags: map[string]int{"go": 12}, smeErr: soe.ErrSMEDisabled}, tags: []string{"go"},
			note: "Subject-matter experts are turned off on the main site, so I notified nobody."},
		{name: "SOE down",
			people: &fakePeople{tagErr: errSOEDown}, tags: []string{"go"}, note: unreachable},
		{name: "SME list unavailable",
			people: &fakePeople{tags: map[string]int{"go": 12}, smeErr: errSOEDown}, tags: []string{"go"}, note: unreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sl := &dmSlack{fail: tt.fail, dms: map[string][]chat.Message{}}
			a := New(Config{}, Deps{Slack: sl, People: tt.people})
			env := &chat.Envelope{TeamID: "T1", UserID: asker}
			link := &linking.Link{SOEUserID: askerSOE}
			q := &soe.Question{QuestionSummary: soe.QuestionSummary{ID: 7, Title: "Why?", WebURL: "https://acme.example/questions/7"}}
			told, note := a.notifyExperts(context.Background(), env, nil, link, soe.MainSite(), q, tt.tags)
			if !reflect.DeepEqual(told, tt.told) || note != tt.note {
				t.Fatalf("told %q, note %q; want %q, %q", told, note, tt.told, tt.note)
			}
			if _, ok := sl.dms[asker]; ok {
				t.Error("the asker got a DM")
			}
			for id, want := range tt.dmTags {
				if got := sl.dms[id]; len(got) != 1 || !strings.Contains(got[0].Text, want) {
					t.Errorf("%s got %v, want one DM naming %s", id, got, want)
				}
			}
		})
	}
}
