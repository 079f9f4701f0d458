package asked

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/store"
)

func open(t *testing.T, withBuckets bool) *Store {
	t.Helper()
	opts := store.Options{}
	if withBuckets {
		opts.Buckets = Buckets()
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "soebot.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s, err := New(db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPutGetList(t *testing.T) {
	ctx := context.Background()
	for _, withBuckets := range []bool{true, false} {
		s := open(t, withBuckets)
		at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
		qs := []Question{
			{QuestionID: 120, Scope: "main", TeamID: "T1", UserID: "UALICE", ChannelID: "CGENERAL", SOEUserID: 1, Title: "How?", URL: "https://x/q/120", Created: at},
			{QuestionID: 9, Scope: "main", TeamID: "T1", UserID: "UBOB", Created: at.Add(time.Hour)},
			{QuestionID: 9, Scope: "team:platform", TeamID: "T1", UserID: "UCAROL", Created: at},
			{QuestionID: 1000, Scope: "main", TeamID: "T1", UserID: "UALICE", Created: at},
			{QuestionID: 5, Scope: "team:platformx", TeamID: "T1", UserID: "UDAVE", Created: at},
		}
		for _, q := range qs {
			if err := s.Put(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		got, ok, err := s.Get(ctx, "main", 120)
		if err != nil || !ok || !reflect.DeepEqual(got, qs[0]) {
			t.Fatalf("Get = %+v %v %v, want %+v", got, ok, err, qs[0])
		}
		if _, ok, err := s.Get(ctx, "team:platform", 120); ok || err != nil {
			t.Fatalf("Get in another scope = %v %v", ok, err)
		}
		list, err := s.ListByScope(ctx, "main")
		if err != nil {
			t.Fatal(err)
		}
		var ids []int
		for _, q := range list {
			ids = append(ids, q.QuestionID)
		}
		if !reflect.DeepEqual(ids, []int{9, 120, 1000}) {
			t.Fatalf("ListByScope(main) ids = %v", ids)
		}
		if list, _ := s.ListByScope(ctx, "team:platform"); len(list) != 1 || list[0].UserID != "UCAROL" {
			t.Fatalf("ListByScope(team:platform) = %+v", list)
		}
		scopes, err := s.Scopes(ctx)
		if err != nil || !reflect.DeepEqual(scopes, []string{"main", "team:platform", "team:platformx"}) {
			t.Fatalf("Scopes = %v %v", scopes, err)
		}
		if err := s.Delete(ctx, "main", 9); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Get(ctx, "main", 9); ok {
			t.Fatal("deleted question still there")
		}
		n, err := s.Prune(ctx, at.Add(time.Minute))
		if err != nil || n != 4 {
			t.Fatalf("Prune = %d %v, want 4", n, err)
		}
		if scopes, _ := s.Scopes(ctx); len(scopes) != 0 {
			t.Fatalf("after prune: %v", scopes)
		}
	}
}

func TestPutRejectsIncompleteRecords(t *testing.T) {
	s := open(t, true)
	for _, q := range []Question{
		{Scope: "main", TeamID: "T", UserID: "U"},
		{QuestionID: 1, TeamID: "T", UserID: "U"},
		{QuestionID: 1, Scope: "main", UserID: "U"},
		{QuestionID: 1, Scope: "main", TeamID: "T"},
		{QuestionID: 1, Scope: "ma\x00in", TeamID: "T", UserID: "U"},
	} {
		if err := s.Put(context.Background(), q); !errors.Is(err, ErrInvalid) {
			t.Errorf("Put(%+v) = %v, want ErrInvalid", q, err)
		}
	}
}

func TestCanceledContext(t *testing.T) {
	s := open(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, Question{QuestionID: 1, Scope: "main", TeamID: "T", UserID: "U"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v", err)
	}
	if _, err := s.ListByScope(ctx, "main"); !errors.Is(err, context.Canceled) {
		t.Fatalf("List = %v", err)
	}
}
