"""Rapport segmentation: RFM segments, value tiers, explained clusters, churn risk, lifetime value and rule segments."""
