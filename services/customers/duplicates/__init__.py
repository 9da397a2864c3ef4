"""Duplicate candidates: the scoring rules (rules.py), their SQL (statements.py), the stored pairs and
their refresh (candidates.py), the whole-base listing (listing.py) and the per-customer lookup (lookup.py).
"""
