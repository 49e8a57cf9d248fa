"""A tiny encoder built in the test session (random weights, a tokenizer trained on the corpus), so that
training, export and the ONNX inference path are exercised in seconds without the real backbone."""

from __future__ import annotations

import json
from pathlib import Path


def make_tiny_backbone(out: Path, texts: list[str]) -> Path:
    """A BertModel folder of hidden size 32 and 2 layers with a 3,000-piece Unigram tokenizer."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel

    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    trainer = trainers.UnigramTrainer(vocab_size=3000, special_tokens=specials, unk_token="<unk>")
    tok.train_from_iterator(["query: " + t for t in texts], trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    tok.save(str(out / "tokenizer.json"))
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=512, type_vocab_size=1,
                     pad_token_id=tok.token_to_id("<pad>"))
    BertModel(cfg, add_pooling_layer=False).save_pretrained(str(out))
    (out / "backbone.json").write_text(json.dumps({"vocab": "tiny", "vocab_size": tok.get_vocab_size()}))
    return out
