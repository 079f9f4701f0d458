package unfurl

import (
	"testing"
	"time"
)

func TestHintSet(t *testing.T) {
	h := newHintSet(24*time.Hour, 3)
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	if !h.take("T/U1", now) {
		t.Fatal("first hint refused")
	}
	if h.take("T/U1", now.Add(time.Hour)) {
		t.Fatal("second hint on the same day")
	}
	if !h.take("T/U1", now.Add(25*time.Hour)) {
		t.Fatal("hint refused the next day")
	}
	for i := range 100 {
		h.take("T/X"+string(rune('a'+i%26))+string(rune('a'+i/26)), now)
	}
	if n := len(h.last); n > 3 {
		t.Fatalf("hint set holds %d entries, max 3", n)
	}
}
