"""`python -m orchestrator` runs the commander CLI."""

from orchestrator.cli import main

main()
