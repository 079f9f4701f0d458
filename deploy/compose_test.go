package deploy

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image           string                       `yaml:"image"`
	Build           any                          `yaml:"build"`
	EnvFile         stringOrList                 `yaml:"env_file"`
	Environment     envMap                       `yaml:"environment"`
	DependsOn       map[string]composeDependency `yaml:"depends_on"`
	Healthcheck     *struct{ Test stringOrList } `yaml:"healthcheck"`
	Volumes         []string                     `yaml:"volumes"`
	Ports           []string                     `yaml:"ports"`
	Networks        map[string]composeNetwork    `yaml:"networks"`
	StopGracePeriod string                       `yaml:"stop_grace_period"`
}

type composeDependency struct {
	Condition string `yaml:"condition"`
}

type composeNetwork struct {
	IPv4Address string `yaml:"ipv4_address"`
}

// stringOrList is a compose field that may be one string or a list.
type stringOrList []string

func (s *stringOrList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = []string{n.Value}
		return nil
	}
	return n.Decode((*[]string)(s))
}

// envMap is compose's environment: a mapping or a list of KEY=value.
type envMap map[string]string

func (e *envMap) UnmarshalYAML(n *yaml.Node) error {
	*e = envMap{}
	if n.Kind == yaml.MappingNode {
		return n.Decode((*map[string]string)(e))
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		(*e)[k] = v
	}
	return nil
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	docs := yamlDocs(t)["compose.yaml"]
	if len(docs) != 1 {
		t.Fatalf("compose.yaml: %d documents, want 1", len(docs))
	}
	var c composeFile
	if err := docs[0].Decode(&c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

// interpolation is compose's ${VAR…}, replaced by the operator's .env.
var interpolation = regexp.MustCompile(`\$\{[^}]*\}`)

// botServices are the services built from the repository's Dockerfile.
func botServices(c composeFile) []string {
	var names []string
	for name, s := range c.Services {
		if s.Build != nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func composeVars(t *testing.T) []setVar {
	t.Helper()
	c := loadCompose(t)
	var vars []setVar
	for _, name := range botServices(c) {
		for k := range c.Services[name].Environment {
			vars = append(vars, setVar{"compose.yaml service " + name, k})
		}
	}
	postgres := []string{"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"}
	for k := range c.Services["postgres"].Environment {
		if !slices.Contains(postgres, k) {
			t.Errorf("compose.yaml: postgres sets %s; the checked ones are %v", k, postgres)
		}
	}
	return vars
}

func TestCompose(t *testing.T) {
	c := loadCompose(t)
	tests := []struct {
		name  string
		check func(composeFile) error
	}{
		{"postgres 15 with a healthcheck and a named volume", checkComposePostgres},
		{"at least two bot replicas", func(c composeFile) error {
			if n := len(botServices(c)); n < 2 {
				return fmt.Errorf("%d services built from the Dockerfile, want 2 or more", n)
			}
			return nil
		}},
		{"every replica on postgres, after it is healthy", checkComposeBots},
		{"one published port, the proxy's, to every replica", checkComposeProxy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.check(c); err != nil {
				t.Error(err)
			}
		})
	}
}

func checkComposePostgres(c composeFile) error {
	pg, ok := c.Services["postgres"]
	switch {
	case !ok:
		return fmt.Errorf("no service postgres")
	case !strings.HasPrefix(pg.Image, "postgres:15"):
		return fmt.Errorf("postgres image %q, want postgres:15", pg.Image)
	case pg.Healthcheck == nil || len(pg.Healthcheck.Test) == 0:
		return fmt.Errorf("postgres has no healthcheck")
	}
	for _, v := range pg.Volumes {
		src, dst, _ := strings.Cut(v, ":")
		if _, named := c.Volumes[src]; named && strings.HasPrefix(dst, "/var/lib/postgresql/data") {
			return nil
		}
	}
	return fmt.Errorf("postgres keeps /var/lib/postgresql/data on no named volume: %v", pg.Volumes)
}

func checkComposeBots(c composeFile) error {
	for _, name := range botServices(c) {
		s := c.Services[name]
		u, err := url.Parse(interpolation.ReplaceAllString(s.Environment["DATABASE_URL"], "x"))
		if err != nil || u.Scheme != "postgres" || u.Hostname() != "postgres" {
			return fmt.Errorf("%s: DATABASE_URL %q is not postgres://…@postgres", name, s.Environment["DATABASE_URL"])
		}
		if s.DependsOn["postgres"].Condition != "service_healthy" {
			return fmt.Errorf("%s does not wait for postgres: depends_on condition service_healthy", name)
		}
		if !slices.Contains(s.EnvFile, ".env") {
			return fmt.Errorf("%s: env_file %v, want .env", name, s.EnvFile)
		}
		if d, err := time.ParseDuration(s.StopGracePeriod); err != nil || d < 15*time.Second {
			return fmt.Errorf("%s: stop_grace_period %q leaves no time to drain (15s or more)", name, s.StopGracePeriod)
		}
		if len(s.Ports) > 0 {
			return fmt.Errorf("%s publishes %v: only the proxy publishes a port", name, s.Ports)
		}
	}
	return nil
}

// checkComposeProxy: one service publishes the HTTP port, its Caddyfile
// forwards to every replica's HTTP_ADDR and checks /readyz, and the replicas
// trust its X-Forwarded-For.
func checkComposeProxy(c composeFile) error {
	var published []string
	for name, s := range c.Services {
		if len(s.Ports) > 0 {
			published = append(published, name)
		}
	}
	if len(published) != 1 || published[0] != "proxy" {
		return fmt.Errorf("services publishing ports: %v, want only proxy", published)
	}
	caddy, err := os.ReadFile("Caddyfile")
	if err != nil {
		return err
	}
	if !strings.Contains(string(caddy), "health_uri /readyz") {
		return fmt.Errorf("the Caddyfile does not check /readyz")
	}
	ip := c.Services["proxy"].Networks["default"].IPv4Address
	for _, name := range botServices(c) {
		env := c.Services[name].Environment
		_, port, err := net.SplitHostPort(env["HTTP_ADDR"])
		if err != nil {
			return fmt.Errorf("%s: HTTP_ADDR %q: %w", name, env["HTTP_ADDR"], err)
		}
		if !strings.Contains(string(caddy), " "+name+":"+port) {
			return fmt.Errorf("the Caddyfile does not forward to %s:%s", name, port)
		}
		if ip == "" || env["TRUSTED_PROXIES"] != ip {
			return fmt.Errorf("%s: TRUSTED_PROXIES %q, want the proxy's address %q", name, env["TRUSTED_PROXIES"], ip)
		}
	}
	return nil
}
