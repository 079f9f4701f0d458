package blockkit

import (
	"strings"
	"testing"
	"unicode/utf8"
)

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
