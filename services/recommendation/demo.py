"""Demo loader of `rapport up`: train a model over the demo orders, as of the data's end."""

from __future__ import annotations

import json
from pathlib import Path

from rapport.http import ServiceClient

from .client import RecommendationClient


def is_empty(client: ServiceClient) -> bool:
    return not RecommendationClient(client).models(limit=1)


def load(client: ServiceClient, folder: Path) -> str:
    """Train as of the end of the demo data and wait; returns a one-line summary."""
    end = json.loads((folder / "manifest.json").read_text())["end"]
    recommendation = RecommendationClient(client)
    model = recommendation.wait(recommendation.train(as_of=f"{end}T23:59:59Z")["id"])
    if model["status"] != "succeeded":
        return f"training {model['status']}: {model['error']}"
    evaluation = model["metrics"]["evaluation"]
    return (
        f"model {model['id'][:8]}: {model['items']:,} items, NDCG@10 {evaluation['model']['ndcg@10']:.3f} "
        f"(popularity {evaluation['popularity']['ndcg@10']:.3f}), {model['metrics']['rules']['product']} product rules"
    )
