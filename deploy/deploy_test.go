package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/soebot/soebot/internal/app"
)

// eachFile calls fn with every file under deploy/ (slash path relative to
// deploy/, contents), but an operator's own .env, which git ignores.
func eachFile(t *testing.T, fn func(path string, b []byte) error) {
	t.Helper()
	root, err := os.OpenRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	fsys := root.FS()
	err = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == ".env" {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		return fn(path, b)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// yamlDocs parses every YAML file under deploy/ (every document of a
// multi-document file) and returns them by path relative to deploy/.
func yamlDocs(t *testing.T) map[string][]*yaml.Node {
	t.Helper()
	docs := map[string][]*yaml.Node{}
	eachFile(t, func(path string, b []byte) error {
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		nodes, err := decodeAll(b)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		docs[path] = nodes
		return nil
	})
	return docs
}

// decodeAll decodes every document of a YAML stream; an empty document is
// an error (a stray "---" usually hides a mistake).
func decodeAll(b []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var nodes []*yaml.Node
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nodes, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			return nil, fmt.Errorf("document %d is not a mapping", i)
		}
		var m map[string]any // decoding into a map finds duplicate keys
		if err := n.Decode(&m); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		nodes = append(nodes, &n)
	}
}

func TestEveryYAMLFileParses(t *testing.T) {
	docs := yamlDocs(t)
	for _, want := range []string{"compose.yaml", "kubernetes/kustomization.yaml", "kubernetes/deployment.yaml", "kubernetes/secret.yaml", "kubernetes/service.yaml"} {
		if len(docs[want]) == 0 {
			t.Errorf("%s is missing or empty", want)
		}
	}
}

func TestDecodeAll(t *testing.T) {
	tests := []struct {
		name, in string
		docs     int
		wantErr  bool
	}{
		{"one", "a: 1\n", 1, false},
		{"several", "a: 1\n---\nb: 2\n---\nc: 3\n", 3, false},
		{"empty document", "a: 1\n---\n---\nb: 2\n", 0, true},
		{"duplicate key", "a: 1\na: 2\n", 0, true},
		{"not a mapping", "- a\n", 0, true},
		{"bad syntax", "a: [1\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAll([]byte(tc.in))
			if (err != nil) != tc.wantErr || len(got) != tc.docs {
				t.Fatalf("decodeAll: %d documents, err %v; want %d, error %v", len(got), err, tc.docs, tc.wantErr)
			}
		})
	}
}

// configVars are the variables soebot reads, from the table `bot -h` prints.
func configVars(t *testing.T) map[string]bool {
	t.Helper()
	var buf bytes.Buffer
	if err := app.Usage(&buf); err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	name := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	table := false
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 0:
		case f[0] == "KEY":
			table = true
		case table && name.MatchString(f[0]):
			vars[f[0]] = true
		}
	}
	if !vars["SLACK_BOT_TOKEN"] || !vars["DATABASE_URL"] {
		t.Fatalf("could not read the variables from app.Usage:\n%s", buf.String())
	}
	return vars
}

// setVar is one environment variable a deployment file sets.
type setVar struct{ where, name string }

// TestEveryVariableIsConfig: a misspelt or removed variable would be
// silently ignored by the bot; here it fails.
func TestEveryVariableIsConfig(t *testing.T) {
	known := configVars(t)
	var all []setVar
	all = append(all, composeVars(t)...)
	all = append(all, kubernetesVars(t)...)
	all = append(all, envExampleVars(t)...)
	if len(all) < 10 {
		t.Fatalf("only %d variables found: the parsing is broken", len(all))
	}
	for _, v := range all {
		if !known[v.name] {
			t.Errorf("%s sets %s, which soebot does not read (bot -h)", v.where, v.name)
		}
	}
}

// composeOnlyVars are read by compose.yaml itself (${…}), not by the bot.
var composeOnlyVars = []string{"POSTGRES_PASSWORD"}

// envExampleVars are the variables of .env.example, the operator's
// template for .env; the compose-only ones must really be used by compose.yaml.
func envExampleVars(t *testing.T) []setVar {
	t.Helper()
	compose, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var vars []setVar
	for name := range envFile(t, ".env.example") {
		if !slices.Contains(composeOnlyVars, name) {
			vars = append(vars, setVar{".env.example", name})
		} else if !bytes.Contains(compose, []byte("${"+name)) {
			t.Errorf(".env.example sets %s, which compose.yaml does not use", name)
		}
	}
	return vars
}

// envFile reads KEY=value lines (comments and blank lines skipped).
func envFile(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s:%d: not KEY=value", path, i+1)
			continue
		}
		vars[k] = v
	}
	return vars
}

// TestReadmeDocumentsEnvExample: every variable the operator writes is
// explained in README.md.
func TestReadmeDocumentsEnvExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name := range envFile(t, ".env.example") {
		if !bytes.Contains(readme, []byte("`"+name+"`")) {
			t.Errorf("README.md does not document %s (as `%s`)", name, name)
		}
	}
	for _, want := range []string{"pg_dump", "migrate-store", "rotate-keys", "docker compose", "kubectl apply"} {
		if !bytes.Contains(readme, []byte(want)) {
			t.Errorf("README.md does not mention %s", want)
		}
	}
}
