"""Outputs of ``solace evaluate``: the screen table, the JSON and a self-contained HTML report.

The HTML has no external reference at all (no script, stylesheet or image URL): plots
are PNGs embedded as base64, so the file can be mailed or attached to a review as is.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from training.workbench import Result


def metrics_json(results: Sequence[Result]) -> dict[str, dict[str, float | None]]:
    """Keyed by configuration name, then metric name (NaN becomes null)."""
    return {r.config.name: {k: _finite(v) for k, v in r.metrics.items()} for r in results}


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def gain_text(entry: Mapping[str, Any], metric: str, plusminus: str = "±") -> str:
    """One relative gain as a percentage, with its spread over repeats when there is one."""
    v, sd = entry.get(metric), entry.get(f"{metric}_sd")
    return ("-" if v is None else f"{v:+.1%}") + ("" if sd is None else f" {plusminus} {sd:.1%}")


def text_table(results: Sequence[Result], metrics: Sequence[str]) -> str:
    """One fixed-width table: a row per configuration, a column per metric, fit time last."""
    width = max([len("configuration")] + [len(r.config.name) for r in results])
    cols = [max(12, len(m)) for m in metrics]
    head = f"{'configuration':<{width}}  " + "  ".join(f"{m:>{c}}" for m, c in zip(metrics, cols)) + f"  {'fit s':>7}"
    lines = [head, "-" * len(head)]
    for r in results:
        cells = "  ".join(f"{_fmt(r.metrics.get(m)):>{c}}" for m, c in zip(metrics, cols))
        lines.append(f"{r.config.name:<{width}}  {cells}  {r.fit_seconds:>7.1f}")
    return "\n".join(lines)


def write_json(path: Path, results: Sequence[Result], meta: Mapping[str, Any]) -> None:
    """The metrics at the top level (algorithm -> metric), plus a ``_run`` entry describing
    the run, whose leading underscore cannot clash with a configuration name."""
    body: dict[str, Any] = dict(metrics_json(results))
    body["_run"] = {
        **meta,
        "configurations": {r.config.name: {
            "algorithm": r.config.algorithm, "params": dict(r.config.params),
            "item_features": list(r.config.item_parts), "user_features": list(r.config.user_parts),
            "description": r.config.description, "fit_seconds": round(r.fit_seconds, 2),
            **({"engine": r.config.engine} if r.config.engine != "local" else {}),
        } for r in results},
    }
    path.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def plots(results: Sequence[Result], metrics: Sequence[str]) -> list[tuple[str, str]]:
    """(title, base64 PNG): one bar chart per metric, then fit times."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.config.name for r in results]
    out = []
    panels = [m for m in metrics if any(r.metrics.get(m) is not None for r in results)]
    cols = 2
    rows = max(1, math.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.6 * rows), squeeze=False)
    for ax, metric in zip(axes.ravel(), panels):
        values = [r.metrics.get(metric) or 0.0 for r in results]
        bars = ax.barh(names, values, color="#4c78a8")
        best = max(range(len(values)), key=values.__getitem__)
        bars[best].set_color("#f58518")
        ax.set_title(metric)
        ax.invert_yaxis()
        for bar, v in zip(bars, values):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {v:.3f}", va="center", fontsize=8)
        ax.set_xlim(0, max(values + [1e-9]) * 1.25)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    out.append(("Metrics (best in orange)", _png(fig)))
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.35 * len(results)))
    ax.barh(names, [r.fit_seconds for r in results], color="#54a24b")
    ax.invert_yaxis()
    ax.set_xlabel("fit time (s)")
    fig.tight_layout()
    out.append(("Training time", _png(fig)))
    plt.close(fig)
    return out


def write_html(path: Path, results: Sequence[Result], metrics: Sequence[str], meta: Mapping[str, Any]) -> None:
    """One file: run description, the metrics table, the configurations and the plots."""
    esc = html.escape
    best = {m: max((v for r in results if (v := r.metrics.get(m)) is not None), default=None)
            for m in metrics}
    rows = []
    for r in results:
        cells = []
        for m in metrics:
            v = r.metrics.get(m)
            mark = ' class="best"' if v is not None and v == best[m] else ""
            sd = r.metrics.get(f"{m}_sd")
            spread = f" &plusmn; {sd:.4f}" if sd is not None else ""
            cells.append(f"<td{mark}>{_fmt(v)}{spread}</td>")
        rows.append(f"<tr><th>{esc(r.config.name)}</th>{''.join(cells)}<td>{r.fit_seconds:.1f}</td></tr>")
    configs = "".join(
        f"<tr><th>{esc(r.config.name)}</th><td>{esc(r.config.algorithm)}</td>"
        f"<td><code>{esc(json.dumps(dict(r.config.params), default=str))}</code></td>"
        f"<td>{esc('+'.join(r.config.item_parts) or 'none')}</td><td>{esc('+'.join(r.config.user_parts) or 'none')}</td>"
        f"<td>{esc(r.config.description)}</td></tr>"
        for r in results
    )
    # per-repeat metrics stay in the JSON; the page shows mean +- standard deviation instead
    meta_rows = "".join(f"<tr><th>{esc(str(k))}</th><td>{esc(str(v))}</td></tr>"
                        for k, v in meta.items() if k not in ("per_repeat", "gains"))
    gains_html = ""
    if meta.get("gains"):
        gain_metrics = [m for m in next(iter(meta["gains"].values())) if not m.endswith("_sd")]
        gain_rows = "".join(
            f"<tr><th>{esc(name)}</th>" + "".join(f"<td>{gain_text(entry, m, '&plusmn;')}</td>" for m in gain_metrics)
            + "</tr>"
            for name, entry in meta["gains"].items())
        gains_html = (f"<h2>Relative gain over {esc(str(meta.get('baseline')))}</h2><table><tr><th>configuration</th>"
                      + "".join(f"<th>{esc(m)}</th>" for m in gain_metrics) + f"</tr>{gain_rows}</table>")
    images = "".join(
        f'<figure><img alt="{esc(title)}" src="data:image/png;base64,{b64}"><figcaption>{esc(title)}</figcaption></figure>'
        for title, b64 in plots(results, metrics)
    )
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Solace evaluation report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; font-size: 14px; }}
th {{ text-align: left; background: #f4f4f4; }}
td.best {{ font-weight: bold; background: #fff1dc; }}
code {{ font-size: 12px; }}
figure {{ margin: 1em 0; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>Solace evaluation report</h1>
<p>Generated {esc(datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC'))}. All metrics exclude each
user's training positives; AUC is over every item the user had not interacted with in training.</p>
<h2>Run</h2><table>{meta_rows}</table>
<h2>Metrics</h2>
<table><tr><th>configuration</th>{''.join(f'<th>{esc(m)}</th>' for m in metrics)}<th>fit s</th></tr>
{''.join(rows)}</table>
{gains_html}
<h2>Plots</h2>{images}
<h2>Configurations</h2>
<table><tr><th>name</th><th>algorithm</th><th>parameters</th><th>item features</th><th>user features</th><th>what</th></tr>
{configs}</table>
</body></html>
"""
    path.write_text(doc, encoding="utf-8")
