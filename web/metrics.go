package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"rendezvous/store"
)

// httpMetrics are the service's Prometheus metrics: requests by route and status, the
// database pool, and the job queue.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry, st *store.Store) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rendezvous_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rendezvous_http_request_duration_seconds",
			Help: "Time to serve HTTP requests, by route pattern and status code.",
			// Finer at the low end than the default buckets: API calls take milliseconds.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "status"}),
	}
	reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if st != nil {
		reg.MustRegister(dbCollector{st: st})
	}
	return m
}

func (m *httpMetrics) observe(route string, status int, d time.Duration) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(route, code).Inc()
	m.duration.WithLabelValues(route, code).Observe(d.Seconds())
}

// dbCollector reads the database pool statistics and the job queue depth at scrape time,
// so nothing polls the database between scrapes.
type dbCollector struct {
	st *store.Store
}

var (
	dbOpenDesc     = prometheus.NewDesc("rendezvous_db_open_connections", "Open database connections (writer pool).", nil, nil)
	dbInUseDesc    = prometheus.NewDesc("rendezvous_db_in_use_connections", "Database connections in use (writer pool).", nil, nil)
	dbIdleDesc     = prometheus.NewDesc("rendezvous_db_idle_connections", "Idle database connections (writer pool).", nil, nil)
	dbWaitDesc     = prometheus.NewDesc("rendezvous_db_wait_total", "Times a caller waited for a database connection.", nil, nil)
	dbWaitSecsDesc = prometheus.NewDesc("rendezvous_db_wait_seconds_total", "Time spent waiting for database connections.", nil, nil)
	jobDepthDesc   = prometheus.NewDesc("rendezvous_job_queue_depth", "Jobs due or running (jobs scheduled for later do not count).", nil, nil)
	jobLagDesc     = prometheus.NewDesc("rendezvous_job_queue_lag_seconds", "How long the job due the longest has waited to start; 0 when none is waiting.", nil, nil)
)

func (c dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbOpenDesc, dbInUseDesc, dbIdleDesc, dbWaitDesc, dbWaitSecsDesc, jobDepthDesc, jobLagDesc} {
		ch <- d
	}
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.st.DBStats()
	ch <- prometheus.MustNewConstMetric(dbOpenDesc, prometheus.GaugeValue, float64(s.OpenConnections))
	ch <- prometheus.MustNewConstMetric(dbInUseDesc, prometheus.GaugeValue, float64(s.InUse))
	ch <- prometheus.MustNewConstMetric(dbIdleDesc, prometheus.GaugeValue, float64(s.Idle))
	ch <- prometheus.MustNewConstMetric(dbWaitDesc, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(dbWaitSecsDesc, prometheus.CounterValue, s.WaitDuration.Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n, err := c.st.JobQueueDepth(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(jobDepthDesc, prometheus.GaugeValue, float64(n))
	} else {
		// Leave the gauge out rather than report a false zero; the error shows up as
		// a scrape error in Prometheus.
		ch <- prometheus.NewInvalidMetric(jobDepthDesc, err)
	}
	if lag, err := c.st.JobQueueLag(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(jobLagDesc, prometheus.GaugeValue, lag.Seconds())
	} else {
		ch <- prometheus.NewInvalidMetric(jobLagDesc, err)
	}
}

func (s *server) handleMetrics() http.Handler {
	return promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
