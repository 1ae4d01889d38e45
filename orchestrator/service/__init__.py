"""The HTTP service (`commander serve`): the review path and the human gate for a team.

    app.py             the FastAPI app: probes, metrics, the error boundary
    deps.py            the caller's principal, checked per route
    auth.py            tokens (kept hashed) → principals → roles → permissions
    routes_reviews.py  submit a proposal, read decisions
    routes_gate.py     escalations, sign-offs, freezes, budgets
    state.py           what lives between requests; a submission, idempotent
    metrics.py         Prometheus metrics

Needs the `service` extra (FastAPI, uvicorn, prometheus-client); nothing
outside this package and `commander serve` imports it.
"""
