package daemon

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// metrics are the Prometheus series served at /metrics.
type metrics struct {
	registry    *prometheus.Registry
	reconciles  *prometheus.CounterVec
	duration    prometheus.Histogram
	hosts       *prometheus.GaugeVec
	drift       prometheus.Counter
	dials       prometheus.Counter
	queueDepth  prometheus.GaugeFunc
	configValid prometheus.Gauge
	// generation is 1 for each host's last converged generation.
	generation   *prometheus.GaugeVec
	rolloutPhase *prometheus.GaugeVec
	rolloutBatch prometheus.Gauge
	rolloutHosts *prometheus.GaugeVec
}

func newMetrics(queueLen func() int, build v1alpha1.BuildInfo) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optimus_reconciles_total", Help: "Host reconciles by result (converged, failed, unconverged).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "optimus_reconcile_duration_seconds", Help: "Wall time of one host reconcile.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		hosts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "optimus_hosts", Help: "Hosts by state (ready, quarantined, pending).",
		}, []string{"state"}),
		drift: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "optimus_drift_corrections_total", Help: "Reconciles that changed a host whose manifests had not changed.",
		}),
		dials: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "optimus_dials_total", Help: "SSH (or other transport) connections opened to hosts, retries included; kept connections are not counted again.",
		}),
		configValid: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "optimus_config_valid", Help: "1 when the last manifest load was valid.",
		}),
	}
	m.generation = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "optimus_host_generation", Help: "1 for the generation each host last converged to.",
	}, []string{"host", "generation"})
	m.rolloutPhase = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "optimus_rollout_phase", Help: "1 for the current rollout's phase (Progressing, Paused, Halted, Complete, Aborted).",
	}, []string{"phase"})
	m.rolloutBatch = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "optimus_rollout_batch", Help: "The current rollout's batch, from 1; 0 without a rollout.",
	})
	m.rolloutHosts = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "optimus_rollout_hosts", Help: "Hosts of the current rollout by state (done, failed, pending).",
	}, []string{"state"})
	m.queueDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "optimus_queue_depth", Help: "Hosts waiting to be reconciled.",
	}, func() float64 { return float64(queueLen()) })
	// The build as labels on a constant 1, as Prometheus exporters do, so
	// that dashboards can join any series on the version that produced it.
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "optimus_build_info", Help: "1, labelled with the controller's version, commit, modified flag, commit date and Go version.",
		ConstLabels: prometheus.Labels{
			"version": build.Version, "revision": build.Revision, "modified": strconv.FormatBool(build.Modified),
			"build_date": build.BuildDate, "goversion": build.GoVersion,
		},
	})
	buildInfo.Set(1)
	m.registry.MustRegister(buildInfo, m.reconciles, m.duration, m.hosts, m.drift, m.dials, m.queueDepth, m.configValid,
		m.generation, m.rolloutPhase, m.rolloutBatch, m.rolloutHosts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
