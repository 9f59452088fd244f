package notify

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collectors returns the dispatcher's counters as Prometheus series
// (kyojin_notify_*), to be registered on the host's registry. Dead letters
// are what an operator must be alerted about.
func (d *Dispatcher) Collectors() []prometheus.Collector {
	counter := func(name, help string, f func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kyojin_notify_" + name, Help: help}, func() float64 { return float64(f()) })
	}
	return []prometheus.Collector{
		counter("enqueued_total", "Deliveries written to the outbox.", d.enqueued.Load),
		counter("delivered_total", "Deliveries accepted by the receiver.", d.delivered.Load),
		counter("retried_total", "Failed attempts that will be retried.", d.retried.Load),
		counter("dead_total", "Deliveries given up (dead letters).", d.dead.Load),
		counter("held_total", "Notifications gathered for a digest.", d.heldN.Load),
		counter("digests_total", "Digests produced.", d.digests.Load),
		counter("escalations_total", "Escalation steps notified.", d.escalations.Load),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kyojin_notify_pending", Help: "Deliveries waiting in the outbox."},
			func() float64 { return float64(d.Counters().Pending) }),
	}
}
