"""Prometheus metrics of the service (prometheus-client), one registry per app.

>>> m = ServiceMetrics(["neg", "pos"])
>>> m.record_predictions(["pos", "pos"], [0.9, 0.6], abstained=1)
>>> 'llmstart_predictions_total{label="pos"} 2.0' in m.render().decode()
True
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["ServiceMetrics", "CONTENT_TYPE"]

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1, 2.5, 5, 10)
CONFIDENCE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 10)) + (0.95, 0.99, 1.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ServiceMetrics:
    """Request count by status, latency, predictions by label, confidence, batch size, drift."""

    def __init__(self, labels: Sequence[str]):
        r = self.registry = CollectorRegistry()
        self.requests = Counter("llmstart_requests_total", "HTTP requests by path and status",
                                ["path", "status"], registry=r)
        self.latency = Histogram("llmstart_request_latency_seconds", "Time to answer a request",
                                 ["path"], buckets=LATENCY_BUCKETS, registry=r)
        self.predictions = Counter("llmstart_predictions_total", "Predicted labels", ["label"], registry=r)
        self.abstentions = Counter("llmstart_abstentions_total",
                                   "Predictions below the abstain threshold", registry=r)
        self.confidence = Histogram("llmstart_confidence", "Probability of the predicted label",
                                    buckets=CONFIDENCE_BUCKETS, registry=r)
        self.batch_size = Histogram("llmstart_batch_size", "Texts per model call",
                                    buckets=BATCH_BUCKETS, registry=r)
        self.queue = Gauge("llmstart_pending_texts", "Texts waiting or running", registry=r)
        self.rejected = Counter("llmstart_rejected_total", "Requests answered 503 (queue full)",
                                registry=r)
        self.drift = Gauge("llmstart_drift_psi", "Population stability index of live traffic vs the "
                           "reference", ["signal"], registry=r)
        self.drift_ks = Gauge("llmstart_drift_confidence_ks", "KS statistic of live confidences vs "
                              "the reference", registry=r)
        self.drift_alert = Gauge("llmstart_drift_alert", "1 when drift is detected", registry=r)
        self.drift_window = Gauge("llmstart_drift_window", "Predictions in the drift window", registry=r)
        for label in labels:  # every label appears from the start, at zero
            self.predictions.labels(label=str(label))

    def record_predictions(self, labels: Sequence[str], confidences: Sequence[float],
                           abstained: int = 0) -> None:
        """Count predicted labels, confidences and abstentions."""
        for label, conf in zip(labels, confidences, strict=True):
            self.predictions.labels(label=label).inc()
            self.confidence.observe(conf)
        if abstained:
            self.abstentions.inc(abstained)

    def record_drift(self, report: dict) -> None:
        """Publish a :func:`llmstart.serve.drift.drift_report` as gauges."""
        self.drift.labels(signal="labels").set(report["label_psi"])
        self.drift.labels(signal="confidence").set(report["confidence_psi"])
        self.drift_ks.set(report["confidence_ks"])
        self.drift_alert.set(1.0 if report["drift"] else 0.0)
        self.drift_window.set(report["window"])

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
