package app

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/store"
)

func TestMigrationsValid(t *testing.T) {
	ms := migrations()
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("migration %d (%q) has version %d, want %d", i, m.Name, m.Version, i+1)
		}
	}
}

// hasBucket reports whether db has the top-level bucket name.
func hasBucket(t *testing.T, db *store.DB, name []byte) bool {
	t.Helper()
	var ok bool
	if err := db.View(context.Background(), func(tx store.Tx) error { ok = tx.Bucket(name) != nil; return nil }); err != nil {
		t.Fatal(err)
	}
	return ok
}

// A database written before the asked package was removed (schema 1, an
// asked_questions bucket with records) loses the bucket on open; the other
// data stays.
func TestMigrationDropsAskedBucket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "soebot.db")
	old := StoreOptions(nil)
	old.Buckets = append(slices.Clone(old.Buckets), askedBucket)
	old.Migrations = linking.Migrations()
	db, err := store.Open(path, old)
	if err != nil {
		t.Fatal(err)
	}
	keep := linking.Buckets()[0]
	err = db.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.Bucket(askedBucket).Put([]byte("main\x00000000000042"), []byte(`{"question_id":42}`)); err != nil {
			return err
		}
		return tx.Bucket(keep).Put([]byte("k"), []byte("v"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := db.SchemaVersion(context.Background()); v != 1 {
		t.Fatalf("old database at schema %d, want 1", v)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	for range 2 { // the second open has nothing left to do
		db, err = OpenStore(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if hasBucket(t, db, askedBucket) {
			t.Error("asked_questions is still there")
		}
		if v, err := db.SchemaVersion(context.Background()); err != nil || v != 2 {
			t.Errorf("SchemaVersion = %d, %v; want 2", v, err)
		}
		var got []byte
		_ = db.View(context.Background(), func(tx store.Tx) error { got = bytes.Clone(tx.Bucket(keep).Get([]byte("k"))); return nil })
		if string(got) != "v" {
			t.Errorf("other data lost: %q", got)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A new database never has the bucket and starts at the last version.
func TestNewStoreHasNoAskedBucket(t *testing.T) {
	db, err := OpenStore(filepath.Join(t.TempDir(), "soebot.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if hasBucket(t, db, askedBucket) {
		t.Error("a new database has asked_questions")
	}
	if v, err := db.SchemaVersion(context.Background()); err != nil || v != 2 {
		t.Errorf("SchemaVersion = %d, %v; want 2", v, err)
	}
}
