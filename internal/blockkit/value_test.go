package blockkit

import "testing"

func TestValue(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{map[string]string{"q": "a < b & c > d"}, `{"q":"a < b & c > d"}`},
		{struct {
			S string   `json:"s,omitempty"`
			T []string `json:"t,omitempty"`
		}{S: "main", T: []string{"go"}}, `{"s":"main","t":["go"]}`},
		{nil, "null"},
	}
	for _, tt := range tests {
		if got := Value(tt.in); got != tt.want {
			t.Errorf("Value(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
