"""``solace safety``: measure the crisis detector, retrain its classifier, choose its
thresholds. Evaluation sets may hold real people's words: figures only, never a text."""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import asdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

from solace.services import Services
from training.crisis_detector import LabelledText


def _services(ctx: click.Context) -> Services:
    return ctx.ensure_object(dict)["services"]


def _encode_with_cache(services: Services) -> tuple[Callable[[Sequence[str]], np.ndarray], str]:
    """Encode texts through the per-text vector cache, so a second run encodes nothing."""
    from solace.jobs import encoder_for
    from storage.embeddings import TextVectorCache, embed_cached
    from core.encoder import model_name

    settings = services.settings
    name = model_name(settings.embedding_model)

    def encode(texts: Sequence[str]) -> np.ndarray:
        settings.ensure_home()
        cache = TextVectorCache.in_dir(settings.cache_dir)
        try:
            vectors, _ = embed_cached(list(texts), cache, name, lambda: encoder_for(services),
                                      batch_size=settings.embedding_batch_size)
        finally:
            cache.close()
        return vectors

    return encode, name


def _load(file: Path, group_field: str) -> list[LabelledText]:
    from training.crisis_detector import load_labelled

    try:
        rows = load_labelled(file, group_field)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if not rows:
        raise click.ClickException(f"{file}: no labelled texts")
    return rows


@click.group()
def safety() -> None:
    """Check and maintain the safety machinery (crisis-language detection)."""


GROUP_FIELD = click.option("--group-field", default="kind", show_default=True,
                           help="The field to break figures down by (e.g. kind or source).")


@safety.command(name="crisis-eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@GROUP_FIELD
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write every figure as JSON.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a report with the precision-recall curve.")
@click.pass_context
def crisis_eval(ctx: click.Context, file: Path, group_field: str, json_out: Path | None, html_out: Path | None) -> None:
    """Recall and false-positive rate of the crisis detector on a labelled JSONL file
    (lines of {"text", "label": 0|1 or none|concern|crisis, "kind"}): the lexicon alone and
    the shipped detector, both levels, a confusion matrix and figures per group."""
    from recommender.crisis import CrisisClassifier
    from recommender.crisis_lexicon import lexicon_level
    from training.crisis_detector import measure, pr_curve, score

    rows = _load(file, group_field)
    encode, _name = _encode_with_cache(_services(ctx))
    classifier = CrisisClassifier.load()
    scored = score(rows, classifier, encode)
    report: dict[str, Any] = {"file": str(file), "texts": len(rows), "thresholds": asdict(classifier.thresholds)}
    lexicon = measure(rows, [lexicon_level(r.text) for r in rows])
    shipped = measure(rows, scored.levels(classifier.thresholds))
    for name, fig in (("lexicon", lexicon), ("detector", shipped)):
        report[name] = asdict(fig)
        click.echo(f"{name:<9} crisis recall {fig.recall:.3f}  false-positive rate {fig.false_positive_rate:.3f}  "
                   f"crisis-or-concern recall {fig.concern_or_crisis_recall:.3f}  "
                   f"({fig.positives} crisis, {fig.negatives} not)")
    click.echo("confusion (rows: label, columns: detector none / concern / crisis)")
    for truth, counts in shipped.confusion.items():
        click.echo(f"  {truth:<11} " + "  ".join(f"{counts[c]:>4}" for c in ("none", "concern", "crisis")))
    click.echo(f"per {group_field}: recall / false-positive rate")
    for group, g in sorted(shipped.by_group.items()):
        click.echo(f"  {group:<24} recall {_fmt(g['recall'])} ({g['flagged_positives']}/{g['positives']})  "
                   f"fpr {_fmt(g['false_positive_rate'])} ({g['flagged_negatives']}/{g['negatives']})")
    curve = pr_curve(rows, scored)
    report["precision_recall"] = [{"threshold": t, "precision": p, "recall": r} for t, p, r in curve]
    if json_out:
        json_out.write_text(json.dumps(report, indent=2))
    if html_out:
        html_out.write_text(_html_report(report, curve))


def _fmt(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def _html_report(report: dict[str, Any], curve: list[tuple[float, float, float]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([r for _t, _p, r in curve], [p for _t, p, _r in curve], marker=".")
    shipped = report["detector"]
    ax.set_xlabel("crisis recall")
    ax.set_ylabel("crisis precision")
    ax.set_title("Precision-recall over the classifier's crisis threshold")
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    image = base64.b64encode(buf.getvalue()).decode()
    rows = "".join(
        f"<tr><td>{html.escape(g)}</td><td>{_fmt(v['recall'])}</td><td>{_fmt(v['false_positive_rate'])}</td></tr>"
        for g, v in sorted(shipped["by_group"].items())
    )
    confusion = "".join(
        f"<tr><th scope='row'>{html.escape(t)}</th>" + "".join(f"<td>{c[k]}</td>" for k in ("none", "concern", "crisis"))
        + "</tr>" for t, c in shipped["confusion"].items()
    )
    return f"""<!doctype html><html lang="en"><meta charset="utf-8"><title>Crisis detector report</title>
<body style="font-family: sans-serif; max-width: 52rem; margin: 2rem auto">
<h1>Crisis detector report</h1>
<p>{report['texts']} labelled texts from <code>{html.escape(report['file'])}</code>. Thresholds:
{html.escape(json.dumps(report['thresholds']))}.</p>
<table><tr><th></th><th>crisis recall</th><th>false-positive rate</th><th>crisis-or-concern recall</th></tr>
<tr><th scope="row">lexicon alone</th><td>{report['lexicon']['recall']:.3f}</td><td>{report['lexicon']['false_positive_rate']:.3f}</td><td>{report['lexicon']['concern_or_crisis_recall']:.3f}</td></tr>
<tr><th scope="row">shipped detector</th><td>{shipped['recall']:.3f}</td><td>{shipped['false_positive_rate']:.3f}</td><td>{shipped['concern_or_crisis_recall']:.3f}</td></tr></table>
<h2>Confusion</h2><table><tr><th>label</th><th>none</th><th>concern</th><th>crisis</th></tr>{confusion}</table>
<h2>Per group</h2><table><tr><th>group</th><th>recall</th><th>false-positive rate</th></tr>{rows}</table>
<h2>Precision and recall</h2><img alt="Precision against recall of the crisis level as the classifier's threshold varies" src="data:image/png;base64,{image}">
</body></html>"""


@safety.command(name="train-detector")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The training corpus folder (default: training/crisis_corpus).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the weights (default: the shipped recommender/data).")
@click.option("--c", "c_value", type=click.FloatRange(min=1e-4, max=1e4), default=3.0, show_default=True,
              help="Inverse L2 strength of the logistic regression.")
@click.pass_context
def train_detector(ctx: click.Context, corpus: Path | None, out: Path | None, c_value: float) -> None:
    """Retrain the crisis classifier from the team's corpus (deterministic), keeping the
    shipped thresholds; choose new ones with `solace safety choose-thresholds`."""
    from importlib import resources as importlib_resources

    from recommender.crisis import CrisisClassifier
    from training.crisis_detector import CORPUS_DIR, load_corpus, train_classifier

    rows = load_corpus(corpus or CORPUS_DIR)
    encode, name = _encode_with_cache(_services(ctx))
    try:
        current = CrisisClassifier.load()
        thresholds, card = current.thresholds, current.card
    except FileNotFoundError:
        from recommender.crisis import Thresholds

        thresholds, card = Thresholds(), {}
    classifier = train_classifier(rows, encode, name, c=c_value, thresholds=thresholds)
    classifier.card = {**{k: v for k, v in card.items() if k.startswith("thresholds_")}, **classifier.card}
    target = out or Path(str(importlib_resources.files("recommender") / "data"))
    classifier.save(target)
    click.echo(f"trained on {len(rows)} texts ({classifier.card['corpus_counts']}); weights in {target}")


@safety.command(name="choose-thresholds")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@GROUP_FIELD
@click.option("--max-fpr", type=click.FloatRange(0, 1), default=0.08, show_default=True)
@click.option("--exclude-group", multiple=True, help="Groups left out of the natural false-positive rate.")
@click.option("--max-natural-fpr", type=click.FloatRange(0, 1), default=None)
@click.option("--write", is_flag=True, help="Store the chosen thresholds with the shipped weights.")
@click.pass_context
def choose_thresholds_cmd(ctx: click.Context, file: Path, group_field: str, max_fpr: float,
                          exclude_group: tuple[str, ...], max_natural_fpr: float | None, write: bool) -> None:
    """Choose the thresholds on a labelled development set: the highest crisis recall
    whose false-positive rate stays within the limits. Figures only are printed."""
    from importlib import resources as importlib_resources

    from recommender.crisis import CrisisClassifier
    from training.crisis_detector import choose_thresholds, score

    rows = _load(file, group_field)
    encode, _name = _encode_with_cache(_services(ctx))
    classifier = CrisisClassifier.load()
    scored = score(rows, classifier, encode)
    try:
        thresholds, figures = choose_thresholds(rows, scored, max_fpr, frozenset(exclude_group), max_natural_fpr)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"thresholds {asdict(thresholds)}: crisis recall {figures.recall:.3f}, "
               f"false-positive rate {figures.false_positive_rate:.3f} on {len(rows)} texts")
    if write:
        classifier.thresholds = thresholds
        natural = (f", {max_natural_fpr} without {', '.join(exclude_group)}"
                   if max_natural_fpr is not None and exclude_group else "")
        classifier.card = {**classifier.card, "thresholds_chosen_on": f"{len(rows)} labelled texts "
                           f"(max false-positive rate {max_fpr}{natural})"}
        classifier.save(Path(str(importlib_resources.files("recommender") / "data")))
        click.echo("written with the shipped weights")
