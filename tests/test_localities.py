"""The locality extractor: a table of traps and typical cases, offsets, the evaluation sets, coverage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negmon import extract_localities
from negmon.localities.evaluate import score

ROOT = Path(__file__).resolve().parents[1]

# (text, [(name, region)] expected in order; [] means: no locality at all)
CASES = [
    ("в Кстове третий день нет воды", [("Кстово", "Нижегородская область")]),
    (
        "из Нижнего до Кстово автобус ждали час",
        [("Нижний Новгород", "Нижегородская область"), ("Кстово", "Нижегородская область")],
    ),
    ("в нижнем новгороде опять пробки", [("Нижний Новгород", "Нижегородская область")]),
    ("Питер встал в пробках", [("Санкт-Петербург", "Санкт-Петербург")]),
    ("в мск снег не убирают", [("Москва", "Москва")]),
    (
        "ХМАО опять первый по зарплатам",
        [("Ханты-Мансийский автономный округ — Югра", "Ханты-Мансийский автономный округ — Югра")],
    ),
    ("жители Подмосковья против тарифов", [("Московская область", "Московская область")]),
    ("в Татарстане ввели ограничения", [("Республика Татарстан", "Республика Татарстан")]),
    (
        "Нижегородская обл., Бор: нет света",
        [("Нижегородская область", "Нижегородская область"), ("Бор", "Нижегородская область")],
    ),
    ("живу в Кстовском районе", [("Кстовский район", "Нижегородская область")]),
    ("в Петропавловске-Камчатском бензин дороже", [("Петропавловск-Камчатский", "Камчатский край")]),
    ("летим в Комсомольск-на-Амуре", [("Комсомольск-на-Амуре", "Хабаровский край")]),
    (
        "из Старого Оскола в Белгород",
        [("Старый Оскол", "Белгородская область"), ("Белгород", "Белгородская область")],
    ),
    ("в Набережных Челнах ямы", [("Набережные Челны", "Республика Татарстан")]),
    ("в Республике Алтай построили школу", [("Республика Алтай", "Республика Алтай")]),
    ("Ростов опять без воды", [("Ростов-на-Дону", "Ростовская область")]),
    # traps: streets, surnames, organisations, ordinary words, rivers
    ("на улице Московской прорвало трубу", []),
    ("проспект Гагарина перекопали", []),
    ("ул. Ленина, д. 5 — не горит свет", []),
    ("Московское шоссе стоит намертво", []),
    ("на Кирова опять яма", []),
    ("Орлов сказал на приёме что денег нет", []),
    ("Никитин обещал отремонтировать крышу", []),
    ("Ростелеком третий день не чинит интернет", []),
    ("мирный житель пострадал", []),
    ("гуляли в бору за домом", []),
    ("орёл сидел на столбе", []),
    ("мост через Волгу стоит в пробке", []),
    ("в Советском районе Казани раскопали дорогу", [("Казань", "Республика Татарстан")]),
    ("купили «Ессентуки» в аптеке", []),
    ("пусть победа будет за нами", []),
    # context decides between namesakes
    (
        "в пос. Мирный нет воды, Якутия",
        [("Мирный", "Республика Саха (Якутия)"), ("Республика Саха (Якутия)", "Республика Саха (Якутия)")],
    ),
    # the preposition's case decides between names whose forms coincide: "Советском" is the prepositional
    # of Советский (Югра) and the instrumental of Советск (Калининградская область)
    ("в Советском опять отключили воду", [("Советский", "Ханты-Мансийский автономный округ — Югра")]),
    ("под Советском опять отключили воду", [("Советск", "Калининградская область")]),
    ("в Никольском нет газа", [("Никольское", "Ленинградская область")]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_table(text: str, expected: list[tuple[str, str]]) -> None:
    got = [(x.name, x.region) for x in extract_localities(text)]
    assert got == expected


def test_region_hint_resolves_namesakes() -> None:
    assert (
        extract_localities("в Кировске опять нет света", region="Ленинградская область")[0].region
        == "Ленинградская область"
    )
    assert (
        extract_localities("в Кировске опять нет света", region="Мурманская область")[0].region
        == "Мурманская область"
    )
    guess = extract_localities("в Кировске опять нет света")[0]
    assert (
        guess.confidence
        < extract_localities("в Кировске опять нет света", region="Мурманская область")[0].confidence
    )


def test_fields() -> None:
    (loc,) = extract_localities("в Кстове третий день нет воды")
    assert (loc.kind, loc.region_code, loc.surface, loc.start, loc.end) == ("town", "RU-NIZ", "Кстове", 2, 8)
    assert loc.population and loc.lat and loc.lon and 0 < loc.confidence <= 1


def test_bad_input() -> None:
    with pytest.raises(TypeError, match="NoneType"):
        extract_localities(None)  # type: ignore[arg-type]
    assert extract_localities("") == ()


words = st.sampled_from(
    [
        "в",
        "Кстове",
        "из",
        "Нижнего",
        "Москва",
        "ул.",
        "Ленина",
        "ХМАО",
        "бор",
        "Бору",
        ",",
        ".",
        "Кстовском",
        "районе",
        "Ростов-на-Дону",
        "  ",
        "\n",
        "😡",
        "Питер",
        "г.",
        "пос.",
        "Мирный",
        "ё",
        "Орёл",
        "«",
        "»",
        "—",
        "(",
        ")",
        "на",
        "Набережных",
        "Челнах",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(words, max_size=25).map(" ".join) | st.text(max_size=200))
def test_offsets_match_the_original(text: str) -> None:
    for loc in extract_localities(text):
        assert text[loc.start : loc.end] == loc.surface


def _evaluate(path: Path) -> dict:
    posts = [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
    pred = [
        [loc.as_dict() for loc in extract_localities(p["text"], region=p.get("region_hint"))] for p in posts
    ]
    return score([p["localities"] for p in posts], pred)


@pytest.mark.parametrize("name", ["localities.jsonl", "localities_holdout.jsonl"])
def test_evaluation_sets(name: str) -> None:
    r = _evaluate(ROOT / "corpus" / name)
    assert r["f1"] >= 0.95
    assert r["region_accuracy"] >= 0.95


def test_hflabs_coverage(shared_data: Path) -> None:
    import geo_coverage

    cities, regions = geo_coverage.load(shared_data)
    assert len(cities) > 1000 and len(regions) >= 82
    for case, r in geo_coverage.coverage(regions).items():
        assert r["share"] == 1.0, (case, r["misses"])
    for case, r in geo_coverage.coverage(cities, hint=True).items():
        # a regional service passes its region: namesakes in other regions no longer compete
        assert r["share"] >= 0.97, (case, r["share"], r["misses"][:20])
    for case, r in geo_coverage.coverage(cities).items():
        # without any region context; the misses are mostly towns that share their name with a larger one
        assert r["share"] >= 0.96, (case, r["share"], r["misses"][:20])
