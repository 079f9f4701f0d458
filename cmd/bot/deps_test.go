package main

import (
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// forbidden reports whether the bot binary must never link pkg: test
// scaffolding (the fakes, the e2e harness, the demo) and what only it needs.
// A path ending in "/" forbids everything under it.
func forbidden(pkg string) bool {
	return slices.ContainsFunc([]string{
		"testing",
		"testing/",
		"net/http/httptest",
		"github.com/soebot/soebot/internal/slackapp/slackfake",
		"github.com/soebot/soebot/internal/soe/soefake",
		"github.com/soebot/soebot/internal/e2e",
		"github.com/soebot/soebot/internal/demo",
		"github.com/soebot/soebot/internal/golden",
		"github.com/soebot/soebot/internal/reference",
		"github.com/soebot/soebot/internal/chat/chattest",
		"github.com/soebot/soebot/internal/store/storetest",
		"github.com/soebot/soebot/internal/store/pgstore/pgtest",
		"github.com/soebot/soebot/internal/replicas",
		"github.com/getkin/kin-openapi/",
		"github.com/santhosh-tekuri/jsonschema/",
		"go.uber.org/goleak",
	}, func(p string) bool {
		if strings.HasSuffix(p, "/") {
			return strings.HasPrefix(pkg, p)
		}
		return pkg == p
	})
}

// The shipped binary links no test scaffolding: go list -deps of this
// package (what `go build ./cmd/bot` links, tests excluded) names none of the
// forbidden packages. A failure names who imports the package.
func TestBinaryLinksNoTestScaffolding(t *testing.T) {
	deps := listDeps(t)
	if len(deps) < 10 {
		t.Fatalf("go list -deps found only %d packages: %v", len(deps), deps)
	}
	for _, pkg := range slices.Sorted(maps.Keys(deps)) {
		if !forbidden(pkg) {
			continue
		}
		var by []string
		for imp, imports := range deps {
			if slices.Contains(imports, pkg) {
				by = append(by, imp)
			}
		}
		slices.Sort(by)
		t.Errorf("cmd/bot links %s (imported by %s)", pkg, strings.Join(by, ", "))
	}
}

func TestForbidden(t *testing.T) {
	for _, tc := range []struct {
		pkg  string
		want bool
	}{
		{"testing", true},
		{"testing/iotest", true},
		{"net/http/httptest", true},
		{"github.com/getkin/kin-openapi/openapi3", true},
		{"github.com/santhosh-tekuri/jsonschema/v6", true},
		{"github.com/soebot/soebot/internal/e2e", true},
		{"net/http", false},
		{"github.com/soebot/soebot/internal/soe", false},
		{"github.com/soebot/soebot/internal/e2ex", false},
	} {
		if got := forbidden(tc.pkg); got != tc.want {
			t.Errorf("forbidden(%q) = %v, want %v", tc.pkg, got, tc.want)
		}
	}
}

// listDeps runs go list -deps on this package and returns each dependency
// with its imports. The modules are in the cache (this test was built from
// them), so GOPROXY=off: it never touches the network.
func listDeps(t *testing.T) map[string][]string {
	t.Helper()
	goTool, err := exec.LookPath("go") // go test puts its own GOROOT/bin first in PATH
	if err != nil {
		t.Fatalf("the go tool is needed to list the binary's dependencies: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), goTool, "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", ".")
	cmd.Env = append(os.Environ(), "GOPROXY=off")
	cmd.Stderr = &strings.Builder{}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, cmd.Stderr)
	}
	deps := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) > 0 {
			deps[f[0]] = f[1:]
		}
	}
	return deps
}
