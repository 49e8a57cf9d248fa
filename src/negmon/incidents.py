"""Incidents: the problems behind the posts, where exactly, who must answer, and by when.

>>> tracker = IncidentTracker("incidents.db")                              # doctest: +SKIP
>>> tracker.add(scored_posts)          # dicts from `negmon score` or Results, with created_at  # doctest: +SKIP
>>> [(i.id, i.locality, i.address, i.post_count) for i in tracker.incidents(status="open")]  # doctest: +SKIP

A post that needs a reply joins an incident when it is linked to one of that incident's posts. Two posts can be
linked only when they are about the same place (the town the post's source is about, its ``city`` field; else
the first settlement the post names in its own region; else a town in the group's name) and were written within
``window_hours`` of each other; then a small logistic model (:func:`link_probability`, fitted on the dev part of
``corpus/incidents.jsonl`` by :mod:`negmon.train.incidents` and shipped as JSON in ``data/incident_link.json``)
weighs :data:`PAIR_FEATURES`: the cosine of their word-stem TF-IDF vectors (weights from the project's corpus,
``data/idf.json.gz``), the same topic and topic family (heat and power outages are one family, roads and yards
another; a topic the model left as ``other`` says little), hours apart, the same or different house, landmark,
street or part of town, the kind of trouble named (:data:`PROBLEMS`: "лифт" against "отопление"), route
numbers, and words by which a post sets itself apart ("это не про крышу", "другая котельная"); a probability of
at least ``threshold`` links them, except two posts that name different houses and share only troubles of a
building (roof, lift, sewage: :func:`other_buildings`). The links are between posts, not between a post and an
incident's summary, so the incidents are the connected groups of linked posts: the same whatever the order the
posts arrive in, and the same after a restart. A post that links two incidents merges them into the older one;
the merge is recorded and the absorbed id stays, with status ``merged``. Ids never change: an incident is named
after the post that opened it. A closed incident takes no post written after it was closed: the problem came
back, and that is a new incident.

Why single link: measured across the dev writers on the same link probabilities, average link run as a batch
groups better (writer-CV B-cubed F1 0.894 against 0.884), but it can split an incident when later posts arrive,
and incidents keep their posts and ids; a post joining the incident its mean probability favours, kept
incremental, gained 0.003 and depends on the order posts arrive in.

Why stems and not the encoder's sentence vector: grouping runs on already scored posts (``negmon score``'s
output), which do not carry the vector. Measured on the dev pairs (six writers), the default model's
mean-pooled vector alone ranks pairs better than the stems' cosine (ROC AUC 0.866 against 0.817), but beside
the other features it added 0.004 of writer-CV B-cubed F1 (0.871 -> 0.875, with the link model fitted on
unscaled features), within the spread of such runs and not worth 384 numbers on every scored post; lemmas
(pymorphy3) or character n-grams beside or in place of the stems gave 0.874-0.876.

Each incident is routed (:class:`Routing`, a TOML table from topic, and optionally region or municipality, to
the responsible bodies) and gets a deadline from its highest priority (urgent 2 hours, normal 24 by default);
an open incident past its deadline is ``overdue``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
import time
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from negmon.errors import InputError
from negmon.store import IncidentStore, SQLiteStore

__all__ = ["FAMILIES", "Incident", "IncidentTracker", "Routing"]

DATA = Path(__file__).resolve().parent / "data"
# topics whose posts may describe one problem under either label
FAMILIES: dict[str, str] = {
    "housing_utilities": "utilities", "energy": "utilities",
    "roads": "streets", "landscaping": "streets",
    "waste": "environment", "ecology": "environment",
}
PRIORITY_RANK = {None: 0, "normal": 1, "urgent": 2}
_WORD = re.compile(r"[а-яёa-z]+")
_ENDINGS = re.compile(
    r"(?:иями|ями|ами|ого|его|ому|ему|ыми|ими|ией|ов|ев|ей|ой|ий|ый|ая|яя|ое|ее|ые|ие|ую|юю|ом|ем|ам|ям|ах|ях|"
    r"а|я|о|е|ы|и|у|ю|ь|й)$")
_STOP_WORDS = """
и в во на не что как так это у с со к ко по за из от до о об а но же ли бы то же ну да нет уже еще ещё вот
все всё весь вся их его ее её мы вы они он она оно я мне нам нас вас им ему ей меня тебя себя свой свои наш
наши ваш ваши этот эта эти тот та те там тут здесь когда где куда почему зачем кто чем сколько очень
просто вообще опять снова даже только уж ведь сейчас сегодня вчера завтра потом тоже также был была были
было будет будут есть нету день дня дней неделю недели утром вечером ночью второй третий который которая
которые при для без под над про через после уже люди жители просим прошу помогите пожалуйста спасибо
"""
_STOP = frozenset(_STOP_WORDS.split())
_AREA = re.compile(r"\b(?:весь|вся|всё|все|всем|всей|всего|всю)\s+(?:район|микрорайон|город|поселок|посёлок|село|"
                   r"деревн|улиц|квартал|центр|заречн|дом)|\bпо всему\b|\bполгорода\b|\bпол района\b", re.I)

# a post that sets itself apart from another problem: "это не про крышу", "не та авария", "другая котельная"
_DISTINCT = re.compile(r"\bне (?:та|тот|те|про|связан\w*|имеет отношени\w*)\b|\bотдельн\w* (?:беда|проблем\w*|"
                       r"истори\w*|тем\w*|авари\w*)|\bдруг(?:ая|ой|ое|ие) (?:беда|проблем\w*|истори\w*|авари\w*|"
                       r"котельн\w*|подстанци\w*|конец)\b", re.I)


# what is broken, by its words: two posts about one building differ in this ("лифт" vs "отопление")
PROBLEMS: dict[str, str] = {
    "heating": r"отоплен|батаре|радиатор|теплотрасс|котельн|холодно в квартир|\bтепл[оа]\b|без тепла|стояк",
    "hot_water": r"горяч\w* вод|горячей нет|\bгвс\b",
    "cold_water": r"холодн\w* вод|без воды|воды нет|нет воды|водопровод|водоснабжен|водокачк|колонк",
    "dirty_water": r"ржав\w* вод|мутн|коричнев\w* вод|вода цвета|запах\w* из-под крана",
    "power": r"\bсвет[аеу]?\b|электр|обесточ|без света|фонари|отключени\w* энерг|трансформатор|подстанц",
    "lift": r"лифт",
    "roof": r"крыш|кровл|течёт с потолка|течет с потолка|протека|потолок",
    "sewage": r"канализ|стоки|подвал|затопил|фекал",
    "gas": r"\bгаз(?:а|ом|у|е)?\b|\bгазов|газоснабж|запах газа",
    "waste": r"мусор|контейнер|\bбаки\b|\bбаков\b|вывоз|свалк|\bтко\b|регоператор",
    "road": r"\bям[аыуе]?\b|ямы|асфальт|дорог[аиу]\b|выбоин|колея|ямочн",
    "snow": r"снег|налед|наледь|гололед|гололёд|сосульк|не чист|не убира",
    "transport": r"автобус|маршрут|троллейбус|трамва|электричк|рейс|остановк",
    "traffic_light": r"светофор",
    "smell": r"запах|вонь|воняет|дым|выброс|смог",
    "animals": r"собак|кошк|стая|укус|бездомн",
    "playground": r"качел|площадк\w* детск|детск\w* площадк|горк",
    "healthcare": r"врач|педиатр|терапевт|поликлиник|талон|скорая|больниц|\bзапис\w* (?:к|на при)",
    "school": r"школ|\bкласс(?:а|е|ы|ов)?\b|учител|детсад|детский сад|садик",
    "internet": r"интернет|связь|(?<!в )связи|вышк|сотов",
    "trees": r"дерев(?!н)|ветк",
    "building": r"заброш|аварийн\w* дом|обрушен|трещин",
    "noise": r"шум|громк|музык",
}
_PROBLEM_RES = {k: re.compile(v) for k, v in PROBLEMS.items()}  # on lower-case text
_ROUTE = re.compile(r"(?:автобус\w*|маршрут\w*|маршрутк\w*|троллейбус\w*|трамва\w*|рейс\w*)\s*№?\s*(\d{1,4})"
                    r"|\b(\d{1,4})-?(?:й|го|м)\s+(?:автобус|маршрут|троллейбус|трамвай)", re.I)


# troubles of one building: the same one at two houses is two incidents (a power or water outage may span streets)
BUILDING_TROUBLES = frozenset({"lift", "roof", "sewage", "building"})
_NOT_ABOUT = re.compile(r"\bне (?:про|о|об|из-за) \w+")


def problems(text: str) -> list[str]:
    """The kinds of trouble a post speaks of (:data:`PROBLEMS`; not those it says it is not about: "это не про
    крышу"), and its route numbers as ``route:N``."""
    low = _NOT_ABOUT.sub(" ", text.lower().replace("ё", "е"))
    found = [k for k, r in _PROBLEM_RES.items() if r.search(low)]
    found += [f"route:{m.group(1) or m.group(2)}" for m in _ROUTE.finditer(low)]
    return sorted(set(found))


def _stem(word: str) -> str:
    return _ENDINGS.sub("", word)[:6] if len(word) > 3 else word


def stems(text: str) -> list[str]:
    """The content-word stems of a text (lower case, stop words out, endings cut, at most six letters)."""
    return sorted({_stem(w) for w in _WORD.findall(text.lower().replace("ё", "е")) if w not in _STOP and len(w) > 2})


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    data = json.loads(gzip.decompress((DATA / "idf.json.gz").read_bytes()))
    n = data["documents"]
    weights = {s: math.log((n + 1) / (df + 1)) + 1 for s, df in data["df"].items()}
    return weights, math.log(n + 1) + 1


def _vector(terms: Sequence[str]) -> dict[str, float]:
    return _vector_of(tuple(terms))


@lru_cache(maxsize=65536)
def _vector_of(terms: tuple[str, ...]) -> dict[str, float]:
    weights, unseen = _idf()
    v = {t: weights.get(t, unseen) for t in terms}
    norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
    return {t: x / norm for t, x in v.items()}


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(t, 0.0) for t, x in a.items())


def _without(text: str, addresses: Sequence[Mapping[str, Any]]) -> str:
    """``text`` with its streets and houses blanked: the address features compare them, the words should not."""
    spans = sorted((a["start"], a["end"]) for a in addresses
                   if isinstance(a.get("start"), int) and isinstance(a.get("end"), int))
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        if start >= last:
            out.append(text[last:start])
            last = end
    return " ".join([*out, text[last:]])


def _time(value: Any, where: str) -> float:
    if isinstance(value, datetime):
        d = value
    elif isinstance(value, str) and value.strip():
        try:
            d = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"{where}: created_at must be an ISO 8601 time such as 2026-11-03T07:45:00+03:00, "
                             f"got {value[:40]!r}") from None
    else:
        raise InputError(f"{where}: created_at is required to group posts into incidents, got {value!r}")
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)  # a time without a zone is read as UTC
    return d.timestamp()


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


PAIR_FEATURES = ("cosine", "same_topic", "same_family", "hours_apart", "same_house", "other_house",
                 "same_street", "other_street", "same_part", "area", "same_source", "cosine_same_family",
                 "same_problem", "other_problem", "same_route", "other_route", "problem_jaccard", "distinct",
                 "street_other_house", "house_other_problem", "topic_unknown")


# a topic the model could not name: a mismatch with it says little ("Коммунистическая — дали и снова вырубили")
_UNKNOWN = frozenset({"other", None})




def _by_name(addresses: Sequence[str]) -> frozenset[str]:
    """Streets and houses by name, without the street's type: a resident who writes "Серова 7" and one who writes
    "проспект Серова, 7" name one house."""
    return _names(tuple(addresses))


@lru_cache(maxsize=65536)
def _names(addresses: tuple[str, ...]) -> frozenset[str]:
    from negmon.addresses import STREET_TYPES

    return frozenset(x.split(" ", 1)[1] if x.split(" ", 1)[0] in STREET_TYPES else x for x in addresses)


def other_buildings(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two posts name different houses and share only troubles of a building (roof, lift, sewage): two
    incidents whatever their words share, so the tracker never links them."""
    if not (a["houses"] and b["houses"]) or _by_name(a["houses"]) & _by_name(b["houses"]):
        return False
    shared = {x for x in a["problems"] if not x.startswith("route:")} & set(b["problems"])
    return bool(shared) and shared <= BUILDING_TROUBLES


def pair_features(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[float]:
    """What the link model sees of two posts (their stored features): see :data:`PAIR_FEATURES`."""
    houses = bool(_by_name(a["houses"]) & _by_name(b["houses"]))
    streets = bool(_by_name(a["streets"]) & _by_name(b["streets"]))
    area = bool(a["area"] or b["area"])
    cos = _cosine(_vector(a["terms"]), _vector(b["terms"]))
    family = float(a["family"] == b["family"])
    pa = {x for x in a["problems"] if not x.startswith("route:")}
    pb = {x for x in b["problems"] if not x.startswith("route:")}
    ra = {x for x in a["problems"] if x.startswith("route:")}
    rb = {x for x in b["problems"] if x.startswith("route:")}
    return [cos, float(a["topic"] == b["topic"]), family, abs(a["created_at"] - b["created_at"]) / 3600 / 72,
            float(houses), float(bool(a["houses"] and b["houses"] and not houses and not area)),
            float(streets), float(bool(a["streets"] and b["streets"] and not streets and not area)),
            float(bool(set(a["micro"]) & set(b["micro"]))), float(area),
            float(a.get("source") is not None and a.get("source") == b.get("source")), cos * family,
            float(bool(pa & pb)), float(bool(pa and pb and not pa & pb)), float(bool(ra & rb)),
            float(bool(ra and rb and not ra & rb)), len(pa & pb) / len(pa | pb) if pa | pb else 0.0,
            float(bool(a.get("distinct") or b.get("distinct"))),
            float(bool(streets and a["houses"] and b["houses"] and not houses)),
            float(bool(houses and pa and pb and not pa & pb)),
            float(a["topic"] in _UNKNOWN or b["topic"] in _UNKNOWN)]


@lru_cache(maxsize=1)
def _fitted() -> dict[str, Any]:
    """``data/incident_link.json``: the link model's weights, bias and threshold."""
    return json.loads((DATA / "incident_link.json").read_text("utf-8"))  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _link_model() -> tuple[list[float], float]:
    m = _fitted()
    if m["features"] != list(PAIR_FEATURES):
        raise InputError("data/incident_link.json was fitted on other pair features: refit it "
                         "(python -m negmon.train.incidents)")
    return m["weights"], m["bias"]


def link_probability(x: Sequence[float]) -> float:
    """The link model's probability that two posts are about one incident (a logistic model fitted on the dev
    part of corpus/incidents.jsonl by :mod:`negmon.train.incidents`, shipped as JSON)."""
    w, b = _link_model()
    z = b + sum(wi * xi for wi, xi in zip(w, x, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@lru_cache(maxsize=4096)
def _town(name: str, region: str | None, *, gazetteer_only: bool = False) -> tuple[str, str | None] | None:
    """(name, region) of the settlement a name denotes (a source's city, a word of a group's name), cached: a
    stream repeats the same few sources. Said alone, a name can read as a word or a surname to the extractor
    ("Муром", "Ковров"), so it is also read as "г. <name>"."""
    from negmon.localities import extract_localities

    for text in (name, f"г. {name.strip()}"):
        for x in extract_localities(text, region=region):
            if x.kind in ("city", "town", "village") and (x.lat is not None or not gazetteer_only):
                return x.name, x.region
    return None


class Routing:
    """Who must answer and by when: a TOML table (``data/routing.toml`` by default; a file of your own is laid
    over it, so it needs only what differs).

    ``[deadlines]`` hours per priority; ``[topics]`` topic -> list of bodies for any region (``default`` for
    topics not listed); ``[regions."<subject>".topics]`` and ``[municipalities."<settlement>".topics]``
    override them. ``{region}`` and ``{locality}`` in a body's name are filled in.

    >>> Routing().bodies("roads", "Нижегородская область", "Кстово")[0]
    'муниципальная дорожная служба (Кстово)'
    """

    def __init__(self, path: str | Path | None = None) -> None:
        table = tomllib.loads((DATA / "routing.toml").read_text("utf-8"))
        if path is not None:
            try:
                own = tomllib.loads(Path(path).read_text("utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as e:
                raise InputError(f"routing table {path}: {e}") from None
            for section in ("deadlines", "topics"):
                table.setdefault(section, {}).update(own.get(section, {}))
            for section in ("regions", "municipalities"):
                for name, body in own.get(section, {}).items():
                    table.setdefault(section, {}).setdefault(name, {}).setdefault("topics", {}).update(
                        body.get("topics", {}))
        self.table = table
        hours = table.get("deadlines", {})
        try:
            self.deadlines = {k: float(v) * 3600 for k, v in hours.items()}
        except (TypeError, ValueError):
            raise InputError(f"[deadlines] takes hours as numbers, got {hours}") from None

    def bodies(self, topic: str | None, region: str | None, locality: str | None) -> list[str]:
        """The bodies responsible for ``topic`` in ``locality`` of ``region``, most specific table first."""
        t = self.table
        scopes = [t.get("municipalities", {}).get(locality or "", {}).get("topics", {}),
                  t.get("regions", {}).get(region or "", {}).get("topics", {}), t.get("topics", {})]
        found: list[str] = next((x[topic] for x in scopes if topic in x), [])
        if not found:
            found = next((x["default"] for x in scopes if "default" in x), [])
        return [b.format(region=region or "регион", locality=locality or "населённый пункт") for b in found]

    def deadline(self, first_seen: float, priority: str | None) -> float | None:
        """When an incident of that highest priority must be answered."""
        hours = self.deadlines.get(priority or "normal")
        return None if hours is None else first_seen + hours


@dataclass(frozen=True)
class Incident:
    """One problem at one place, with the posts about it."""

    id: str
    topic: str | None
    locality: str | None
    region: str | None
    address: str | None
    first_seen: str
    last_seen: str
    post_count: int
    max_priority: str | None
    representative: str | None
    status: str
    bodies: tuple[str, ...]
    deadline: str | None
    overdue: bool
    posts: tuple[str, ...] = ()
    merged_into: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types only."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "extra"}
        d["bodies"], d["posts"] = list(self.bodies), list(self.posts)
        return d


@dataclass
class _Prepared:
    id: str
    created_at: float
    place: str
    family: str
    topic: str | None
    priority: str | None
    features: dict[str, Any]


class IncidentTracker:
    """Groups scored posts that need a reply into incidents kept in ``store`` (a path: an SQLite file).

    ``window_hours``: how far apart in time two linked posts may be; ``threshold``: the link model's
    probability two posts need to be linked (:func:`link_probability`); ``routing``: a :class:`Routing` or a
    TOML file.
    """

    def __init__(self, store: str | Path | IncidentStore, *, routing: str | Path | Routing | None = None,
                 window_hours: float = 72.0, threshold: float | None = None) -> None:
        self.store: IncidentStore = SQLiteStore(store) if isinstance(store, str | Path) else store
        self.routing = routing if isinstance(routing, Routing) else Routing(routing)
        if threshold is None:
            threshold = float(_fitted()["threshold"])
        if not window_hours > 0 or not 0 < threshold < 1:
            raise InputError(f"window_hours must be > 0 and threshold in (0, 1), got {window_hours}, {threshold}")
        self.window = window_hours * 3600
        self.threshold = threshold

    # ------------------------------------------------------------ input

    def prepare(self, post: Any, where: str = "post") -> _Prepared | None:
        """The features of one scored post, or None when it needs no reply. Raises InputError for a post that
        cannot be grouped (no text, no created_at, no topic)."""
        d = post.as_dict() if hasattr(post, "as_dict") else post
        if not isinstance(d, Mapping):
            raise TypeError(f"{where}: a scored post must be a mapping or a negmon.Result, got {type(post).__name__}")
        if not d.get("needs_reply"):
            return None
        text = d.get("text")
        if not isinstance(text, str):
            raise InputError(f"{where}: a scored post needs its text (str), got {type(text).__name__}")
        ts = _time(d.get("created_at"), where)
        topic = d.get("topic")
        if topic is not None and not isinstance(topic, str):
            raise InputError(f"{where}: topic must be a string, got {type(topic).__name__}")
        post_id = d.get("id")
        post_id = str(post_id) if post_id not in (None, "") else \
            "sha1:" + hashlib.sha1(f"{d.get('created_at')}\n{text}".encode()).hexdigest()[:16]
        locality, region, parts = self._place(d, text)
        addresses = d.get("addresses")
        if addresses is None:
            from negmon.addresses import extract_addresses

            addresses = [a.as_dict() for a in extract_addresses(text)]
        houses = sorted({a["normalized"] for a in addresses if a.get("kind") == "street" and a.get("house")}
                        | {a["normalized"] for a in addresses if a.get("kind") == "landmark"})
        streets = sorted({a.get("street") or a["normalized"] for a in addresses if a.get("kind") == "street"})
        micro = sorted({a["normalized"] for a in addresses if a.get("kind") == "microdistrict"} | set(parts))
        source = d.get("source") if isinstance(d.get("source"), str) else None
        place = f"{region or ''}|{locality.lower()}" if locality else f"source|{source}" if source else \
            f"region|{region}" if region else "?"
        priority = d.get("priority") if d.get("priority") in ("urgent", "normal") else "normal"
        words = _NOT_ABOUT.sub(" ", _without(text, addresses).lower())  # not the address, not what it is not about
        features = {"terms": stems(words), "problems": problems(text), "houses": houses, "streets": streets,
                    "micro": micro,
                    "topic": topic, "family": FAMILIES.get(topic or "", topic or "other"), "source": source,
                    "area": bool(_AREA.search(text)),
                    "distinct": bool(_DISTINCT.search(text)), "locality": locality, "region": region,
                    "address": houses[0] if houses else streets[0] if streets else micro[0] if micro else None,
                    "text": text[:500]}
        return _Prepared(post_id, ts, place, FAMILIES.get(topic or "", topic or "other"), topic, priority, features)

    @staticmethod
    def _place(d: Mapping[str, Any], text: str) -> tuple[str | None, str | None, list[str]]:
        """(settlement, region, parts of town): the town the post's source is about (its ``city`` field), else
        the first settlement the post names, else a town its source's name names."""
        from negmon.localities import extract_localities

        region = d.get("region") if isinstance(d.get("region"), str) and d.get("region") else None
        locs = d.get("localities")
        if locs is None:
            try:
                city = d.get("city") if isinstance(d.get("city"), str) else None
                locs = [x.as_dict() for x in extract_localities(text, region=region, city=city)]
            except InputError:
                locs = [x.as_dict() for x in extract_localities(text, region=region)]
        parts = [x["name"] for x in locs if x.get("kind") in ("city_part", "city_district") and x.get("city")]
        city = d.get("city")
        if isinstance(city, str) and city.strip():
            own = _town(city, region)
            if own:
                return own[0], own[1] or region, parts
        for x in locs:
            if region and x.get("region") and x["region"] != region:
                continue  # the post's own region is known: a namesake elsewhere ("по Красной": Красне) is not it
            if x.get("kind") in ("city", "town", "village"):
                return x["name"], x.get("region") or region, parts
            if x.get("kind") in ("city_part", "city_district") and x.get("city"):
                return x["city"], x.get("region") or region, parts
        source = d.get("source")
        if isinstance(source, str) and source.strip():
            # "Подслушано Белебей", "Жалобы Кстово": a capitalised word of the group's name that is a known town
            for word in re.findall(r"[А-ЯЁ][а-яё]+(?:-[А-ЯЁа-яё][а-яё]+)*", source):
                known = _town(word, region, gazetteer_only=True)
                if known:
                    return known[0], known[1] or region, parts
        return None, region or next((x.get("region") for x in locs if x.get("region")), None), parts

    # ------------------------------------------------------------ grouping

    def _linked(self, p: _Prepared, near: list[dict[str, Any]]) -> set[str]:
        """The open incidents one of whose posts of the window links to ``p``."""
        a = p.features | {"created_at": p.created_at}
        return {n["incident"] for n in near if abs(p.created_at - n["created_at"]) <= self.window
                and not other_buildings(a, n) and link_probability(pair_features(a, n)) >= self.threshold
                and self._open(n["incident"], p.created_at)}

    def add(self, posts: Iterable[Any], *, batch_size: int = 500) -> list[str | None]:
        """Add scored posts (mappings as ``negmon score`` writes them, or Results, each with ``created_at``);
        returns each post's incident id (None for a post that needs no reply). A post already stored keeps its
        incident: adding it again changes nothing."""
        out: list[str | None] = []
        batch: list[Any] = []
        for p in posts:
            batch.append(p)
            if len(batch) == batch_size:
                out.extend(self._add_batch(batch, len(out)))
                batch = []
        if batch:
            out.extend(self._add_batch(batch, len(out)))
        return out

    def _add_batch(self, posts: list[Any], offset: int) -> list[str | None]:
        prepared = [self.prepare(p, f"post #{offset + i}") for i, p in enumerate(posts)]
        result: list[str | None] = [None] * len(posts)
        with self.store.transaction():
            known = self.store.known([p.id for p in prepared if p is not None])
            now = time.time()
            for i, p in enumerate(prepared):
                if p is None:
                    continue
                if p.id in known:
                    result[i] = self.store.incident_of(p.id)
                    continue
                near = self.store.neighbours(p.place, p.created_at - self.window, p.created_at + self.window)
                linked = self._linked(p, near)
                if not linked:
                    incident = "INC-" + hashlib.sha1(p.id.encode()).hexdigest()[:10].upper()
                else:
                    ranked = sorted(linked, key=lambda x: (self._first_seen(x), x))
                    incident = ranked[0]
                    for other in ranked[1:]:
                        self.store.move_posts(other, incident)
                        row = self.store.incident(other) or {}
                        self.store.put_incident({**row, "status": "merged", "merged_into": incident,
                                                 "post_count": 0, "updated_at": now})
                        self.store.record_merge(incident, other, p.id, now)
                self.store.add_post({"id": p.id, "created_at": p.created_at, "place": p.place, "family": p.family,
                                     "incident": incident, "topic": p.topic, "priority": p.priority,
                                     "features": p.features, "added_at": now})
                known.add(p.id)
                self._refresh(incident, now)
                result[i] = incident
        return result

    def _first_seen(self, incident: str) -> float:
        row = self.store.incident(incident)
        return float(row["first_seen"]) if row else math.inf

    def _open(self, incident: str, at: float) -> bool:
        """A closed incident takes no post written after it was closed: the problem came back."""
        row = self.store.incident(incident)
        return row is None or row["status"] != "closed" or (row["closed_at"] or math.inf) > at

    def _refresh(self, incident: str, now: float) -> None:
        """Recompute an incident's summary from its posts."""
        posts = self.store.posts_of(incident)
        if not posts:
            return
        old = self.store.incident(incident) or {}
        topic = Counter(p["topic"] for p in posts).most_common(1)[0][0]
        family = FAMILIES.get(topic or "", topic or "other")
        address = Counter(p["address"] for p in posts if p.get("address")).most_common(1)
        locality = next((p["locality"] for p in posts if p.get("locality")), None)
        region = next((p["region"] for p in posts if p.get("region")), None)
        top = max(PRIORITY_RANK[p["priority"]] for p in posts)
        priority = next(k for k, v in PRIORITY_RANK.items() if v == top)
        first = min(p["created_at"] for p in posts)
        representative = min((p for p in posts if PRIORITY_RANK[p["priority"]] == top),
                             key=lambda p: (p["created_at"], p["id"]))["id"]
        place = f"{region or ''}|{locality.lower()}" if locality else old.get("place", "?")
        self.store.put_incident({
            **old, "id": incident, "topic": topic, "family": family, "place": place, "locality": locality,
            "region": region, "address": address[0][0] if address else None, "first_seen": first,
            "last_seen": max(p["created_at"] for p in posts), "post_count": len(posts), "max_priority": priority,
            "representative": representative, "status": old.get("status") or "open",
            "bodies": self.routing.bodies(topic, region, locality),
            "deadline": self.routing.deadline(first, priority), "updated_at": now,
        })

    # ------------------------------------------------------------ reading and status

    def _incident(self, row: dict[str, Any], now: float, posts: bool) -> Incident:
        ids = tuple(p["id"] for p in self.store.posts_of(row["id"])) if posts else ()
        overdue = row["status"] == "open" and row["deadline"] is not None and now > row["deadline"]
        return Incident(id=row["id"], topic=row["topic"], locality=row["locality"], region=row["region"],
                        address=row["address"], first_seen=_iso(row["first_seen"]) or "",
                        last_seen=_iso(row["last_seen"]) or "", post_count=row["post_count"],
                        max_priority=row["max_priority"], representative=row["representative"],
                        status=row["status"], bodies=tuple(row["bodies"]), deadline=_iso(row["deadline"]),
                        overdue=overdue, posts=ids, merged_into=row["merged_into"])

    def incidents(self, *, status: str | Sequence[str] | None = ("open", "answered", "closed"),
                  region: str | None = None, topic: str | None = None, overdue: bool = False,
                  now: float | None = None, posts: bool = True) -> list[Incident]:
        """The incidents (newest activity first), filtered; ``overdue=True`` keeps open ones past their deadline."""
        at = time.time() if now is None else now
        rows = self.store.incidents(status=status, region=region, topic=topic)
        out = [self._incident(r, at, posts) for r in rows]
        return [i for i in out if i.overdue] if overdue else out

    def get(self, incident_id: str, *, now: float | None = None) -> Incident:
        """One incident; raises InputError for an unknown id."""
        row = self.store.incident(incident_id)
        if row is None:
            raise InputError(f"no incident {incident_id!r} in this store")
        return self._incident(row, time.time() if now is None else now, True)

    def set_status(self, incident_id: str, status: str, *, at: float | None = None) -> Incident:
        """Mark an incident ``answered``, ``closed`` or ``open`` again."""
        if status not in ("open", "answered", "closed"):
            raise InputError(f"status must be open, answered or closed, got {status!r}")
        now = time.time() if at is None else at
        with self.store.transaction():
            row = self.store.incident(incident_id)
            if row is None:
                raise InputError(f"no incident {incident_id!r} in this store")
            if row["status"] == "merged":
                raise InputError(f"incident {incident_id} was merged into {row['merged_into']}: change that one")
            stamp = {"answered": "answered_at", "closed": "closed_at"}.get(status)
            self.store.put_incident({**row, "status": status, "updated_at": now, **({stamp: now} if stamp else {})})
        return self.get(incident_id, now=now)


def build_idf(paths: Sequence[Path], out: Path = DATA / "idf.json.gz") -> int:
    """Write the stems' document frequencies over the texts of ``paths`` (JSONL with a ``text``); returns the
    number of documents. ``python -m negmon.incidents corpus/posts/*.jsonl`` rebuilds the shipped table from the
    project's corpus."""
    df: Counter[str] = Counter()
    n = 0
    for path in paths:
        for line in Path(path).read_text("utf-8").splitlines():
            if line.strip():
                df.update(stems(json.loads(line)["text"]))
                n += 1
    table = {"documents": n, "df": {s: c for s, c in sorted(df.items()) if c >= 2}}
    out.write_bytes(gzip.compress(json.dumps(table, ensure_ascii=False, separators=(",", ":")).encode(), mtime=0))
    return n


if __name__ == "__main__":
    import sys

    files = [Path(x) for x in sys.argv[1:]]
    if not files:
        raise SystemExit("usage: python -m negmon.incidents corpus/posts/*.jsonl")
    print(f"{build_idf(files)} documents -> {DATA / 'idf.json.gz'}")
