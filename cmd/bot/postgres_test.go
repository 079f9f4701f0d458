package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/store/pgstore/pgtest"
)

// TestMigrateStoreThenRotateOnPostgres moves a bbolt install (alice linked
// through the browser) into PostgreSQL twice, rotates the key there, and
// checks that alice's token still works with the new key alone.
func TestMigrateStoreThenRotateOnPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	dbURL := pg.NewDatabase(t)
	e := startBot(t)
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	env := cliEnv(e)
	env["DATABASE_URL"] = dbURL
	for run := 1; run <= 2; run++ { // a second run changes nothing and still verifies
		code, out, errs := runBot(t, env, "migrate-store")
		if code != 0 || !strings.Contains(out, "verified") || !strings.Contains(out, "links") {
			t.Fatalf("run %d: exit %d\n%s\n%s", run, code, out, errs)
		}
	}
	if code, _, errs := runBot(t, env, "backup", "x.db"); code != 2 || !strings.Contains(errs, "pg_dump") {
		t.Fatalf("backup on PostgreSQL: exit %d: %s", code, errs)
	}
	newKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	env["TOKEN_KEY"] = newKey + "," + e.Config.TokenKey
	if code, out, errs := runBot(t, env, "rotate-keys"); code != 0 || !strings.Contains(out, "re-encrypted 1 token") {
		t.Fatalf("rotate-keys on PostgreSQL: exit %d\n%s\n%s", code, out, errs)
	}
	db, err := app.OpenStorage(context.Background(), dbURL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	aliceWorks(t, e, db, newKey)
}
