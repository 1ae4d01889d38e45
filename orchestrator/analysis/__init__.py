"""Shared content analysers: what is inside a change, read once, returned as typed results.

Pure functions over parsed inputs (plain dicts), used by the adapters (to
learn the file lines of what they will point at) and by the reviewers (to
judge). Nothing here reads the environment or imports a parser.
"""
