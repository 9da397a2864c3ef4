"""Rapport: the shared kit imported by every service (configuration, database, errors, HTTP)."""

__version__ = "0.1.0"
