"""Rapport customers: Unified customer profiles, identities, products, orders and interactions; bulk sync, cleaning, dedup and merge, queries and exports."""
