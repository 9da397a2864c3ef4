"""Feedback texts in English and Chinese, composed from fragments so that the sentiment matches
the score: an opener, one or two sentences about an aspect (price, quality, delivery, service,
product, app/website) and a closer, all of the same sentiment.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import arrays

LANGUAGES: tuple[str, ...] = ("en", "zh")
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
ASPECTS: tuple[str, ...] = ("price", "quality", "delivery", "service", "product", "app")
_KINDS: tuple[str, ...] = ("opener", *ASPECTS, "closer")
_VARIANTS = 3

# One fragment per line: language, opener / aspect / closer, sentiment, text. Three variants of
# each (language, kind, sentiment). No double quotes or backslashes, so no format needs escaping.
_FRAGMENTS = """
en opener   negative Very disappointed.
en opener   negative Not happy at all.
en opener   negative Terrible experience.
en opener   neutral  Mixed feelings.
en opener   neutral  It was okay.
en opener   neutral  Average experience.
en opener   positive Really happy!
en opener   positive Great experience.
en opener   positive Very satisfied.
en price    negative The prices are far too high for what you get.
en price    negative I was charged more than the price shown at checkout.
en price    negative Way too expensive compared to other shops.
en price    neutral  Prices are about what I expected.
en price    neutral  The price is okay, nothing special.
en price    neutral  Pricing is fair but the discounts were hard to find.
en price    positive Great value for money.
en price    positive The prices are very reasonable.
en price    positive Excellent deals during the sale.
en quality  negative The quality is poor and it broke after a week.
en quality  negative Cheap materials, very disappointed with the quality.
en quality  negative The item arrived damaged and feels flimsy.
en quality  neutral  Quality is acceptable for the price.
en quality  neutral  The quality is fine, as described.
en quality  neutral  Decent quality, though not outstanding.
en quality  positive The quality is excellent.
en quality  positive Very well made and feels premium.
en quality  positive Top quality, exactly as described.
en delivery negative Delivery took almost two weeks.
en delivery negative My parcel was lost and nobody could tell me where it was.
en delivery negative The courier never showed up.
en delivery neutral  Delivery was on time.
en delivery neutral  Shipping took a few days, as expected.
en delivery neutral  The parcel arrived a day late but intact.
en delivery positive Super fast delivery, it arrived the next day.
en delivery positive Delivery was quick and the packaging was perfect.
en delivery positive It arrived earlier than promised.
en service  negative Customer service never answered my emails.
en service  negative The support agent was rude and unhelpful.
en service  negative I waited an hour on the phone to get a refund.
en service  neutral  Customer service solved my issue eventually.
en service  neutral  Support replied within a couple of days.
en service  neutral  The agent was polite but could not do much.
en service  positive The support team was friendly and helpful.
en service  positive Customer service sorted out my problem in minutes.
en service  positive Great service, the staff really care.
en product  negative The product does not work as advertised.
en product  negative Not what I ordered, the size was wrong.
en product  negative The product stopped working after a few days.
en product  neutral  The product does what it says.
en product  neutral  It is an average product, it does the job.
en product  neutral  The product is okay, but the instructions are unclear.
en product  positive I love this product.
en product  positive The product works perfectly.
en product  positive Best purchase I have made this year.
en app      negative The app keeps crashing at checkout.
en app      negative The website is slow and the search is useless.
en app      negative I could not log in to the app for days.
en app      neutral  The app is easy enough to use.
en app      neutral  The website works, but it is a bit cluttered.
en app      neutral  The app is fine, nothing special.
en app      positive The app is fast and easy to use.
en app      positive Checkout on the website is smooth and simple.
en app      positive Love the new app design.
en closer   negative I will not buy here again.
en closer   negative I want a refund.
en closer   negative Would not recommend.
en closer   neutral  I might shop here again.
en closer   neutral  Could be better.
en closer   neutral  We will see.
en closer   positive Will definitely buy again.
en closer   positive Highly recommend!
en closer   positive Thank you!
zh opener   negative 非常失望。
zh opener   negative 很不满意。
zh opener   negative 体验很糟糕。
zh opener   neutral  感觉一般。
zh opener   neutral  还行吧。
zh opener   neutral  体验中规中矩。
zh opener   positive 非常满意！
zh opener   positive 体验很好。
zh opener   positive 很开心！
zh price    negative 价格太贵了，性价比很低。
zh price    negative 结账时收费比页面显示的高。
zh price    negative 比别家贵太多了。
zh price    neutral  价格还算合理。
zh price    neutral  价格一般，没有什么特别。
zh price    neutral  价格公道，但优惠不好找。
zh price    positive 性价比很高。
zh price    positive 价格非常实惠。
zh price    positive 活动期间折扣力度很大。
zh quality  negative 质量很差，用了一周就坏了。
zh quality  negative 做工粗糙，对质量很失望。
zh quality  negative 收到的商品有破损，手感很差。
zh quality  neutral  质量对得起这个价格。
zh quality  neutral  质量还可以，和描述一致。
zh quality  neutral  质量一般，不算出色。
zh quality  positive 质量非常好。
zh quality  positive 做工精细，很有质感。
zh quality  positive 质量一流，和描述完全一致。
zh delivery negative 快递将近两周才到。
zh delivery negative 包裹丢了，没人能告诉我在哪里。
zh delivery negative 快递员一直没有送货上门。
zh delivery neutral  配送准时。
zh delivery neutral  物流几天就到了，和预期一样。
zh delivery neutral  包裹晚了一天，不过完好无损。
zh delivery positive 物流超快，第二天就到了。
zh delivery positive 送货很快，包装也很完整。
zh delivery positive 比预计时间还早到货。
zh service  negative 客服一直不回复我的消息。
zh service  negative 客服态度很差，也解决不了问题。
zh service  negative 为了退款在电话里等了一个小时。
zh service  neutral  客服最后还是解决了问题。
zh service  neutral  客服两天内回复了。
zh service  neutral  客服很礼貌，但帮不上什么忙。
zh service  positive 客服热情又专业。
zh service  positive 客服几分钟就帮我解决了问题。
zh service  positive 服务很好，非常用心。
zh product  negative 商品和宣传的不一样，根本不好用。
zh product  negative 发错货了，尺码也不对。
zh product  negative 用了几天就坏了。
zh product  neutral  商品和描述的一样。
zh product  neutral  商品中规中矩，能用。
zh product  neutral  商品还行，就是说明书看不懂。
zh product  positive 非常喜欢这个商品。
zh product  positive 商品很好用。
zh product  positive 今年买过最满意的东西。
zh app      negative App结账时总是闪退。
zh app      negative 网站很慢，搜索也不好用。
zh app      negative 好几天都登录不了App。
zh app      neutral  App用起来还算方便。
zh app      neutral  网站能用，就是有点乱。
zh app      neutral  App一般，没有什么特别。
zh app      positive App速度快，操作简单。
zh app      positive 网站下单流程很顺畅。
zh app      positive 新版App设计很喜欢。
zh closer   negative 不会再买了。
zh closer   negative 要求退款。
zh closer   negative 不推荐。
zh closer   neutral  可能还会再来。
zh closer   neutral  还有改进空间。
zh closer   neutral  再看看吧。
zh closer   positive 还会再来买的。
zh closer   positive 强烈推荐！
zh closer   positive 谢谢！
"""


def _vocab() -> pa.Array:
    """Return the fragments ordered by (language, kind, sentiment, variant); checks the table."""
    cells: dict[tuple[str, str, str], list[str]] = {}
    for line in _FRAGMENTS.strip().splitlines():
        language, kind, sentiment, text = line.split(maxsplit=3)
        cells.setdefault((language, kind, sentiment), []).append(text)
    ordered = [
        cells[(language, kind, sentiment)] for language in LANGUAGES for kind in _KINDS for sentiment in SENTIMENTS
    ]
    if any(len(variants) != _VARIANTS for variants in ordered) or len(ordered) != len(cells):
        raise ValueError("every (language, kind, sentiment) needs exactly three fragments")
    return arrays.vocab([text for variants in ordered for text in variants])


_VOCAB = _vocab()


def compose(rng: np.random.Generator, *, language: np.ndarray, sentiment: np.ndarray, aspect: np.ndarray) -> pa.Array:
    """Return one text per row for language (index into LANGUAGES), sentiment (index into
    SENTIMENTS) and main aspect (index into ASPECTS); a second aspect is mentioned a third of the
    time. English parts are separated by spaces, Chinese ones are not."""
    n = len(language)
    aspect2 = (aspect + rng.integers(1, len(ASPECTS), n)) % len(ASPECTS)  # never the main aspect

    def fragment(kind: np.ndarray | int) -> pa.Array:
        cell = (language * len(_KINDS) + kind) * len(SENTIMENTS) + sentiment
        return _VOCAB.take(pa.array(cell * _VARIANTS + rng.integers(0, _VARIANTS, n)))

    separator = arrays.take([" ", ""], language)
    parts = [
        (fragment(0), rng.random(n) < 0.6),
        (fragment(1 + aspect), np.ones(n, dtype=bool)),
        (fragment(1 + aspect2), rng.random(n) < 0.35),
        (fragment(len(_KINDS) - 1), rng.random(n) < 0.6),
    ]
    pieces = [arrays.where(present, arrays.join(text, separator), "") for text, present in parts]
    return pc.utf8_rtrim_whitespace(arrays.join(*pieces))
