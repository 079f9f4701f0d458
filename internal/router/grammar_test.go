package router

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitWord(t *testing.T) {
	tests := []struct{ in, word, rest string }{
		{"", "", ""},
		{"help", "help", ""},
		{"  experts   go  kubernetes ", "experts", "go  kubernetes"},
		{"search\thow do I", "search", "how do I"},
	}
	for _, tt := range tests {
		w, r := SplitWord(tt.in)
		if w != tt.word || r != tt.rest {
			t.Errorf("SplitWord(%q) = %q, %q; want %q, %q", tt.in, w, r, tt.word, tt.rest)
		}
	}
}

func TestFields(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a b  c", []string{"a", "b", "c"}},
		{`"two words" x`, []string{"two words", "x"}},
		{`“smart quotes” y`, []string{"smart quotes", "y"}},
		{`"unterminated quote`, []string{"unterminated quote"}},
		{`""`, []string{""}},
	}
	for _, tt := range tests {
		if got := Fields(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Fields(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTakeTeam(t *testing.T) {
	tests := []struct {
		in      string
		team    string
		rest    []string
		wantErr bool
	}{
		{"go", "", []string{"go"}, false},
		{"go team platform", "platform", []string{"go"}, false},
		{"TEAM Platform go", "platform", []string{"go"}, false},
		{"go team", "", nil, true},
		{"go team bad/slug", "", nil, true},
		{"team a team b", "", nil, true},
	}
	for _, tt := range tests {
		team, rest, err := TakeTeam(Fields(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("TakeTeam(%q) err = %v", tt.in, err)
			continue
		}
		if err == nil && (team != tt.team || !reflect.DeepEqual(rest, tt.rest)) {
			t.Errorf("TakeTeam(%q) = %q, %q", tt.in, team, rest)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "help", "experts go team platform", `search "a b" c`, "experts [go] #k8s,,x", "team", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, rest := SplitWord(s)
		if strings.TrimSpace(s) != "" && w == "" {
			t.Fatalf("no word from %q", s)
		}
		args := Fields(rest)
		for _, a := range args {
			if utf8.ValidString(s) && !utf8.ValidString(a) {
				t.Fatalf("invalid utf8 field %q from %q", a, s)
			}
		}
		team, _, err := TakeTeam(args)
		if err == nil && team != "" && !ValidTeamSlug(team) {
			t.Fatalf("bad team %q", team)
		}
	})
}
