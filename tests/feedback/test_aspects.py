"""Aspect detection: precision and recall on hand-written labelled texts in each language (not from
the generator) and on the demo generator's texts, and per-aspect sentiment on mixed texts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from rapport.demo import texts as demo_texts
from services.feedback import aspects

pytestmark = pytest.mark.database_independent

# Hand-written, labelled by what a reader would say each text is about.
ENGLISH: list[tuple[str, set[str]]] = [
    ("Ordered on Monday and the package showed up on Wednesday, well packed.", {"delivery"}),
    ("Way overpriced for a phone case.", {"price"}),
    ("The customer support rep was super patient and fixed my billing issue.", {"service"}),
    ("Your app logs me out every time I open it.", {"app"}),
    ("The shoes fit perfectly and the color is exactly like the photos.", {"product"}),
    ("Stitching came undone after two washes, poor quality.", {"quality"}),
    ("Cheap price, but the fabric feels cheap too.", {"price", "quality"}),
    ("Tracking number never updated and the courier left the box in the rain.", {"delivery"}),
    ("Nobody replied to my complaint for a week.", {"service"}),
    ("Checkout kept failing on the website so I had to order twice.", {"app"}),
    ("Good value, decent build, shipping was slow though.", {"price", "quality", "delivery"}),
    ("The blender is powerful and easy to clean.", {"product"}),
    ("I love the new search filters in the app, finding sizes is much easier now.", {"app"}),
    ("Great store, friendly staff, fair prices.", {"service", "price"}),
    ("The headphones broke within a month and the seller refused a refund.", {"quality", "service"}),
    ("Delivery guy was rude and threw the parcel over the fence.", {"delivery", "service"}),
    ("Really expensive, though the material is excellent.", {"price", "quality"}),
    ("Arrived in two days, works as expected.", {"delivery", "product"}),
    ("The website keeps timing out when I try to pay.", {"app"}),
    ("Terrible after-sales service, they never called back.", {"service"}),
    ("Battery life is shorter than advertised.", {"product"}),
    ("Paid for express shipping and still waited ten days.", {"delivery"}),
    ("Excellent craftsmanship, every seam is perfect.", {"quality"}),
    ("Support chat bot is useless, I just want to talk to a human.", {"service"}),
    ("The discount code did not apply at checkout and the page froze.", {"price", "app"}),
    ("Product matches the description and the packaging was eco friendly.", {"product", "delivery"}),
    ("Will never order again, the item was used and dirty.", {"product", "quality"}),
    ("Prices went up twenty percent since last year.", {"price"}),
    ("The app is intuitive and the delivery slots are convenient.", {"app", "delivery"}),
    ("Staff at the hotline were knowledgeable and quick.", {"service"}),
    ("Refund took three weeks and I had to chase them every day.", {"service"}),
    ("Sizing runs small, order one up.", {"product"}),
    ("Honestly the cheapest place I've found for printer ink.", {"price"}),
    ("Box was crushed when it got to me, but the vase inside survived.", {"delivery"}),
    ("The mobile site is clunky and images never load.", {"app"}),
    ("Customer care team went above and beyond.", {"service"}),
    ("Colours faded after the first wash, really poor materials.", {"quality"}),
    ("Half the order was missing and the driver just left.", {"delivery"}),
    ("For this money I expected far better quality.", {"price", "quality"}),
    ("The notifications spam me constantly, uninstalling the app.", {"app"}),
    ("Lovely smell, lasts all day.", {"product"}),
    ("Seller answered within an hour and sent a replacement.", {"service"}),
    ("Package sat at the depot for a week before anyone moved it.", {"delivery"}),
    ("Two stars because the zipper jammed on day one.", {"quality"}),
    ("They price-matched a competitor without any fuss.", {"price"}),
    ("The chat agent kept sending me canned replies.", {"service"}),
    ("Navigation in the app is confusing and the fonts are tiny.", {"app"}),
    ("These jeans are a great fit and super comfy.", {"product"}),
    ("Got charged twice for one order, still waiting on my money back.", {"price"}),
    ("Lid cracked the first time I dropped it.", {"quality"}),
    ("The order was split into three shipments for no reason.", {"delivery"}),
    ("Manager was dismissive when I asked for an exchange.", {"service"}),
    ("Cheaper than the supermarket and the fruit is always fresh.", {"price", "quality"}),
    ("Great phone, but the camera is disappointing at night.", {"product"}),
]
CHINESE: list[tuple[str, set[str]]] = [
    ("快递小哥很负责，下雨天也准时送到。", {"delivery"}),
    ("这个价钱买到这么好的东西，值了！", {"price", "product"}),
    ("衣服做工一般，线头很多。", {"quality"}),
    ("客服小姐姐回复超快，耐心解答问题。", {"service"}),
    ("APP一直卡在支付页面，根本没法下单。", {"app"}),
    ("尺码偏小，建议买大一号。", {"product"}),
    ("物流太慢了，等了整整十天。", {"delivery"}),
    ("比实体店便宜不少，划算。", {"price"}),
    ("用了一个月就开胶了，质量堪忧。", {"quality"}),
    ("卖家发货很快，但是包装太简陋，盒子都压扁了。", {"delivery"}),
    ("耳机音质不错，降噪效果也很好。", {"product"}),
    ("退货流程太麻烦，售后也不理人。", {"service"}),
    ("网页版经常打不开，体验很差。", {"app"}),
    ("价格有点高，不过质量确实好。", {"price", "quality"}),
    ("味道很正宗，家里人都爱吃。", {"product"}),
    ("这个商家态度恶劣，再也不来了。", {"service"}),
    ("快递把箱子摔坏了，里面的杯子也碎了。", {"delivery"}),
    ("活动价很给力，囤了好几箱。", {"price"}),
    ("手机壳颜色和图片上一样，很好看。", {"product"}),
    ("登录总是提示验证码错误，折腾了半天。", {"app"}),
    ("客服说会补发，结果三天了还没发货。", {"service", "delivery"}),
    ("面料很舒服，洗了几次也不变形。", {"quality"}),
    ("性价比超高，推荐大家入手。", {"price"}),
    ("送货上门还帮忙安装，服务很周到。", {"delivery", "service"}),
    ("屏幕有划痕，像是二手的。", {"quality"}),
    ("小程序下单很方便，就是优惠券不好领。", {"app", "price"}),
    ("发票开错了，找客服改了三次。", {"service"}),
    ("电池续航比宣传的短很多。", {"product"}),
    ("包裹被放在门口没人通知，差点丢了。", {"delivery"}),
    ("东西不错，就是有点贵。", {"product", "price"}),
    ("退款到现在还没到账，打了好几次电话。", {"service"}),
    ("鞋子码数正好，穿着很舒服。", {"product"}),
    ("全网最低价，果断下单。", {"price"}),
    ("快递员态度很差，把东西扔在门口就走了。", {"delivery", "service"}),
    ("手机版网站加载特别慢。", {"app"}),
    ("线下门店的店员服务很贴心。", {"service"}),
    ("洗了一次就掉色了，太失望了。", {"quality"}),
    ("等了两个星期才收到，包装也破了。", {"delivery"}),
    ("这个钱花得不值，质量太一般了。", {"price", "quality"}),
    ("软件更新后老是闪退。", {"app"}),
    ("香味很淡，持久度一般。", {"product"}),
    ("商家很快就处理了我的售后申请。", {"service"}),
    ("下单后一周才发出，太慢了。", {"delivery"}),
    ("拉链第一天就坏了。", {"quality"}),
    ("客服推来推去，没人管。", {"service"}),
    ("比上个月贵了二十块，不太划算。", {"price"}),
    ("新版界面不好用，找不到订单入口。", {"app"}),
    ("裤子版型很好，穿上显瘦。", {"product"}),
    ("到货时箱子湿了，东西倒是没事。", {"delivery"}),
    ("水果很新鲜，个头也大。", {"quality"}),
    ("付款的时候页面一直转圈。", {"app"}),
    ("店员很耐心地帮我挑选。", {"service"}),
    ("这个价位能买到这样的手机很满意。", {"price", "product"}),
    ("耳机戴久了耳朵疼，设计不合理。", {"product"}),
]

_POSITIVE = ("fast", "quick", "great", "good", "excellent", "love", "friendly", "perfect", "easy", "快", "好", "满意", "喜欢", "实惠", "方便")  # fmt: skip
_NEGATIVE = ("slow", "high", "expensive", "rude", "terrible", "poor", "late", "crash", "useless", "贵", "慢", "差", "闪退", "失望")  # fmt: skip


def lexicon_scores(sentences: Sequence[str]) -> np.ndarray:
    """A stand-in for the sentiment model: tanh(positive words - negative words)."""
    lowered = [sentence.lower() for sentence in sentences]
    positive = np.array([sum(word in s for word in _POSITIVE) for s in lowered], dtype=float)
    negative = np.array([sum(word in s for word in _NEGATIVE) for s in lowered], dtype=float)
    return np.tanh(positive - negative)


def generated_texts(language: str, n: int, *, seed: int = 0) -> tuple[list[str], list[set[str]], np.ndarray]:
    """Generator texts of one language, the aspects of the fragments each is made of, and the main aspect
    (index into ASPECTS) the generator was asked for."""
    rng = np.random.default_rng(seed)
    main = np.arange(n) % len(demo_texts.ASPECTS)
    composed = demo_texts.compose(
        rng,
        language=np.full(n, demo_texts.LANGUAGES.index(language)),
        sentiment=rng.integers(0, len(demo_texts.SENTIMENTS), n),
        aspect=main,
    ).to_pylist()
    fragments = {}
    for line in demo_texts._FRAGMENTS.strip().splitlines():
        lang, kind, _, text = line.split(maxsplit=3)
        if lang == language and kind in demo_texts.ASPECTS:
            fragments[text] = kind
    labels = [{kind for fragment, kind in fragments.items() if fragment in text} for text in composed]
    return composed, labels, main


def precision_recall(texts: Sequence[str], labels: Sequence[set[str]]) -> tuple[float, float]:
    found = [
        {str(m.aspect) for m in mentions} for mentions in aspects.detect_aspects(texts, score_sentences=lexicon_scores)
    ]
    hits = sum(len(f & truth) for f, truth in zip(found, labels, strict=True))
    return hits / sum(map(len, found)), hits / sum(map(len, labels))


@pytest.mark.parametrize(
    ("labelled", "min_precision", "min_recall"), [(ENGLISH, 0.9, 0.85), (CHINESE, 0.85, 0.85)], ids=["en", "zh"]
)
def test_hand_written_texts_have_their_aspects_found(labelled, min_precision, min_recall):
    texts, labels = zip(*labelled, strict=True)
    assert len(texts) >= 20
    assert sum(len(truth) > 1 for truth in labels) >= 5
    precision, recall = precision_recall(texts, labels)
    assert precision >= min_precision, precision
    assert recall >= min_recall, recall


@pytest.mark.parametrize("language", ["en", "zh"])
def test_generator_texts_have_their_aspects_found(language):
    texts, labels, main = generated_texts(language, 600)
    precision, recall = precision_recall(texts, labels)
    assert precision >= 0.9, precision
    assert recall >= 0.95, recall
    found = aspects.detect_aspects(texts, score_sentences=lexicon_scores)
    main_found = np.mean(
        [demo_texts.ASPECTS[a] in {str(m.aspect) for m in ms} for a, ms in zip(main, found, strict=True)]
    )
    assert main_found >= 0.95


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fast delivery but the price is too high", {"delivery": 1, "price": -1}),
        ("Great quality, but customer service was rude.", {"quality": 1, "service": -1}),
        ("The app is terrible, although the delivery was quick.", {"app": -1, "delivery": 1}),
        ("Love the product! Shipping was slow.", {"product": 1, "delivery": -1}),
        ("物流很快，但是价格太贵了", {"delivery": 1, "price": -1}),
        ("质量很好，不过客服态度很差", {"quality": 1, "service": -1}),
        ("App经常闪退，但是送货很快", {"app": -1, "delivery": 1}),
        ("东西很满意，物流太慢了。", {"product": 1, "delivery": -1}),
    ],
)
def test_each_aspect_gets_the_sentiment_of_its_own_clause(text, expected):
    (mentions,) = aspects.detect_aspects([text], score_sentences=lexicon_scores)
    assert {str(m.aspect): int(np.sign(m.sentiment)) for m in mentions} == expected


def test_the_sentences_naming_aspects_are_scored_in_one_call():
    calls: list[int] = []

    def counting(sentences: Sequence[str]) -> np.ndarray:
        calls.append(len(sentences))
        return lexicon_scores(sentences)

    batch = [text for text, _ in ENGLISH + CHINESE] + ["Thank you!", "谢谢！"]
    aspects.detect_aspects(batch, score_sentences=counting)
    sentences = [sentence for text in batch for sentence in aspects.split_sentences(text)]
    assert calls == [sum(bool(aspects.match_terms(sentence)) for sentence in sentences)]
    assert calls[0] < len(sentences)


def test_a_sentence_naming_an_aspect_twice_counts_once_and_terms_are_listed():
    (mentions,) = aspects.detect_aspects(
        ["The price, the prices! Shipping was great. Delivery was slow."], score_sentences=lexicon_scores
    )
    by_aspect = {str(m.aspect): m for m in mentions}
    assert by_aspect["price"].terms == ("price", "prices")
    assert by_aspect["price"].sentences == 1
    assert by_aspect["delivery"].sentences == 2
    assert by_aspect["delivery"].sentiment == pytest.approx(0.0)


def test_texts_without_aspects_or_text_give_no_mentions():
    assert aspects.detect_aspects(["", "  ", "Thank you!", "谢谢！"], score_sentences=lexicon_scores) == [
        [],
        [],
        [],
        [],
    ]
    assert aspects.detect_aspects([], score_sentences=lexicon_scores) == []


def test_a_scorer_returning_the_wrong_number_of_scores_is_refused():
    with pytest.raises(ValueError, match="scores for"):
        aspects.detect_aspects(["The price is fine."], score_sentences=lambda sentences: np.zeros(3))


def test_english_terms_need_letter_boundaries_but_chinese_and_mixed_text_match_inside():
    assert aspects.match_terms("I am happy with the apple") == []
    assert [str(a) for a, _ in aspects.match_terms("App结账时总是闪退")] == ["app", "app"]
    assert [str(a) for a, _ in aspects.match_terms("feels cheap, cheap materials, cheap prices")] == [
        "quality", "quality", "price", "price",
    ]  # fmt: skip


def test_sentences_split_at_terminators_contrast_and_chinese_commas_but_not_decimals():
    assert aspects.split_sentences("Costs $9.99!! Fast delivery but slow support; ok") == [
        "Costs $9.99!!", "Fast delivery", "but slow support;", "ok",
    ]  # fmt: skip
    assert aspects.split_sentences("物流很快，但是价格太贵了。不但便宜,而且好用") == [
        "物流很快，", "但是价格太贵了。", "不但便宜,", "而且好用",
    ]  # fmt: skip
