"""Sentiment scoring throughput: short English, Chinese and mixed texts, in batches, in this process.

    .venv/bin/python bench/feedback_sentiment.py
    .venv/bin/python bench/feedback_sentiment.py --texts 5000 --batch 1000 --repeats 3

Texts are real and distinct: the corpora's reviews of at most --en-chars (English) or --zh-chars (Chinese)
characters, and mixed texts made of one Chinese and one English text. The model is the stored one (trained
first if missing). Each repeat clears the Chinese segmentation cache, so jieba cuts every text. Language is
detected (not given), as when feedback arrives without it. Target (DESIGN.md): >= 5,000 texts/s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.feedback import sentiment, text_features, train

REPO = Path(__file__).resolve().parents[1]


def short_texts(data_dir: Path, language: train.LanguageCode, max_chars: int, count: int, seed: int) -> list[str]:
    corpus = train.load_corpus(data_dir, language)
    texts = corpus["text"][corpus["text"].str.len() <= max_chars].drop_duplicates().tolist()
    rng = np.random.default_rng(seed)
    return [texts[i] for i in rng.permutation(len(texts))[:count]]


def measure(model: sentiment.SentimentModel, texts: list[str], batch: int, repeats: int) -> list[float]:
    rates = []
    for _ in range(repeats):
        text_features._chinese_tokens.cache_clear()
        started = time.perf_counter()
        for start in range(0, len(texts), batch):
            model.score(texts[start : start + batch])
        rates.append(len(texts) / (time.perf_counter() - started))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO / "var" / "datasets")
    parser.add_argument("--model-dir", type=Path, default=REPO / "var" / "models" / "feedback")
    parser.add_argument("--texts", type=int, default=5000, help="texts per language (fewer if the corpus has fewer)")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--en-chars", type=int, default=80)
    parser.add_argument("--zh-chars", type=int, default=30)
    args = parser.parse_args()

    started = time.perf_counter()
    model = train.load_or_train(args.model_dir, args.data_dir)
    print(f"model ready in {time.perf_counter() - started:.1f} s ({args.model_dir})")
    english = short_texts(args.data_dir, "en", args.en_chars, args.texts, seed=1)
    chinese = short_texts(args.data_dir, "zh", args.zh_chars, args.texts, seed=2)
    mixed = [f"{zh} {en}" for zh, en in zip(chinese[::-1], english, strict=False)]
    model.score(["warm up: 加载词典", "warm up"])  # jieba's dictionary loads on first use

    print(f"batches of {args.batch}, {args.repeats} repeats, language detected; texts/s median (min-max)")
    for name, texts in (
        ("english", english),
        ("chinese", chinese),
        ("mixed", mixed),
        ("all", english + chinese + mixed),
    ):
        rates = measure(model, texts, args.batch, args.repeats)
        chars = statistics.mean(len(text) for text in texts)
        print(
            f"{name:8} {len(texts):6,} texts, {chars:5.1f} chars avg: "
            f"{statistics.median(rates):8,.0f} texts/s ({min(rates):,.0f}-{max(rates):,.0f})"
        )


if __name__ == "__main__":
    main()
