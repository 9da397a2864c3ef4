"""Aspects of feedback texts: which of price, quality, delivery, service, product and app/website each
text talks about, and the sentiment of the sentences that name each one.

A lexicon per aspect in English and Chinese finds the mentions. English terms are regular expressions
bounded by ASCII letters rather than `\\b`, because Python counts CJK characters as word characters and
"App结账" must still match "app"; Chinese terms are plain substrings, since Chinese has no spaces.
Texts are split into sentences (also at "but" / 但是 / commas in Chinese) so that "fast delivery but
the price is too high" gives delivery and price opposite signs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class Aspect(StrEnum):
    PRICE = "price"
    QUALITY = "quality"
    DELIVERY = "delivery"
    SERVICE = "service"
    PRODUCT = "product"
    APP = "app"


ASPECTS: tuple[Aspect, ...] = tuple(Aspect)  # same order as rapport.demo.texts.ASPECTS

# English: regular expressions, matched case-insensitively between non-letters.
_ENGLISH: dict[Aspect, tuple[str, ...]] = {
    Aspect.PRICE: (
        r"pric(?:e|es|ed|ey|ing)", r"overpriced", r"(?:in)?expensive",
        # "cheap" describes the price unless it describes what the thing is made of.
        r"(?<!feels )(?<!feel )(?<!looks )cheap(?:er|est)?(?!\s+(?:materials?|plastic|fabric|made|quality|looking))",
        r"costs?", r"costly", r"value", r"deals?", r"discount(?:s|ed)?", r"(?<!after[- ])sales?",
        r"(?:over)?charg(?:e|es|ed)", r"fees?", r"afford(?:able|ably)?", r"bargains?", r"coupons?",
        r"promo(?:tion)?s?", r"overpa(?:y|id)", r"rip[- ]?off", r"money|spen[dt]|budget|worth",
        r"dollars?|bucks|euros?|rmb|yuan",
    ),
    Aspect.QUALITY: (
        r"quality", r"build", r"fabric", r"(?:well|badly|poorly|cheaply|nicely|beautifully|solidly) made",
        r"cheap (?:materials?|plastic|fabric)", r"(?:feels?|looks?) cheap", r"materials?", r"flims(?:y|iness)",
        r"sturd(?:y|ier|iness)", r"durab(?:le|ility)", r"brok(?:e|en)", r"break(?:s|ing)?", r"damaged?",
        r"defect(?:s|ive)?", r"faulty", r"premium", r"f(?:a|e)ll(?:s|ing)? apart", r"(?:crafts|work)manship",
        r"stitch(?:ing|es)?", r"scratch(?:ed|es)?", r"crack(?:s|ed)?", r"leak(?:s|ed|ing|y)?", r"torn|ripped",
        r"w(?:ore|ears?) out", r"fakes?|counterfeit|genuine|authentic",
        r"fad(?:e|ed|es|ing)|stain(?:s|ed)?|peel(?:s|ed|ing)|rust(?:y|ed)?|dent(?:s|ed)?",
        r"shoddy|robust|solid|wobbly|mou?ldy|expired", r"second[- ]hand|refurbished",
    ),
    Aspect.DELIVERY: (
        r"deliver(?:y|ies|ed|ing|s)?", r"ship(?:s|ped|ping|ment|ments)?", r"couriers?", r"parcels?",
        r"packag(?:e|es|ing|ed)", r"arriv(?:e|ed|es|ing|al)", r"tracking", r"dispatch(?:ed)?",
        r"postage|postal|lost in (?:the )?post", r"carriers?", r"transit", r"got here",
        r"drivers?|doorstep|porch|neighbou?rs?|signed for", r"on time|(?:next|same)[- ]day|express",
        r"(?:in|by) the post|by post", r"dhl|fedex|usps|royal mail",
        r"came (?:quickly|fast|late|early|on time|damaged)",
    ),
    Aspect.SERVICE: (
        r"service", r"support", r"agents?", r"staff", r"representatives?|reps?", r"help ?desk|hotline",
        r"(?:on|over) the phone|phone call|by phone|phoned", r"e-?mails?", r"live chat", r"repl(?:y|ies|ied)",
        r"respon(?:d|ds|ded|se|ses|sive)", r"answer(?:ed|s)?", r"sellers?|vendors?", r"after[- ]sales?",
        r"rude|polite|courteous|attitude",
        r"customer care|care team|managers?|employees?|cashiers?|waiters?|waitress",
        r"refund(?:s|ed)?|replacement|exchange|warranty|guarantee", r"complaints?|call(?:ed)? back|callback",
        r"(?<!user[- ])(?<!eco[- ])friendly",
    ),
    Aspect.PRODUCT: (
        r"products?", r"items?", r"siz(?:e|es|ing)", r"fits?", r"colou?rs?", r"instructions|manual", r"advertised",
        r"features?", r"functions?|functionality", r"devices?|gadgets?", r"purchases?",
        r"(?:does|did|do)(?: not|n't) work", r"stopped working",
        r"works? (?:perfectly|great|well|as advertised|as expected)", r"(?:does|did) the job", r"what i ordered",
        r"wrong (?:item|size|colou?r|model)", r"battery",
        r"tast(?:e|es|y)|flavou?rs?|scent|smell(?:s|y)?|fragrance|ingredients?",
        r"texture|comfortable|comfy|screen|sound",
    ),
    Aspect.APP: (
        r"apps?", r"application", r"web ?sites?", r"site", r"online (?:shop|store)", r"web ?pages?",
        r"crash(?:es|ed|ing)?", r"log(?:ged)? ?in|login|sign(?:ed)? ?in", r"interface", r"ui|ux", r"search",
        r"bugs?|buggy", r"glitch(?:es|y)?", r"freez(?:e|es|ing)|froze", r"load(?:s|ed|ing)?",
        r"mobile (?:site|version)|(?:un)?install(?:s|ed|ing)?", r"cart|payment (?:page|failed|failing)",
        r"navigat(?:e|ion)", r"password", r"notifications?",
    ),
}  # fmt: skip

# Chinese: substrings. Bare 价 is left out because it is also in 评价 (review).
_CHINESE: dict[Aspect, tuple[str, ...]] = {
    Aspect.PRICE: (
        "价格", "价钱", "价位", "定价", "售价", "标价", "贵", "便宜", "实惠", "性价比", "划算", "收费",
        "优惠", "折扣", "打折", "降价", "涨价", "多收", "运费", "不值", "物美价廉", "满减", "省钱",
        "活动价", "特价", "原价", "到手价", "低价", "高价", "单价", "差价", "花钱", "钱花", "块钱",
    ),
    Aspect.QUALITY: (
        "质量", "品质", "做工", "质感", "材质", "材料", "用料", "粗糙", "精细", "精致", "破损", "坏了",
        "就坏", "坏掉", "损坏", "手感", "耐用", "结实", "牢固", "劣质", "瑕疵", "正品", "假货", "掉色",
        "起球", "开线", "开裂", "裂开", "异味", "面料", "划痕", "磨损",
        "掉漆", "生锈", "变形", "次品", "二手", "翻新", "过期",
    ),
    Aspect.DELIVERY: (
        "快递", "物流", "发货", "配送", "送货", "到货", "收货", "收到货", "包裹", "送达", "运输", "派送",
        "签收", "包装", "邮寄", "送到", "上门",
        "驿站", "丢件", "顺丰", "中通", "圆通", "韵达", "申通", "邮政",
    ),
    Aspect.SERVICE: (
        "客服", "服务", "售后", "态度", "回复", "回应", "电话", "商家", "卖家", "店家", "掌柜", "店员",
        "工作人员", "导购", "沟通", "退换", "投诉", "人工",
        "退款", "退货", "换货", "补发", "小二", "专员",
    ),
    Aspect.PRODUCT: (
        "商品", "产品", "东西", "宝贝", "货品", "尺码", "尺寸", "大小", "颜色", "款式", "功能", "说明书",
        "宣传", "发错货", "货不对板", "效果", "型号", "味道", "口感", "电池",
        "码数", "香味", "气味", "口味", "外观", "屏幕", "音质", "容量", "性能", "配件", "舒适",
    ),
    Aspect.APP: (
        "应用", "网站", "官网", "网页", "闪退", "卡顿", "卡死", "登录", "登陆", "界面", "小程序", "软件",
        "客户端", "搜索", "加载", "系统", "注册", "验证码", "付款失败", "支付失败",
    ),
}  # fmt: skip


def _lexicon_pattern() -> re.Pattern[str]:
    """One alternation with a named group per aspect and language, so a single scan finds every term.
    Each language's branch starts with a one-character guard: without it the engine tries all the
    alternatives at every position, which made the scan three times slower."""
    english = "|".join(f"(?P<{aspect.value}>{'|'.join(_ENGLISH[aspect])})" for aspect in ASPECTS)
    chinese = "|".join(
        f"(?P<{aspect.value}_zh>{'|'.join(sorted(map(re.escape, _CHINESE[aspect]), key=len, reverse=True))})"
        for aspect in ASPECTS
    )
    return re.compile(rf"(?<![a-z])(?=[a-z])(?:{english})(?![a-z])|(?=[\u4e00-\u9fff])(?:{chinese})", re.IGNORECASE)


_LEXICON = _lexicon_pattern()
_ASPECT_OF_GROUP = {name: ASPECTS.index(Aspect(name.removesuffix("_zh"))) for name in _LEXICON.groupindex}

# Zero-width break points: after a run of terminators (not inside "9.99"), after a comma touching
# Chinese, and before a contrasting conjunction, which stays with the clause it introduces.
_BREAK = re.compile(
    r"(?<=[.!?;。！？；，\n])(?![.!?;。！？；，\d])"
    r"|(?<=[\u4e00-\u9fff],)|(?<=,)(?=\s*[\u4e00-\u9fff])"
    r"|(?=\b(?:but|although|though|whereas)\b)"
    r"|(?=(?<!不)但是|不过|可是|然而)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AspectMention:
    """An aspect a text talks about: the mean score in [-1, 1] of the sentences naming it, how many
    sentences do, and the matched terms (lower-cased, first-seen order)."""

    aspect: Aspect
    sentiment: float
    sentences: int
    terms: tuple[str, ...]


def split_sentences(text: str) -> list[str]:
    """Return the text's sentences and contrasting clauses, stripped, without empty ones."""
    return [part.strip() for part in _BREAK.split(text) if part.strip()]


def match_terms(text: str) -> list[tuple[Aspect, str]]:
    """Return (aspect, lower-cased term) for every lexicon match in the text, in text order."""
    return [
        (ASPECTS[_ASPECT_OF_GROUP[m.lastgroup]], _normalise(m.group())) for m in _LEXICON.finditer(text) if m.lastgroup
    ]


def detect_aspects(
    texts: Sequence[str], *, score_sentences: Callable[[Sequence[str]], np.ndarray]
) -> list[list[AspectMention]]:
    """Return, per text, the aspects it mentions in ASPECTS order. The sentences of the batch that
    mention an aspect are scored in one call of score_sentences, which must return one score in
    [-1, 1] per sentence given; it is not called when no text mentions an aspect.

    Raises ValueError if score_sentences returns a different number of scores than sentences."""
    per_text = [split_sentences(text) for text in texts]
    sentences = [sentence for parts in per_text for sentence in parts]
    result: list[list[AspectMention]] = [[] for _ in texts]
    if not sentences:
        return result
    text_of = np.repeat(np.arange(len(texts)), [len(parts) for parts in per_text])

    # Scan the whole batch as one string; a match never spans the "\n" between sentences.
    lengths = np.fromiter((len(s) + 1 for s in sentences), dtype=np.int64, count=len(sentences))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    matches = [
        (m.start(), _ASPECT_OF_GROUP[m.lastgroup], m.group())
        for m in _LEXICON.finditer("\n".join(sentences))
        if m.lastgroup
    ]
    if not matches:
        return result
    position, aspect = (np.array(column, dtype=np.int64) for column in list(zip(*matches, strict=True))[:2])
    sentence = np.searchsorted(starts, position, side="right") - 1

    # Openers and closers ("Thank you!") name no aspect: only the sentences that do are scored.
    needed = np.unique(sentence)
    given = np.asarray(score_sentences([sentences[i] for i in needed.tolist()]), dtype=np.float64)
    if given.shape != needed.shape:
        raise ValueError(f"score_sentences returned {given.shape} scores for {len(needed)} sentences")
    scores = np.zeros(len(sentences))
    scores[needed] = given
    n_aspects = len(ASPECTS)
    # A sentence naming an aspect twice counts once in that aspect's mean.
    pairs = np.unique(sentence * n_aspects + aspect)
    keys, inverse = np.unique(text_of[pairs // n_aspects] * n_aspects + pairs % n_aspects, return_inverse=True)
    count = np.bincount(inverse, minlength=len(keys))
    mean = np.bincount(inverse, weights=scores[pairs // n_aspects], minlength=len(keys)) / count

    terms: dict[int, dict[str, None]] = {}
    match_keys = text_of[sentence] * n_aspects + aspect
    for key, (_, _, term) in zip(match_keys.tolist(), matches, strict=True):
        terms.setdefault(key, {})[_normalise(term)] = None
    for key, sentiment, n in zip(keys.tolist(), mean.tolist(), count.tolist(), strict=True):
        text, index = divmod(key, n_aspects)
        result[text].append(AspectMention(ASPECTS[index], sentiment, n, tuple(terms[key])))
    return result


@functools.lru_cache(maxsize=4096)  # few distinct surface forms, many matches
def _normalise(term: str) -> str:
    return " ".join(term.lower().split())
