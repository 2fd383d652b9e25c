"""Chinese word lists and generators for synthetic place names and personal names.

The lists are characters common in Guangzhou place names (涌, 岗, 滘, 沥 ...) and the surnames most
frequent in Guangdong (陈, 李, 黄, 张, 梁 ...). Weights are rough ranks, not census figures: they
only make common names common.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

PLACE_FIRST = tuple("东南西北新龙凤石沙金华景珠云花黄白竹荔芳大长永丰富康宝裕兴明德瑞泰祥桂棠榕")
PLACE_SECOND = tuple("涌岗塘洲江岭田坑湖源平安和兴隆埔冈沥洞坪围口山苑庭湾溪桥园城港滘基")

SURNAMES = tuple(
    "陈李黄张梁林刘吴罗何郑杨周谢叶王赵冯朱邓钟曾许郭蔡潘彭卢苏麦余胡邱江区温莫方汤袁"
)
# Zipf-like weights: the first few surnames cover a large share of Guangdong residents
_SURNAME_WEIGHTS = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.9
SURNAME_P = _SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum()

GIVEN_MALE = tuple("伟强明军杰俊辉华健志国文斌海峰勇锋涛浩宇鹏嘉家永德荣锦培基耀昌炜宏立坤泽")
GIVEN_FEMALE = tuple("丽敏静燕芳婷玲霞娟慧红美欣雯怡琳洁萍秀凤嘉颖诗佩晓淑惠咏碧玉月")


def place_names(rng: np.random.Generator, n: int, taken: set[str] | None = None) -> list[str]:
    """Return ``n`` distinct two-character place words (e.g. 龙涌, 金沥) not already in ``taken``.

    ``taken`` is updated with the new words. Raises ValueError when fewer than ``n`` words are left.
    """
    taken = set() if taken is None else taken
    free = len(PLACE_FIRST) * len(PLACE_SECOND) - len(taken)
    if n > free:
        raise ValueError(f"only {free} place words left, {n} asked")
    out: list[str] = []
    while len(out) < n:
        first = rng.integers(0, len(PLACE_FIRST), size=2 * (n - len(out)) + 8)
        second = rng.integers(0, len(PLACE_SECOND), size=first.size)
        for a, b in zip(first, second, strict=True):
            word = PLACE_FIRST[a] + PLACE_SECOND[b]
            if word not in taken and PLACE_FIRST[a] != PLACE_SECOND[b]:
                taken.add(word)
                out.append(word)
                if len(out) == n:
                    break
    return out


def place_words(rng: np.random.Generator, n: int) -> list[str]:
    """Return ``n`` two-character place words, repeats allowed (for site and road names)."""
    first = rng.integers(0, len(PLACE_FIRST), size=n)
    second = rng.integers(0, len(PLACE_SECOND), size=n)
    return [PLACE_FIRST[a] + PLACE_SECOND[b] for a, b in zip(first, second, strict=True)]


def person_names(rng: np.random.Generator, male: NDArray[np.bool_]) -> list[str]:
    """Return one Chinese name per entry of ``male``: a surname and one or two given characters."""
    n = male.size
    surname = rng.choice(len(SURNAMES), size=n, p=SURNAME_P)
    two_chars = rng.random(n) < 0.75
    g1 = rng.integers(0, len(GIVEN_MALE), size=n)
    g2 = rng.integers(0, len(GIVEN_MALE), size=n)
    f1 = rng.integers(0, len(GIVEN_FEMALE), size=n)
    f2 = rng.integers(0, len(GIVEN_FEMALE), size=n)
    names: list[str] = []
    for i in range(n):
        if male[i]:
            given = GIVEN_MALE[g1[i]] + (GIVEN_MALE[g2[i]] if two_chars[i] else "")
        else:
            given = GIVEN_FEMALE[f1[i]] + (GIVEN_FEMALE[f2[i]] if two_chars[i] else "")
        names.append(SURNAMES[surname[i]] + given)
    return names
