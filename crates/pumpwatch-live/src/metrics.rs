//! What the live pipeline exports to Prometheus, and the HTTP endpoint serving it with the
//! health checks: `/metrics` (text format), `/healthz` (the processing loop is turning) and
//! `/readyz` (state restored, partitions assigned, consuming).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The loop has not turned for this long: `/healthz` fails.
const STALL: Duration = Duration::from_secs(60);

/// Every series the live pipeline exports. See the module documentation.
#[derive(Clone)]
pub struct LiveMetrics {
    pub registry: Registry,
    pub events_in: IntCounterVec,
    pub invalid: IntCounterVec,
    pub late: IntCounter,
    pub alerts: IntCounterVec,
    pub alerts_already_produced: IntCounter,
    pub dead_letters: IntCounter,
    pub consumer_lag: IntGaugeVec,
    pub watermark_delay_seconds: prometheus::Gauge,
    pub event_to_alert_seconds: Histogram,
    pub state: IntGaugeVec,
    pub limit_hits: IntGaugeVec,
    pub checkpoints: IntCounter,
    pub checkpoint_seconds: Histogram,
    pub checkpoint_bytes: IntGauge,
    pub last_checkpoint_timestamp_seconds: prometheus::Gauge,
    pub produce_errors: IntCounterVec,
    pub produce_queue: IntGauge,
}

impl LiveMetrics {
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("pumpwatch".into()), None).expect("a fixed prefix is valid");
        let m = LiveMetrics {
            events_in: IntCounterVec::new(
                Opts::new("events_in_total", "Valid events consumed, by type"),
                &["type"],
            )
            .expect("valid metric"),
            invalid: IntCounterVec::new(
                Opts::new(
                    "invalid_events_total",
                    "Records dead-lettered, by reason (late included)",
                ),
                &["reason"],
            )
            .expect("valid metric"),
            late: IntCounter::new(
                "late_events_total",
                "Valid events that came after the watermark had passed them by more than the lateness",
            )
            .expect("valid metric"),
            alerts: IntCounterVec::new(
                Opts::new("alerts_total", "Alerts produced to the alert topic, by rule and severity"),
                &["rule", "severity"],
            )
            .expect("valid metric"),
            alerts_already_produced: IntCounter::new(
                "alerts_already_produced_total",
                "Alerts a restart found on the alert topic already and did not produce again",
            )
            .expect("valid metric"),
            dead_letters: IntCounter::new(
                "dead_letters_total",
                "Records produced to the dead-letter topic",
            )
            .expect("valid metric"),
            consumer_lag: IntGaugeVec::new(
                Opts::new(
                    "consumer_lag_messages",
                    "Messages between the partition's end and what the engines have taken",
                ),
                &["topic", "partition"],
            )
            .expect("valid metric"),
            watermark_delay_seconds: prometheus::Gauge::new(
                "watermark_delay_seconds",
                "Wall clock minus the merged event-time watermark",
            )
            .expect("valid metric"),
            event_to_alert_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "event_to_alert_seconds",
                    "Wall clock from taking the batch whose processing fired the alert to the alert's produce acknowledgement",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
            )
            .expect("valid metric"),
            state: IntGaugeVec::new(
                Opts::new("state_size", "Engine state, added up over this instance's shares"),
                &["what"],
            )
            .expect("valid metric"),
            limit_hits: IntGaugeVec::new(
                Opts::new(
                    "limit_hits",
                    "Items the engine's state limits turned away since its state began, by limit \
                     (engine.* settings; non-zero means state was lost to a limit)",
                ),
                &["limit"],
            )
            .expect("valid metric"),
            checkpoints: IntCounter::new("checkpoints_total", "Checkpoints written")
                .expect("valid metric"),
            checkpoint_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "checkpoint_seconds",
                    "Time to write a checkpoint (producer flush, snapshot, fsync)",
                )
                .buckets(prometheus::exponential_buckets(0.005, 2.0, 12).expect("valid buckets")),
            )
            .expect("valid metric"),
            checkpoint_bytes: IntGauge::new("checkpoint_bytes", "Size of the last checkpoint")
                .expect("valid metric"),
            last_checkpoint_timestamp_seconds: prometheus::Gauge::new(
                "last_checkpoint_timestamp_seconds",
                "When the last checkpoint was written (Unix time): its age is time() minus this",
            )
            .expect("valid metric"),
            produce_errors: IntCounterVec::new(
                Opts::new("produce_errors_total", "Messages the brokers refused for good, by topic"),
                &["topic"],
            )
            .expect("valid metric"),
            produce_queue: IntGauge::new(
                "produce_queue_messages",
                "Messages waiting in the producer for the brokers' acknowledgement",
            )
            .expect("valid metric"),
            registry,
        };
        let build_info = IntGauge::with_opts(
            Opts::new("build_info", "Always 1: this build's version")
                .const_label("version", env!("CARGO_PKG_VERSION")),
        )
        .expect("valid metric");
        build_info.set(1);
        let all: [Box<dyn prometheus::core::Collector>; 18] = [
            Box::new(m.events_in.clone()),
            Box::new(m.invalid.clone()),
            Box::new(m.late.clone()),
            Box::new(m.alerts.clone()),
            Box::new(m.alerts_already_produced.clone()),
            Box::new(m.dead_letters.clone()),
            Box::new(m.consumer_lag.clone()),
            Box::new(m.watermark_delay_seconds.clone()),
            Box::new(m.event_to_alert_seconds.clone()),
            Box::new(m.state.clone()),
            Box::new(m.limit_hits.clone()),
            Box::new(m.checkpoints.clone()),
            Box::new(m.checkpoint_seconds.clone()),
            Box::new(m.checkpoint_bytes.clone()),
            Box::new(m.last_checkpoint_timestamp_seconds.clone()),
            Box::new(m.produce_errors.clone()),
            Box::new(m.produce_queue.clone()),
            Box::new(build_info),
        ];
        for collector in all {
            m.registry
                .register(collector)
                .expect("each metric is registered once");
        }
        m
    }

    /// The text format of every series.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding gathered families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for LiveMetrics {
    fn default() -> Self {
        LiveMetrics::new()
    }
}

/// What the health checks read: set by the processing loop.
#[derive(Debug, Default)]
pub struct Health {
    /// State restored and partitions assigned: consuming.
    pub ready: AtomicBool,
    /// When the loop last turned (ms since the epoch).
    heartbeat_ms: AtomicU64,
}

impl Health {
    pub fn beat(&self) {
        self.heartbeat_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub fn is_live(&self) -> bool {
        now_ms().saturating_sub(self.heartbeat_ms.load(Ordering::Relaxed))
            < STALL.as_millis() as u64
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listen` from a thread of its own; returns
/// the address it listens on (port 0 picks a free one).
pub fn serve(
    listen: SocketAddr,
    metrics: LiveMetrics,
    health: Arc<Health>,
) -> anyhow::Result<SocketAddr> {
    use axum::http::StatusCode;
    use axum::routing::get;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind(listen))?;
    let local = listener.local_addr()?;
    let ready = health.clone();
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let text = metrics.render();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        text,
                    )
                }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let live = health.is_live();
                async move {
                    if live {
                        (StatusCode::OK, "ok\n")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "processing loop stalled\n")
                    }
                }
            }),
        )
        .route(
            "/readyz",
            get(move || {
                let is_ready = ready.ready.load(Ordering::Relaxed);
                async move {
                    if is_ready {
                        (StatusCode::OK, "ready\n")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "restoring\n")
                    }
                }
            }),
        );
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            if let Err(err) = runtime.block_on(async { axum::serve(listener, app).await }) {
                tracing::error!("metrics endpoint stopped: {err}");
            }
        })?;
    Ok(local)
}
