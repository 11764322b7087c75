"""The HTTP search API (``newsflow serve``); see README.md here for the JSON shapes."""

from newsflow.api.app import create_app

__all__ = ["create_app"]
