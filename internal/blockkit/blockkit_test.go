package blockkit

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

func TestCap(t *testing.T) {
	blocks := func(n int) []slack.Block {
		var bs []slack.Block
		for range n {
			bs = append(bs, Divider())
		}
		return bs
	}
	tests := []struct {
		n, max, want int
		said         string
	}{
		{n: 0, max: 50, want: 0},
		{n: 50, max: 50, want: 50},
		{n: 51, max: 50, want: 50, said: "(2 blocks left out)"},
		{n: 120, max: 100, want: 100, said: "(21 blocks left out)"},
	}
	for _, tt := range tests {
		in := blocks(tt.n)
		got := Cap(in, tt.max)
		if len(got) != tt.want {
			t.Errorf("Cap(%d, %d): %d blocks, want %d", tt.n, tt.max, len(got), tt.want)
			continue
		}
		if tt.said == "" {
			continue
		}
		c, ok := got[len(got)-1].(*slack.ContextBlock)
		if !ok || !strings.Contains(c.ContextElements.Elements[0].(*slack.TextBlockObject).Text, tt.said) {
			t.Errorf("Cap(%d, %d): last block %#v does not say %q", tt.n, tt.max, got[len(got)-1], tt.said)
		}
		if len(in) != tt.n {
			t.Errorf("Cap changed its input")
		}
	}
}

func TestLimits(t *testing.T) {
	long := strings.Repeat("x", 5000)
	if n := utf8.RuneCountInString(Section(long).Text.Text); n > 3000 {
		t.Errorf("section text %d > 3000", n)
	}
	if n := utf8.RuneCountInString(Header(long).Text.Text); n > 150 {
		t.Errorf("header %d > 150", n)
	}
	if n := utf8.RuneCountInString(Button("a", long, "v").Text.Text); n > 75 {
		t.Errorf("button label %d > 75", n)
	}
	if u := LinkButton("a", "Open", "https://x.example/"+long).URL; u != "" {
		t.Errorf("overlong URL kept (%d bytes)", len(u))
	}
	if u := LinkButton("a", "Open", "https://x.example/q").URL; u != "https://x.example/q" {
		t.Errorf("URL = %q", u)
	}
}
