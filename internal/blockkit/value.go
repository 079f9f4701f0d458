package blockkit

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Value encodes v as a button value: JSON without HTML escaping (Slack takes
// the JSON as is; its 2000-character limit is what matters).
func Value(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSuffix(buf.String(), "\n")
}
