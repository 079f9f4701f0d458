package app

import (
	"context"
	"errors"
	"time"

	"github.com/soebot/soebot/internal/metrics"
	"github.com/soebot/soebot/internal/store"
)

// meteredStore times every transaction and counts the failed ones
// (soebot_db_transaction_seconds, soebot_db_errors_total).
type meteredStore struct {
	store.Store
	met *metrics.Metrics
}

func (m meteredStore) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return m.observe("update", func() error { return m.Store.Update(ctx, fn) })
}

func (m meteredStore) View(ctx context.Context, fn func(tx store.Tx) error) error {
	return m.observe("view", func() error { return m.Store.View(ctx, fn) })
}

func (m meteredStore) observe(kind string, run func() error) error {
	start := time.Now()
	err := run()
	m.met.DBTime.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	switch {
	case err == nil, errors.Is(err, context.Canceled):
	case errors.Is(err, store.ErrUnavailable):
		m.met.DBErrors.WithLabelValues(kind, "unavailable").Inc()
	default:
		m.met.DBErrors.WithLabelValues(kind, "other").Inc()
	}
	return err
}
