"""The search itself, within its budget (the package docstring says how)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.auto.folds import (
    PATIENCE,
    STAGE_EPOCHS,
    Fold,
    Outcome,
    Runner,
    SearchResult,
    Trial,
    _Fitted,
    training_only,
    validation_folds,
)
from training.auto.space import (
    BLEND_SHARE,
    EASE_MAX_BASIS,
    MAX_VALIDATION_USERS,
    SAFETY,
    UNSEEN_COST_FACTOR,
    AutoChoice,
    Family,
    families,
    parse_metric,
)
from training.configs import ModelConfig
from training.data_io import WorkbenchData
from training.dataset import InteractionData
from training.evaluate import evaluate_model
from training.models.base import Recommender
from training.models.blend import ScoreBlend


def auto_search(
    wb: WorkbenchData,
    train: sp.csr_matrix,
    *,
    metric: str = "ndcg@10",
    budget_seconds: float = 900.0,
    seed: int = 42,
    threads: int = 1,
    folds: int = 1,
    timestamps: sp.csr_matrix | None = None,
    include: Sequence[str] | None = None,
    max_trials_per_family: int = 40,
    clock: Callable[[], float] = time.monotonic,
    on_trial: Callable[[Trial], None] | None = None,
    runner: Runner | None = None,
) -> SearchResult:
    """Search the families on validation folds of ``train`` and return the best candidate.

    ``runner`` fits and scores one candidate on the folds (injectable for tests); by
    default :func:`_run_candidate`. ``clock`` gives seconds (injectable likewise).
    ``timestamps`` (the training part's times, :func:`training_timestamps`) makes the
    validation a time split of the training part.
    """
    import optuna

    name, k = parse_metric(metric)
    key = f"{name}@{k}"
    if budget_seconds <= 0:
        raise ValueError("the budget must be above 0")
    wb_train = training_only(wb, train)
    fams = families(wb_train, include)
    if not fams:
        raise ValueError("no family to search on these data")
    fold_list = validation_folds(train, folds, seed, timestamps=timestamps)
    if not any(f.test.nnz for f in fold_list):
        raise ValueError("the training part is too small to carve a validation split from")

    def default_runner(choice: AutoChoice, fs: list[Fold]) -> Outcome:
        return _run_candidate(wb_train, choice, fs, key, k, seed, threads)

    run = runner or default_runner
    start = clock()
    trials: list[Trial] = []
    cost: dict[str, float] = {}
    best_of: dict[str, tuple[float, AutoChoice, list[Recommender]]] = {}
    skipped: list[str] = []

    def elapsed() -> float:
        return clock() - start

    def estimate(family: str, cfg: ModelConfig) -> float:
        """Seconds ``cfg`` should take: its family's slowest seconds per unit of work so far
        times its work (epochs x components...), so a larger draw is not taken for a cheap one."""
        if family in cost:
            return cost[family] * work(cfg)
        if family in ("lightfm-features", "hybrid-text") and "lightfm" in cost:
            return cost["lightfm"] * work(cfg) * UNSEEN_COST_FACTOR
        return 0.0

    def fits(family: str, cfg: ModelConfig, until: float) -> bool:
        spent = elapsed()
        return spent < until and spent + SAFETY * estimate(family, cfg) <= until

    def launch(family: Family, cfg: ModelConfig, label: str) -> float | None:
        choice = AutoChoice((cfg,))
        began = clock()
        try:
            got = run(choice, fold_list)
            outcome = got if isinstance(got, Outcome) else Outcome(choice, got[0], got[1])
            status = "ok"
        except (ValueError, MemoryError, np.linalg.LinAlgError) as exc:  # one bad candidate never ends the search
            outcome, status = Outcome(choice, None, []), f"failed: {exc}"
        seconds = clock() - began
        # the work actually done: a staged fit stopped early trained fewer epochs than drawn
        cost[family.name] = max(cost.get(family.name, 0.0), seconds / work(cfg, max(outcome.stages, default=None)))
        score, models, choice = outcome.score, outcome.models, outcome.choice
        trial = Trial(label, family.name, choice, score, seconds, status, outcome.stages)
        trials.append(trial)
        if on_trial:
            on_trial(trial)
        if score is not None and (family.name not in best_of or score > best_of[family.name][0]):
            best_of[family.name] = (score, choice, models)
        return score

    tuning_until = budget_seconds * (1.0 - BLEND_SHARE)
    # 1. every family's first candidate, cheapest families first
    for fam in fams:
        if fits(fam.name, fam.first, tuning_until):
            launch(fam, fam.first, f"{fam.name}#0")
        else:
            skipped.append(fam.name)
    # 2. optuna studies of the families that ran, the best families most often
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    studies = {}
    for n, fam in enumerate(fams):
        if fam.draw is None or fam.name not in best_of:
            continue
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed + n))
        studies[fam.name] = (fam, study, [0])
    stopped = "every family's trials were run"
    # the tuning time is shared by rank, not the trials: a weak family whose candidates are
    # slow (LightFM on a large catalogue) would otherwise take as much time as the leader
    spent: dict[str, float] = dict.fromkeys(studies, 0.0)
    idle_rounds = 0
    while studies and elapsed() < tuning_until:
        ranked = sorted(studies, key=lambda f: -best_of[f][0] if f in best_of else math.inf)
        share = dict(zip(ranked, time_shares(len(ranked))))
        total = sum(spent.values())
        # the family furthest below its share of the time tuned so far goes first (ties: by rank)
        order = sorted(ranked, key=lambda f: (spent[f] - share[f] * total, ranked.index(f)))
        launched = False
        for fam_name in order:
            fam, study, count = studies[fam_name]
            if count[0] >= max_trials_per_family:
                del studies[fam_name]
                continue
            asked = study.ask()
            assert fam.draw is not None
            cfg = fam.draw(asked)
            count[0] += 1
            if not fits(fam_name, cfg, tuning_until):
                # too costly for what is left: not run, and the study learns nothing from it
                study.tell(asked, state=optuna.trial.TrialState.FAIL)
                continue
            began = clock()
            score = launch(fam, cfg, f"{fam_name}#{count[0]}")
            spent[fam_name] += clock() - began
            study.tell(asked, score if score is not None else float("-inf"))
            launched = True
            break
        idle_rounds = 0 if launched else idle_rounds + 1
        if idle_rounds >= 4:  # every family has drawn only candidates too costly for what is left
            break
    if elapsed() >= tuning_until or idle_rounds >= 4:
        stopped = "budget spent"
    # 3. blends of the best model of each family (no new fit)
    ranked_best = sorted(best_of.items(), key=lambda item: -item[1][0])
    blend_pool = [(fam_name, entry) for fam_name, entry in ranked_best if fam_name != "popularity"][:3]
    featured = {f.name for f in fams if f.featured}
    for i in range(len(blend_pool)):
        for j in range(i + 1, len(blend_pool)):
            (fa, (_sa, ca, ma)), (fb, (_sb, cb, mb)) = blend_pool[i], blend_pool[j]
            if fa in featured and fb in featured:
                continue  # one dataset per blend: at most one part with side features
            # the even blend of the two best families comes first and is always scored (it
            # fits nothing: seconds), so an overrunning last candidate cannot cost the blends
            for wa in (0.5, 0.3, 0.7):
                first = i == 0 and j == 1 and wa == 0.5
                if elapsed() >= budget_seconds and not first:
                    stopped = "budget spent"
                    break
                choice = AutoChoice((ca.parts[0], cb.parts[0]), (wa, round(1.0 - wa, 2)))
                began = clock()
                try:
                    score = _score_blend(wb_train, choice, fold_list, [ma, mb], key, k, seed)
                    status = "ok"
                except (ValueError, MemoryError) as exc:
                    score, status = None, f"failed: {exc}"
                row = Trial(f"blend:{fa}+{fb}@{wa:g}", "blend", choice, score, clock() - began, status)
                trials.append(row)
                if on_trial:
                    on_trial(row)
    scored = [t for t in trials if t.score is not None]
    if not scored:
        raise ValueError("no candidate could be scored: " + "; ".join(t.status for t in trials) if trials
                         else "the budget was too small to run any candidate")
    best = max(scored, key=lambda t: float(t.score or 0.0))
    how = ("each user's latest 20% of the training part" if timestamps is not None else
           f"{len(fold_list)} per-user random 20% holdout(s) of the training part (seeds {seed + 1}..{seed + len(fold_list)})")
    return SearchResult(key, budget_seconds, elapsed(), len(fold_list),
                        f"{how}, at most {MAX_VALIDATION_USERS} users scored", trials, best, stopped, skipped)


# the tuning time of the best family, the second, and what the others share evenly
TIME_SHARES = (0.6, 0.25, 0.15)


def time_shares(n: int) -> list[float]:
    """The share of the tuning time of each of ``n`` families, best first (sums to 1):
    0.6 / 0.25 and 0.15 split among the rest; two families 0.7 / 0.3, one family all."""
    if n <= 0:
        return []
    if n == 1:
        return [1.0]
    if n == 2:
        return [0.7, 0.3]
    rest = TIME_SHARES[2] / (n - 2)
    return [TIME_SHARES[0], TIME_SHARES[1], *([rest] * (n - 2))]


def work(cfg: ModelConfig, epochs: int | None = None) -> float:
    """A candidate's work relative to its family's first candidate (epochs x components
    for LightFM, iterations x factors for ALS and BPR; 1 for the closed-form families);
    ``epochs``: the epochs a staged fit actually trained."""
    p = cfg.params
    if cfg.algorithm == "lightfm":
        trained = float(epochs if epochs is not None else p.get("epochs", 20))
        return max(trained * float(p.get("no_components", 64)) / (20 * 64), 0.05)
    if cfg.algorithm == "als":
        return max(float(p.get("iterations", 15)) * float(p.get("factors", 64)) / (15 * 64), 0.05)
    if cfg.algorithm == "bpr":
        return max(float(p.get("iterations", 100)) * float(p.get("factors", 64)) / (100 * 64), 0.05)
    if cfg.algorithm == "ease":  # the inverse of a basis x basis matrix dominates
        return max((float(p.get("max_items", EASE_MAX_BASIS)) / EASE_MAX_BASIS) ** 3, 0.05)
    return 1.0


def _run_candidate(
    wb: WorkbenchData, choice: AutoChoice, folds: list[Fold], key: str, k: int, seed: int, threads: int,
) -> Outcome:
    """Fit ``choice`` on each fold's training part and score it on the fold's users.

    A LightFM candidate is fitted in stages of :data:`STAGE_EPOCHS` epochs and scored after
    each (early stopping: :data:`PATIENCE` stages below its best end the fit); the outcome
    is its best epoch count, whose vectors are kept for blends.
    """
    cfg = choice.parts[0]
    epochs = int(cfg.params.get("epochs", 0)) if cfg.algorithm == "lightfm" and choice.weights is None else 0
    if epochs <= STAGE_EPOCHS:
        values, models = [], []
        for fold in folds:
            model = choice.build(seed, threads).fit(choice.data(wb, fold.train, seed))
            values.append(evaluate_model(model, fold.train, fold.test, k=k, users=fold.users, auc=False)[key])
            models.append(model)
        finite = [v for v in values if np.isfinite(v)]
        return Outcome(choice, float(np.mean(finite)) if finite else None, models)
    stages = list(range(STAGE_EPOCHS, epochs, STAGE_EPOCHS)) + [epochs]
    per_fold: list[dict[int, float]] = []
    kept: list[dict[int, Recommender]] = []
    for fold in folds:
        model = choice.build(seed, threads)
        scores: dict[int, float] = {}
        frozen: dict[int, Recommender] = {}

        def after(done: int, model: Any = model, fold: Fold = fold, scores: dict[int, float] = scores,
                  frozen: dict[int, Recommender] = frozen) -> bool:
            value = float(evaluate_model(model, fold.train, fold.test, k=k, users=fold.users, auc=False)[key])
            scores[done] = value
            if value >= max(scores.values()):
                frozen.clear()
                frozen[done] = _Fitted(model, snapshot=True)
            below = [e for e in sorted(scores) if e > max(scores, key=lambda x: scores[x])]
            return len(below) < PATIENCE

        staged = getattr(model, "fit_in_stages", None)
        if staged is None:
            raise ValueError(f"{cfg.name}: {type(model).__name__} cannot be fitted in stages")
        staged(choice.data(wb, fold.train, seed), stages, after)
        per_fold.append(scores)
        kept.append(frozen)
    common = sorted(set.intersection(*(set(s) for s in per_fold)))
    mean = {e: float(np.mean([s[e] for s in per_fold])) for e in common}
    best = max(mean, key=lambda e: mean[e])
    best_cfg = replace(cfg, params={**cfg.params, "epochs": best})
    # each fold's model at its own best stage (the same stage when there is one fold)
    models = [next(iter(f.values())) for f in kept]
    return Outcome(AutoChoice((best_cfg,)), mean[best], models, mean)


def _score_blend(
    wb: WorkbenchData, choice: AutoChoice, folds: list[Fold], fitted: list[list[Recommender]], key: str, k: int,
    seed: int,
) -> float | None:
    assert choice.weights is not None
    values = []
    for f, fold in enumerate(folds):
        # only the fold's scored users: each user's standardisation is their own, and the
        # items' centring comes from the whole fold, so these users' blended scores are
        # exactly the full blend's, for a fraction of the cost on a large user base
        rows = fold.users
        blend = ScoreBlend([_Fitted(models[f], rows=rows) for models in fitted], list(choice.weights))
        blend.fit(InteractionData(wb.data.user_ids, wb.data.item_ids, fold.train.tocsr()))
        train_rows, test_rows = fold.train.tocsr()[rows], fold.test.tocsr()[rows]
        values.append(evaluate_model(blend, train_rows, test_rows, k=k, auc=False)[key])
    return float(np.mean(values)) if values else None
