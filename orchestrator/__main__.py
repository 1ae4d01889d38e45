"""`python -m orchestrator` runs the commander CLI."""

from orchestrator.entry import main

main()
