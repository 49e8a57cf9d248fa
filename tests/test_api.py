"""The public API contract: input types, empty and long posts, batch == single, order, threads, fuzz."""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import negmon
from negmon import Classifier, Post, Result
from negmon.errors import InputError
from negmon.result import scrub

POSTS = [
    "В Кстово третий день нет горячей воды, администрация молчит!",
    "Спасибо огромное врачам 5-й больницы, спасли маму 🙏",
    "Когда уберут снег во дворе на Ленина, 5?",
    "ДОРОГИ В ДЗЕРЖИНСКЕ ПРОСТО УЖАС, ЯМА НА ЯМЕ",
    "продам гараж в Кстове недорого",
    "u nas net vody tretii den",
    "",
    "Автобус 45 опять не пришёл, стоим на морозе 40 минут 😡",
]


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load("fast")


def test_import_is_light() -> None:
    code = "import sys, negmon; print(json.dumps([m for m in ('torch','transformers','natasha','sklearn','onnxruntime') if m in sys.modules]))"
    import subprocess

    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_default_model_serves_without_torch() -> None:
    code = (
        "import json, sys, negmon; r = negmon.classify('Когда включат воду на Садовой?'); "
        "print(json.dumps([r.needs_reply, [m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules]]))"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    reply, heavy = json.loads(out.stdout)
    assert heavy == []
    assert reply is True


def test_default_model_single_posts_agree_with_batches_and_threads() -> None:
    # a single post runs on the multi-threaded session, a batch on the single-threaded runs of the pool
    clf = Classifier.load("default")
    singles = [clf.classify(p) for p in POSTS]
    batch = list(clf.classify_batch(POSTS, batch_size=64))
    for a, b in zip(singles, batch, strict=True):
        assert (a.sentiment, a.topic, a.needs_reply, a.priority) == (b.sentiment, b.topic, b.needs_reply, b.priority)
        if a.empty:  # nothing to score
            assert b.empty and a.reply_score is None is b.reply_score
            continue
        assert a.reply_score is not None and b.reply_score is not None and a.topic_scores and b.topic_scores
        assert abs(a.reply_score - b.reply_score) < 1e-4
        assert max(abs(a.topic_scores[k] - b.topic_scores[k]) for k in a.topic_scores) < 1e-4
    with ThreadPoolExecutor(4) as ex:  # single posts from several threads wait for one another, same answers
        assert list(ex.map(clf.classify, POSTS)) == singles


def test_public_names() -> None:
    for name in negmon.__all__:
        assert getattr(negmon, name) is not None
        if name[0].isupper() or name in ("classify", "classify_batch", "normalize", "extract_localities"):
            assert getattr(negmon, name).__doc__


def test_classify_string(clf: Classifier) -> None:
    r = clf.classify("Спасибо огромное врачам 5-й больницы, спасли маму 🙏")
    assert isinstance(r, Result)
    assert r.sentiment == "positive"
    assert set(r.sentiment_scores) == {"negative", "neutral", "positive"}
    assert abs(sum(r.sentiment_scores.values()) - 1) < 1e-3
    assert r.model == clf.id


def test_missing_heads_are_none() -> None:
    clf = Classifier.load("fast")
    r = clf.classify("нет воды")
    for head in ("topic", "needs_reply", "priority"):
        if head not in clf.heads:
            assert getattr(r, head) is None


def test_mapping_carries_fields_through(clf: Classifier) -> None:
    post = {"text": "Когда включат воду на Садовой?", "id": 17, "region": "Нижегородская область",
            "source": "vk", "created_at": "2026-11-01T10:00:00+03:00", "likes": 3, "author": {"name": "x"}}
    original = json.dumps(post, sort_keys=True)
    d = clf.classify(post).as_dict()
    assert d["id"] == "17" and d["region"] == "Нижегородская область" and d["source"] == "vk"
    assert d["likes"] == 3 and d["author"] == {"name": "x"}
    assert json.dumps(post, sort_keys=True) == original  # the caller's input is not modified
    json.dumps(d)  # plain JSON types only


def test_post_object(clf: Classifier) -> None:
    r = clf.classify(Post("нет воды", id="a1", extra={"k": 1}))
    assert r.id == "a1" and r.as_dict()["k"] == 1


@pytest.mark.parametrize("bad", [None, 5, 3.5, b"bytes", ["list"], object()])
def test_bad_types_name_the_type(clf: Classifier, bad: object) -> None:
    with pytest.raises(TypeError, match=type(bad).__name__):
        clf.classify(bad)  # type: ignore[arg-type]


def test_mapping_without_text(clf: Classifier) -> None:
    with pytest.raises(InputError, match="'text'"):
        clf.classify({"body": "нет воды"})
    with pytest.raises(TypeError, match="int"):
        clf.classify({"text": 5})


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\u200b\u200b"])
def test_empty_posts(clf: Classifier, text: str) -> None:
    r = clf.classify(text)  # zero-width characters alone are as empty as spaces
    assert r.empty
    assert r.sentiment == "neutral" and r.needs_reply is False and r.sentiment_scores is None


def test_empty_skips_the_model(clf: Classifier, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a: object) -> None:
        raise AssertionError("the model must not be called for an empty post")

    monkeypatch.setattr(clf.model, "predict", boom)
    assert clf.classify("   ").empty


def test_long_text_is_truncated_by_rule(clf: Classifier) -> None:
    text = "нет воды в доме. " * 5000
    r = clf.classify(text)
    assert r.truncated and r.text == text and r.sentiment is not None
    assert not clf.classify("нет воды").truncated


def test_batch_equals_single_and_keeps_order(clf: Classifier) -> None:
    singles = [clf.classify(p) for p in POSTS]
    for bs in (1, 3, 64):
        batch = list(clf.classify_batch(iter(POSTS), batch_size=bs))
        assert [r.text for r in batch] == POSTS
        assert batch == singles


def test_batch_is_lazy(clf: Classifier) -> None:
    seen = []

    def gen():
        for p in POSTS:
            seen.append(p)
            yield p

    it = clf.classify_batch(gen(), batch_size=2)
    next(it)
    assert len(seen) == 2


def test_batch_reports_bad_item_index(clf: Classifier) -> None:
    with pytest.raises(TypeError, match="post #2"):
        list(clf.classify_batch(["a", "b", None, "c"]))
    with pytest.raises(InputError, match="batch_size"):
        list(clf.classify_batch(["a"], batch_size=0))


def test_threads_give_the_same_results(clf: Classifier) -> None:
    posts = POSTS * 25
    expected = [clf.classify(p) for p in posts]
    barrier = threading.Barrier(8)

    def work(k: int) -> list[Result]:
        barrier.wait()
        return [clf.classify(p) for p in posts[k::8]]

    with ThreadPoolExecutor(8) as ex:
        parts = list(ex.map(work, range(8)))
    for k, part in enumerate(parts):
        assert part == expected[k::8]


def test_module_level_functions() -> None:
    r = negmon.classify("Спасибо за ремонт дороги!", model="fast")
    assert r.sentiment == "positive"
    rs = list(negmon.classify_batch(["нет воды", "спасибо"], model="fast"))
    assert len(rs) == 2


hostile = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Mn", "So", "Co"]), max_size=80),
    st.lists(st.sampled_from(["\ud800", "\udfff", "\x00", "&#", "&amp;", "<br>", "#", "@", "*", "http://", "в Кстове",
                              "Москва", " ", "ооо", "x", "😡"]), max_size=30).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile)
def test_fuzz_never_crashes(clf: Classifier, text: str) -> None:
    r = clf.classify(text)
    assert r.text == scrub(text) and len(r.text) == len(text)  # lone surrogates become U+FFFD in place
    json.dumps(r.as_dict(), ensure_ascii=False).encode("utf-8")
    for loc in r.localities:
        assert r.text[loc.start : loc.end] == loc.surface
