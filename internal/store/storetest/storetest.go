// Package storetest is the one conformance suite of store.Store: every
// engine (bbolt, PostgreSQL) runs it, so owners of data can rely on the
// same behaviour on both.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/store"
)

// Engine gives a test a fresh, empty database and returns how to open it;
// open may be called again (after Close) to reopen the same database.
type Engine func(t *testing.T) (open func(opts store.Options) (store.Store, error))

// Open is a fresh store for one test, closed when the test ends.
type Open func(t *testing.T, opts store.Options) store.Store

var bucketA, bucketB = []byte("alpha"), []byte("beta")

// Run runs every conformance test against the engine.
func Run(t *testing.T, eng Engine) {
	open := func(t *testing.T, opts store.Options) store.Store {
		t.Helper()
		s, err := eng(t)(opts)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	t.Run("SchemaTooNew", func(t *testing.T) { testSchemaTooNew(t, eng) })
	tests := []struct {
		name string
		fn   func(t *testing.T, open Open)
	}{
		{"GetPutDelete", testGetPutDelete},
		{"Buckets", testBuckets},
		{"ByteOrder", testByteOrder},
		{"CursorSeek", testCursorSeek},
		{"CursorManyBatches", testCursorManyBatches},
		{"Sequence", testSequence},
		{"RollbackOnError", testRollback},
		{"ReadOnlyView", testReadOnly},
		{"WritersSerialized", testWritersSerialized},
		{"SnapshotView", testSnapshotView},
		{"Sweep", testSweep},
		{"Migrations", testMigrations},
		{"JSON", testJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

func ctx() context.Context { return context.Background() }

func openAB(t *testing.T, open Open) store.Store {
	return open(t, store.Options{Buckets: [][]byte{bucketA, bucketB}})
}

func mustUpdate(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(ctx(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func get(t *testing.T, s store.Store, bucket []byte, key string) []byte {
	t.Helper()
	var out []byte
	err := s.View(ctx(), func(tx store.Tx) error {
		if v := tx.Bucket(bucket).Get([]byte(key)); v != nil {
			out = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return out
}

func testGetPutDelete(t *testing.T, open Open) {
	s := openAB(t, open)
	mustUpdate(t, s, func(tx store.Tx) error {
		b := tx.Bucket(bucketA)
		if err := b.Put([]byte("k"), []byte("v1")); err != nil {
			return err
		}
		if err := b.Put([]byte("k"), []byte("v2")); err != nil { // overwrite
			return err
		}
		if err := b.Put([]byte("empty"), []byte{}); err != nil {
			return err
		}
		if got := b.Get([]byte("k")); string(got) != "v2" {
			return fmt.Errorf("read own write: %q", got)
		}
		return tx.Bucket(bucketB).Put([]byte("k"), []byte("other bucket"))
	})
	if got := get(t, s, bucketA, "k"); string(got) != "v2" {
		t.Errorf("Get = %q, want v2", got)
	}
	if got := get(t, s, bucketA, "empty"); got == nil || len(got) != 0 {
		t.Errorf("empty value = %v, want present and empty", got)
	}
	if got := get(t, s, bucketA, "missing"); got != nil {
		t.Errorf("missing key = %q, want nil", got)
	}
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.Bucket(bucketA).Delete([]byte("missing")); err != nil {
			return fmt.Errorf("delete of a missing key: %w", err)
		}
		if err := tx.Bucket(bucketA).Put(nil, []byte("x")); err == nil {
			return errors.New("empty key accepted")
		}
		return tx.Bucket(bucketA).Delete([]byte("k"))
	})
	if get(t, s, bucketA, "k") != nil || string(get(t, s, bucketB, "k")) != "other bucket" {
		t.Error("delete removed the wrong key")
	}
}

func testBuckets(t *testing.T, open Open) {
	s := openAB(t, open)
	mustUpdate(t, s, func(tx store.Tx) error {
		if tx.Bucket([]byte("nope")) != nil {
			return errors.New("missing bucket is not nil")
		}
		b, err := tx.CreateBucketIfNotExists([]byte("gamma"))
		if err != nil {
			return err
		}
		if err := b.Put([]byte("k"), []byte("v")); err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists([]byte("gamma")); err != nil { // again
			return err
		}
		if tx.Bucket([]byte("gamma")).Get([]byte("k")) == nil {
			return errors.New("re-creating emptied the bucket")
		}
		if err := tx.DeleteBucket([]byte("nope")); !errors.Is(err, store.ErrBucketNotFound) {
			return fmt.Errorf("DeleteBucket(missing) = %v, want ErrBucketNotFound", err)
		}
		return tx.DeleteBucket(bucketB)
	})
	_ = s.View(ctx(), func(tx store.Tx) error {
		if tx.Bucket(bucketB) != nil || tx.Bucket([]byte("gamma")) == nil || tx.Writable() {
			t.Error("bucket state after delete/create is wrong, or View is writable")
		}
		return nil
	})
}

func keys(t *testing.T, s store.Store, bucket []byte) []string {
	t.Helper()
	var out []string
	err := s.View(ctx(), func(tx store.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testByteOrder(t *testing.T, open Open) {
	s := openAB(t, open)
	in := []string{"b", "a", "\xff", "\x00", "a\x00", "ab", "B", "\x7f", "\x80", "é"}
	mustUpdate(t, s, func(tx store.Tx) error {
		for _, k := range in {
			if err := tx.Bucket(bucketA).Put([]byte(k), []byte("v")); err != nil {
				return err
			}
		}
		return nil
	})
	want := slices.Clone(in)
	slices.SortFunc(want, func(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) })
	if got := keys(t, s, bucketA); !slices.Equal(got, want) {
		t.Errorf("order = %q, want byte-wise %q", got, want)
	}
	var n int
	_ = s.View(ctx(), func(tx store.Tx) error { n = tx.Bucket(bucketA).Len(); return nil })
	if n != len(in) {
		t.Errorf("Len = %d, want %d", n, len(in))
	}
}

func testCursorSeek(t *testing.T, open Open) {
	s := openAB(t, open)
	mustUpdate(t, s, func(tx store.Tx) error {
		for _, k := range []string{"user/1", "user/2", "user/3", "x/1"} {
			if err := tx.Bucket(bucketA).Put([]byte(k), []byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	_ = s.View(ctx(), func(tx store.Tx) error {
		c := tx.Bucket(bucketA).Cursor()
		var got []string
		for k, v := c.Seek([]byte("user/")); k != nil && bytes.HasPrefix(k, []byte("user/")); k, v = c.Next() {
			got = append(got, string(k)+"="+string(v))
		}
		if want := []string{"user/1=user/1", "user/2=user/2", "user/3=user/3"}; !slices.Equal(got, want) {
			t.Errorf("prefix scan = %q, want %q", got, want)
		}
		if k, _ := c.Seek([]byte("user/2")); string(k) != "user/2" {
			t.Errorf("Seek(exact) = %q", k)
		}
		if k, _ := c.Seek([]byte("zzz")); k != nil {
			t.Errorf("Seek past the end = %q, want nil", k)
		}
		if k, _ := c.First(); string(k) != "user/1" {
			t.Errorf("First = %q", k)
		}
		return nil
	})
	_ = s.View(ctx(), func(tx store.Tx) error {
		if k, _ := tx.Bucket(bucketB).Cursor().First(); k != nil {
			t.Errorf("First of an empty bucket = %q", k)
		}
		return nil
	})
}

// testCursorManyBatches walks more keys than an engine reads at once, while
// writing in the same transaction (the delete-after-walk pattern owners use).
func testCursorManyBatches(t *testing.T, open Open) {
	s := openAB(t, open)
	const n = 1200
	mustUpdate(t, s, func(tx store.Tx) error {
		for i := range n {
			if err := tx.Bucket(bucketA).Put(fmt.Appendf(nil, "%05d", i), []byte("v")); err != nil {
				return err
			}
		}
		return nil
	})
	mustUpdate(t, s, func(tx store.Tx) error {
		b, seen := tx.Bucket(bucketA), 0
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if seen%2 == 0 {
				if err := tx.Bucket(bucketB).Put(bytes.Clone(k), []byte("copied")); err != nil {
					return err
				}
			}
			seen++
		}
		if seen != n {
			return fmt.Errorf("walked %d keys, want %d", seen, n)
		}
		return nil
	})
	if got := len(keys(t, s, bucketB)); got != n/2 {
		t.Errorf("copied %d, want %d", got, n/2)
	}
}

func testSequence(t *testing.T, open Open) {
	s := openAB(t, open)
	var got []uint64
	for range 3 {
		mustUpdate(t, s, func(tx store.Tx) error {
			n, err := tx.Bucket(bucketA).NextSequence()
			got = append(got, n)
			return err
		})
	}
	if !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("NextSequence = %v, want 1 2 3", got)
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.Bucket(bucketB).SetSequence(41) })
	mustUpdate(t, s, func(tx store.Tx) error {
		if n, err := tx.Bucket(bucketB).NextSequence(); err != nil || n != 42 {
			return fmt.Errorf("after SetSequence(41): %d, %v", n, err)
		}
		if tx.Bucket(bucketA).Sequence() != 3 {
			return errors.New("Sequence of alpha changed")
		}
		return nil
	})
}

func testRollback(t *testing.T, open Open) {
	s := openAB(t, open)
	boom := errors.New("boom")
	err := s.Update(ctx(), func(tx store.Tx) error {
		if err := tx.Bucket(bucketA).Put([]byte("k"), []byte("v")); err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists([]byte("gamma")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	_ = s.View(ctx(), func(tx store.Tx) error {
		if tx.Bucket(bucketA).Get([]byte("k")) != nil || tx.Bucket([]byte("gamma")) != nil {
			t.Error("a failed Update left writes behind")
		}
		return nil
	})
	func() {
		defer func() { _ = recover() }()
		_ = s.Update(ctx(), func(tx store.Tx) error {
			_ = tx.Bucket(bucketA).Put([]byte("p"), []byte("v"))
			panic("in fn")
		})
	}()
	if get(t, s, bucketA, "p") != nil {
		t.Error("a panicking Update left writes behind")
	}
	mustUpdate(t, s, func(store.Tx) error { return nil }) // the store still works
}

func testReadOnly(t *testing.T, open Open) {
	s := openAB(t, open)
	err := s.View(ctx(), func(tx store.Tx) error {
		if err := tx.Bucket(bucketA).Put([]byte("k"), []byte("v")); err == nil {
			return errors.New("Put succeeded in View")
		}
		if _, err := tx.CreateBucketIfNotExists([]byte("g")); err == nil {
			return errors.New("CreateBucket succeeded in View")
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// testWritersSerialized is the property every read-modify-write relies on:
// concurrent Updates never lose one another's increments.
func testWritersSerialized(t *testing.T, open Open) {
	s := openAB(t, open)
	const workers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				err := s.Update(ctx(), func(tx store.Tx) error {
					b := tx.Bucket(bucketA)
					n := len(b.Get([]byte("counter")))
					return b.Put([]byte("counter"), bytes.Repeat([]byte("x"), n+1))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := len(get(t, s, bucketA, "counter")); got != workers*each {
		t.Errorf("counter = %d, want %d (lost updates)", got, workers*each)
	}
}

// testSnapshotView: a reader sees one state, even when a writer commits in
// the middle of its transaction. (On bbolt a writer that must grow the file
// waits for open readers, so the reader waits only a moment for it.)
func testSnapshotView(t *testing.T, open Open) {
	s := openAB(t, open)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.Bucket(bucketA).Put([]byte("k"), []byte("old")) })
	done := make(chan error, 1)
	err := s.View(ctx(), func(tx store.Tx) error {
		first := string(tx.Bucket(bucketA).Get([]byte("k")))
		go func() {
			done <- s.Update(ctx(), func(tx store.Tx) error { return tx.Bucket(bucketA).Put([]byte("k"), []byte("new")) })
		}()
		select {
		case err := <-done:
			done <- err
		case <-time.After(500 * time.Millisecond):
		}
		if second := string(tx.Bucket(bucketA).Get([]byte("k"))); first != "old" || second != "old" {
			return fmt.Errorf("reader saw %q then %q, want old twice", first, second)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, bucketA, "k"); string(got) != "new" {
		t.Errorf("after the writer: %q", got)
	}
}

func testSweep(t *testing.T, open Open) {
	s := open(t, store.Options{Buckets: [][]byte{bucketA}, SweepBatch: 7})
	const n = 100
	mustUpdate(t, s, func(tx store.Tx) error {
		for i := range n {
			v := "live"
			if i%3 == 0 {
				v = "dead"
			}
			if err := tx.Bucket(bucketA).Put(fmt.Appendf(nil, "%03d", i), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := s.Sweep(ctx(), bucketA, func(_, v []byte) bool { return string(v) == "dead" })
	if err != nil || got != 34 {
		t.Fatalf("Sweep = %d, %v; want 34", got, err)
	}
	if left := len(keys(t, s, bucketA)); left != n-34 {
		t.Errorf("%d keys left, want %d", left, n-34)
	}
	if _, err := s.Sweep(ctx(), []byte("missing"), func(_, _ []byte) bool { return true }); !errors.Is(err, store.ErrBucketNotFound) {
		t.Errorf("Sweep(missing) = %v, want ErrBucketNotFound", err)
	}
}

func migrations(upto int, ran *[]int) []store.Migration {
	var ms []store.Migration
	for v := 1; v <= upto; v++ {
		ms = append(ms, store.Migration{Version: v, Name: fmt.Sprintf("step %d", v), Up: func(tx store.Tx) error {
			*ran = append(*ran, v)
			return tx.Bucket(bucketA).Put(fmt.Appendf(nil, "m%d", v), []byte("done"))
		}})
	}
	return ms
}

func testMigrations(t *testing.T, open Open) {
	var ran []int
	s := open(t, store.Options{Buckets: [][]byte{bucketA}, Migrations: migrations(3, &ran)})
	if v, err := s.SchemaVersion(ctx()); err != nil || v != 3 || !slices.Equal(ran, []int{1, 2, 3}) {
		t.Fatalf("after open: version %d, %v, ran %v", v, err, ran)
	}
	if got := keys(t, s, bucketA); !slices.Equal(got, []string{"m1", "m2", "m3"}) {
		t.Errorf("migrations wrote %q", got)
	}
	if err := s.Ping(ctx()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if s.Engine() == "" {
		t.Error("Engine is empty")
	}
}

// testSchemaTooNew: a binary older than the database refuses to open it.
func testSchemaTooNew(t *testing.T, eng Engine) {
	open := eng(t)
	var ran []int
	s, err := open(store.Options{Buckets: [][]byte{bucketA}, Migrations: migrations(3, &ran)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ran = nil
	s, err = open(store.Options{Buckets: [][]byte{bucketA}, Migrations: migrations(2, &ran)})
	if err == nil {
		_ = s.Close()
	}
	if !errors.Is(err, store.ErrSchemaTooNew) || len(ran) != 0 {
		t.Errorf("reopen with an older binary = %v (ran %v), want ErrSchemaTooNew", err, ran)
	}
	if err != nil && !strings.Contains(err.Error(), "3") {
		t.Errorf("the error does not name the stored version: %v", err)
	}
}

func testJSON(t *testing.T, open Open) {
	s := openAB(t, open)
	type rec struct{ A string }
	mustUpdate(t, s, func(tx store.Tx) error { return store.PutJSON(tx, bucketA, "r", rec{"x"}) })
	var got rec
	err := s.View(ctx(), func(tx store.Tx) error {
		found, err := store.GetJSON(tx, bucketA, "r", &got)
		if !found {
			return errors.New("not found")
		}
		return err
	})
	if err != nil || got.A != "x" {
		t.Errorf("GetJSON = %+v, %v", got, err)
	}
}
