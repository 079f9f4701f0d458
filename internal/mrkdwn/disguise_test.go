package mrkdwn

import (
	"strings"
	"testing"
)

// A link whose label shows another address than its target shows the target.
func TestDisguisedLinks(t *testing.T) {
	tests := []struct {
		name, url, label, want string
	}{
		{"plain words", "https://evil.example/sso", "Sign in", "<https://evil.example/sso|Sign in>"},
		{"URL label, other host", "https://evil.example/sso", "https://acme.stackenterprise.co/users/login",
			"<https://evil.example/sso|https://evil.example/sso>"},
		{"host label, other host", "https://evil.example/", "acme.stackenterprise.co", "<https://evil.example/|https://evil.example/>"},
		{"host and path label", "https://evil.example/", "acme.stackenterprise.co/users/login", "<https://evil.example/|https://evil.example/>"},
		{"userinfo trick", "https://evil.example/", "https://acme.example@evil.example", "<https://evil.example/|https://acme.example@evil.example>"},
		{"same host", "https://acme.example/q/1", "https://acme.example/questions/1", "<https://acme.example/q/1|https://acme.example/questions/1>"},
		{"www is the same site", "https://www.acme.example/", "acme.example", "<https://www.acme.example/|acme.example>"},
		{"host case", "https://ACME.example/", "acme.EXAMPLE", "<https://ACME.example/|acme.EXAMPLE>"},
		{"IP label", "https://evil.example/", "10.0.0.1", "<https://evil.example/|https://evil.example/>"},
		{"version number is not a host", "https://go.dev/dl", "1.26", "<https://go.dev/dl|1.26>"},
		{"sentence with a dot", "https://evil.example/", "see the docs. then", "<https://evil.example/|see the docs. then>"},
		{"mailto keeps its label", "mailto:a@evil.example", "acme.example", "<mailto:a@evil.example|acme.example>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Link(tt.url, tt.label); got != tt.want {
				t.Errorf("Link(%q, %q) = %q, want %q", tt.url, tt.label, got, tt.want)
			}
		})
	}
}

func TestDisguisedLinksInHTML(t *testing.T) {
	in := `<p>Please <a href="https://evil.example/sso">https://acme.stackenterprise.co/users/login</a> now.</p>`
	got := FromHTMLBase(in, "https://acme.stackenterprise.co")
	if strings.Contains(got, "|https://acme.stackenterprise.co") || !strings.Contains(got, "<https://evil.example/sso|https://evil.example/sso>") {
		t.Fatalf("disguised link kept its label: %q", got)
	}
	if got := Excerpt(in, 200); strings.Contains(got, "acme.stackenterprise.co/users/login") {
		t.Fatalf("excerpt shows the disguise: %q", got)
	}
	ok := `<p><a href="https://acme.stackenterprise.co/questions/1">https://acme.stackenterprise.co/questions/1</a></p>`
	if got := FromHTMLBase(ok, ""); !strings.Contains(got, "|https://acme.stackenterprise.co/questions/1>") {
		t.Fatalf("honest link lost its label: %q", got)
	}
}
