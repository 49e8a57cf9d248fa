"""Finish a model folder: measure it on the held-out sets, write ``meta.json`` with metrics and hashes, and
the model card ``README.md``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from negmon.model.artifact import write_meta
from negmon.train.data import text_key

__all__ = ["DATA_LICENCES", "finish_model", "render_card", "training_data"]

log = logging.getLogger("negmon.train")

DATA_LICENCES = {
    "rusentiment": ("RuSentiment (Rogers et al., 2018), VK posts", "CC BY-NC-SA 4.0 (non-commercial)"),
    "rusentitweet": ("RuSentiTweet (Smetanin, 2022), tweets", "no licence stated; cite the paper"),
    "sentirueval": (
        "SentiRuEval-2015 banks and telecom tweets (Loukachevitch et al., 2015)",
        "no licence stated; cite the paper",
    ),
    "open_sentiment": ("OpenSentimentCorpus (OpenCorpora sentences)", "CC BY-SA 3.0"),
    "corpus": (
        "negmon corpus: posts written by the negmon project (corpus/posts, train split)",
        "same licence as negmon",
    ),
    "real": (
        "negmon real slice: the project's labels (corpus/real/labels.jsonl, train split) on real posts of "
        "RuSentiment, RuSentiTweet, SentiRuEval-2015, the Skoltech inappropriate-messages sets and CEDR",
        "labels: same licence as negmon; texts: their sets' licences (CC BY-NC-SA 4.0 where stated)",
    ),
}
OWN_DEV = ("the dev half of the user's own labelled posts (dev_files, or a stratified dev_share of files held "
           "out of training)")
EVAL_SETS = {
    "rusentiment-test": "RuSentiment official test file (3 classes: speech and skip rows dropped)",
    "rusentitweet-test": "RuSentiTweet test file (3 classes: speech and skip rows dropped)",
    "sentirueval-test": "SentiRuEval-2015 test_etalon, banks + telecoms (tweet label from its companies' values)",
    "corpus-dev": "negmon corpus dev split (project-written posts, all heads)",
    "corpus-dev-realistic": "the part of corpus dev written the way residents write (batch 3 and counterfactual "
                            "rewrites, corpus/REALISTIC.md)",
    "real-dev": "the dev half of the real slice: real posts of ../shared/data labelled by the project in two blind "
                "passes (few need a reply)",
    "blind": "the blind realistic set (corpus/blind): written after the guidelines and style brief were frozen by "
             "writers who never saw the training data, labelled blind; never used for training, thresholds, "
             "early stopping or model choice",
}


def _measure(out: Path, own_dev: list[dict[str, Any]], own_train: set[str]) -> dict[str, Any]:
    from negmon.errors import InputError
    from negmon.model import load_model
    from negmon.train.evaluate import evaluate, load_eval_set, plot

    model = load_model(out)
    metrics: dict[str, Any] = {}
    for name in ["own-dev", *EVAL_SETS]:
        if name == "own-dev":
            records = own_dev
        else:
            try:
                records = load_eval_set(name)
            except (InputError, OSError) as e:
                log.warning("skipping %s: %s", name, e)
                continue
        seen = 0
        if own_train:  # the user's training posts may include texts of a named set: measure without them
            kept = [r for r in records if text_key(r["text"]) not in own_train]
            seen, records = len(records) - len(kept), kept
        if not records:
            continue
        m = evaluate(model, records)
        if not m["heads"]:
            continue
        plots = out / "plots" / name
        plots.mkdir(parents=True, exist_ok=True)
        plot(m, plots, f"{model.meta['id']} on {name}")
        metrics[name] = {
            "description": OWN_DEV if name == "own-dev" else EVAL_SETS[name],
            "n": m["n"],
            **({"removed_as_training": seen} if seen else {}),
            "heads": {
                h: {k: v for k, v in hm.items() if k != "confusion"} | {"confusion": hm["confusion"]}
                for h, hm in m["heads"].items()
            },
        }
        log.info("%s: %s", name, {h: round(hm["macro_f1"], 4) for h, hm in m["heads"].items()})
    return metrics


def training_data(config: dict[str, Any]) -> list[dict[str, str]]:
    """The data a training config names, each with its licence, for the card (a config written before a key
    existed lacks it: the run of a model trained before own labels has no ``files``)."""
    out = [{"name": DATA_LICENCES[s][0], "licence": DATA_LICENCES[s][1]} for s in config.get("sentiment_sets", [])]
    out += [{"name": DATA_LICENCES[k][0], "licence": DATA_LICENCES[k][1]} for k in ("corpus", "real") if config.get(k)]
    own = [*config.get("files", []), *config.get("dev_files", [])]
    if config.get("files"):
        out.append({"name": "the user's own labelled posts: " + ", ".join(Path(f).name for f in own),
                    "licence": "as their owner sets"})
    return out


def finish_model(out: Path, meta: dict[str, Any], files: list[str], own_dev: list[dict[str, Any]] | None = None,
                 own_train: list[dict[str, Any]] | None = None) -> None:
    """Write meta.json (hashes of ``files``), evaluate on every available held-out set (and on ``own_dev``, the
    dev half of the user's own labelled posts; a named set's texts that ``own_train`` holds are left out of it),
    write the card."""
    config = meta.get("training", {}).get("config", {})
    meta.setdefault("training_data", training_data(config))
    write_meta(out, meta, files)
    meta["metrics"] = _measure(out, own_dev or [], {text_key(r["text"]) for r in own_train or []})
    write_meta(out, meta, files)
    (out / "README.md").write_text(render_card(meta), "utf-8")


def _table(metrics: dict[str, Any]) -> str:
    lines = [
        "| set | head | n | accuracy | macro-F1 | ECE | notes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in metrics.items():
        for head, hm in m["heads"].items():
            note = ""
            if "recall" in hm:
                note = f"P={hm['precision']:.3f} R={hm['recall']:.3f} F1={hm['f1']:.3f} at threshold {hm['threshold']:.3f}"
            lines.append(
                f"| {name} | {head} | {hm['n']} | {hm['accuracy']:.3f} | {hm['macro_f1']:.3f} | "
                f"{hm['ece']:.3f} | {note} |"
            )
    return "\n".join(lines)


def _training_line(tr: dict[str, Any]) -> str:
    line = f"Training rows: {tr.get('train_rows', '?')}; training took {tr.get('seconds', '?')} s"
    tc = tr.get("transformer", {})
    if tc.get("init"):
        line += f", continuing from the weights in `{tc['init']}` (an earlier stage, with its own time"
        if tr.get("recovered_from"):
            line += f": the float32 weights recovered from the packed graph of {tr['recovered_from']}"
        line += ")"
    if tc.get("teacher"):
        line += f", distilled from `{tc['teacher']}` (layers {tc.get('student_layers')})"
    if tc.get("soup"):
        line += (", then averaged weight by weight with the fine-tune(s) "
                 + ", ".join(f"`{s}`" for s in tc["soup"]) + " from the same starting weights (a model soup)")
    if tr.get("selection"):
        line += f". Hyper-parameters chosen on dev: `{tr['selection']}`"
    return line + "."


def _decision_line(d: dict[str, Any] | None) -> str:
    if not d:
        return ""
    return (f"\nDecision rule: an urgent score over its threshold flags a post by itself (urgency never hangs on the "
            f"reply head). Both thresholds were chosen on {', '.join(f'`{s}`' for s in d['thresholds_chosen_on'])}: "
            f"each is the highest whose recall reaches its target (needs_reply {d['needs_reply_recall']}, urgent "
            f"{d['urgent_recall']}) on every one of them. The temperatures were fitted on the whole dev set; the "
            "`blind` set chose nothing.\n")


def _nc_line(meta: dict[str, Any]) -> str:
    if not any("NC" in d["licence"] for d in meta.get("training_data", [])):
        return ""
    return ("Because some training sets are licensed for non-commercial use only (CC BY-NC-SA), these weights are\n"
            "offered for research and non-commercial use; retrain on permissive data (`negmon train`) for other "
            "uses.\n")


def _labels(heads: dict[str, Any]) -> str:
    lines = [f"- `{h}`: " + ", ".join(f"`{lab}`" for lab in s["labels"]) for h, s in heads.items()]
    return "Labels, in the order of the model's outputs:\n\n" + "\n".join(lines)


def render_card(meta: dict[str, Any]) -> str:
    """The model card (Markdown) from ``meta``: what it predicts, how well, on what data, under which licences."""
    heads = ", ".join(f"`{h}` ({len(s['labels'])} labels)" for h, s in meta["heads"].items())
    missing = [h for h in ("sentiment", "topic", "needs_reply", "priority") if h not in meta["heads"]]
    tr = meta.get("training", {})
    data_lines = "\n".join(f"- {d['name']}: {d['licence']}" for d in meta.get("training_data", []))
    sets = "\n".join(f"- `{k}`: {v['description']}" + (f" ({v['removed_as_training']} of its posts are among the "
                                                       "training posts and were left out)" if v.get("removed_as_training") else "")
                     for k, v in meta.get("metrics", {}).items())
    base = meta.get("base_model")
    base_line = f"Base encoder: {base}.\n\n" if base else ""
    ens = meta.get("ensemble")
    if ens:
        base_line += (f"Late fusion: the {', '.join(ens['heads'])} scores are the weighted geometric mean of this "
                      f"encoder's and those of the linear model `{ens['model']}` (weight {ens['weight']}), which "
                      f"must sit at `{ens['path']}` relative to this folder with the file hashes recorded in "
                      "`meta.json[\"ensemble\"]`.\n\n")
    return f"""# Model card: {meta["id"]}

Kind: **{meta["kind"]}**{" (aliases: " + ", ".join(meta.get("aliases", [])) + ")" if meta.get("aliases") else ""}.
Heads: {heads}.{" Missing heads (their Result fields are None): " + ", ".join(missing) + "." if missing else ""}

{_labels(meta["heads"])}

{base_line}Intended use: triage of Russian social-media posts addressed to regional and municipal authorities
(which posts need a reply, on what topic, how urgently, and the author's sentiment). Not for decisions about
people: a flag is a suggestion for a human operator. Scores are calibrated by temperature scaling on dev data;
decision thresholds (`meta.json["thresholds"]`): {meta.get("thresholds") or "none (argmax)"}.
{_decision_line(meta.get("decision"))}
## Evaluation (held-out sets; none of their texts were used in training)

{_table(meta.get("metrics", {}))}

{sets}

Confusion matrices: `plots/<set>/confusion_<head>.png`.

## Training data and licences

{data_lines}

{_nc_line(meta)}
{_training_line(tr)}

## Limitations

- Trained on general social-media sentiment sets and on posts written by the negmon project; real posts to
  authorities differ in style and may score lower than the dev figures above.
- Sarcasm, mixed feelings and long multi-topic posts remain hard; check low-margin scores by hand.
"""
