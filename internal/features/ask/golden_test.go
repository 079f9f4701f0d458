package ask

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/soebot/soebot/internal/chat"
	goldenpkg "github.com/soebot/soebot/internal/golden"
)

// golden compares m (as Slack would receive it: text + blocks JSON) with
// testdata/golden/<name>.json; -update rewrites it.
func golden(t *testing.T, name string, m chat.Message) {
	t.Helper()
	responseType := "ephemeral"
	if m.InChannel {
		responseType = "in_channel"
	}
	goldenpkg.JSON(t, name, map[string]any{"text": m.Text, "blocks": m.Blocks, "response_type": responseType})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // compare what Slack sees, not \u003c
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
