"""pytest fixtures for the end-to-end tests; the harness is harness.py."""

from harness import relay, relay_factory, workdir  # noqa: F401
