"""Pick real posts about public matters from ../shared/data for labelling (the corpus's real slice).

    python corpus/tools/real_candidates.py --out .cache/real/candidates.jsonl [--n 1300]

Reads the training files only (never a test file that a benchmark reports on): RuSentiment (random and
preselected posts), RuSentiTweet train, SentiRuEval-2015 train (banks, telecoms), the Skoltech
inappropriate-messages val and test files, CEDR train and test. A text is a candidate when it names a public
matter (keywords) and is long enough to say something; candidates are then ranked by the shipped models'
reply scores, and the pick mixes the top of that ranking with a random draw of the rest, so that the slice
holds posts the models flag, posts they miss and posts that need no reply. Each candidate carries its pointer
(``file``, ``row``: the 0-based data row, or the <table> index of a SentiRuEval XML file) and the sha256 of
its text; the text goes only to the ignored output file, for the annotators.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from negmon.train.real import iter_source_rows  # noqa: E402

PUBLIC = re.compile(
    r"жкх|управляющ|\bук\b|жэк|тсж|отоплен|батаре|горяч\w* вод|холодн\w* вод|без воды|водоснаб|водоканал|канализ"
    r"|подъезд|лифт|крыш[аиуе]|дорог[аиуео]|\bям[аыу]\b|асфальт|тротуар|светофор|автобус|маршрутк|трамва"
    r"|троллейб|электричк|остановк|поликлин|больниц|врач|скор\w* помощ|лекарств|школ[аеуы]|детск\w* сад|садик"
    r"|мусор|свалк|двор[аеу]?\b|благоустр|пенси[яиюей]|пособи|соцзащ|льгот|свет[аy]? (?:нет|отключ|дали)"
    r"|газ[аеоу]?\b|газифик|администрац|губернатор|мэр[аиуе]?\b|глав[аеуы] (?:район|город|поселен)|чиновник"
    r"|депутат|полици|пожар|затоп|потоп|собак|стройк|застройщ|дольщик|аварийн|интернет|связь|связи|мфц"
    r"|госуслуг|налог|цены|зарплат|жалоб|обращени|прокуратур|роспотреб|тариф|квитанц|снег|гололед|гололёд"
    r"|пробк|парковк|почт[аеуы]|библиотек|\bдк\b|роддом|прививк|вакцин",
    re.I,
)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / ".cache" / "real" / "candidates.jsonl")
    ap.add_argument("--n", type=int, default=1300)
    ap.add_argument("--seed", type=int, default=29)
    a = ap.parse_args()
    from negmon import Classifier

    rows = [r for r in iter_source_rows() if 40 <= len(r["text"]) <= 2000 and PUBLIC.search(r["text"])]
    seen: set[str] = set()
    uniq = []
    for r in rows:
        k = re.sub(r"\W+", " ", r["text"].lower()).strip()
        if k not in seen:
            seen.add(k)
            uniq.append(r)
    print(f"{len(uniq)} keyword candidates", file=sys.stderr)
    fast = Classifier.load("fast")
    fs = [x.reply_score or 0.0 for x in fast.classify_batch([r["text"] for r in uniq], batch_size=256)]
    rng = random.Random(a.seed)
    # the default model scores the top of the fast ranking and a random share of the rest
    order = sorted(range(len(uniq)), key=lambda i: -fs[i])
    pool = order[:2500] + rng.sample(order[2500:], min(1500, max(0, len(order) - 2500)))
    default = Classifier.load("default")
    ds = {i: (x.reply_score or 0.0) for i, x in zip(pool, default.classify_batch([uniq[i]["text"] for i in pool],
                                                                                   batch_size=64), strict=True)}
    score = {i: (ds[i] + fs[i]) / 2 for i in pool}
    ranked = sorted(pool, key=lambda i: -score[i])
    top = ranked[: a.n // 2]
    rest = rng.sample(ranked[a.n // 2 :], min(a.n - len(top), len(ranked) - len(top)))
    # at most a fifth from the bank and telecom tweets, which are many and alike
    pick, per_src = [], {}
    for i in top + rest:
        src = uniq[i]["file"].split("/")[1]
        if src == "sentirueval-2015" and per_src.get(src, 0) >= a.n // 5:
            continue
        per_src[src] = per_src.get(src, 0) + 1
        pick.append(i)
    rng.shuffle(pick)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with a.out.open("w", encoding="utf-8") as fh:
        for k, i in enumerate(pick):
            r = uniq[i]
            fh.write(json.dumps({"key": f"c{k:04d}", "file": r["file"], "row": r["row"],
                                 "sha256": hashlib.sha256(r["text"].encode()).hexdigest(), "text": r["text"],
                                 "score_default": round(ds[i], 4), "score_fast": round(fs[i], 4)},
                                ensure_ascii=False) + "\n")
    print(f"wrote {len(pick)} candidates to {a.out}: {per_src}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
