"""The deliveries table: what platforms (GitHub, HCP Terraform) sent, and how it was answered.

A webhook or run-task request is recorded once, by the id its platform gives
it (`X-GitHub-Delivery`, a run task's `task_result_id`), before it is acted
on: a redelivery of the same id finds the row and does nothing twice. A
deployment protection rule waiting for the gate stays here as `waiting`,
with what its answer needs, until the escalation ends.

These rows are bookkeeping, not the record: what a delivery did to the gate
(a signature, a denial) is chained by the gate's own functions. Migration
0005 creates the table; a test keeps the two in step.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, String, Table, Text

from orchestrator.store.tables import DECISION_ID, METADATA

PLATFORM_DELIVERIES = Table(
    "platform_deliveries",
    METADATA,
    # "github:<X-GitHub-Delivery>" or "hcp:<task_result_id>"
    Column("delivery_id", String(200), primary_key=True),
    Column("kind", String(40), nullable=False),  # issue_comment, deployment, run_task
    Column("received_at", DateTime, nullable=False),
    # received → answered | unanswered (the answer could not be sent) | waiting → answered
    Column("status", String(20), nullable=False),
    Column("decision_id", DECISION_ID),
    # What the answer needs (a callback URL, a repository and PR): never a token.
    Column("callback", JSON),
    Column("answer", Text),  # what was answered, as sent
    Column("answered_at", DateTime),
    Index("ix_platform_deliveries_status", "status", "kind"),
)
