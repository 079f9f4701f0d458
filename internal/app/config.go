// Package app wires soebot together: configuration, the store, the SOE
// client, the Slack transport, the product and the HTTP server. cmd/bot, the
// end-to-end tests, the demo and the benchmarks all start the bot through it.
package app

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/ratelimit"
	"github.com/soebot/soebot/internal/router"
)

// env is what envconfig reads: every value as a string, so that all problems
// can be reported together (envconfig itself stops at the first).
type env struct {
	SlackAppToken         string `envconfig:"SLACK_APP_TOKEN" desc:"app-level token xapp-… (connections:write)" required:"true"`
	SlackBotToken         string `envconfig:"SLACK_BOT_TOKEN" desc:"bot token xoxb-…" required:"true"`
	SlackAPIURL           string `envconfig:"SLACK_API_URL" desc:"Slack Web API base, must end in /" default:"https://slack.com/api/"`
	SOEURL                string `envconfig:"SOE_URL" desc:"the site root: Enterprise https://acme.stackenterprise.co, or Stack Overflow for Teams Basic/Business https://stackoverflowteams.com/c/<team> (users then connect with a personal access token)" required:"true"`
	SOEAPIURL             string `envconfig:"SOE_API_URL" desc:"API v3 base (default $SOE_URL/api/v3; Basic/Business https://api.stackoverflowteams.com/v3/teams/<team>)"`
	SOEClientID           string `envconfig:"SOE_CLIENT_ID" desc:"the SOE API application's client id (Enterprise; not needed for Basic/Business)"`
	PublicURL             string `envconfig:"PUBLIC_URL" desc:"the bot's external base URL; OAuth redirect is $PUBLIC_URL/oauth/callback" required:"true"`
	HTTPAddr              string `envconfig:"HTTP_ADDR" desc:"listen address of the public HTTP server (link pages, OAuth callback, /healthz, /readyz)" default:":8080"`
	AdminAddr             string `envconfig:"ADMIN_ADDR" desc:"listen address of /metrics and /admin/backup; keep it off the public network" default:"127.0.0.1:9090"`
	TrustedProxies        string `envconfig:"TRUSTED_PROXIES" desc:"comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed when rate-limiting the link pages (default none)"`
	DatabaseURL           string `envconfig:"DATABASE_URL" desc:"postgres://user:password@host:5432/db selects PostgreSQL, for 2–10 replicas on one database (needs TOKEN_KEY); unset = the bbolt file at DB_PATH, one process"`
	DBPath                string `envconfig:"DB_PATH" desc:"bbolt database file (when DATABASE_URL is unset)" default:"soebot.db"`
	TokenKey              string `envconfig:"TOKEN_KEY" desc:"base64 of 32 random bytes (comma-separated list to rotate; first encrypts); unset = key file next to DB_PATH (bbolt only)"`
	PollInterval          string `envconfig:"POLL_INTERVAL" desc:"notification poll period (the longest, when it adapts)" default:"60s"`
	PollIntervalMin       string `envconfig:"POLL_INTERVAL_MIN" desc:"shortest notification poll period: each site or team polls faster while active, within 10% of each owner's SOE token budget; = POLL_INTERVAL turns adapting off" default:"5s"`
	LogLevel              string `envconfig:"LOG_LEVEL" desc:"debug|info|warn|error" default:"info"`
	LogFormat             string `envconfig:"LOG_FORMAT" desc:"json|text" default:"json"`
	LinkRequireEmailMatch string `envconfig:"LINK_REQUIRE_EMAIL_MATCH" desc:"connect accounts only when the Slack and SOE emails are both known and equal; false lets whoever opens a link connect their SOE account to the Slack user who asked" default:"true"`
	LinkWriteAccess       string `envconfig:"LINK_WRITE_ACCESS" desc:"request write_access when linking" default:"true"`
	LinkNoExpiry          string `envconfig:"LINK_NO_EXPIRY" desc:"request no_expiry when linking" default:"true"`
	CacheTTL              string `envconfig:"CACHE_TTL" desc:"how long SME lists, tag ids and user mappings are cached" default:"5m"`
	HandlerWorkers        string `envconfig:"HANDLER_WORKERS" desc:"commands and clicks handled at once; beyond it users are told to try again" default:"512"`
	AdminSlackUsers       string `envconfig:"ADMIN_SLACK_USERS" desc:"comma-separated Slack user ids who may list every subscription (/soe subscriptions all) besides the workspace admins and owners"`
}

// Config is the validated configuration.
type Config struct {
	SlackAppToken string
	SlackBotToken string
	SlackAPIURL   string
	SOEURL        string
	SOEAPIURL     string
	SOEClientID   string
	// SOETeam is the team of a Stack Overflow for Teams Basic/Business site
	// (SOE_URL https://stackoverflowteams.com/c/<team>); "" on Enterprise.
	// Users connect there with a personal access token, not OAuth.
	SOETeam   string
	PublicURL string
	HTTPAddr  string
	AdminAddr string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the
	// client (for rate limiting); none by default.
	TrustedProxies []netip.Prefix
	// DatabaseURL selects PostgreSQL; "" means the bbolt file at DBPath.
	DatabaseURL  string
	DBPath       string
	TokenKey     string
	PollInterval time.Duration
	LogLevel     slog.Level
	LogFormat    string

	// PollIntervalMin is the shortest adaptive poll period (≤ PollInterval).
	PollIntervalMin time.Duration

	LinkRequireEmailMatch bool
	LinkWriteAccess       bool
	LinkNoExpiry          bool
	CacheTTL              time.Duration
	HandlerWorkers        int
	// AdminSlackUsers may list every subscription besides the workspace
	// admins and owners (Slack user ids).
	AdminSlackUsers []string
}

// Usage prints the variables table (bot -h).
func Usage(w io.Writer) error {
	var e env
	return envconfig.Usagef("", &e, w, envconfig.DefaultTableFormat)
}

// LoadConfig reads the environment through lookup (os.LookupEnv in
// production). It reports every missing or malformed variable in one error,
// and never echoes a token back.
func LoadConfig(lookup func(string) (string, bool)) (Config, error) {
	e := readEnv(lookup)
	var problems []string
	req := func(name, v string) bool {
		if strings.TrimSpace(v) == "" {
			problems = append(problems, name+" is required")
			return false
		}
		return true
	}
	var c Config
	if req("SLACK_APP_TOKEN", e.SlackAppToken) && !strings.HasPrefix(e.SlackAppToken, "xapp-") {
		problems = append(problems, "SLACK_APP_TOKEN must be an app-level token starting with xapp-")
	}
	if req("SLACK_BOT_TOKEN", e.SlackBotToken) && !strings.HasPrefix(e.SlackBotToken, "xoxb-") {
		problems = append(problems, "SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
	}
	c.SlackAppToken, c.SlackBotToken = e.SlackAppToken, e.SlackBotToken
	c.SlackAPIURL = e.SlackAPIURL
	if checkURL(&problems, "SLACK_API_URL", c.SlackAPIURL) && !strings.HasSuffix(c.SlackAPIURL, "/") {
		problems = append(problems, "SLACK_API_URL must end in /")
	}
	loadSOE(&problems, req, e, &c)
	if req("PUBLIC_URL", e.PublicURL) {
		c.PublicURL = strings.TrimRight(e.PublicURL, "/")
		checkURL(&problems, "PUBLIC_URL", c.PublicURL)
	}
	loadListeners(&problems, e, &c)
	c.DBPath = e.DBPath
	if c.DBPath == "" {
		problems = append(problems, "DB_PATH must not be empty")
	}
	c.TokenKey = e.TokenKey // checked by the vault, which never echoes it
	loadDatabase(&problems, e, &c)
	c.PollInterval = duration(&problems, "POLL_INTERVAL", e.PollInterval, time.Second)
	c.PollIntervalMin = min(duration(&problems, "POLL_INTERVAL_MIN", e.PollIntervalMin, time.Second), c.PollInterval)
	c.CacheTTL = duration(&problems, "CACHE_TTL", e.CacheTTL, 0)
	if n, err := strconv.Atoi(strings.TrimSpace(e.HandlerWorkers)); err != nil || n < 1 || n > 100000 {
		problems = append(problems, fmt.Sprintf("HANDLER_WORKERS %q is not a number from 1 to 100000", e.HandlerWorkers))
	} else {
		c.HandlerWorkers = n
	}
	switch strings.ToLower(e.LogLevel) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info", "":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		problems = append(problems, fmt.Sprintf("LOG_LEVEL %q is not one of debug, info, warn, error", e.LogLevel))
	}
	switch c.LogFormat = strings.ToLower(e.LogFormat); c.LogFormat {
	case "json", "text":
	default:
		problems = append(problems, fmt.Sprintf("LOG_FORMAT %q is not json or text", e.LogFormat))
	}
	c.LinkRequireEmailMatch = boolean(&problems, "LINK_REQUIRE_EMAIL_MATCH", e.LinkRequireEmailMatch)
	c.LinkWriteAccess = boolean(&problems, "LINK_WRITE_ACCESS", e.LinkWriteAccess)
	c.LinkNoExpiry = boolean(&problems, "LINK_NO_EXPIRY", e.LinkNoExpiry)
	c.AdminSlackUsers = slackIDs(&problems, "ADMIN_SLACK_USERS", e.AdminSlackUsers)
	if len(problems) > 0 {
		return c, &ConfigError{Problems: problems}
	}
	return c, nil
}

// BasicBusinessHost is the web host of Stack Overflow for Teams Basic and
// Business; BasicBusinessAPI is its API v3 base (the team is appended).
const (
	BasicBusinessHost = "stackoverflowteams.com"
	BasicBusinessAPI  = "https://api.stackoverflowteams.com/v3/teams/"
)

// loadSOE reads SOE_URL, SOE_API_URL and SOE_CLIENT_ID. A site URL whose
// path is /c/<team> is Stack Overflow for Teams Basic/Business: the API
// base defaults to BasicBusinessAPI+<team> and no client id is needed.
func loadSOE(problems *[]string, req func(name, v string) bool, e env, c *Config) {
	if req("SOE_URL", e.SOEURL) {
		c.SOEURL = strings.TrimRight(strings.TrimSpace(e.SOEURL), "/")
		if checkURL(problems, "SOE_URL", c.SOEURL) {
			c.SOETeam = basicBusinessTeam(problems, c.SOEURL)
		}
	}
	c.SOEAPIURL = strings.TrimRight(strings.TrimSpace(e.SOEAPIURL), "/")
	switch {
	case c.SOEAPIURL != "":
		checkURL(problems, "SOE_API_URL", c.SOEAPIURL)
	case c.SOETeam != "":
		c.SOEAPIURL = BasicBusinessAPI + c.SOETeam
	case c.SOEURL != "":
		c.SOEAPIURL = c.SOEURL + "/api/v3"
	}
	if c.SOETeam != "" {
		c.SOEClientID = strings.TrimSpace(e.SOEClientID) // unused: no OAuth on Basic/Business
		return
	}
	if req("SOE_CLIENT_ID", e.SOEClientID) {
		c.SOEClientID = strings.TrimSpace(e.SOEClientID)
	}
}

// basicBusinessTeam is the team of a Basic/Business site URL
// (…/c/<team>), or "" for an Enterprise site. stackoverflowteams.com
// without a team is a problem.
func basicBusinessTeam(problems *[]string, site string) string {
	u, err := url.Parse(site)
	if err != nil {
		return ""
	}
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) == 2 && segs[0] == "c" && router.ValidTeamSlug(segs[1]) {
		return segs[1]
	}
	if host == BasicBusinessHost {
		*problems = append(*problems, "SOE_URL for Stack Overflow for Teams Basic/Business must name the team: https://stackoverflowteams.com/c/<team>")
	}
	return ""
}

// loadListeners checks HTTP_ADDR, ADMIN_ADDR (not the same address: the
// admin endpoints must not land on the public listener) and TRUSTED_PROXIES.
func loadListeners(problems *[]string, e env, c *Config) {
	c.HTTPAddr, c.AdminAddr = e.HTTPAddr, e.AdminAddr
	_, httpPort, err := net.SplitHostPort(c.HTTPAddr)
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("HTTP_ADDR %q is not host:port", c.HTTPAddr))
	}
	_, adminPort, aerr := net.SplitHostPort(c.AdminAddr)
	if aerr != nil {
		*problems = append(*problems, fmt.Sprintf("ADMIN_ADDR %q is not host:port", c.AdminAddr))
	}
	if err == nil && aerr == nil && httpPort == adminPort && httpPort != "0" {
		*problems = append(*problems, fmt.Sprintf("ADMIN_ADDR %q must use another port than HTTP_ADDR %q: /metrics and /admin stay off the public listener", c.AdminAddr, c.HTTPAddr))
	}
	tp, err := ratelimit.ParsePrefixes(e.TrustedProxies)
	if err != nil {
		*problems = append(*problems, "TRUSTED_PROXIES: "+err.Error())
	}
	c.TrustedProxies = tp
}

// ConfigError lists every configuration problem.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "configuration is not valid:\n  - " + strings.Join(e.Problems, "\n  - ") + "\nRun with -h for the list of variables."
}

func checkURL(problems *[]string, name, v string) bool {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		*problems = append(*problems, name+" must be an absolute http(s) URL")
		return false
	}
	return true
}

func duration(problems *[]string, name, v string, least time.Duration) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil || d < least {
		*problems = append(*problems, fmt.Sprintf("%s %q is not a duration of at least %s (e.g. 60s)", name, v, least))
	}
	return d
}

// slackIDs reads a comma-separated list of Slack user ids.
func slackIDs(problems *[]string, name, v string) []string {
	var out []string
	for _, id := range strings.Split(v, ",") {
		id = strings.TrimSpace(id)
		switch {
		case id == "":
		case !chat.ValidID(id) || (id[0] != 'U' && id[0] != 'W'):
			*problems = append(*problems, fmt.Sprintf("%s: %q is not a Slack user id (like U012AB3CD)", name, id))
		default:
			out = append(out, id)
		}
	}
	return out
}

func boolean(problems *[]string, name, v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "t", "true", "yes", "on":
		return true
	case "0", "f", "false", "no", "off":
		return false
	}
	*problems = append(*problems, fmt.Sprintf("%s %q is not true or false", name, v))
	return false
}

// readEnv fills env from lookup, applying the struct's defaults. It does not
// touch the process environment, so tests can run in parallel.
func readEnv(lookup func(string) (string, bool)) env {
	var e env
	v := reflect.ValueOf(&e).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		val, ok := lookup(f.Tag.Get("envconfig"))
		if !ok {
			val = f.Tag.Get("default")
		}
		v.Field(i).SetString(val)
	}
	return e
}

// loadDatabase checks DATABASE_URL (never echoing it: it may hold a
// password). Replicas share one database, so they must share the key too: a
// key file next to a local DB_PATH would differ per replica.
func loadDatabase(problems *[]string, e env, c *Config) {
	c.DatabaseURL = strings.TrimSpace(e.DatabaseURL)
	if c.DatabaseURL == "" {
		return
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		*problems = append(*problems, "DATABASE_URL must be a postgres://user:password@host:port/database URL")
	}
	if strings.TrimSpace(c.TokenKey) == "" {
		*problems = append(*problems, "DATABASE_URL needs TOKEN_KEY: every replica must encrypt tokens with the same key")
	}
}
