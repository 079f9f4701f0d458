package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

func envFunc(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func runBot(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, args, envFunc(env), &out, &errb)
	return code, out.String(), errb.String()
}

// startBot runs the real bot (with fakes) and links alice through the
// browser flow, so the database holds one encrypted token.
func startBot(t *testing.T) *e2e.Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	e, err := e2e.Start(ctx, e2e.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	s, err := e.Slack.SlashCommand(e2e.SlackUser("alice"), e2e.General, "/soe", "link")
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Slack.WaitResponse(ctx, s.ResponseURL, "Connect")
	if err != nil {
		t.Fatal(err)
	}
	bs, _ := m.SlackBlocks()
	var linkURL string
	for _, b := range bs.BlockSet {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, el := range a.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok && btn.URL != "" {
					linkURL = btn.URL
				}
			}
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, linkURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Connected") {
		t.Fatalf("linking failed: %s", body)
	}
	return e
}

func cliEnv(e *e2e.Env) map[string]string {
	return map[string]string{"DB_PATH": e.DBPath(), "ADMIN_ADDR": e.App.AdminAddr(), "TOKEN_KEY": e.Config.TokenKey}
}

func linkCount(t *testing.T, path string) int {
	t.Helper()
	db, err := store.Open(path, store.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	_ = db.View(context.Background(), func(tx store.Tx) error {
		n = tx.Bucket([]byte("links")).Len()
		return nil
	})
	return n
}

func TestBackupWhileBotRuns(t *testing.T) {
	e := startBot(t)
	dest := filepath.Join(t.TempDir(), "copy.db")
	code, out, errs := runBot(t, cliEnv(e), "backup", dest)
	if code != 0 || !strings.Contains(out, "backup written") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	fi, err := os.Stat(dest)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", fi, err)
	}
	if n := linkCount(t, dest); n != 1 {
		t.Fatalf("copy has %d links", n)
	}
	// The bot is still fine.
	if !e.App.Ready() {
		t.Fatal("bot not ready after backup")
	}

	// With another key the running bot refuses (and nothing is written).
	env := cliEnv(e)
	env["TOKEN_KEY"] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	dest2 := filepath.Join(t.TempDir(), "copy2.db")
	if code, _, errs := runBot(t, env, "backup", dest2); code != 1 || !strings.Contains(errs, "refused") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(dest2); err == nil {
		t.Fatal("a refused backup left a file")
	}
	// The public listener does not serve backups.
	env = cliEnv(e)
	env["ADMIN_ADDR"] = e.App.HTTPAddr()
	if code, _, errs := runBot(t, env, "backup", dest2); code != 1 || !strings.Contains(errs, "404") {
		t.Fatalf("backup from the public listener: exit %d: %s", code, errs)
	}
	// The live file is never a target.
	if code, _, _ := runBot(t, cliEnv(e), "backup", e.DBPath()); code != 2 {
		t.Fatalf("exit %d", code)
	}
}

func TestBackupWhenBotStopped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "soebot.db")
	db, err := app.OpenStore(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	ln, _ := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	free := ln.Addr().String()
	ln.Close() // nothing listens there now
	dest := filepath.Join(dir, "copy.db")
	code, out, errs := runBot(t, map[string]string{"DB_PATH": path, "ADMIN_ADDR": free}, "backup", dest)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if n := linkCount(t, dest); n != 0 {
		t.Fatal(n)
	}
}

func TestRotateKeys(t *testing.T) {
	e := startBot(t)
	env := cliEnv(e)
	// While the bot runs: fails fast, telling to stop it.
	start := time.Now()
	if code, _, errs := runBot(t, env, "rotate-keys"); code != 1 || !strings.Contains(errs, "Stop the bot first") || time.Since(start) > 5*time.Second {
		t.Fatalf("exit %d after %v: %s", code, time.Since(start), errs)
	}
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	newKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	env["TOKEN_KEY"] = newKey + "," + e.Config.TokenKey
	code, out, errs := runBot(t, env, "rotate-keys")
	if code != 0 || !strings.Contains(out, "re-encrypted 1 token") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	// The new key alone now opens alice's token, and SOE accepts it.
	db, err := app.OpenStore(e.DBPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	aliceWorks(t, e, db, newKey)
	if code, _, _ := runBot(t, env, "rotate-keys", "extra"); code != 2 {
		t.Fatal("extra args accepted")
	}
	// No key at all: refuses.
	if code, _, errs := runBot(t, map[string]string{"DB_PATH": e.DBPath()}, "rotate-keys"); code != 2 || !strings.Contains(errs, "TOKEN_KEY") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// aliceWorks checks that key alone opens alice's stored token in db and that
// the fake SOE accepts it.
func aliceWorks(t *testing.T, e *e2e.Env, db store.Store, key string) {
	t.Helper()
	keys, err := app.LoadKeys(key, e.DBPath(), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := linking.New(linking.Config{}, db, keys, soe.OAuthConfig{}, soe.NewService(soe.Config{APIURL: e.SOE.APIURL()}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := svc.Client(context.Background(), e.Slack.TeamID(), e2e.SlackUser("alice"), soe.MainSite())
	if err != nil {
		t.Fatal(err)
	}
	if me, err := c.Me(context.Background()); err != nil || me.Name != "Alice Anderson" {
		t.Fatalf("alice's token: %+v %v", me, err)
	}
}
