"""The social-media normalizer: a table of cases, offsets that always map back, determinism."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negmon import normalize

# (input, expected normalized text)
TEXT_CASES = [
    # Unicode NFKC, invisible and control characters
    ("ｆｕｌｌ ｗｉｄｔｈ １２３", "full width 123"),
    ("мо\u0301локо", "молоко"),
    ("и\u0306од", "йод"),
    ("е\u0308ж", "ёж"),
    ("тест\u200bслово", "тестслово"),
    ("без\u00adпереноса", "безпереноса"),
    ("звонок\x07 в дверь", "звонок в дверь"),
    ("\ufeffначало", "начало"),
    ("справа\u200fналево", "справаналево"),
    ("дом №5", "дом №5"),
    ("много    пробелов\t\tи табов", "много пробелов и табов"),
    ("строка\r\n\r\nвторая", "строка\nвторая"),
    ("  по краям  ", "по краям"),
    ("неразрывный\u00a0пробел", "неразрывный пробел"),
    # HTML entities and line breaks from exports
    ("&laquo;ЖКХ&raquo; &amp; ко", "«ЖКХ» & ко"),
    ("Ж&#1050;Х", "ЖКХ"),
    ("первая<br>вторая", "первая\nвторая"),
    ("цена &lt; 100", "цена < 100"),
    # URLs, e-mails, phone numbers, mentions
    ("смотрите https://vk.com/wall-1_2 тут", "смотрите <url> тут"),
    ("сайт www.adm.ru, там всё", "сайт <url>, там всё"),
    ("госуслуги.рф не работает", "<url> не работает"),
    ("пишите на mail@adm-nn.ru срочно", "пишите на <email> срочно"),
    ("звоните 8 (831) 123-45-67", "звоните <phone>"),
    ("звоните +7 912 345 67 89!", "звоните <phone>!"),
    ("тел 8-800-555-35-35", "тел <phone>"),
    ("@ivan_petrov ответьте", "<user> ответьте"),
    ("[id123|Иван Петров], вы где?", "<user>, вы где?"),
    ("[club77|Администрация], ответьте", "<user>, ответьте"),
    # hashtags
    ("#ЖКХНеРаботает", "ЖКХ Не Работает"),
    ("#нет_воды_в_кстово", "нет воды в кстово"),
    ("#Кстово2026", "Кстово 2026"),
    ("#дороги", "дороги"),
    ("опять #ямы на #Ленина", "опять ямы на Ленина"),
    # Latin look-alikes inside Cyrillic words
    ("cпасибо", "спасибо"),
    ("вoда", "вода"),
    ("КОММУНАЛКА ДОPOГАЯ", "коммуналка дорогая"),
    ("iPhone сломался", "iPhone сломался"),
    ("Wi-Fi в школе", "Wi-Fi в школе"),
    # letter repetitions
    ("ооочень", "очень"),
    ("спасибооо", "спасибо"),
    ("классссс", "класс"),
    ("дааааа нееет", "да нет"),
    ("ужасссс", "ужас"),
    ("сколько можно!!!!!!!", "сколько можно!!!"),
    ("ну и???????", "ну и???"),
    ("ванна", "ванна"),
    # CAPS: a shouted post is lower-cased, the flag kept
    ("КОГДА УЖЕ ПОЧИНЯТ ДОРОГУ", "когда уже починят дорогу"),
    ("ВСЁ ПЛОХО", "всё плохо"),
    ("Вопрос к УК Жилсервис", "Вопрос к УК Жилсервис"),
    # Russian typed in Latin letters
    ("u nas net vody tretii den", "у нас нет воды третий ден"),
    ("zdravstvuyte, kogda vklyuchat svet v dome", "здравствуйте, когда включат свет в доме"),
    ("kogda pochinyat dorogu na ulitse", "когда починят дорогу на улице"),
    ("I love this city so much", "I love this city so much"),
    # emoji and emoticons stay
    ("спасибо 👍🙏", "спасибо 👍🙏"),
    ("ну вот)))", "ну вот)))"),
    # masked obscenity stays as one token
    ("это п****ц", "это п****ц"),
    ("бл@ть опять", "бл@ть опять"),
    # odd input never breaks
    ("\ud800сломано", "сломано"),
    ("", ""),
    ("   ", ""),
    ("😡😡😡", "😡😡😡"),
]


@pytest.mark.parametrize(("raw", "expected"), TEXT_CASES)
def test_normalized_text(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


# (input, flags that must be present, flags that must be absent)
FLAG_CASES = [
    ("КОГДА УЖЕ ПОЧИНЯТ ДОРОГУ", {"caps"}, set()),
    ("Вопрос к УК Жилсервис", set(), {"caps"}),
    ("это п****ц", {"obscenity"}, set()),
    ("х** знает", {"obscenity"}, set()),
    ("бл@ть", {"obscenity"}, set()),
    ("с*ка", {"obscenity"}, set()),
    ("опять бля", {"obscenity"}, set()),
    ("хуже некуда", set(), {"obscenity"}),
    ("употреблять нельзя", set(), {"obscenity"}),
    ("психуешь зря", set(), {"obscenity"}),
    ("u nas net vody tretii den", {"translit"}, set()),
    ("I love this city so much", set(), {"translit"}),
    ("cпасибо", {"lookalike"}, set()),
    ("#ЖКХ", {"hashtag"}, set()),
    ("спасибо 👍", {"emoji"}, set()),
    ("ну вот)))", {"emoji"}, set()),
    ("ооочень", {"repeats"}, set()),
    ("&amp;", {"html"}, set()),
]


@pytest.mark.parametrize(("raw", "present", "absent"), FLAG_CASES)
def test_flags(raw: str, present: set[str], absent: set[str]) -> None:
    flags = normalize(raw).flags
    assert present <= flags
    assert not absent & flags


def test_emoji_sentiment_hints() -> None:
    assert normalize("спасибо огромное 👍🙏").emoji_sentiment > 0
    assert normalize("опять без воды 😡😭").emoji_sentiment < 0
    assert normalize("ну вот ((((").emoji_sentiment < 0
    assert normalize("без эмодзи").emoji_sentiment == 0


def test_token_kinds_and_norms() -> None:
    n = normalize("Ёлки, звоните 8-800-555-35-35 или @adm 😡 это п****ц")
    kinds = [(t.text, t.kind) for t in n.tokens]
    assert ("Ёлки", "word") in kinds
    assert ("<phone>", "phone") in kinds
    assert ("<user>", "user") in kinds
    assert ("😡", "emoji") in kinds
    assert ("п****ц", "obscenity") in kinds
    assert n.tokens[0].norm == "елки"


def test_lemmas_with_pymorphy() -> None:
    n = normalize("Третий день нет горячей воды в домах", lemmas=True)
    lemmas = [t.lemma for t in n.tokens]
    assert lemmas == ["третий", "день", "нет", "горячий", "вода", "в", "дом"]
    assert all(t.lemma is None for t in normalize("нет воды").tokens)


def test_caps_token_feature() -> None:
    n = normalize("Вопрос к УК Жилсервис")
    assert [t.caps for t in n.tokens] == [False, False, True, False]


def test_tokens_map_back_to_source() -> None:
    src = "В Кстово 3й день нет воды!!! #ЖКХНеРаботает https://vk.com/x 😡 cпасибо"
    n = normalize(src)
    for t in n.tokens:
        assert n.text[t.start : t.end] == t.text
    by_text = {t.text: src[t.source_start : t.source_end] for t in n.tokens}
    assert by_text["Кстово"] == "Кстово"
    assert by_text["<url>"] == "https://vk.com/x"
    assert by_text["Работает"] == "Работает"
    assert by_text["спасибо"] == "cпасибо"


def test_source_span_of_replacements() -> None:
    src = "ооочень плохо"
    n = normalize(src)
    assert n.source_span(0, 5) == (0, 7)
    with pytest.raises(ValueError, match="outside"):
        n.source_span(0, 99)


def test_type_error() -> None:
    with pytest.raises(TypeError, match="got int"):
        normalize(5)  # type: ignore[arg-type]


text_strategy = st.text(
    alphabet=st.sampled_from(
        list("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИКЛМНОПРСТУФХЦЧШЩЭЮЯ")
        + list("abcdehkmoptxyACEHKMOPTXY0123456789")
        + list(" \t\n.,!?)(#@*&;:/-_%$") + ["😡", "👍", "\u200b", "\u0301", "\u00a0", "№", "\ufeff", "ｆ", "\ud800"]
    ),
    max_size=120,
)


@settings(max_examples=400, deadline=None)
@given(text_strategy)
def test_offsets_round_trip(s: str) -> None:
    n = normalize(s)
    assert len(n.offsets) == len(n.text)
    prev = 0
    for i in range(len(n.text)):
        a, b = n.source_span(i, i + 1)
        assert 0 <= a <= b <= len(s)
        assert a >= prev or n.text[i] == " "  # characters keep the source order (a space may be inserted)
        prev = min(prev, a) if n.text[i] == " " else a
    for t in n.tokens:
        assert n.text[t.start : t.end] == t.text
        assert 0 <= t.source_start < t.source_end <= len(s)
    assert normalize(s) == n  # deterministic


@settings(max_examples=200, deadline=None)
@given(text_strategy)
def test_word_tokens_come_from_their_source(s: str) -> None:
    n = normalize(s)
    for t in n.tokens:
        if t.kind == "word" and "translit" not in n.flags and "repeats" not in n.flags:
            src = s[t.source_start : t.source_end]
            # the source holds the same letters up to case, look-alikes and removed invisible characters
            assert len(src) >= len(t.text) or "hashtag" in n.flags
