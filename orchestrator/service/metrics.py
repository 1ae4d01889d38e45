"""The service's Prometheus metrics.

Decisions, findings, dissent and reviewer times are counted as this service
records decisions. How escalations end (approved, denied, expired, cancelled)
and how long approvals took are read from the store at scrape time
(`gate_watch`), so approvals made with the CLI, expiries and cancellations
count too; the pending escalations are read from the store as well. Reviewer
times are the executors' float seconds (the decision JSON keeps whole
milliseconds). Every label value known in advance (reviewers, outcomes,
tiers, sources, endings) is initialised, so each series exists with its
`_created` time from the start instead of appearing with its first event.
Each app gets its own registry: two apps in one process (the tests) never
share counts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from orchestrator.errors import StoreError
from orchestrator.models import Decision, RiskTier, Source
from orchestrator.render import alerts
from orchestrator.service.gate_watch import ENDINGS, Ending

log = logging.getLogger("commander.service")

OUTCOMES = ("approve", "escalate", "reject")
# What platforms sent (routes_github.py, routes_runtask.py), and what became of it.
PLATFORM_EVENTS = (
    ("github", "issue_comment"),
    ("github", "deployment_protection_rule"),
    ("github", "other"),
    ("hcp", "run_task"),
)
DELIVERY_RESULTS = ("acted", "replayed", "ignored", "unsigned")
# Reviewers run from well under a millisecond (scope on a small plan) to their timeout.
_REVIEWER_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
# Humans answer escalations in minutes to days.
_APPROVAL_BUCKETS = (60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400)
# Dissent is 0 when reviewers agree, 1 when they split evenly between approve and block.
_DISSENT_BUCKETS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
_TIERS = tuple(t.value for t in RiskTier)
_SOURCES = tuple(s.value for s in Source)


class PendingCollector(Collector):
    """Gauges read from the store when scraped: pending escalations, the oldest one's age.

    A scrape while the store is down still answers: `commander_store_up` is 0 and the pending
    gauges keep the values of the last scrape that read them (stale, and marked so), while
    every metric this process keeps itself (decisions, requests, process) is served as usual.
    """

    def __init__(self, read_ages: Callable[[], Sequence[float]]) -> None:
        self._read_ages = read_ages
        self._ages: Sequence[float] = ()
        self._read_at = 0.0

    def collect(self) -> Iterator[Metric]:
        try:
            self._ages = self._read_ages()
            self._read_at = time.time()
            up = 1
        except StoreError as exc:
            log.warning("metrics: the store does not answer; pending gauges are stale: %s", exc)
            up = 0
        yield _gauge("commander_store_up", "1 when the audit store answered this scrape.", up)
        yield _gauge(
            "commander_store_read_timestamp_seconds",
            "When the store-read gauges (pending escalations) were last read (0: never).",
            self._read_at,
        )
        yield _gauge(
            "commander_pending_escalations",
            "Escalations waiting for human sign-off (as of the last store read).",
            len(self._ages),
        )
        yield _gauge(
            "commander_pending_escalation_oldest_age_seconds",
            "Age of the oldest escalation waiting for sign-off (0 when none; as of the last read).",
            max(self._ages, default=0.0),
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation)
    gauge.add_metric([], value)
    return gauge


class ServiceMetrics:
    """Everything /metrics exposes, in one registry."""

    def __init__(
        self, read_pending_ages: Callable[[], Sequence[float]], reviewers: Iterable[str] = ()
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.decisions = Counter(
            "commander_decisions",
            "Decisions recorded by this service, by outcome, risk tier and source of the change.",
            ["outcome", "risk_tier", "source"],
            registry=self.registry,
        )
        self.findings = Counter(
            "commander_findings",
            "Findings in recorded decisions, by rule, reviewer and severity.",
            ["rule", "reviewer", "severity"],
            registry=self.registry,
        )
        self.dissent = Histogram(
            "commander_decision_dissent",
            "How much the reviewers disagreed on each decision (0 agree, 1 split evenly).",
            ["outcome"],
            buckets=_DISSENT_BUCKETS,
            registry=self.registry,
        )
        self.replayed = Counter(
            "commander_submissions_replayed",
            "Submissions answered with the decision already made for the same content.",
            registry=self.registry,
        )
        self.reviewer_seconds = Histogram(
            "commander_reviewer_duration_seconds",
            "Time each reviewer took, as the executor measured it.",
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
        self.gate_endings = Counter(
            "commander_gate_endings",
            "Escalations that ended, by how (approved, denied, expired, cancelled), from every "
            "path: this API, the CLI, expiry, cancellation. Read from the store.",
            ["ending", "risk_tier"],
            registry=self.registry,
        )
        self.approval_seconds = Histogram(
            "commander_approval_latency_seconds",
            "Time from escalation to the last required signature, for approvals by any path.",
            ["risk_tier"],
            buckets=_APPROVAL_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "commander_http_requests",
            "Requests served, by route and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "commander_platform_deliveries",
            "Webhook deliveries and run-task requests, by platform, event and result: acted on, "
            "replayed (received before), ignored, or unsigned (bad or missing signature).",
            ["platform", "event", "result"],
            registry=self.registry,
        )
        self.registry.register(PendingCollector(read_pending_ages))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._initialise(sorted(reviewers))

    def _initialise(self, reviewers: list[str]) -> None:
        """Create every series whose labels are known, at zero."""
        for outcome in OUTCOMES:
            self.dissent.labels(outcome)
            for tier in _TIERS:
                for source in _SOURCES:
                    self.decisions.labels(outcome, tier, source)
        for reviewer in reviewers:
            self.reviewer_seconds.labels(reviewer)
            self.reviewer_errors.labels(reviewer)
        for platform, event in PLATFORM_EVENTS:
            for result in DELIVERY_RESULTS:
                self.deliveries.labels(platform, event, result)
        for tier in _TIERS:
            self.approval_seconds.labels(tier)
            for ending in ENDINGS:
                self.gate_endings.labels(ending, tier)

    def observe_decision(self, decision: Decision, source: str, seconds: float) -> None:
        """Count a new decision, its findings, its dissent and its reviewers' times and errors."""
        self.decisions.labels(decision.outcome, decision.risk_tier.value, source).inc()
        self.dissent.labels(decision.outcome).observe(decision.dissent)
        self.review_seconds.observe(seconds)
        for reviewer, finding in alerts(decision):
            self.findings.labels(finding.rule, reviewer, finding.severity.value).inc()
        for verdict in decision.verdicts:
            self.reviewer_seconds.labels(verdict.reviewer).observe(verdict.seconds)
            if verdict.error is not None:
                self.reviewer_errors.labels(verdict.reviewer).inc()

    def observe_endings(self, endings: Iterable[Ending]) -> None:
        """Count escalations that ended, and how long the approved ones waited."""
        for ending in endings:
            self.gate_endings.labels(ending.ending, ending.risk_tier).inc()
            if ending.ending == "approved":
                self.approval_seconds.labels(ending.risk_tier).observe(ending.waited_seconds)
