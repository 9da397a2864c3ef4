"""Synthetic CRM data: customers, products, order lines, interactions and feedback that look real
enough to exercise importers, segmentation, recommendations and feedback analysis.

Deterministic per seed, streamed in chunks of customers (bounded memory), vectorised per chunk.
The ground truth planted in the data (co-purchase rules, churn, revenue concentration, feedback
sentiment) is recorded in the manifest so tests can check that models recover it.

    from rapport.demo import generate
    manifest = generate(Path("var/demo"), customers=2000, seed=42, fmt="csv")
"""

from .generator import TABLES, generate, iter_frames, iter_tables, to_frame
from .manifest import CategoryPair, Manifest, PlantedPair
from .writer import FORMATS, Format

__all__ = [
    "FORMATS",
    "TABLES",
    "CategoryPair",
    "Format",
    "Manifest",
    "PlantedPair",
    "generate",
    "iter_frames",
    "iter_tables",
    "to_frame",
]
