"""The leaderboard a search prints."""

from __future__ import annotations

from training.auto.folds import SearchResult
from training.configs import ModelConfig


def _settings_text(cfg: ModelConfig) -> str:
    """A candidate's parameters and, for a feature family, its recipe, on one line."""
    shown = {kk: (f"{v:.4g}" if isinstance(v, float) else v) for kk, v in cfg.params.items()
             if kk not in ("use_item_features", "use_user_features", "loss")}
    if "text-pca" in cfg.item_parts:
        shown.update(text_components=cfg.text_components, text_share=cfg.text_share)
    if cfg.item_parts or cfg.user_parts:
        shown["feature_weight"] = cfg.feature_weight
    return ", ".join(f"{kk}={v}" for kk, v in shown.items())


def leaderboard_text(result: SearchResult, top: int = 15) -> str:
    """The best candidates, one line each, best first."""
    board = result.leaderboard()[:top]
    width = max([len(t.name) for t in board] + [9])
    lines = [f"{'candidate':<{width}}  {'family':<16} {result.metric:>9} {'seconds':>8}  parameters"]
    for t in board:
        params = "; ".join(f"{p.name}: {_settings_text(p)}" for p in t.choice.parts)
        if t.choice.weights is not None:
            params = f"weights {list(t.choice.weights)}; {params}"
        mark = "*" if t is result.best else " "
        lines.append(f"{t.name:<{width}}{mark} {t.family:<16} {float(t.score or 0.0):>9.4f} {t.seconds:>8.1f}  {params}")
    failed = [t for t in result.trials if t.score is None]
    if failed:
        lines.append(f"({len(failed)} candidate(s) failed: {failed[0].name}: {failed[0].status})")
    return "\n".join(lines)
