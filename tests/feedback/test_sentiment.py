"""Sentiment models on real corpora (hold-out vs the plain baseline), on customer feedback unlike the
training texts, and the SentimentModel contract (range, labels, languages, storage)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.feedback import sentiment, train
from tests.feedback.conftest import Holdout

pytestmark = pytest.mark.database_independent

# Customer feedback written for this test, not taken from any corpus: deliveries, refunds, support,
# apps; negations, and sentiment carried by facts ("still waiting", "never arrived").
ENGLISH_FEEDBACK = [
    ("not bad at all, arrived a day early", 1),
    ("Fast shipping and the support team solved my issue in minutes", 1),
    ("Great value for money, I will order again", 1),
    ("The agent was friendly and very helpful", 1),
    ("Love the new app update, checkout is so much easier now", 1),
    ("Refund processed quickly, thank you!", 1),
    ("Excellent quality, fits perfectly", 1),
    ("No complaints, everything works as described", 1),
    ("The courier was polite and the package was well protected", 1),
    ("I can't fault the service, highly recommend", 1),
    ("Easy returns and a quick response from customer care", 1),
    ("Five stars, the best purchase I made this year", 1),
    ("Setup took two minutes and it has worked flawlessly since", 1),
    ("Never had a problem with this store", 1),
    ("Thanks for replacing the broken part so fast", 1),
    ("The delivery was late and nobody answered my emails", 0),
    ("Item arrived damaged and the box was crushed", 0),
    ("Still waiting for my refund after three weeks", 0),
    ("Customer service was rude and unhelpful", 0),
    ("The app keeps crashing when I try to pay", 0),
    ("Not worth the money, it stopped working after two days", 0),
    ("I was charged twice and no one will fix it", 0),
    ("Terrible experience, I will not order again", 0),
    ("The product does not match the description at all", 0),
    ("Waited on hold for an hour and then the call dropped", 0),
    ("Wrong size sent and the return label never arrived", 0),
    ("Poor quality, the stitching came apart after one wash", 0),
    ("Not happy with the support, they closed my ticket without fixing anything", 0),
    ("The package never arrived and tracking shows nothing", 0),
    ("Very disappointed, the battery barely lasts an hour", 0),
]

CHINESE_FEEDBACK = [
    ("物流很快，包装也很好", 1),
    ("客服态度非常好，耐心解答问题", 1),
    ("质量不错，性价比高，会回购", 1),
    ("退款处理得很及时，谢谢", 1),
    ("东西收到了，和描述的一样，满意", 1),
    ("快递小哥服务很周到", 1),
    ("发货太慢了，等了一个星期", 0),
    ("客服一直不回复，非常失望", 0),
    ("收到的商品是坏的，要求退货", 0),
    ("质量很差，用了两天就坏了", 0),
    ("说好的赠品没有收到", 0),
    ("包装破损，东西也不能用", 0),
]


@pytest.mark.parametrize(
    ("holdout_fixture", "threshold"), [("chinese_holdout", 0.86), ("english_holdout", 0.81)], ids=["zh", "en"]
)
def test_holdout_accuracy_reaches_threshold_and_beats_baseline(
    request: pytest.FixtureRequest, holdout_fixture: str, threshold: float
) -> None:
    holdout: Holdout = request.getfixturevalue(holdout_fixture)
    ours, baseline = holdout.accuracies(holdout.test_text, holdout.test_y)
    assert ours >= threshold
    assert ours > baseline


def test_english_model_reads_customer_feedback_better_than_baseline(english_holdout: Holdout) -> None:
    texts, labels = zip(*ENGLISH_FEEDBACK, strict=True)
    ours, baseline = english_holdout.accuracies(texts, labels)
    assert ours >= 0.8
    assert ours > baseline


def test_chinese_model_reads_customer_service_texts(chinese_holdout: Holdout) -> None:
    texts, labels = zip(*CHINESE_FEEDBACK, strict=True)
    ours, baseline = chinese_holdout.accuracies(texts, labels)
    assert ours >= 0.8
    assert ours >= baseline


def test_stored_model_reads_customer_feedback_in_both_languages(model: sentiment.SentimentModel) -> None:
    texts, labels = zip(*(ENGLISH_FEEDBACK + CHINESE_FEEDBACK), strict=True)
    scores = model.scores(texts)
    assert ((scores > 0) == np.asarray(labels, dtype=bool)).mean() >= 0.8


@pytest.mark.parametrize(
    ("positive", "negated"),
    [
        ("The support was helpful", "The support was not helpful"),
        ("I would recommend this shop", "I would never recommend this shop"),
        ("The quality is good", "The quality isn't good"),
        ("服务很好", "服务不好"),
        ("我很满意", "我不满意"),
    ],
)
def test_negation_turns_the_score_down(model: sentiment.SentimentModel, positive: str, negated: str) -> None:
    plain, turned = model.scores([positive, negated])
    assert turned < 0
    assert plain - turned > 0.3


def test_scores_stay_in_range_and_labels_follow_the_neutral_band(model: sentiment.SentimentModel) -> None:
    texts = ["", "😀👍", "!!!", "ok", "很好", "iPhone 的电池不行", "The 包装 was torn", "x" * 5000, "好" * 3000]
    results = model.score(texts)
    scores = np.array([r.score for r in results])
    assert len(results) == len(texts)
    assert np.all((scores >= -1) & (scores <= 1))
    assert [r.label for r in results] == sentiment.labels_for(scores).tolist()
    assert [r.label for r in results] == model.labels(scores).tolist()
    assert results[0].label == "neutral"  # nothing to read


def test_labels_split_scores_at_the_neutral_band() -> None:
    band = sentiment.NEUTRAL_BAND
    scores = np.array([-1.0, -band, -band / 2, 0.0, band / 2, band, 1.0])
    expected = ["negative", "negative", "neutral", "neutral", "neutral", "positive", "positive"]
    assert sentiment.labels_for(scores).tolist() == expected


def test_languages_are_detected_when_absent(model: sentiment.SentimentModel) -> None:
    results = model.score(["Great service", "服务很好", "The 客服 was great"])
    assert [r.language for r in results] == ["en", "zh", "mixed"]


def test_mixed_text_lies_between_its_two_models(model: sentiment.SentimentModel) -> None:
    text = "Delivery was fast but 客服态度很差"
    english, chinese, mixed = model.scores([text] * 3, ["en", "zh", "mixed"])
    assert min(english, chinese) <= mixed <= max(english, chinese)


def test_given_languages_choose_the_model(model: sentiment.SentimentModel) -> None:
    text = "服务很好，非常满意"
    as_chinese, as_english = model.scores([text, text], ["zh", "en"])
    assert as_chinese > 0.2
    assert as_chinese != as_english


@pytest.mark.parametrize("languages", [["fr"], ["en", "zh"]], ids=["unknown code", "wrong length"])
def test_bad_languages_are_refused(model: sentiment.SentimentModel, languages: list[str]) -> None:
    with pytest.raises(ValueError, match="language"):
        model.score(["hello"], languages)


def test_empty_batch_gives_nothing(model: sentiment.SentimentModel) -> None:
    assert model.score([]) == []
    assert model.scores([]).shape == (0,)


def test_vote_classifier_refuses_negative_features() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        sentiment.VoteClassifier().fit(np.array([[1.0, -1.0], [0.0, 1.0]]), np.array([0, 1]))


def test_vote_classifier_probabilities_sum_to_one() -> None:
    features = np.array([[3.0, 0.0], [2.0, 1.0], [0.0, 2.0], [1.0, 3.0]])
    classifier = sentiment.VoteClassifier().fit(features, np.array(["bad", "bad", "good", "good"]))
    probabilities = classifier.predict_proba(features)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert classifier.predict(features).tolist() == ["bad", "bad", "good", "good"]


def test_load_or_train_loads_the_stored_model_without_training(
    model: sentiment.SentimentModel, model_dir: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(_data_dir: Path) -> sentiment.SentimentModel:
        raise AssertionError("trained again although a valid model was stored")

    monkeypatch.setattr(train, "fit_model", refuse)
    loaded = train.load_or_train(model_dir, data_dir)
    texts = [text for text, _ in ENGLISH_FEEDBACK + CHINESE_FEEDBACK]
    assert np.array_equal(loaded.scores(texts), model.scores(texts))


def test_stored_model_of_another_version_or_altered_is_not_loaded(
    model: sentiment.SentimentModel, tmp_path: Path
) -> None:
    train.save(model, tmp_path)
    assert isinstance(train.load(tmp_path), sentiment.SentimentModel)

    manifest_path = tmp_path / train.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps(manifest | {"version": "0"}))
    assert train.load(tmp_path) is None

    manifest_path.write_text(json.dumps(manifest))
    with (tmp_path / train.ARTIFACT).open("ab") as artifact:
        artifact.write(b"\0")
    assert train.load(tmp_path) is None
