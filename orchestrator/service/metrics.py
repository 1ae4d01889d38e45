"""The service's Prometheus metrics.

Counters and histograms are updated as requests are served; the pending
escalations are read from the store at scrape time, so they agree with
`commander pending` whoever changed them (the CLI, another replica).
Each app gets its own registry: two apps in one process (the tests) never
share counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from orchestrator.models import Decision

# Reviewers run from milliseconds (scope) to their timeout (seconds).
_REVIEWER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Humans answer escalations in minutes to days.
_APPROVAL_BUCKETS = (60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400)


class PendingCollector(Collector):
    """Pending escalations and the age of the oldest, read when scraped."""

    def __init__(self, read_ages: Callable[[], Sequence[float]]) -> None:
        self._read_ages = read_ages

    def collect(self) -> Iterator[Metric]:
        ages = self._read_ages()
        count = GaugeMetricFamily(
            "commander_pending_escalations", "Escalations waiting for human sign-off."
        )
        count.add_metric([], len(ages))
        oldest = GaugeMetricFamily(
            "commander_pending_escalation_oldest_age_seconds",
            "Age of the oldest escalation waiting for sign-off (0 when none).",
        )
        oldest.add_metric([], max(ages, default=0.0))
        yield count
        yield oldest


class ServiceMetrics:
    """Everything /metrics exposes, in one registry."""

    def __init__(self, read_pending_ages: Callable[[], Sequence[float]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.decisions = Counter(
            "commander_decisions",
            "Decisions recorded by this service, by outcome and risk tier.",
            ["outcome", "risk_tier"],
            registry=self.registry,
        )
        self.replayed = Counter(
            "commander_submissions_replayed",
            "Submissions answered with the decision already made for the same content.",
            registry=self.registry,
        )
        self.reviewer_seconds = Histogram(
            "commander_reviewer_duration_seconds",
            "Time each reviewer took, as its verdict reports it.",
            ["reviewer"],
            buckets=_REVIEWER_BUCKETS,
            registry=self.registry,
        )
        self.reviewer_errors = Counter(
            "commander_reviewer_errors",
            "Verdicts that carry an error (crash, timeout, broken contract).",
            ["reviewer"],
            registry=self.registry,
        )
        self.review_seconds = Histogram(
            "commander_review_duration_seconds",
            "Time from a submission's body read to its decision recorded.",
            registry=self.registry,
        )
        self.approval_seconds = Histogram(
            "commander_approval_latency_seconds",
            "Time from escalation to the last required signature, for approvals via the API.",
            buckets=_APPROVAL_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "commander_http_requests",
            "Requests served, by route and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.registry.register(PendingCollector(read_pending_ages))

    def observe_decision(self, decision: Decision, seconds: float) -> None:
        """Count a new decision and its reviewers' times and errors."""
        self.decisions.labels(decision.outcome, decision.risk_tier.value).inc()
        self.review_seconds.observe(seconds)
        for verdict in decision.verdicts:
            self.reviewer_seconds.labels(verdict.reviewer).observe(verdict.duration_ms / 1000)
            if verdict.error is not None:
                self.reviewer_errors.labels(verdict.reviewer).inc()
