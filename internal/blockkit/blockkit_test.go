package blockkit

import (
	"strings"
	"testing"

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
