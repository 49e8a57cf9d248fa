"""Measure the shape of posts against ../shared/REAL_POSTS.md: ``python corpus/tools/shape.py FILE [FILE ...]``.

Prints length quantiles and, per class (needs a reply / not), the shares of posts with a ``?``, an explicit
ask, three or more sentences, digits, first-person words, emoji and line breaks, beside the real figures.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ASK = re.compile(
    r"\b(прошу|просим|помогите|когда|кто|почему|подскажите|разберитесь|примите меры|требуем|"
    r"сколько можно|куда смотр\w*|что делать|обращаюсь|просьба|верните|уберите|сделайте|почините)\b", re.I)
FIRST = re.compile(r"\b(я|мы|у нас|мне|меня|мной|наш\w*|нам|нас|мой|моя|моё|мое|мои|моих|моему|моей)\b", re.I)
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")
DIGIT = re.compile(r"\d")
REAL = {
    "length p10/p25/p50/p75/p90/max": "114 / 186 / 295 / 444 / 569 / 1,011",
    "reply: ?": 0.29, "reply: explicit ask": 0.35, "reply: 3+ sentences": 0.71, "reply: digits": 0.57,
    "reply: line breaks": 0.17, "no reply: 3+ sentences": 0.75, "no reply: first person": 0.53,
    "no reply: emoji": 0.02, "no reply: line breaks": 0.28,
}


def sentences(text: str) -> int:
    """Number of sentences (razdel when installed, else a punctuation rule)."""
    try:
        from razdel import sentenize

        return sum(1 for s in sentenize(text) if s.text.strip())
    except ImportError:
        return len([s for s in re.split(r"(?<=[.!?…])\s+|\n+", text) if s.strip()])


def quantiles(values: list[int]) -> list[int]:
    v = sorted(values)
    return [v[min(len(v) - 1, int(q * len(v)))] for q in (0.1, 0.25, 0.5, 0.75, 0.9)] + [v[-1]]


def shape(posts: list[dict]) -> dict[str, object]:
    """The measures of REAL_POSTS.md for ``posts`` (dicts with ``text`` and ``needs_reply``)."""
    rep = [p["text"] for p in posts if p["needs_reply"]]
    nor = [p["text"] for p in posts if not p["needs_reply"]]

    def share(texts: list[str], f) -> float:
        return round(sum(1 for t in texts if f(t)) / max(1, len(texts)), 3)

    return {
        "posts (reply / no reply)": f"{len(posts)} ({len(rep)} / {len(nor)})",
        "length p10/p25/p50/p75/p90/max": " / ".join(str(x) for x in quantiles([len(p["text"]) for p in posts])),
        "reply: ?": share(rep, lambda t: "?" in t),
        "reply: explicit ask": share(rep, lambda t: bool(ASK.search(t))),
        "reply: 3+ sentences": share(rep, lambda t: sentences(t) >= 3),
        "reply: digits": share(rep, lambda t: bool(DIGIT.search(t))),
        "reply: line breaks": share(rep, lambda t: "\n" in t),
        "no reply: 3+ sentences": share(nor, lambda t: sentences(t) >= 3),
        "no reply: first person": share(nor, lambda t: bool(FIRST.search(t))),
        "no reply: emoji": share(nor, lambda t: bool(EMOJI.search(t))),
        "no reply: line breaks": share(nor, lambda t: "\n" in t),
    }


def main() -> int:
    posts = []
    for f in sys.argv[1:]:
        posts += [json.loads(x) for x in Path(f).read_text("utf-8").splitlines() if x.strip()]
    if not posts:
        print("usage: python corpus/tools/shape.py FILE.jsonl [...]")
        return 2
    print("| measure | these posts | real posts |\n| --- | --- | --- |")
    for k, v in shape(posts).items():
        print(f"| {k} | {v} | {REAL.get(k, '')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
