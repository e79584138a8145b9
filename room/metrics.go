package room

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the room's Prometheus series. Without a registry they still count, but
// nothing exposes them.
type metrics struct {
	connections *prometheus.GaugeVec
	joins       *prometheus.CounterVec
	relayed     prometheus.Counter
	dropped     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rendezvous_room_connections",
			Help: "Signaling connections open on this instance, by side.",
		}, []string{"side"}),
		joins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rendezvous_room_joins_total",
			Help: "Joins of a video room, by side (reconnects included).",
		}, []string{"side"}),
		relayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rendezvous_room_signals_relayed_total",
			Help: "Signaling messages relayed to the other side.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rendezvous_room_signals_dropped_total",
			Help: "Signaling messages dropped: the other side absent, or of an earlier epoch.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connections, m.joins, m.relayed, m.dropped} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("room metrics: %w", err)
		}
	}
	return m, nil
}
