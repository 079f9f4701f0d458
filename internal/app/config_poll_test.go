package app

import (
	"strings"
	"testing"
	"time"
)

func TestPollIntervalMin(t *testing.T) {
	base := map[string]string{
		"SLACK_APP_TOKEN": "xapp-1-A", "SLACK_BOT_TOKEN": "xoxb-1", "SOE_URL": "https://acme.stackenterprise.co/",
		"SOE_CLIENT_ID": "42", "PUBLIC_URL": "https://bot.acme.example",
	}
	cases := []struct {
		name     string
		min, max string // "" = unset
		want     time.Duration
		err      string
	}{
		{name: "default", want: 5 * time.Second},
		{name: "set", min: "10s", want: 10 * time.Second},
		{name: "above POLL_INTERVAL: fixed", min: "2m", max: "30s", want: 30 * time.Second},
		{name: "equal: fixed", min: "60s", want: time.Minute},
		{name: "below a second", min: "200ms", err: "POLL_INTERVAL_MIN"},
		{name: "not a duration", min: "fast", err: "POLL_INTERVAL_MIN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			if tc.min != "" {
				env["POLL_INTERVAL_MIN"] = tc.min
			}
			if tc.max != "" {
				env["POLL_INTERVAL"] = tc.max
			}
			cfg, err := LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %s", err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			case cfg.PollIntervalMin != tc.want:
				t.Fatalf("PollIntervalMin = %s, want %s", cfg.PollIntervalMin, tc.want)
			}
		})
	}
}
