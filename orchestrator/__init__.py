"""commander: reviews proposed infrastructure and code changes before they ship."""

__version__ = "0.1.0"
