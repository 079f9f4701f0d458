package notify

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestFilterMatches(t *testing.T) {
	goK8s := [][]string{{"go", "kubernetes"}}
	cn := &CommunityFilter{ID: 1, Name: "Cloud Native", Tags: []string{"kubernetes", "terraform"}}
	tests := []struct {
		name string
		sub  Subscription
		tags []string
		want bool
	}{
		{"plain tag", Subscription{Tags: []string{"go"}}, []string{"Go", "x"}, true},
		{"plain miss", Subscription{Tags: []string{"go"}}, []string{"python"}, false},
		{"every tag", Subscription{}, []string{"python"}, true},
		{"excluded", Subscription{Tags: []string{"go"}, Filter: Filter{Exclude: []string{"legacy"}}}, []string{"go", "Legacy"}, false},
		{"not excluded", Subscription{Tags: []string{"go"}, Filter: Filter{Exclude: []string{"legacy"}}}, []string{"go"}, true},
		{"every tag but", Subscription{Filter: Filter{Exclude: []string{"legacy"}}}, []string{"python"}, true},
		{"every tag but, hit", Subscription{Filter: Filter{Exclude: []string{"legacy"}}}, []string{"legacy"}, false},
		{"group: both", Subscription{Filter: Filter{AllOf: goK8s}}, []string{"kubernetes", "go"}, true},
		{"group: one", Subscription{Filter: Filter{AllOf: goK8s}}, []string{"go"}, false},
		{"group or tag", Subscription{Tags: []string{"terraform"}, Filter: Filter{AllOf: goK8s}}, []string{"terraform"}, true},
		{"community tag", Subscription{Filter: Filter{Community: cn}}, []string{"terraform"}, true},
		{"community miss", Subscription{Filter: Filter{Community: cn}}, []string{"go"}, false},
		{"community minus", Subscription{Filter: Filter{Community: cn, Exclude: []string{"terraform"}}}, []string{"terraform", "kubernetes"}, false},
		{"empty community", Subscription{Filter: Filter{Community: &CommunityFilter{ID: 2, Name: "x"}}}, []string{"go"}, false},
	}
	for _, tt := range tests {
		if got := tt.sub.matches(tt.tags); got != tt.want {
			t.Errorf("%s: matches(%v) = %v", tt.name, tt.tags, got)
		}
	}
}

func TestContradiction(t *testing.T) {
	cn := &CommunityFilter{ID: 1, Name: "Cloud Native", Tags: []string{"kubernetes", "terraform"}}
	for _, tt := range []struct {
		sub  Subscription
		want bool
	}{
		{Subscription{Tags: []string{"go"}, Filter: Filter{Exclude: []string{"go"}}}, true},
		{Subscription{Filter: Filter{AllOf: [][]string{{"go", "x"}}, Exclude: []string{"x"}}}, true},
		{Subscription{Filter: Filter{Community: cn, Exclude: []string{"kubernetes", "terraform"}}}, true},
		{Subscription{Filter: Filter{Community: cn, Exclude: []string{"kubernetes"}}}, false},
		{Subscription{Tags: []string{"go"}, Filter: Filter{Exclude: []string{"legacy"}}}, false},
	} {
		if got := tt.sub.Contradiction() != ""; got != tt.want {
			t.Errorf("%+v: contradiction %q", tt.sub, tt.sub.Contradiction())
		}
	}
}

// TestSubscriptionJSONCompatible: a record written before filters reads as
// unfiltered, and an unfiltered one is written exactly as before.
func TestSubscriptionJSONCompatible(t *testing.T) {
	old := `{"id":"0000000001","team":"T1","channel":"C1","creator":"U1","scope":{"Team":""},"tags":["go"],"kinds":3,"created":"2026-11-01T00:00:00Z"}`
	var s Subscription
	if err := json.Unmarshal([]byte(old), &s); err != nil || s.Filtered() || s.AllTags() || !s.matches([]string{"go"}) {
		t.Fatalf("%+v %v", s, err)
	}
	b, _ := json.Marshal(s)
	var a, b2 map[string]any
	_ = json.Unmarshal([]byte(old), &a)
	_ = json.Unmarshal(b, &b2)
	if !reflect.DeepEqual(a, b2) {
		t.Fatalf("rewritten as %s", b)
	}
	s.Exclude = []string{"legacy"}
	b, _ = json.Marshal(s)
	var back Subscription
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.Filter, s.Filter) {
		t.Fatalf("%s → %+v", b, back)
	}
}

func TestFilteredSubscribeAndUnsubscribe(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.subscribe("alice", chGeneral, mainSite, 0, "go")
	sub := func(kinds Kind, tags []string, f Filter) (Subscription, error) {
		e.link("bob", mainSite)
		return e.svc.Subscribe(ctx, SubscribeRequest{TeamID: team, ChannelID: chGeneral, CreatorID: slackID("bob"), Scope: mainSite,
			Tags: tags, Kinds: kinds, Filter: f})
	}
	if _, err := sub(0, []string{"go"}, Filter{Exclude: []string{"legacy"}}); err != nil {
		t.Fatal(err)
	}
	// The plain go subscription is left alone; the same filters again replace.
	if _, err := sub(AllKinds, []string{"go"}, Filter{Exclude: []string{"Legacy"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sub(0, nil, Filter{AllOf: [][]string{{"kubernetes", "go"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sub(0, []string{"go"}, Filter{Exclude: []string{"go"}}); !errors.Is(err, ErrBadInput) {
		t.Fatalf("contradiction stored: %v", err)
	}
	subs, _ := e.svc.ChannelSubscriptions(ctx, team, chGeneral)
	if len(subs) != 3 || subs[0].Filtered() || subs[1].Kinds != AllKinds || subs[2].AllTags() {
		t.Fatalf("%+v", subs)
	}
	u, err := e.svc.Unsubscribe(ctx, team, chGeneral, nil, []string{"kubernetes"})
	if err != nil || u.Subs != 1 || len(u.Removed) != 1 {
		t.Fatalf("%+v %v", u, err)
	}
	u, err = e.svc.Unsubscribe(ctx, team, chGeneral, nil, []string{"go"})
	if err != nil || u.Subs != 2 {
		t.Fatalf("%+v %v", u, err)
	}
	if subs, _ := e.svc.ChannelSubscriptions(ctx, team, chGeneral); len(subs) != 0 {
		t.Fatalf("%+v", subs)
	}
}
