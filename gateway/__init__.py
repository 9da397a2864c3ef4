"""Rapport gateway: One API for front-end apps, partner systems and ops: routing, API keys, rate limits, customer 360 and the dashboard."""
