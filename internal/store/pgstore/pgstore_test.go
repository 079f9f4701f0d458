package pgstore_test

import (
	"context"
	"testing"

	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/store/pgstore"
	"github.com/soebot/soebot/internal/store/pgstore/pgtest"
	"github.com/soebot/soebot/internal/store/storetest"
)

func TestConformancePostgres(t *testing.T) {
	pg := pgtest.Start(t)
	storetest.Run(t, func(t *testing.T) func(store.Options) (store.Store, error) {
		url := pg.NewDatabase(t)
		return func(opts store.Options) (store.Store, error) { return pgstore.Open(context.Background(), url, opts) }
	})
}
