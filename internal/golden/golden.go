// Package golden compares what a test produced with a file under
// testdata/golden, and rewrites the file instead when the test binary runs
// with -update. Every rendered Slack message of the bot has a golden file.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/soebot/soebot/internal/chat"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// Assert compares got with the file at path (relative to the package
// directory), or writes it with -update.
func Assert(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update if the change is intended, and review the diff)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// JSON compares v, as indented JSON with <, > and & left readable (as Slack
// receives them), with testdata/golden/<name>.json.
func JSON(t testing.TB, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	Assert(t, filepath.Join("testdata", "golden", name+".json"), buf.Bytes())
}

// Message compares a Slack message, as Slack would receive it (text,
// blocks, response_type), with testdata/golden/<name>.json.
func Message(t testing.TB, name string, m chat.Message) {
	t.Helper()
	responseType := "ephemeral"
	if m.InChannel {
		responseType = "in_channel"
	}
	JSON(t, name, map[string]any{"text": m.Text, "blocks": m.Blocks, "response_type": responseType})
}

// Marshal is v as compact JSON with <, > and & left as Slack sees them (for
// checking what a rendered message contains).
func Marshal(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
