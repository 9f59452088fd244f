package mailgate

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the relay's Prometheus series, served on their own listener
// (metrics.address) so that the SMTP port exposes nothing else.
type Metrics struct {
	Reg         *prometheus.Registry
	Connections *prometheus.CounterVec // result: accepted, limited
	Messages    *prometheus.CounterVec // result: queued, rejected_malformed, rejected_policy, rejected_dmarc, quarantined_dmarc, temp_error
	Actions     *prometheus.CounterVec // sanitizer action kind
	AuthResults *prometheus.CounterVec // method, result
	Accept      prometheus.Histogram   // DATA end → reply, seconds
	Delivery    *prometheus.CounterVec // result: delivered, deferred, bounced
	QueueSize   prometheus.GaugeFunc
	Bytes       *prometheus.CounterVec // dir: in, out
}

func newMetrics(queueLen func() float64) *Metrics {
	m := &Metrics{
		Reg:         prometheus.NewRegistry(),
		Connections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kyojin_mailgate_connections_total", Help: "SMTP connections by result."}, []string{"result"}),
		Messages:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kyojin_mailgate_messages_total", Help: "Messages received by outcome."}, []string{"result"}),
		Actions:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kyojin_mailgate_sanitize_actions_total", Help: "Sanitizer actions by kind."}, []string{"action"}),
		AuthResults: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kyojin_mailgate_auth_results_total", Help: "Sender authentication results."}, []string{"method", "result"}),
		Accept: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kyojin_mailgate_accept_seconds", Help: "Time from end of DATA to the reply.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		Delivery:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kyojin_mailgate_delivery_total", Help: "Downstream delivery attempts by result."}, []string{"result"}),
		QueueSize: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kyojin_mailgate_queue_messages", Help: "Messages waiting in the queue."}, queueLen),
		Bytes:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kyojin_mailgate_bytes_total", Help: "Message bytes received and queued."}, []string{"dir"}),
	}
	m.Reg.MustRegister(m.Connections, m.Messages, m.Actions, m.AuthResults, m.Accept, m.Delivery, m.QueueSize, m.Bytes)
	return m
}
