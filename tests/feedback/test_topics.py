"""Keywords and topics: delivery complaints yield delivery keywords, topics over generator texts of
known aspects come out one aspect each, and small or empty inputs give fewer topics, never an error."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from services.feedback import aspects, keywords, topics
from tests.feedback.test_aspects import generated_texts

pytestmark = pytest.mark.database_independent

DELIVERY_COMPLAINTS_EN = [
    "My delivery was three days late and nobody told me why.",
    "The courier left the parcel in the rain, everything inside was soaked.",
    "Tracking said delivered but the package never arrived.",
    "Second time the delivery slot was missed, I took a day off for nothing.",
    "Shipping took two weeks for an order that promised next day delivery.",
    "The parcel arrived opened and half empty.",
    "Delivery driver did not even ring the bell, just left a card.",
    "Why does shipping to Manchester take ten days?",
    "Package went to the wrong address and the courier refuses to collect it.",
    "Late delivery again, this is the third order in a row.",
    "The tracking page has not updated in a week, where is my parcel?",
    "Paid for express delivery and it still came late.",
]
DELIVERY_COMPLAINTS_ZH = [
    "快递太慢了，一个星期才到。",
    "物流信息一直不更新，不知道包裹在哪里。",
    "快递员没打电话就把包裹放在驿站了。",
    "发货太慢，下单三天了还没发货。",
    "包裹被压坏了，快递包装太简陋。",
    "物流显示已签收，但我根本没收到快递。",
    "快递送错地址了，联系了好几次都没人管。",
    "说好的次日达，结果物流走了五天。",
    "快递员态度很差，不肯送货上门。",
    "物流慢得离谱，催了好几次。",
    "包裹在路上丢了，物流一直查不到。",
    "发货速度太慢了，快递也拖拖拉拉的。",
]
DELIVERY_TERMS_ZH = {"快递", "物流", "包裹", "发货", "送货", "驿站", "签收", "快递员", "送货上门"}


def aspect_of_terms(terms: tuple[str, ...]) -> str | None:
    """The aspect whose lexicon matches most of the terms, or None if none matches."""
    counts = Counter(str(aspect) for term in terms for aspect, _ in aspects.match_terms(term))
    return counts.most_common(1)[0][0] if counts else None


@pytest.mark.parametrize(
    ("texts", "language"), [(DELIVERY_COMPLAINTS_EN, "en"), (DELIVERY_COMPLAINTS_ZH, "zh")], ids=["en", "zh"]
)
def test_delivery_complaints_rank_delivery_words_first(texts, language):
    top = keywords.top_keywords(texts, [language] * len(texts), k=5)
    assert [k.language for k in top] == [language] * 5
    assert aspect_of_terms((top[0].term,)) == "delivery", top
    assert sum(aspect_of_terms((k.term,)) == "delivery" for k in top) >= 3, top


def test_keywords_of_both_languages_are_merged_by_share_and_counted_per_text():
    texts = [*DELIVERY_COMPLAINTS_EN, *DELIVERY_COMPLAINTS_ZH[:4], ""]
    languages = ["en"] * len(DELIVERY_COMPLAINTS_EN) + ["zh"] * 4 + [None]
    top = keywords.top_keywords(texts, languages, k=40)
    weights = [k.weight for k in top]
    assert weights == sorted(weights, reverse=True)
    assert top[0].language == "en"
    assert top[0].weight == pytest.approx(12 / 16)  # English is 12 of the 16 texts with words
    assert max(k.weight for k in top if k.language == "zh") == pytest.approx(4 / 16)
    counts = {(k.term, k.language): k.count for k in top}
    assert counts[("delivery", "en")] == sum("delivery" in t.lower() for t in DELIVERY_COMPLAINTS_EN)
    assert counts[("快递", "zh")] == 2


def test_keywords_refuse_mismatched_languages_and_tolerate_nothing_to_say():
    with pytest.raises(ValueError, match="languages"):
        keywords.top_keywords(["a"], [], k=3)
    assert keywords.top_keywords([], [], k=3) == []
    assert keywords.top_keywords(["", "the and of", "的了"], ["en", "en", "zh"], k=3) == []


def test_topics_over_generator_texts_each_follow_one_aspect():
    en, en_labels, _ = generated_texts("en", 900, seed=3)
    zh, zh_labels, _ = generated_texts("zh", 900, seed=4)
    texts, labels, languages = en + zh, en_labels + zh_labels, ["en"] * 900 + ["zh"] * 900
    # 20 examples: the texts loading most on each topic, its core.
    model = topics.TopicModel(12, n_examples=20).fit(texts, languages)
    assert len(model.topics_) == 12

    core_purity, member_purity, agreeing = [], [], 0
    covered: dict[str, set[str]] = {"en": set(), "zh": set()}
    for number, topic in enumerate(model.topics_):
        members = np.flatnonzero(model.labels_ == number)
        assert len(members) == topic.size
        assert set(topic.example_indices) <= set(members.tolist())
        assert len(set(topic.examples)) == len(topic.examples) == 20
        core = topic.example_indices
        aspect, hits = Counter(aspect for i in core for aspect in labels[i]).most_common(1)[0]
        core_purity.append(hits / len(core))
        member_purity.append(sum(aspect in labels[i] for i in members) / len(members))
        agreeing += aspect_of_terms(topic.terms[:5]) == aspect  # the top terms name what the texts are about
        for language in covered:
            if sum(languages[i] == language and aspect in labels[i] for i in core) >= 5:
                covered[language].add(aspect)
    assert np.mean(core_purity) >= 0.9, core_purity
    assert agreeing >= 10
    assert len(covered["en"]) >= 5, covered
    assert len(covered["zh"]) >= 5, covered
    # Every text goes to one topic, and the generator's openers and closers ("I want a refund") are
    # themes of their own that cut across aspects, so whole topics are less pure than their cores.
    assert np.average(member_purity, weights=[topic.size for topic in model.topics_]) >= 0.6, member_purity


def test_topics_are_reproducible_with_the_same_random_state():
    texts, _, _ = generated_texts("en", 200, seed=5)
    first = topics.find_topics(texts, ["en"] * 200, n_topics=4, random_state=1)
    assert first == topics.find_topics(texts, ["en"] * 200, n_topics=4, random_state=1)


@pytest.mark.parametrize(
    ("texts", "languages", "at_most"),
    [
        ([], [], 0),
        (["", "   ", "the and of it"], ["en", "en", "en"], 0),
        (["The delivery was late."], ["en"], 1),
        (["The delivery was late.", "物流太慢了"], ["en", "zh"], 2),
        (["Price too high.", "Price too high.", "Price too high."], ["en", "en", "en"], 1),
    ],
)
def test_fewer_texts_than_topics_give_fewer_topics_without_error(texts, languages, at_most):
    found = topics.find_topics(texts, languages, n_topics=5)
    assert len(found) <= at_most
    assert all(topic.terms and topic.examples and topic.size >= 1 for topic in found)
    assert sum(topic.size for topic in found) <= len(texts)


def test_topics_refuse_mismatched_languages():
    with pytest.raises(ValueError, match="languages"):
        topics.find_topics(["a", "b"], ["en"], n_topics=2)
