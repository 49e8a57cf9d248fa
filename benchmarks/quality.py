"""Quality of the default model against the peers a user could pick instead, on the same held-out sets.

    python benchmarks/quality.py [--default default] [--fast fast] [--backbone .cache/backbone-ru]

Systems, all trained on the same data (the training config recorded in the default model's meta.json):
  default  the shipped transformer (fine-tuned encoder with four heads)
  fast     the shipped linear tier (hashed TF-IDF n-grams + logistic regression)
  frozen   logistic regression on frozen multilingual-e5-small embeddings ("query: " prefix, mean pooling,
           L2 norm; under bfloat16 autocast where the CPU has AVX-512) of the same training rows as the default
           (its config's max_sentiment_rows cap included), C chosen on the same dev set
  --extra NAME=PATH  any other model folder beside them (e.g. the previous release, to compare)
Sets: RuSentiment test and RuSentiTweet test (3 classes), SentiRuEval-2015 test, corpus dev (every head), its
realistic part (posts written the way residents write), real-dev (real posts of ../shared/data labelled by the
project, dev half) and blind (the blind realistic set, never used for training or any choice). Head
``topic_reply`` is the topic of the posts that need a reply. Prints one table of macro-F1 per set and head, then
needs_reply F1/P/R and urgent recall at each model's thresholds and decision rule, per set, with n; writes
benchmarks/results/quality.json. The frozen embeddings are cached in .cache/quality/.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SETS = ["rusentiment-test", "rusentitweet-test", "sentirueval-test", "corpus-dev", "corpus-dev-realistic", "real-dev",
        "blind"]


@functools.cache
def _frozen(backbone: str) -> Any:
    from transformers import BertModel

    return BertModel.from_pretrained(backbone, add_pooling_layer=False).eval()


def embed(texts: list[str], backbone: Path, batch: int = 64) -> np.ndarray:
    """Frozen e5 embeddings of normalized texts, cached by the texts' hash."""
    from negmon.normalize import normalize

    key = hashlib.sha256(("\n".join(texts) + str(backbone)).encode()).hexdigest()[:16]
    cache = ROOT / ".cache" / "quality" / f"emb-{key}.npy"
    if cache.exists():
        return np.load(cache)
    import torch
    from tokenizers import Tokenizer

    torch.set_num_threads(2)
    tok = Tokenizer.from_file(str(backbone / "tokenizer.json"))
    model = _frozen(str(backbone))
    pad = tok.token_to_id("<pad>")
    enc = [e.ids[:256] for e in tok.encode_batch(["query: " + normalize(t[:20_000]).text for t in texts])]
    order = sorted(range(len(enc)), key=lambda i: len(enc[i]))
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    t0 = time.time()
    # bfloat16 autocast: embeddings within cosine 0.9999 of float32 (benchmarks/encoder.py), ~2x faster with AMX;
    # on CPUs without AVX-512 torch emulates bf16 and runs ~6x slower than float32, so it stays float32 there
    fast_bf16 = "AVX512" in torch.backends.cpu.get_cpu_capability()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast_bf16):
        for k in range(0, len(order), batch):
            idx = order[k : k + batch]
            width = max(len(enc[i]) for i in idx)
            x = torch.full((len(idx), width), pad)
            m = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                x[r, : len(enc[i])] = torch.tensor(enc[i])
                m[r, : len(enc[i])] = 1
            h = model(input_ids=x, attention_mask=m).last_hidden_state
            e = (h * m[..., None]).sum(1) / m.sum(1, keepdim=True)
            out[idx] = torch.nn.functional.normalize(e.float(), dim=-1).numpy()
            if k % (batch * 50) == 0:
                print(f"  embedded {k}/{len(texts)} ({time.time() - t0:.0f}s)", flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, out)
    return out


class FrozenPeer:
    """Logistic regression per head on frozen embeddings; exposes the model backend interface."""

    def __init__(self, backbone: Path, train: list[dict[str, Any]], dev: list[dict[str, Any]], meta: dict[str, Any]):
        from negmon.train.calibrate import threshold_for_recall
        from negmon.train.linear import HEAD_LABELS, head_targets, select_logistic

        self.backbone = backbone
        self.meta: dict[str, Any] = {"id": "frozen-e5-lr", "heads": {}, "thresholds": {}}
        xt = embed([r["text"] for r in train], backbone)
        xd = embed([r["text"] for r in dev], backbone)
        self.clfs = {}
        for head, labels in HEAD_LABELS.items():
            rows, y = head_targets(train, head)
            drows, dy = head_targets(dev, head)
            if len(set(y.tolist())) < 2:
                continue
            clf = select_logistic(xt[rows], y, xd[drows], dy, (0.5, 2.0, 8.0), name=head)[2]
            self.clfs[head] = (clf, len(labels))
            self.meta["heads"][head] = {"labels": labels}
            if head in ("needs_reply", "priority") and len(drows):  # its own thresholds, chosen as the model's
                p1 = clf.predict_proba(xd[drows])[:, list(clf.classes_).index(1)]
                name, recall = ("needs_reply", 0.95) if head == "needs_reply" else ("urgent", 0.9)
                self.meta["thresholds"][name] = threshold_for_recall(p1, dy, recall)

    def predict(self, posts: list[Any]) -> dict[str, np.ndarray]:
        x = embed([p.source for p in posts], self.backbone)
        out = {}
        for head, (clf, k) in self.clfs.items():
            p = np.zeros((len(posts), k))
            p[:, clf.classes_] = clf.predict_proba(x)
            out[head] = p
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--default", default="default")
    ap.add_argument("--fast", default="fast")
    ap.add_argument("--backbone", default=str(ROOT / ".cache" / "backbone-ru"))
    ap.add_argument("--no-frozen", action="store_true")
    ap.add_argument("--extra", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--sets", nargs="*", default=SETS)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "quality.json"))
    a = ap.parse_args()

    from negmon.model import load_model
    from negmon.train import data as D
    from negmon.train.evaluate import evaluate, load_eval_set

    systems: dict[str, Any] = {"default": load_model(a.default), "fast": load_model(a.fast)}
    for spec in a.extra:
        name, _, path = spec.partition("=")
        systems[name] = load_model(path)
    cfg = systems["default"].meta.get("training", {}).get("config", {})
    if not a.no_frozen:
        train, dev = D.training_records(cfg.get("sentiment_sets", []), corpus=cfg.get("corpus", True),
                                        corpus_folder=None, other_from_sentiment=cfg.get("other_from_sentiment", 0),
                                        seed=cfg.get("seed", 13), real=cfg.get("real", False))
        cap = systems["default"].meta.get("training", {}).get("transformer", {}).get("max_sentiment_rows", 0)
        if cap:  # the rows the default was trained on: every corpus and real-slice row, the first `cap` others
            own = ("corpus", "real/")
            train = [r for r in train if r["source"].startswith(own)] + [
                r for r in train if not r["source"].startswith(own)][:cap]
        systems["frozen e5 + LR"] = FrozenPeer(Path(a.backbone), train, dev, systems["default"].meta)
    results: dict[str, Any] = {}
    for name in a.sets:
        records = load_eval_set(name)
        if records:
            results[name] = {s: evaluate(m, records)["heads"] for s, m in systems.items()}
    names = list(systems)
    print(f"{'set':18s} {'head':12s} " + " ".join(f"{n:>15s}" for n in names) + "   (macro-F1)")
    for set_name, per in results.items():
        for head in per["default"]:
            vals = [per[n].get(head, {}).get("macro_f1") for n in names]
            print(f"{set_name:18s} {head:12s} " + " ".join(f"{v:15.3f}" if v is not None else f"{'-':>15s}" for v in vals))
    print("\nat each model's thresholds and decision rule (n: posts; pos: posts that need a reply; urgent posts):")
    for set_name, per in results.items():
        if "needs_reply" not in per["default"]:
            continue
        nr0, pr0 = per["default"]["needs_reply"], per["default"].get("priority", {})
        pos = nr0["per_class"].get("yes", {}).get("support", 0)
        print(f"{set_name} (n {nr0['n']}, pos {pos}, urgent {pr0.get('per_class', {}).get('urgent', {}).get('support', 0)})")
        for n in names:
            nr, pr = per[n].get("needs_reply", {}), per[n].get("priority", {})
            print(f"  {n:15s} needs_reply F1 {nr.get('f1', float('nan')):.3f} (P {nr.get('precision', float('nan')):.3f} "
                  f"R {nr.get('recall', float('nan')):.3f})  urgent recall {pr.get('recall', float('nan')):.3f} "
                  f"precision {pr.get('precision', float('nan')):.3f}")
    slim = {s: {n: {h: {k: v for k, v in m.items() if k != "confusion"} for h, m in per.items()}
                for n, per in sys.items()} for s, sys in results.items()}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"models": {n: m.meta["id"] for n, m in systems.items()}, "results": slim},
                              indent=1) + "\n", "utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
