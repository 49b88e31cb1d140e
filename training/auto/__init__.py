"""Automatic model selection: search the algorithm families and their main parameters on
validation data carved from the training part only, within a time budget.

Named configurations were tuned on MovieLens and do not transfer (issue 21): on a
platform's own data the best family and its parameters differ. :func:`auto_search`
therefore tries every family the data allow (popularity, content, EASE, implicit's ALS
and BPR, LightFM without and with features and text components), then spends the rest of
the budget on optuna (TPE, seeded) studies of the families, whose tuning time is shared by
rank (the best family 60%, the second 25%, the others 15% between them), and finally on
blends of the best model of each family, which cost no new fit (the fitted models are
kept). The winner is what scores best on the validation metric.

It is given the training part and nothing else: the data it searches on has the training
interactions only (:func:`training_only`), so the test part can neither be read nor
leak through the features' "seen items".

The budget is checked before each launch against an estimate of the candidate's cost (its
family's slowest run so far), so the search stops launching once the budget is spent; the
clock is injectable so this is tested without waiting.

The package: ``space`` (metric, families, parameter draws, the choice), ``folds`` (the
training-only data, validation folds, trials and the result), ``search`` (the budgeted
search) and ``report`` (the leaderboard).
"""

from training.auto.folds import (
    Fold,
    SearchResult,
    Trial,
    _Fitted,
    training_only,
    training_timestamps,
    validation_folds,
)
from training.auto.report import leaderboard_text
from training.auto.search import _score_blend, auto_search
from training.auto.space import (
    ALL_FAMILIES,
    AutoChoice,
    Family,
    config_json,
    families,
    parse_metric,
)

__all__ = [
    "ALL_FAMILIES", "AutoChoice", "Family", "Fold", "SearchResult", "Trial", "_Fitted", "_score_blend",
    "auto_search", "config_json", "families", "leaderboard_text", "parse_metric", "training_only",
    "training_timestamps", "validation_folds",
]
