"""Step options built from the settings, for the commands and the flows alike.

Kept apart from ``flows/`` on purpose: ``newsflow extract`` builds the fetch options too, and
importing them from the flow modules imported Prefect (seconds of start-up, no flow to run).
Nothing here may import Prefect; ``tests/unit/test_startup.py`` checks the extract path.
"""

from __future__ import annotations

from newsflow.settings import Settings
from newsflow.transforms.fetch import download


def fetch_options(settings: Settings) -> download.FetchOptions:
    """The fetch step's limits and politeness rules, from the settings."""
    return download.FetchOptions(
        timeout=settings.fetch_timeout,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
        retries=settings.fetch_retries,
        concurrency=settings.fetch_concurrency,
        user_agent=settings.user_agent,
        per_host=settings.fetch_per_host,
        host_delay=settings.fetch_host_delay,
        deadline=settings.fetch_deadline,
        max_retry_after=settings.fetch_max_retry_after,
        allowed_networks=tuple(settings.allowed_private_networks),
    )
