package soetext

import (
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/linking"
)

func TestTitle(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"How do I  use\n generics?", 200, "How do I use generics?"},
		{"a &amp; b &lt;!here&gt;", 200, "a & b <!here>"},
		{"   ", 200, "(untitled)"},
		{"abcdef", 4, "abc…"},
		{"héllo", 5, "héllo"},
	}
	for _, tt := range tests {
		if got := Title(tt.in, tt.n); got != tt.want {
			t.Errorf("Title(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestCounts(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Votes(0), "0 votes"}, {Votes(1), "1 vote"}, {Votes(-1), "-1 vote"}, {Votes(7), "7 votes"},
		{Answers(0), "0 answers"}, {Answers(1), "1 answer"}, {Answers(2), "2 answers"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestTags(t *testing.T) {
	tests := []struct {
		in   []string
		max  int
		want string
	}{
		{nil, 5, ""},
		{[]string{"go", "k8s"}, 5, "`go` `k8s`"},
		{[]string{"a", "b", "c"}, 2, "`a` `b` +1"},
		{[]string{strings.Repeat("x", 50)}, 5, "`" + strings.Repeat("x", 39) + "…`"},
	}
	for _, tt := range tests {
		if got := Tags(tt.in, tt.max); got != tt.want {
			t.Errorf("Tags(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestAccountAndExpiry(t *testing.T) {
	tests := []struct {
		l                linking.Link
		account, expires string
	}{
		{linking.Link{SOEUserID: 7}, "user 7", "never expires"},
		{linking.Link{SOEName: "Bob <!channel>"}, "Bob &lt;!channel&gt;", "never expires"},
		{linking.Link{SOEName: "Alice", SOEProfileURL: "https://acme.example/users/1", Expiry: time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))},
			"<https://acme.example/users/1|Alice>", "expires 2026-03-01 11:00 UTC"},
	}
	for _, tt := range tests {
		if got := Account(tt.l); got != tt.account {
			t.Errorf("Account(%+v) = %q, want %q", tt.l, got, tt.account)
		}
		if got := Expiry(tt.l); got != tt.expires {
			t.Errorf("Expiry(%+v) = %q, want %q", tt.l, got, tt.expires)
		}
	}
}
