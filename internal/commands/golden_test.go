package commands

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/soebot/soebot/internal/chat"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

// golden compares m (as Slack would receive it: text + blocks JSON) with
// testdata/golden/<name>.json; -update rewrites it.
func golden(t *testing.T, name string, m chat.Message) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"text": m.Text, "blocks": m.Blocks, "response_type": responseType(m)}); err != nil {
		t.Fatal(err)
	}
	goldenBytes(t, name+".json", buf.Bytes())
}

func goldenBytes(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", file)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update if the change is intended)\n--- got\n%s", path, got)
	}
}

func responseType(m chat.Message) string {
	if m.InChannel {
		return "in_channel"
	}
	return "ephemeral"
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
