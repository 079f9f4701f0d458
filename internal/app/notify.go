package app

import (
	"context"

	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/people"
)

// addNotify builds the notifications service (issue 8) and registers its
// commands; Run starts its poller with runNotify.
func (a *App) addNotify(cfg Config, who *people.Directory) error {
	svc, err := notify.New(notify.Options{
		DB: a.db, Slack: a.slack.Slack(), Links: a.links, Logger: a.log.With("component", "notify"),
		Now: a.opts.Now, Interval: cfg.PollInterval, People: who,
	})
	if err != nil {
		return err
	}
	a.notify = svc
	a.addSubscriptions(svc)
	return nil
}

// runNotify polls SOE and delivers notifications until ctx is done.
func (a *App) runNotify(ctx context.Context) {
	if a.notify == nil {
		return
	}
	if err := a.notify.Run(ctx); err != nil {
		a.log.Error("notification poller stopped", "err", err)
	}
}
