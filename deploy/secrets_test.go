package deploy

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// placeholder marks every secret value in the deployment files.
const placeholder = "REPLACE-ME"

// secretVars hold secrets: only placeholders in deploy/.
var secretVars = []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "TOKEN_KEY", "DATABASE_URL", "POSTGRES_PASSWORD"}

var realLooking = []struct {
	what string
	re   *regexp.Regexp
}{
	// Real Slack tokens have a digit right after the prefix: xoxb-1234…, xapp-1-A…
	{"a Slack token", regexp.MustCompile(`\bx(?:ox[a-z]|app)-[0-9]`)},
	// TOKEN_KEY: base64 of 32 bytes is 43 characters and one "=".
	{"a base64 32-byte key", regexp.MustCompile(`(?:^|[^A-Za-z0-9+/])[A-Za-z0-9+/]{43}=`)},
	{"a private key", regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)},
}

// urlPassword finds user:password@ in URLs.
var urlPassword = regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^/\s:@]+:([^@\s/]+)@`)

// realSecret says what real-looking secret line holds, or "".
func realSecret(line string) string {
	for _, r := range realLooking {
		if r.re.MatchString(line) {
			return r.what
		}
	}
	for _, m := range urlPassword.FindAllStringSubmatch(line, -1) {
		if !placeholderPassword(m[1]) {
			return "a password in a URL"
		}
	}
	return ""
}

// placeholderPassword: REPLACE-ME, a variable ($X, ${X}), or the word
// "password" as in postgres://user:password@host.
func placeholderPassword(pw string) bool {
	return strings.Contains(pw, placeholder) || strings.HasPrefix(pw, "$") || pw == "password"
}

func TestRealSecret(t *testing.T) {
	tests := []struct{ line, want string }{
		{`SLACK_BOT_TOKEN=xoxb-REPLACE-ME`, ""},
		{`SLACK_APP_TOKEN: "xapp-REPLACE-ME"`, ""},
		{"app-level token `xapp-…` (connections:write)", ""},
		{`SLACK_BOT_TOKEN=xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx`, "a Slack token"},
		{`SLACK_APP_TOKEN: xapp-1-A0123456789-1234567890123-abcdef0123456789`, "a Slack token"},
		{`user token xoxp-2-3`, "a Slack token"},
		{`TOKEN_KEY=REPLACE-ME`, ""},
		{`TOKEN_KEY=q83vEjMP0bHn5T0Cz8lZJr0Q8sQ9Zq2n1b0mYw3Hc0U=`, "a base64 32-byte key"},
		{`TOKEN_KEY="q83vEjMP0bHn5T0Cz8lZJr0Q8sQ9Zq2n1b0mYw3Hc0U=,older"`, "a base64 32-byte key"},
		{`-----BEGIN RSA PRIVATE KEY-----`, "a private key"},
		{`DATABASE_URL: "postgres://soebot:REPLACE-ME@db:5432/soebot"`, ""},
		{`postgres://soebot:${POSTGRES_PASSWORD:?set it}@postgres:5432/soebot`, ""},
		{`pg_dump --format=custom --file=soebot.dump "$DATABASE_URL"`, ""},
		{`DATABASE_URL=postgres://soebot:hunter2@db.internal/soebot`, "a password in a URL"},
		{`-e DATABASE_URL="postgres://soebot:$POSTGRES_PASSWORD@postgres:5432/soebot"`, ""},
		{"`postgres://user:password@host:5432/database`", ""},
		{`postgres://user:passwords@host`, "a password in a URL"},
		{`image: registry.example.com/soebot:1.0.0`, ""},
		{`https://stackoverflowteams.com/c/<team>`, ""},
	}
	for _, tc := range tests {
		if got := realSecret(tc.line); got != tc.want {
			t.Errorf("realSecret(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

// TestNoRealSecrets scans every file of deploy/ but the tests themselves
// (their fixtures are real-looking on purpose).
func TestNoRealSecrets(t *testing.T) {
	n := 0
	eachFile(t, func(path string, b []byte) error {
		if strings.HasSuffix(path, "_test.go") {
			return nil
		}
		n++
		for i, line := range strings.Split(string(b), "\n") {
			if what := realSecret(line); what != "" {
				t.Errorf("%s:%d looks like %s; deploy/ holds placeholders only (%s)", path, i+1, what, placeholder)
			}
		}
		return nil
	})
	if n < 5 {
		t.Fatalf("scanned %d files", n)
	}
}

// TestSecretValuesArePlaceholders: every secret the files set is a
// placeholder or comes from the operator's .env (${…}).
func TestSecretValuesArePlaceholders(t *testing.T) {
	type value struct{ where, key, value string }
	var values []value
	for k, v := range envFile(t, ".env.example") {
		values = append(values, value{".env.example", k, v})
	}
	for name, data := range loadCluster(t).secrets {
		for k, v := range data {
			values = append(values, value{"Secret " + name, k, v})
		}
	}
	for svc, s := range loadCompose(t).Services {
		for k, v := range s.Environment {
			values = append(values, value{"compose.yaml service " + svc, k, v})
		}
	}
	checked := 0
	for _, v := range values {
		if !slices.Contains(secretVars, v.key) {
			continue
		}
		checked++
		if !strings.Contains(v.value, placeholder) && !strings.Contains(v.value, "${") {
			t.Errorf("%s: %s is %q; want a %s placeholder or ${…} from .env", v.where, v.key, v.value, placeholder)
		}
	}
	if checked < 8 {
		t.Fatalf("only %d secret values checked", checked)
	}
}
