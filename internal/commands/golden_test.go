package commands

import (
	"testing"

	"github.com/soebot/soebot/internal/chat"
	goldenpkg "github.com/soebot/soebot/internal/golden"
)

// golden compares m (as Slack would receive it: text + blocks JSON) with
// testdata/golden/<name>.json; -update rewrites it.
func golden(t *testing.T, name string, m chat.Message) {
	t.Helper()
	goldenpkg.Message(t, name, m)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	return goldenpkg.Marshal(t, v)
}
