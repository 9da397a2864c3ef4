"""Rapport recommendation: Personalised recommendations, similar items, association rules and offline evaluation."""
