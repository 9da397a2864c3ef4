"""Name vocabularies for synthetic people: Chinese names in Chinese script (with pinyin for e-mail
addresses) and English names, each with a rough popularity weight.

Weights are relative frequencies, not probabilities; `weights()` normalises them. Nothing here is
random: the sampling lives in `people.py`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# (surname, pinyin, share in %) - the most common Chinese surnames, roughly by frequency.
CN_SURNAMES: tuple[tuple[str, str, float], ...] = (
    ("王", "wang", 7.1), ("李", "li", 7.0), ("张", "zhang", 6.7), ("刘", "liu", 5.4), ("陈", "chen", 4.5),
    ("杨", "yang", 3.1), ("黄", "huang", 2.2), ("赵", "zhao", 2.0), ("吴", "wu", 1.8), ("周", "zhou", 1.7),
    ("徐", "xu", 1.3), ("孙", "sun", 1.2), ("马", "ma", 1.1), ("朱", "zhu", 1.1), ("胡", "hu", 1.0),
    ("郭", "guo", 1.0), ("何", "he", 0.9), ("高", "gao", 0.9), ("林", "lin", 0.9), ("罗", "luo", 0.9),
    ("郑", "zheng", 0.8), ("梁", "liang", 0.8), ("谢", "xie", 0.6), ("宋", "song", 0.5), ("唐", "tang", 0.5),
    ("许", "xu", 0.5), ("韩", "han", 0.5), ("冯", "feng", 0.5), ("邓", "deng", 0.5), ("曹", "cao", 0.5),
    ("彭", "peng", 0.4), ("曾", "zeng", 0.4), ("肖", "xiao", 0.4), ("田", "tian", 0.4), ("董", "dong", 0.4),
    ("袁", "yuan", 0.4), ("潘", "pan", 0.3), ("于", "yu", 0.3), ("蒋", "jiang", 0.3), ("蔡", "cai", 0.3),
    ("余", "yu", 0.3), ("杜", "du", 0.3), ("叶", "ye", 0.3), ("程", "cheng", 0.3), ("苏", "su", 0.3),
    ("魏", "wei", 0.3), ("吕", "lv", 0.3), ("丁", "ding", 0.3), ("任", "ren", 0.3), ("沈", "shen", 0.3),
    ("欧阳", "ouyang", 0.05), ("司马", "sima", 0.02),
)  # fmt: skip

# (given name, pinyin) - common given names, first listed are the most frequent.
CN_GIVEN_FEMALE: tuple[tuple[str, str], ...] = (
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("艳", "yan"), ("娟", "juan"),
    ("霞", "xia"), ("婷", "ting"), ("雪", "xue"), ("欣怡", "xinyi"), ("梓涵", "zihan"), ("诗涵", "shihan"),
    ("雨桐", "yutong"), ("佳怡", "jiayi"), ("思琪", "siqi"), ("晓燕", "xiaoyan"), ("秀英", "xiuying"),
    ("桂英", "guiying"), ("玉兰", "yulan"), ("丹", "dan"), ("慧", "hui"), ("颖", "ying"), ("琳", "lin"),
    ("倩", "qian"), ("晶", "jing"), ("萍", "ping"), ("梦琪", "mengqi"), ("雅婷", "yating"), ("子涵", "zihan"),
)  # fmt: skip
CN_GIVEN_MALE: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("杰", "jie"),
    ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("浩然", "haoran"), ("子轩", "zixuan"), ("宇航", "yuhang"),
    ("俊杰", "junjie"), ("志强", "zhiqiang"), ("建华", "jianhua"), ("文博", "wenbo"), ("天佑", "tianyou"),
    ("鹏", "peng"), ("辉", "hui"), ("斌", "bin"), ("刚", "gang"), ("平", "ping"), ("晨", "chen"),
    ("博文", "bowen"), ("一鸣", "yiming"), ("思远", "siyuan"), ("国强", "guoqiang"), ("建国", "jianguo"),
    ("海洋", "haiyang"),
)  # fmt: skip

EN_GIVEN_FEMALE: tuple[str, ...] = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
    "Emily", "Emma", "Olivia", "Sophia", "Isabella", "Charlotte", "Amelia", "Ava", "Mia", "Grace", "Chloe",
    "Hannah", "Lucy", "Rachel", "Laura", "Rebecca", "Megan", "Ella", "Isla", "Freya",
)  # fmt: skip
EN_GIVEN_MALE: tuple[str, ...] = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
    "Daniel", "Matthew", "Anthony", "Mark", "Steven", "Paul", "Andrew", "Joshua", "Oliver", "George",
    "Harry", "Jack", "Noah", "Liam", "Ethan", "Benjamin", "Samuel", "Henry", "Lucas", "Ryan",
)  # fmt: skip
EN_SURNAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White",
    "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill",
    "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Evans", "Roberts", "Turner", "Phillips",
    "Campbell", "Parker", "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan",
    "Cooper", "Hughes", "Wood", "Ward", "Patel", "Khan", "Singh", "Hernandez", "Lopez",
)  # fmt: skip


def zipf_weights(n: int, *, shift: float = 3.0) -> np.ndarray:
    """Return n normalised weights falling off like 1 / (rank + shift): a few names are very common."""
    w = 1.0 / (np.arange(n, dtype=np.float64) + shift)
    return w / w.sum()


def weights(values: ArrayLike) -> np.ndarray:
    """Return `values` normalised to sum to 1 (float64)."""
    w = np.asarray(values, dtype=np.float64)
    return w / w.sum()
