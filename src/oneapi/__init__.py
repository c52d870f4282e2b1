"""One API in Python: a self-hosted LLM API gateway compatible with One API."""

__version__ = "0.1.0"
