package store_test

import (
	"path/filepath"
	"testing"

	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/store/storetest"
)

func TestConformanceBolt(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func(store.Options) (store.Store, error) {
		path := filepath.Join(t.TempDir(), "soebot.db")
		return func(opts store.Options) (store.Store, error) { return store.Open(path, opts) }
	})
}
