"""Readers for the labelled data negmon trains and evaluates on.

Third-party sets are read from the ``shared/data`` folder beside the checkout (or ``$NEGMON_SHARED_DATA``);
they are never copied into the repository. Every reader returns plain records::

    {"text": str, "sentiment": str | None, "topic": str | None, "needs_reply": bool | None,
     "priority": str | None, "source": str}

Sentiment labels follow TAXONOMY.md: RuSentiment-style ``speech`` (thanks, greetings, congratulations) is
``positive`` in training, as the RuSentiment guidelines describe it; ``skip`` rows are dropped. Test files
are read with the three classes only (``speech`` and ``skip`` rows dropped), the usual 3-class protocol.
"""

from __future__ import annotations

import csv
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from negmon.errors import InputError

__all__ = [
    "SENTIMENTS",
    "TOPICS",
    "dedupe",
    "is_realistic",
    "load_corpus",
    "load_open_sentiment",
    "load_rusentiment",
    "load_rusentitweet",
    "load_sentirueval",
    "shared_data_dir",
    "text_key",
]

SENTIMENTS = ("negative", "neutral", "positive")
TOPICS = (
    "housing_utilities",
    "roads",
    "public_transport",
    "healthcare",
    "education",
    "waste",
    "landscaping",
    "social_support",
    "energy",
    "ecology",
    "animals",
    "safety",
    "construction",
    "communications",
    "culture_sport",
    "economy_trade",
    "government",
    "other",
)
Record = dict[str, Any]
REPO = Path(__file__).resolve().parents[3]


def shared_data_dir() -> Path | None:
    """``$NEGMON_SHARED_DATA`` or ``../shared/data`` beside the repository; None when absent."""
    env = os.environ.get("NEGMON_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


def _need_shared() -> Path:
    d = shared_data_dir()
    if d is None:
        raise InputError(
            "the shared data folder was not found: set NEGMON_SHARED_DATA or place shared/ beside the repo"
        )
    return d


def _record(text: str, sentiment: str | None, source: str, **kw: Any) -> Record:
    return {
        "text": text,
        "sentiment": sentiment,
        "topic": kw.get("topic"),
        "needs_reply": kw.get("needs_reply"),
        "priority": kw.get("priority"),
        "source": source,
    }


def _sentiment(label: str, split: str) -> str | None:
    if label in SENTIMENTS:
        return label
    if label == "speech" and split == "train":
        return "positive"
    return None


def load_rusentiment(split: str) -> list[Record]:
    """RuSentiment (VK posts): ``train`` = random + preselected posts, ``test`` = the official test file."""
    d = _need_shared() / "sentiment" / "rusentiment"
    files = {
        "train": ["rusentiment_random_posts.csv", "rusentiment_preselected_posts.csv"],
        "test": ["rusentiment_test.csv"],
    }[split]
    out = []
    for f in files:
        with open(d / f, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                s = _sentiment(row["label"], split)
                if s and row["text"].strip():
                    out.append(_record(row["text"], s, f"rusentiment/{split}"))
    return out


def load_rusentitweet(split: str) -> list[Record]:
    """RuSentiTweet (tweets of 2020): ``train`` or ``test``."""
    path = _need_shared() / "sentiment" / "rusentitweet" / f"rusentitweet_{split}.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        return [
            _record(row["text"], s, f"rusentitweet/{split}")
            for row in csv.DictReader(fh)
            if (s := _sentiment(row["label"], split)) and row["text"].strip()
        ]


def load_sentirueval(split: str) -> list[Record]:
    """SentiRuEval-2015 tweets about banks and telecom operators.

    A tweet's label comes from its companies' values: all -1 (or -1 and 0) -> negative, +1 (and 0) ->
    positive, all 0 -> neutral; tweets with both -1 and +1, or odd values only, are dropped.
    """
    d = _need_shared() / "sentiment" / "sentirueval-2015"
    name = {"train": "train.xml", "test": "test_etalon.xml"}[split]
    out = []
    for domain in ("banks", "telecoms"):
        root = ET.parse(d / domain / name).getroot()
        for table in root.iter("table"):
            cols = {c.get("name"): (c.text or "") for c in table.iter("column")}
            text = cols.pop("text", "")
            for k in ("id", "twitid", "date"):
                cols.pop(k, None)
            vals = {v.strip() for v in cols.values()} & {"-1", "0", "1"}
            if not vals or not text.strip() or {"-1", "1"} <= vals:
                continue
            s = "negative" if "-1" in vals else "positive" if "1" in vals else "neutral"
            out.append(_record(text, s, f"sentirueval/{domain}/{split}"))
    return out


def load_open_sentiment() -> list[Record]:
    """OpenSentimentCorpus sentences labelled by majority (``mixed`` dropped); training only."""
    path = (
        _need_shared() / "sentiment" / "open-sentiment-corpus" / "opensentimentcorpus-final-by-majority.csv"
    )
    with open(path, encoding="utf-8", newline="") as fh:
        return [
            _record(row["Sentence"], row["Sentiment"], "open-sentiment")
            for row in csv.DictReader(fh)
            if row["Sentiment"] in SENTIMENTS
        ]


def load_corpus(split: str | None = None, folder: Path | None = None, pattern: str = "*.jsonl") -> list[Record]:
    """The project's own labelled posts (``corpus/posts/*.jsonl``), all heads; ``split`` is train or dev."""
    folder = folder or REPO / "corpus" / "posts"
    out = []
    for f in sorted(folder.glob(pattern)):
        for line in f.read_text("utf-8").splitlines():
            if not line.strip():
                continue
            p = json.loads(line)
            if split and p.get("split") != split:
                continue
            out.append(
                _record(
                    p["text"],
                    p["sentiment"],
                    f"corpus/{p.get('split', '?')}",
                    topic=p["topic"],
                    needs_reply=p["needs_reply"],
                    priority=p["priority"],
                )
                | {"id": p["id"], "file": f.stem}
            )
    return out


REALISTIC_FILES = ("real_", "cf_")


def is_realistic(record: Record) -> bool:
    """True for corpus posts written the way residents write (``corpus/REALISTIC.md``): batch 3
    (``posts/real_*.jsonl``) and the counterfactual rewrites (``posts/cf_*.jsonl``)."""
    return str(record.get("file", "")).startswith(REALISTIC_FILES)


_KEY_STRIP = re.compile(r"https?://\S+|@\w+|[^\w]+")


def text_key(text: str) -> str:
    """A key under which near-identical texts (case, punctuation, links, mentions) collide."""
    return _KEY_STRIP.sub(" ", text.lower().replace("ё", "е")).strip()


def dedupe(records: Iterable[Record], exclude: Iterable[str] = ()) -> list[Record]:
    """Drop repeated texts (first kept) and every text whose key is in ``exclude`` (e.g. test sets)."""
    seen = {text_key(t) for t in exclude}
    out = []
    for r in records:
        k = text_key(r["text"])
        if k and k not in seen:
            seen.add(k)
            out.append(r)
    return out


# Words that mark a post as possibly about a public matter; such posts are never taken as topic "other".
_PUBLIC = re.compile(
    r"жкх|управляющ|отоплен|батаре|горяч\w* вод|холодн\w* вод|водоснаб|водоканал|канализ|подъезд|лифт|крыш"
    r"|дорог|ямы|яма|асфальт|тротуар|светофор|автобус|маршрут|трамва|троллейб|электричк|остановк"
    r"|поликлин|больниц|врач|скор\w* помощ|лекарств|школ|детск\w* сад|садик|учител|мусор|свалк|помойк"
    r"|двор|благоустр|пенси|пособи|соцзащ|льгот|электричеств|свет\w* отключ|газ[аеоу]?\b|газифик"
    r"|администрац|губернатор|мэр|глав\w* район|чиновник|депутат|власт|полици|пожар|затоп|наводнен"
    r"|собак|стройк|застройщ|дольщик|аварийн|интернет|связ[ьи]|мфц|госуслуг|налог|цены|зарплат|жалоб"
    r"|обращени|выборы|путин|президент|правительств|кабмин|карантин|город|сел[оа]\b|район|област",
    re.I,
)


def is_public_matter_candidate(text: str) -> bool:
    """True when a text mentions anything that might be a public matter (used to keep 'other' clean)."""
    return bool(_PUBLIC.search(text))


def sentiment_pool(sets: Iterable[str]) -> list[Record]:
    """Training records of the named sentiment sets (see :data:`negmon.train.config.SENTIMENT_SETS`)."""
    loaders = {
        "rusentiment": lambda: load_rusentiment("train"),
        "rusentitweet": lambda: load_rusentitweet("train"),
        "sentirueval": lambda: load_sentirueval("train"),
        "open_sentiment": load_open_sentiment,
    }
    out: list[Record] = []
    for s in sets:
        out += loaders[s]()
    return out


def test_texts() -> list[str]:
    """Every text of every test or dev file negmon reports on; removed from all training data."""
    texts = [
        r["text"] for r in load_rusentiment("test") + load_rusentitweet("test") + load_sentirueval("test")
    ]
    # the raw test files also hold speech/skip rows, which the 3-class readers drop: exclude them too
    d = _need_shared() / "sentiment"
    for path, col in (
        (d / "rusentiment" / "rusentiment_test.csv", "text"),
        (d / "rusentitweet" / "rusentitweet_test.csv", "text"),
    ):
        with open(path, encoding="utf-8", newline="") as fh:
            texts += [row[col] for row in csv.DictReader(fh)]
    return texts


def training_records(
    sets: Iterable[str], *, corpus: bool, corpus_folder: Path | None, other_from_sentiment: int, seed: int,
    real: bool = False, corpus_exclude: Iterable[str] = (),
) -> tuple[list[Record], list[Record]]:
    """(train, dev) records for all heads.

    Train: the sentiment sets (deduplicated, every test text removed, corpus dev texts removed), the corpus
    train split, and ``other_from_sentiment`` real posts of RuSentiment/RuSentiTweet that mention no public
    matter, labelled topic ``other`` / needs_reply false. Dev: the corpus dev split plus a 5% stratified
    hold-out of the sentiment pool (for choosing hyper-parameters and early stopping). With ``real``, the real
    slice (``corpus/real/labels.jsonl``: real posts of ../shared/data labelled by the project) adds its train
    half to train and its dev half to dev, and none of its texts stays in the sentiment pool.
    """
    import random

    rng = random.Random(seed)
    drop = tuple(corpus_exclude)
    corpus_train = [r for r in load_corpus("train", corpus_folder) if not drop or not r["file"].startswith(drop)] if corpus else []
    corpus_dev = [r for r in load_corpus("dev", corpus_folder) if not drop or not r["file"].startswith(drop)] if corpus else []
    real_train: list[Record] = []
    real_dev: list[Record] = []
    if real:
        from negmon.train.real import load_real

        real_train, real_dev = load_real("train"), load_real("dev")
    sets = list(sets)
    exclude = (test_texts() if sets or shared_data_dir() else []) + [r["text"] for r in corpus_dev + real_dev]
    pool = dedupe(sentiment_pool(sets), exclude=exclude + [r["text"] for r in corpus_train + real_train])
    rng.shuffle(pool)
    by_label: dict[str, list[Record]] = {}
    for r in pool:
        by_label.setdefault(r["sentiment"], []).append(r)
    sent_dev: list[Record] = []
    sent_train: list[Record] = []
    for rows in by_label.values():
        k = max(1, len(rows) // 20) if len(rows) > 1 else 0
        sent_dev += rows[:k]
        sent_train += rows[k:]
    if other_from_sentiment:
        cands = [
            i
            for i, r in enumerate(sent_train)
            if r["source"].startswith(("rusentiment", "rusentitweet"))
            and not is_public_matter_candidate(r["text"])
        ]
        for i in rng.sample(cands, min(other_from_sentiment, len(cands))):
            sent_train[i] = {**sent_train[i], "topic": "other", "needs_reply": False, "priority": None}
    train = sent_train + corpus_train + real_train
    rng.shuffle(train)
    return train, corpus_dev + real_dev + sent_dev
