"""Training configuration: a TOML file read into a dataclass that checks itself.

Example (``configs/fast.toml``)::

    [model]
    kind = "linear"
    id = "negmon-fast-0.2"
    aliases = ["fast"]
    out = "models/fast"

    [data]
    sentiment_sets = ["rusentiment", "rusentitweet", "sentirueval", "open_sentiment"]
    corpus = true
    other_from_sentiment = 3000

    [linear]
    C = [0.5, 1.0, 2.0]
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from negmon.errors import InputError
from negmon.model import HEADS

__all__ = ["DataConfig", "LinearConfig", "TrainConfig", "TransformerConfig", "load_config"]

SENTIMENT_SETS = ("rusentiment", "rusentitweet", "sentirueval", "open_sentiment")
# the binary heads are decisions with a fixed meaning; a team's own labels rename sentiment and topic
FIXED_LABELS = {"needs_reply": ["no", "yes"], "priority": ["normal", "urgent"]}


@dataclass
class DataConfig:
    """Which data to train on. ``corpus_folder`` defaults to the repository's ``corpus/posts``; ``real`` adds
    the real slice (``corpus/real/labels.jsonl``, texts read from ../shared/data); ``corpus_exclude`` drops the
    corpus files whose names start with any of its prefixes from train and dev (ablations: ``["cf_"]``).

    Your own labelled posts: ``files`` lists CSV, TSV, JSONL or Parquet files (``.gz`` too) or folders saved by
    Hugging Face ``datasets`` (relative paths, like ``out``, from the working directory); ``text_field`` names their text column and
    ``label_fields`` the column of each head where it is not the head's own name (``{topic = "category"}``).
    ``dev_files`` are their dev half; without them a stratified ``dev_share`` of ``files`` is held out.
    ``labels`` fixes a head's label names and order (``{topic = ["дороги", "ЖКХ", ...]}``); without it a head
    that your files label takes the names found in them. Built-in data (the corpus, the sentiment sets) then
    keeps only the labels that your list has. needs_reply (``no``/``yes``, also true/false, 1/0, да/нет) and
    priority (``normal``/``urgent``) keep their meaning and names."""

    sentiment_sets: list[str] = field(default_factory=lambda: list(SENTIMENT_SETS))
    corpus: bool = True
    corpus_folder: str | None = None
    other_from_sentiment: int = 3000
    extra_train: list[str] = field(default_factory=list)
    seed: int = 13
    real: bool = False
    corpus_exclude: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    dev_files: list[str] = field(default_factory=list)
    dev_share: float = 0.2
    text_field: str = "text"
    label_fields: dict[str, str] = field(default_factory=dict)
    labels: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = [s for s in self.sentiment_sets if s not in SENTIMENT_SETS]
        if bad:
            raise InputError(f"unknown sentiment sets {bad}; expected some of {list(SENTIMENT_SETS)}")
        if self.other_from_sentiment < 0:
            raise InputError(f"other_from_sentiment must be >= 0, got {self.other_from_sentiment}")
        if not 0.0 < self.dev_share < 1.0:
            raise InputError(f"dev_share must be between 0 and 1, got {self.dev_share}")
        if self.dev_files and not self.files:
            raise InputError("dev_files needs files (the training half of your own data)")
        for name, table in (("label_fields", self.label_fields), ("labels", self.labels)):
            if unknown := sorted(set(table) - set(HEADS)):
                raise InputError(f"[data] {name} has unknown heads {unknown}; the heads are {list(HEADS)}")
        for head, labels in self.labels.items():
            if not isinstance(labels, list) or not all(isinstance(x, str) and x.strip() for x in labels):
                raise InputError(f"[data] labels.{head} must be a list of label names, got {labels!r}")
            if len(set(labels)) != len(labels) or len(labels) < 2:
                raise InputError(f"[data] labels.{head} must name at least two different labels, got {labels}")
            if head in FIXED_LABELS and labels != FIXED_LABELS[head]:
                raise InputError(f"[data] labels.{head}: {head} is a yes/no decision with the labels "
                                 f"{FIXED_LABELS[head]}; rename labels of sentiment and topic only")


@dataclass
class LinearConfig:
    """The fast tier: hashed TF-IDF features and logistic regression per head, C chosen on held-out data.

    ``realistic_repeat``, ``real_repeat``, ``urgent_vs_all``, ``reply_recall`` and ``urgent_recall`` mean what
    they mean for :class:`TransformerConfig`; ``heads`` lists the heads to train (all four by default)."""

    dim: int = 1 << 18
    char_min: int = 2
    char_max: int = 5
    C: list[float] = field(default_factory=lambda: [0.5, 1.0, 2.0, 4.0])
    class_weight: str | None = "balanced"
    max_iter: int = 2000
    realistic_repeat: int = 1
    real_repeat: int = 1
    heads: list[str] = field(default_factory=lambda: list(HEADS))
    urgent_vs_all: bool = False
    reply_recall: float = 0.95
    urgent_recall: float = 0.9

    def __post_init__(self) -> None:
        if self.urgent_vs_all and not {"needs_reply", "priority"} <= set(self.heads):
            raise InputError("urgent_vs_all needs both the needs_reply and the priority heads")
        if not self.C or any(c <= 0 for c in self.C):
            raise InputError(f"C must be a non-empty list of positive numbers, got {self.C}")
        if not self.heads or set(self.heads) - set(HEADS):
            raise InputError(f"heads must be some of {list(HEADS)}, got {self.heads}")
        if self.class_weight not in (None, "balanced"):
            raise InputError(f"class_weight must be 'balanced' or absent, got {self.class_weight!r}")


@dataclass
class TransformerConfig:
    """Fine-tuning of the encoder with four heads; see negmon.train.transformer.

    ``bf16`` runs forward and backward under bfloat16 autocast (weights stay float32): about 3x faster on
    CPUs with AMX or AVX-512 BF16, and on GPUs.

    ``init`` starts from a trained model's float32 weights (``runs/<id>/torch``) instead of the backbone: a
    second stage of fine-tuning.

    Late fusion: ``partner`` names a packed linear model (the fast tier, ``models/fast``) whose calibrated
    probabilities for the heads in ``partner_heads`` are combined with the encoder's as a weighted geometric
    mean (``partner_weight`` for the partner, or ``partner_weights[head]`` where given); the packed model records
    the partner's id and file hashes.

    Model soup: ``soup`` lists the float32 weights (``runs/<id>/torch``) of other fine-tunes from the same
    starting weights; the packed model is the average of this run's weights and theirs (this run's own
    weights are kept in ``<work>/<id>/torch``, the average in ``<work>/<id>/torch-soup``).

    ``max_dev_sentiment_rows`` caps the sentiment-set rows of dev that early stopping looks at (0: all); the
    calibration after training uses the whole dev set.

    Repeats: the corpus's first batches ``corpus_repeat`` times, its posts written the way residents write
    (``corpus/posts/real_*``, ``cf_*``) ``realistic_repeat`` times (0: as the corpus), the real slice
    ``real_repeat`` times (0: once).

    Decision rule: with ``urgent_vs_all`` the priority head learns urgent posts against every other post
    (no-reply posts count as not urgent), an urgent score over its threshold flags a post by itself
    (``meta.json["decision"]``), and both thresholds are the highest whose recall reaches ``reply_recall`` and
    ``urgent_recall`` on corpus dev and on each of its slices (the realistic posts, the real slice).

    Distillation: ``teacher`` names a trained model's float32 weights (``runs/<id>/torch``); the student keeps
    the teacher layers listed in ``student_layers`` (and its embeddings and heads) and learns from the
    teacher's soft scores on every head (weight ``distill_alpha``, temperature ``distill_temperature``) and
    from the labels (weight ``1 - distill_alpha``).
    """

    backbone: str = ".cache/backbone-ru"
    max_length: int = 128
    batch_size: int = 32
    epochs: float = 2.0
    lr: float = 5e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    freeze_embeddings: bool = True
    freeze_layers: int = 0
    loss_weights: dict[str, float] = field(
        default_factory=lambda: {"sentiment": 1.0, "topic": 1.0, "needs_reply": 1.0, "priority": 1.0}
    )
    corpus_repeat: int = 3
    realistic_repeat: int = 0
    real_repeat: int = 0
    urgent_vs_all: bool = False
    reply_recall: float = 0.95
    urgent_recall: float = 0.9
    max_sentiment_rows: int = 0
    max_dev_sentiment_rows: int = 0
    eval_every: int = 500
    patience: int = 3
    threads: int = 0
    device: str = "auto"
    bf16: bool = False
    init: str = ""
    teacher: str = ""
    student_layers: list[int] = field(default_factory=list)
    distill_alpha: float = 0.7
    distill_temperature: float = 2.0
    partner: str = ""
    partner_heads: list[str] = field(default_factory=lambda: ["topic"])
    partner_weight: float = 0.5
    partner_weights: dict[str, float] = field(default_factory=dict)
    soup: list[str] = field(default_factory=list)
    heads: list[str] = field(default_factory=lambda: list(HEADS))

    def __post_init__(self) -> None:
        if not self.heads or set(self.heads) - set(HEADS) or len(set(self.heads)) != len(self.heads):
            raise InputError(f"heads must be some of {list(HEADS)}, each once, got {self.heads}")
        if self.urgent_vs_all and not {"needs_reply", "priority"} <= set(self.heads):
            raise InputError("urgent_vs_all needs both the needs_reply and the priority heads")
        if self.max_length < 16 or self.max_length > 512:
            raise InputError(f"max_length must be in 16..512, got {self.max_length}")
        if self.batch_size < 1 or self.epochs <= 0 or self.lr <= 0:
            raise InputError("batch_size, epochs and lr must be positive")
        if self.teacher and not self.student_layers:
            raise InputError("a distillation config (teacher = ...) needs student_layers")
        if not 0 <= self.distill_alpha <= 1 or self.distill_temperature <= 0:
            raise InputError("distill_alpha must be in 0..1 and distill_temperature positive")
        if not (0.5 <= self.reply_recall <= 1.0 and 0.5 <= self.urgent_recall <= 1.0):
            raise InputError(f"reply_recall and urgent_recall must be in 0.5..1, got {self.reply_recall}, "
                             f"{self.urgent_recall}")
        if min(self.realistic_repeat, self.real_repeat) < 0:
            raise InputError("realistic_repeat and real_repeat must be >= 0")
        if not 0.0 < self.partner_weight < 1.0:
            raise InputError(f"partner_weight must be between 0 and 1, got {self.partner_weight}")
        if any(not 0.0 < w < 1.0 for w in self.partner_weights.values()) or set(self.partner_weights) - set(
                self.partner_heads):
            raise InputError(f"partner_weights must give heads of partner_heads weights between 0 and 1, got "
                             f"{self.partner_weights}")
        if bad_partner := set(self.partner_heads) - set(HEADS):
            raise InputError(f"partner_heads has unknown heads {sorted(bad_partner)}")
        bad = set(self.loss_weights) - set(HEADS)
        if bad:
            raise InputError(f"loss_weights has unknown heads {sorted(bad)}")


@dataclass
class TrainConfig:
    """A whole training run: model identity, data, and the settings of its kind."""

    kind: str
    id: str
    out: str
    aliases: list[str] = field(default_factory=list)
    seed: int = 13
    work: str = "runs"
    data: DataConfig = field(default_factory=DataConfig)
    linear: LinearConfig = field(default_factory=LinearConfig)
    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    source: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("linear", "transformer"):
            raise InputError(f"[model] kind must be 'linear' or 'transformer', got {self.kind!r}")
        if not self.id or not self.out:
            raise InputError("[model] needs id and out")


def _build(cls: type, table: dict[str, Any], where: str) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = set(table) - known
    if unknown:
        raise InputError(f"[{where}] has unknown keys {sorted(unknown)}; known: {sorted(known)}")
    return cls(**table)


def load_config(path: str | Path) -> TrainConfig:
    """Read a TOML training config; unknown keys and bad values raise :class:`InputError`."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text("utf-8"))
    except FileNotFoundError:
        raise InputError(f"config file {p} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{p} is not valid TOML: {e}") from None
    unknown = set(raw) - {"model", "data", "linear", "transformer"}
    if unknown:
        raise InputError(
            f"{p}: unknown sections {sorted(unknown)}; expected model, data, linear, transformer"
        )
    model = dict(raw.get("model", {}))
    for key in ("kind", "id", "out"):
        if key not in model:
            raise InputError(f"{p}: [model] needs {key!r}")
    kind, id_, out = model.pop("kind"), model.pop("id"), model.pop("out")
    aliases, seed = list(model.pop("aliases", [])), int(model.pop("seed", 13))
    work = str(model.pop("work", "runs"))
    if model:
        raise InputError(
            f"{p}: [model] has unknown keys {sorted(model)}; known: kind, id, out, aliases, seed, work"
        )
    data = _build(DataConfig, raw.get("data", {}), "data")
    return TrainConfig(
        kind=kind,
        id=id_,
        out=out,
        aliases=aliases,
        seed=seed,
        work=work,
        data=data,
        linear=_build(LinearConfig, raw.get("linear", {}), "linear"),
        transformer=_build(TransformerConfig, raw.get("transformer", {}), "transformer"),
        source=str(p),
    )
