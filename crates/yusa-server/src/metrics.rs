//! Prometheus metrics: requests and latency per route and status, documents per collection, and the
//! encoder queue's depth (read at scrape time).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub documents: IntGaugeVec,
    pub queue_depth: prometheus::IntGauge,
    /// Panics caught while serving (bugs that answered 500 instead of taking the process down).
    pub panics: prometheus::IntGauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "yusa_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["route", "status"],
        )
        .expect("metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "yusa_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["route"],
        )
        .expect("metric");
        let documents = IntGaugeVec::new(
            Opts::new("yusa_documents", "Documents per collection"),
            &["collection"],
        )
        .expect("metric");
        let queue_depth = prometheus::IntGauge::new(
            "yusa_encoder_queue_depth",
            "Jobs waiting for or in the encoder",
        )
        .expect("metric");
        let panics = prometheus::IntGauge::new(
            "yusa_panics_caught",
            "Panics caught while serving requests, jobs or the encoder queue",
        )
        .expect("metric");
        for m in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(documents.clone()),
            Box::new(queue_depth.clone()),
            Box::new(panics.clone()),
        ] {
            registry.register(m).expect("register metric");
        }
        Metrics {
            registry,
            requests,
            latency,
            documents,
            queue_depth,
            panics,
        }
    }

    pub fn render(&self) -> String {
        let mut buf = vec![];
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("encode metrics");
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
