"""Make the float32 ONNX graph of a trained model small and fast for CPUs.

Steps, each optional:
  1. ``fuse``: ONNX Runtime's BERT fusions (attention, skip-layer-norm, bias-GELU); the embedding lookup is left
     unfused so that step 2 can shrink it.
  2. ``int8 embeddings``: the word-embedding table becomes int8 with one float32 scale per row (symmetric),
     looked up and rescaled in the graph: a quarter of the size, and every token row keeps its own precision.
  3. ``matmul``: the weight matrices of the layers become 8-bit blocks (``MatMulNBits``, ``accuracy_level`` 4:
     activations are quantized row by row, so a post's result does not depend on the other posts of its
     batch), or ``dynamic`` int8 (``MatMulInteger``, per-channel weights, per-tensor activations), or stay
     float32 (``none``).
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import numpy as np

__all__ = ["optimize"]

log = logging.getLogger("negmon.train")


def _fuse(src: Path, dst: Path, num_heads: int, hidden: int) -> None:
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    opts = FusionOptions("bert")
    opts.enable_embed_layer_norm = False
    m = optimize_model(str(src), model_type="bert", num_heads=num_heads, hidden_size=hidden, optimization_options=opts,
                       opt_level=1)
    stats = {k: v for k, v in m.get_fused_operator_statistics().items() if v}
    log.info("fused operators: %s", stats)
    m.save_model_to_file(str(dst))


def _int8_embeddings(path: Path, name: str = "encoder.embeddings.word_embeddings.weight") -> None:
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    if name not in inits:
        cands = [i.name for i in g.initializer if "word_embeddings" in i.name]
        if not cands:
            log.warning("no word-embedding table found; embeddings stay float32")
            return
        name = cands[0]
    table = numpy_helper.to_array(inits[name]).astype(np.float32)
    scale = np.abs(table).max(1, keepdims=True) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.round(table / scale), -127, 127).astype(np.int8)
    g.initializer.remove(inits[name])
    g.initializer.extend([numpy_helper.from_array(q, name + "_q"), numpy_helper.from_array(scale, name + "_scale")])
    for node in list(g.node):
        if node.op_type != "Gather" or node.input[0] != name:
            continue
        ids, out = node.input[1], node.output[0]
        idx = list(g.node).index(node)
        g.node.remove(node)
        new = [
            helper.make_node("Gather", [name + "_q", ids], [out + "_q"], axis=0),
            helper.make_node("Cast", [out + "_q"], [out + "_f"], to=onnx.TensorProto.FLOAT),
            helper.make_node("Gather", [name + "_scale", ids], [out + "_s"], axis=0),
            helper.make_node("Mul", [out + "_f", out + "_s"], [out]),
        ]
        for k, n in enumerate(new):
            g.node.insert(idx + k, n)
    onnx.save(model, str(path))


def _matmul(path: Path, method: str) -> None:
    import onnx

    if method == "none":
        return
    if method in ("dynamic", "dynamic_ffn_fp32"):
        from onnxruntime.quantization import QuantType, quantize_dynamic

        exclude = []
        if method == "dynamic_ffn_fp32":
            # float32: every FFN output projection (its input is GELU's output, with outliers that int8
            # per-tensor activation scales cut)
            graph = onnx.load(str(path), load_external_data=False).graph
            layer = re.compile(r"/layer\.\d+/")
            exclude = [n.name for n in graph.node if n.op_type == "MatMul" and layer.search(n.name)
                       and "/output/dense" in n.name and "attention" not in n.name]
        tmp = path.with_suffix(".q.onnx")
        # fused operators hide tensor types from shape inference: tell the quantizer they are float
        quantize_dynamic(str(path), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=exclude,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        shutil.move(str(tmp), str(path))
        return
    if method != "nbits8":
        raise ValueError(f"matmul quantization must be none, dynamic, dynamic_ffn_fp32 or nbits8, got {method!r}")
    from onnxruntime.quantization import matmul_nbits_quantizer as mnq

    cfg = mnq.DefaultWeightOnlyQuantConfig(block_size=32, is_symmetric=True, accuracy_level=4, bits=8)
    qz = mnq.MatMulNBitsQuantizer(onnx.load(str(path)), bits=8, block_size=32, is_symmetric=True,
                                  accuracy_level=4, algo_config=cfg)
    qz.process()
    qz.model.save_model_to_file(str(path), use_external_data_format=False)


def optimize(src: Path, dst: Path, *, num_heads: int, hidden: int, fuse: bool = True,
             int8_embeddings: bool = True, matmul: str = "nbits8") -> Path:
    """Write the optimized graph of ``src`` (float32 ONNX) to ``dst``; see the module docstring."""
    for name in ("onnxruntime.quantization", "onnxruntime.transformers"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if fuse:
        _fuse(src, dst, num_heads, hidden)
    else:
        shutil.copy(src, dst)
    if int8_embeddings:
        _int8_embeddings(dst)
    _matmul(dst, matmul)
    return dst


def repack(model_dir: Path, fp32: Path, *, matmul: str = "dynamic") -> Path:
    """Rebuild ``model_dir/model.onnx`` from a kept float32 graph (``runs/<id>/model.fp32.onnx``, beside the
    ``torch/encoder`` folder whose config gives the attention heads), then re-measure and re-hash the model."""
    import json

    from negmon.train.card import finish_model

    enc = json.loads((fp32.parent / "torch" / "encoder" / "config.json").read_text("utf-8"))
    meta = json.loads((model_dir / "meta.json").read_text("utf-8"))
    tmp = model_dir / "model.new.onnx"
    optimize(fp32, tmp, num_heads=enc["num_attention_heads"], hidden=enc["hidden_size"], matmul=matmul)
    shutil.move(str(tmp), str(model_dir / "model.onnx"))
    meta["runtime"]["quantization"] = ("fused BERT operators; int8 word embeddings (a scale per row); "
                                       + {"dynamic": "dynamic int8 MatMul (per-channel weights)",
                                          "nbits8": "8-bit MatMulNBits", "none": "float32 MatMul"}[matmul])
    files = list(meta.pop("files"))
    meta.pop("metrics", None)
    meta.pop("format_version", None)
    finish_model(model_dir, meta, files)
    return model_dir


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="rebuild a model's ONNX graph from its kept float32 graph")
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--fp32", type=Path, required=True)
    ap.add_argument("--matmul", default="dynamic", choices=["dynamic", "nbits8", "none"])
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print(repack(a.model_dir, a.fp32, matmul=a.matmul))
