package metrics

import "github.com/prometheus/client_golang/prometheus"

// PollSchedule are the gauges of the adaptive poller (issue 17), by scope.
type PollSchedule struct {
	Interval   *prometheus.GaugeVec // seconds until the scope is polled again
	TokenShare *prometheus.GaugeVec // largest share of one token's hourly SOE budget the poller used in the last hour
}

// NewPollSchedule registers the adaptive poller's gauges.
func (m *Metrics) NewPollSchedule() *PollSchedule {
	g := &PollSchedule{
		Interval: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "soebot_poll_interval_seconds", Help: "Current notification poll interval of each SOE scope (adapts between POLL_INTERVAL_MIN and POLL_INTERVAL).",
		}, []string{"scope"}),
		TokenShare: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "soebot_poll_token_budget_share", Help: "Largest share (0..1) of one token's hourly SOE budget the poller used for a scope in the last hour (kept under 0.1).",
		}, []string{"scope"}),
	}
	m.Registry.MustRegister(g.Interval, g.TokenShare)
	return g
}

// Set records one scope's schedule.
func (g *PollSchedule) Set(scope string, intervalSeconds, share float64) {
	g.Interval.WithLabelValues(scope).Set(intervalSeconds)
	g.TokenShare.WithLabelValues(scope).Set(share)
}
