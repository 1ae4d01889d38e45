"""Content analysers the adapters and reviewers share: facts read from inside a change."""
