"""Prometheus metrics of the bridge role (served on its ExApp port at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class BridgeMetrics:
    """Tasks pulled, held, reported and failed per type, start lag, upstream health."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.pulled = Counter("taskproc_bridge_pulled", "Nextcloud tasks claimed by the bridge",
                              ["type"], registry=r)
        self.polls = Counter("taskproc_bridge_polls", "next_batch calls made to Nextcloud",
                             registry=r)
        self.triggers = Counter("taskproc_bridge_triggers",
                                "Trigger calls from AppAPI (a task was scheduled upstream)",
                                registry=r)
        self.duplicates = Counter("taskproc_bridge_duplicate_claims",
                                  "Claims of a task another bridge replica already held",
                                  registry=r)
        self.adopted = Counter("taskproc_bridge_adopted",
                               "Held tasks taken over from a replica that stopped renewing",
                               registry=r)
        self.running = Gauge("taskproc_bridge_running",
                             "Nextcloud tasks this bridge instance is working on", registry=r)
        self.reported = Counter("taskproc_bridge_reported",
                                "Results sent to Nextcloud, by outcome",
                                ["type", "outcome"], registry=r)
        self.failed = Counter("taskproc_bridge_failed",
                              "Tasks the bridge itself could not run or finish, by reason",
                              ["type", "reason"], registry=r)
        self.cancelled = Counter("taskproc_bridge_cancelled_upstream",
                                 "Local runs stopped because the task was cancelled or deleted "
                                 "in Nextcloud", ["type"], registry=r)
        self.lag = Histogram("taskproc_bridge_start_lag_seconds",
                             "From Nextcloud's scheduledAt to the local start", ["type"],
                             buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
                             registry=r)
        self.upstream_errors = Counter("taskproc_bridge_upstream_errors",
                                       "Failed calls to Nextcloud", ["call"], registry=r)
        self.upstream_up = Gauge("taskproc_bridge_upstream_up",
                                 "1 while the last call to Nextcloud succeeded", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
