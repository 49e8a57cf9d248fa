"""Speed of negmon against the plain transformers run of the same model, side by side, on the same posts.

    python benchmarks/speed.py [--reference runs/negmon-base-0.1/torch] [--model default] [--posts 2000]

Systems (each measured in its own subprocess, so that peak RSS and load times are its own):
  (a) reference  the fine-tuned model's float32 weights in ``transformers`` (BertModel, mean pooling, the same
                 four heads), batch 64 in input order, padding to the longest post of each batch; it gets the
                 normalized text (normalization is not timed for it)
  (a')           the same with the posts of each batch chosen by length (sorted), a stronger baseline that
                 the issue's plain run does not use
  (a2)           for a distilled student: the same plain run of the student's own float32 weights
  (b) negmon     ``Classifier.classify_batch`` with the shipped default model: the whole pipeline (normalize,
                 model, localities, decisions)
  (c) fast       the same pipeline with the fast tier
For each: posts/s over all posts, p50/p99 latency of single-post ``classify`` (200 posts), peak RSS (VmHWM),
cold load time; plus ``import negmon`` time, the agreement of (b) and (c) with (a) per head (share of identical
labels, max |score difference|; needs_reply and priority at the model's thresholds), and the ratios.
Posts: the example archive, corpus dev and the RuSentiment / RuSentiTweet test texts (when ../shared is
there), sampled with a fixed seed. Threads: 2 for every system (NEGMON_THREADS, torch.set_num_threads).
Writes benchmarks/results/speed.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
HEADS = ("sentiment", "topic", "needs_reply", "priority")


def posts(n: int, seed: int = 7) -> list[str]:
    """The benchmark's posts: examples, corpus dev and shared test texts, ``n`` of them, fixed order."""
    texts = [json.loads(x)["text"] for x in (ROOT / "examples" / "posts.jsonl").read_text("utf-8").splitlines() if x]
    for f in sorted((ROOT / "corpus" / "posts").glob("*.jsonl")):
        texts += [p["text"] for p in map(json.loads, f.read_text("utf-8").splitlines()) if p.get("split") == "dev"]
    extra: list[str] = []
    try:
        from negmon.train import data as D

        extra = [r["text"] for r in D.load_rusentiment("test") + D.load_rusentitweet("test")]
    except Exception:  # no ../shared: corpus train posts instead
        for f in sorted((ROOT / "corpus" / "posts").glob("*.jsonl")):
            extra += [p["text"] for p in map(json.loads, f.read_text("utf-8").splitlines()) if p.get("split") == "train"]
    rng = random.Random(seed)
    rng.shuffle(extra)
    out = texts + extra[: max(0, n - len(texts))]
    rng.shuffle(out)
    return out[:n]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _latencies(fn: Any, items: list[str]) -> dict[str, float]:
    lat = []
    for t in items:
        s = time.perf_counter()
        fn(t)
        lat.append((time.perf_counter() - s) * 1000)
    return {"p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99))}


def child_reference(path: Path, model_dir: Path, texts: list[str], by_length: bool = False) -> dict[str, Any]:
    """(a): transformers fp32, batch 64, input order (``by_length``: batches of posts sorted by length)."""
    t0 = time.perf_counter()
    import torch
    from transformers import PreTrainedTokenizerFast

    from negmon.normalize import normalize
    from negmon.train.transformer import HEADS as ORDER
    from negmon.train.transformer import load_trained

    torch.set_num_threads(2)
    tok = PreTrainedTokenizerFast(tokenizer_file=str(model_dir / "tokenizer.json"), pad_token="<pad>")
    model = load_trained(path)
    load_s = time.perf_counter() - t0
    inputs = ["query: " + normalize(t[:20_000]).text for t in texts]

    def run(batch: list[str]) -> np.ndarray:
        enc = tok(batch, padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.inference_mode():
            return model(enc["input_ids"], enc["attention_mask"]).numpy()

    run(inputs[:8])
    s = time.perf_counter()
    order = sorted(range(len(inputs)), key=lambda i: len(inputs[i])) if by_length else list(range(len(inputs)))
    parts = [run([inputs[i] for i in order[k : k + 64]]) for k in range(0, len(order), 64)]
    secs = time.perf_counter() - s
    logits = np.zeros((len(inputs), parts[0].shape[1]), dtype=np.float32)
    logits[order] = np.concatenate(parts)
    lat = _latencies(lambda t: run([t]), inputs[:200])
    assert list(ORDER) == list(HEADS)
    return {"posts_per_s": len(texts) / secs, "load_s": load_s, **lat, "logits": logits.tolist()}


def child_negmon(model: str, texts: list[str]) -> dict[str, Any]:
    """(b)/(c): negmon's whole pipeline."""
    t0 = time.perf_counter()
    import negmon

    clf = negmon.Classifier.load(model)
    clf.classify("прогрев")  # loads the lemmatizer-free normalizer caches and the gazetteer
    load_s = time.perf_counter() - t0
    s = time.perf_counter()
    results = list(clf.classify_batch(texts, batch_size=64))
    secs = time.perf_counter() - s
    lat = _latencies(clf.classify, texts[:200])
    return {
        "posts_per_s": len(texts) / secs, "load_s": load_s, **lat,
        "labels": [[getattr(r, h) for h in HEADS] for r in results],
        "scores": [[(r.sentiment_scores or {}).get(r.sentiment or "", None), r.reply_score, r.urgent_score]
                   for r in results],
        "model_id": clf.id, "meta_heads": {h: v["labels"] for h, v in clf.heads.items()},
        "thresholds": clf.thresholds,
    }


def _spawn(args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "NEGMON_THREADS": "2", "OMP_NUM_THREADS": "2", "TOKENIZERS_PARALLELISM": "false"}
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise SystemExit(f"child {args[:2]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _import_time() -> float:
    best = 1e9
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", "import time; t=time.perf_counter(); import negmon; "
                              "print(time.perf_counter()-t)"], capture_output=True, text=True, check=True)
        best = min(best, float(out.stdout))
    return best


def _reference_labels(logits: np.ndarray, meta_heads: dict[str, list[str]], thresholds: dict[str, float],
                      temperatures: dict[str, float], partner: dict[str, Any] | None = None,
                      meta: dict[str, Any] | None = None) -> tuple[list[list[Any]], np.ndarray]:
    from negmon.model import decide, fuse, softmax

    col, probs = 0, {}
    for h in HEADS:
        k = len(meta_heads[h])
        probs[h] = softmax(logits[:, col : col + k], temperatures.get(h, 1.0))
        col += k
    if partner:  # the model's late fusion, applied to the reference's probabilities the same way
        for h in partner["heads"]:
            probs[h] = fuse(probs[h], partner["probs"][h], partner["weights"][h])
    labels = []
    flagged, hot = decide(probs["needs_reply"][:, 1], probs["priority"][:, 1], thresholds, meta or {})
    for i in range(len(logits)):
        sent = meta_heads["sentiment"][int(probs["sentiment"][i].argmax())]
        topic = meta_heads["topic"][int(probs["topic"][i].argmax())]
        reply = bool(flagged[i])
        prio = ("urgent" if hot[i] else "normal") if reply else None
        labels.append([sent, topic, reply, prio])
    scores = np.stack([probs["sentiment"].max(1), probs["needs_reply"][:, 1], probs["priority"][:, 1]], 1)
    return labels, scores


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", default=None, help="float32 weights of the model (default: runs/<teacher>/torch)")
    ap.add_argument("--model", default="default")
    ap.add_argument("--fast", default="fast")
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--child", nargs=2, metavar=("KIND", "ARG"))
    a = ap.parse_args()
    texts = posts(a.posts)
    if a.child:
        kind, arg = a.child
        if kind in ("reference", "reference-sorted"):
            from negmon.model.artifact import resolve

            res = child_reference(Path(arg), resolve(a.model), texts, by_length=kind == "reference-sorted")
        else:
            res = child_negmon(arg, texts)
        res["peak_rss_mb"] = _rss_mb()
        print(json.dumps(res))
        return

    from negmon.model.artifact import read_meta, resolve

    meta = read_meta(resolve(a.model))
    work = meta.get("training", {}).get("work", "runs")
    tcfg = meta.get("training", {}).get("transformer", {})
    own_weights = f"{work}/{meta['id']}/torch-soup" if tcfg.get("soup") else f"{work}/{meta['id']}/torch"
    teacher = tcfg.get("teacher") or own_weights
    ref_path = Path(a.reference or teacher)
    if not ref_path.is_absolute():
        ref_path = ROOT / ref_path
    lengths = np.array([len(t) for t in texts])
    rows: dict[str, dict[str, Any]] = {}
    rows["(a) transformers fp32"] = _spawn(["--child", "reference", str(ref_path), "--model", a.model,
                                             "--posts", str(a.posts)])
    rows["(a') the same, length-sorted batches"] = _spawn(["--child", "reference-sorted", str(ref_path), "--model",
                                                            a.model, "--posts", str(a.posts)])
    own = ROOT / own_weights
    if own.is_dir() and own.resolve() != ref_path.resolve():  # a distilled student: its own fp32 run too
        rows["(a2) transformers fp32, same model"] = _spawn(["--child", "reference", str(own), "--model", a.model,
                                                             "--posts", str(a.posts)])
    rows["(b) negmon default"] = _spawn(["--child", "negmon", a.model, "--posts", str(a.posts)])
    rows["(c) negmon fast"] = _spawn(["--child", "negmon", a.fast, "--posts", str(a.posts)])
    ref = rows["(a) transformers fp32"]
    # the reference's calibration (temperatures, thresholds) is its own model's: meta.json beside its weights
    teacher_meta = json.loads((ref_path.parent / "meta.json").read_text("utf-8")) \
        if (ref_path.parent / "meta.json").is_file() else meta
    temps = {h: v.get("temperature", 1.0) for h, v in teacher_meta["heads"].items()}
    partner = None
    if meta.get("ensemble"):  # the partner as the model's own loader finds and checks it
        from negmon.model import load_model, partner_weights
        from negmon.normalize import normalize

        pm = load_model(a.model).partner  # type: ignore[attr-defined]
        partner = {**meta["ensemble"], "weights": partner_weights(meta["ensemble"]),
                   "probs": pm.predict([normalize(t[: meta.get("max_chars", 20_000)]) for t in texts])}
    ref_labels, ref_scores = _reference_labels(np.array(ref["logits"]), rows["(b) negmon default"]["meta_heads"],
                                               teacher_meta.get("thresholds", {}), temps, partner, teacher_meta)
    agreement: dict[str, dict[str, float]] = {}
    for name in ("(b) negmon default", "(c) negmon fast"):
        r = rows[name]
        if set(r["meta_heads"]) != set(HEADS):
            continue
        agreement[name] = {}
        for j, h in enumerate(HEADS):
            same = [x[j] == y[j] for x, y in zip(r["labels"], ref_labels, strict=True)]
            agreement[name][h] = float(np.mean(same))
        s = np.array([[v if v is not None else np.nan for v in row] for row in r["scores"]], dtype=float)
        agreement[name]["max_score_diff"] = float(np.nanmax(np.abs(s[:, 1] - ref_scores[:, 1])))
    imp = _import_time()
    print(f"{len(texts)} posts: characters p10 {np.percentile(lengths, 10):.0f}, p50 {np.percentile(lengths, 50):.0f}, "
          f"p90 {np.percentile(lengths, 90):.0f}, max {lengths.max()}; 2 threads; import negmon {imp * 1000:.0f} ms")
    print(f"{'system':38s} {'posts/s':>8s} {'ratio':>6s} {'p50 ms':>7s} {'p99 ms':>7s} {'RSS MB':>7s} {'load s':>7s}")
    base = ref["posts_per_s"]
    for name, r in rows.items():
        print(f"{name:38s} {r['posts_per_s']:8.1f} {r['posts_per_s'] / base:6.2f} {r['p50_ms']:7.1f} "
              f"{r['p99_ms']:7.1f} {r['peak_rss_mb']:7.0f} {r['load_s']:7.2f}")
    for name, ag in agreement.items():
        print(f"agreement of {name} with (a): " + ", ".join(f"{k} {v:.3f}" for k, v in ag.items()))
    OUT.mkdir(parents=True, exist_ok=True)
    slim = {k: {kk: vv for kk, vv in v.items() if kk not in ("logits", "labels", "scores")} for k, v in rows.items()}
    (OUT / "speed.json").write_text(json.dumps({
        "posts": len(texts), "chars": {"p10": float(np.percentile(lengths, 10)), "p50": float(np.percentile(lengths, 50)),
                                       "p90": float(np.percentile(lengths, 90)), "max": int(lengths.max())},
        "import_negmon_s": imp, "systems": slim, "agreement": agreement,
        "ratios": {k: v["posts_per_s"] / base for k, v in rows.items()}, "reference_weights": str(ref_path),
    }, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
