// Package metrics holds the Prometheus collectors soebot exports on /metrics.
// One Metrics value per process (or per test), registered on its own registry:
// no global state.
package metrics

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is every collector the bot updates.
type Metrics struct {
	Registry      *prometheus.Registry
	Envelopes     *prometheus.CounterVec   // by envelope type
	AckLatency    prometheus.Histogram     // seconds from envelope read to ack written
	HandlerErrors *prometheus.CounterVec   // by envelope type and kind (panic, busy, error)
	SOECalls      *prometheus.CounterVec   // by method and status
	SOETime       *prometheus.HistogramVec // seconds per SOE call (request sent -> last byte), by method
	SlackCalls    *prometheus.CounterVec   // by Slack method and status
	Deliveries    *prometheus.CounterVec   // notification deliveries by result
	PollDuration  prometheus.Histogram     // seconds per poll cycle
	PollCalls     *prometheus.CounterVec   // SOE calls made by the poller, by scope kind
	Handling      *prometheus.HistogramVec // seconds spent in handlers, by envelope type
	PollerLeader  *prometheus.GaugeVec     // 1 for each scope this replica polls as the cluster's poller
	DBErrors      *prometheus.CounterVec   // failed store transactions, by kind (update, view) and reason
	DBTime        *prometheus.HistogramVec // seconds per store transaction, by kind
	Suggestions   *prometheus.CounterVec   // answer suggestions in channels, by outcome (shown, shared, dismissed)
}

// New creates the collectors on a fresh registry (with Go and process collectors).
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		Envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "soebot_envelopes_total", Help: "Socket Mode envelopes received, by type.",
		}, []string{"type"}),
		AckLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "soebot_ack_latency_seconds", Help: "Time from reading an envelope to writing its ack.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		HandlerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "soebot_handler_errors_total", Help: "Handler failures, by envelope type and kind.",
		}, []string{"type", "kind"}),
		SOECalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "soebot_soe_calls_total", Help: "SOE API calls, by HTTP method and status.",
		}, []string{"method", "status"}),
		SOETime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "soebot_soe_call_seconds", Help: "Time per SOE API call, from sending the request to the last byte of the answer, by HTTP method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method"}),
		SlackCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "soebot_slack_api_calls_total", Help: "Slack Web API calls, by method and HTTP status.",
		}, []string{"method", "status"}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "soebot_notification_deliveries_total", Help: "Notification deliveries, by result.",
		}, []string{"result"}),
		PollDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "soebot_poll_cycle_seconds", Help: "Duration of a notification poll cycle.",
		}),
		PollCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "soebot_poll_soe_calls_total", Help: "SOE calls made by the poller.",
		}, []string{"scope"}),
		Handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "soebot_handler_seconds", Help: "Time spent handling envelopes after the ack.",
		}, []string{"type"}),
		Suggestions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "soebot_suggestions_total", Help: "Answer suggestions in channels, by outcome (shown, shared, dismissed).",
		}, []string{"outcome"}),
	}
	m.PollerLeader = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "soebot_poller_leader", Help: "1 for each SOE scope this replica polls as the cluster's notification poller (absent or 0 on the other replicas).",
	}, []string{"scope"})
	m.DBErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "soebot_db_errors_total", Help: "Store transactions that failed, by kind (update, view) and reason (unavailable, other).",
	}, []string{"kind", "reason"})
	m.DBTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "soebot_db_transaction_seconds", Help: "Time per store transaction (bbolt or PostgreSQL), by kind.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"kind"})
	reg.MustRegister(m.Envelopes, m.AckLatency, m.HandlerErrors, m.SOECalls, m.SOETime, m.SlackCalls,
		m.Deliveries, m.PollDuration, m.PollCalls, m.Handling, m.PollerLeader, m.DBErrors, m.DBTime, m.Suggestions)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// SlackTransport wraps rt so every Slack Web API call (and response_url post)
// is counted by method and status.
func (m *Metrics) SlackTransport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		method := "response_url"
		if i := strings.Index(r.URL.Path, "/api/"); i >= 0 {
			method = r.URL.Path[i+len("/api/"):]
		}
		resp, err := rt.RoundTrip(r)
		status := "error"
		if err == nil {
			status = strconv.Itoa(resp.StatusCode)
		}
		m.SlackCalls.WithLabelValues(method, status).Inc()
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// OutboxDepth exports the number of undelivered notifications, read from
// depth at every scrape.
func (m *Metrics) OutboxDepth(depth func() (int, error)) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "soebot_outbox_depth", Help: "Notifications waiting in the outbox (cluster-wide; -1 when the database cannot be read).",
	}, func() float64 {
		n, err := depth()
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}
