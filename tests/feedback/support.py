"""Where the feedback tests find the real corpora and the trained sentiment models (shared by the session)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("RAPPORT_DATA_DIR") or REPO / "var" / "datasets")
MODEL_DIR = REPO / "var" / "models" / "feedback"
