package app

import (
	"context"
	"sync"
	"time"

	"github.com/soebot/soebot/internal/cluster"
	"github.com/soebot/soebot/internal/metrics"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/people"
)

// addNotify builds the notifications service (issue 8) and registers its
// commands; Run starts its poller with runNotify.
func (a *App) addNotify(cfg Config, who *people.Directory) error {
	var svc *notify.Service
	sched := a.met.NewPollSchedule()
	// One replica polls and delivers: the holder of the "notify" lease. It
	// is renewed every quarter interval, so a dead holder's work is taken
	// over within 1.25 poll intervals (and polled at once).
	a.lease = cluster.NewLease(a.db, cluster.LeaseConfig{
		Name: "notify", Holder: a.replica, TTL: max(cfg.PollInterval, time.Second), Logger: a.log.With("component", "cluster"),
		OnChange: func(leading bool) {
			if !leading {
				a.met.PollerLeader.Reset()
			}
			svc.LeaderChanged(leading)
		},
	})
	svc, err := notify.New(notify.Options{
		DB: a.db, Slack: a.slack.Slack(), Links: a.links, Logger: a.log.With("component", "notify"),
		Now: a.opts.Now, Interval: cfg.PollInterval, IntervalMin: cfg.PollIntervalMin, People: who, Leader: a.lease,
		OnCycle:      func(st notify.CycleStats) { a.observeCycle(st); observeSchedules(sched, st) },
		CommunityTTL: cfg.CacheTTL,
		Threads:      a.chans,
	})
	if err != nil {
		return err
	}
	a.notify = svc
	a.met.OutboxDepth(func() (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return svc.Pending(ctx)
	})
	a.addSubscriptions(svc)
	a.addWorkspaces(svc) // issue 20: Enterprise Grid
	return nil
}

// observeCycle exports a poll cycle's figures.
func (a *App) observeCycle(st notify.CycleStats) {
	a.met.PollDuration.Observe(st.Duration.Seconds())
	a.met.PollCalls.WithLabelValues("all").Add(float64(st.SOECalls))
	a.met.PollerLeader.Reset() // a scope nobody follows any more drops out
	for _, k := range st.ScopeKeys {
		a.met.PollerLeader.WithLabelValues(k).Set(1)
	}
}

// runNotify holds the poller lease and, while this replica has it, polls SOE
// and delivers notifications, until ctx is done.
func (a *App) runNotify(ctx context.Context) {
	if a.notify == nil {
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { a.lease.Run(ctx) })
	defer wg.Wait()
	if err := a.notify.Run(ctx); err != nil {
		a.log.Error("notification poller stopped", "err", err)
	}
}

// observeSchedules exports the adaptive poller's intervals and budget shares.
func observeSchedules(g *metrics.PollSchedule, st notify.CycleStats) {
	for _, s := range st.Schedules {
		g.Set(s.Scope, s.Interval.Seconds(), s.MaxShare)
	}
}
