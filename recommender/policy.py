"""The safety policy: rules no model score can override.

Every list Solace returns, online or in offline evaluation, passes through
:func:`apply_policy`:

1. only approved, non-retired resources (the view's ``servable`` mask), and of those only
   the global catalog and the request's own tenant's private resources;
2. when the request signals risk, crisis resources for the user's country (else the
   international directory) come first and are never filtered or diversified away;
3. a user's topic opt-outs are never served; under-18s get no adult or detailed
   self-harm / suicide / eating-disorder content (support and crisis resources stay);
4. balance: at most ``max_topic_share`` of the list per topic and ``max_heavy_share`` with
   heavy content warnings; skills and recovery content wins ties.

``k`` is honoured whenever enough content qualifies. The list is filled in this order: the
best balanced list (the pool widened to every candidate if the caps starve it); then, if
still short of ``k``, the best remaining candidates in score order even where their topic
is at its cap (the topic cap is relaxed last, and only to reach ``k``). Nothing else is
ever relaxed: rules 1 to 3 decide what is a candidate at all, and the heavy-content cap
holds, so a list is shorter than ``k`` only when too little content passes them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from recommender.catalog_view import TOPIC_INDEX, TYPE_CODES, CatalogView, region_of



@dataclass(frozen=True)
class PolicyRequest:
    types: frozenset[str] = frozenset(TYPE_CODES)
    locale: str | None = None
    opt_outs: frozenset[str] = frozenset()
    is_minor: bool = False
    risk: bool = False
    exclude_rows: frozenset[int] = frozenset()
    max_topic_share: float = 0.4
    max_heavy_share: float = 0.3
    extra_excluded_topics: frozenset[str] = field(default_factory=frozenset)
    # what the moment calls for: "crisis" (coping and safety planning next to the crisis
    # lines), "concern" (a little support content first), "helping" (worry for someone else)
    support: str | None = None
    # the language of a request that names none (content in another language is never served)
    default_locale: str = "en"
    # The tenant the request is for: its private resources join the global catalog.
    # None (offline use, tests): the global catalog only.
    tenant: str | None = None
    # the tenant pauses resources that outcomes sent back to review (crisis lines never are)
    pause_flagged: bool = False


def _static(view: CatalogView, req: PolicyRequest) -> tuple[np.ndarray, np.ndarray, int]:
    """For the request's shape: the candidate mask before the user's own exclusions, the
    array added to scores (the tie bonus where allowed, ``-inf`` elsewhere: masking is then
    one addition per request) and the number allowed. Memoised per shape and catalog view."""
    blocked = frozenset(req.opt_outs | req.extra_excluded_topics)
    key = ("shape", req.types, req.locale or req.default_locale, req.is_minor, blocked, req.tenant,
           req.pause_flagged)
    memo = view.memo.get(key)
    if memo is None:
        static = _static_mask(view, req, blocked)
        penalty = np.where(static, view.tie_bonus, np.float32(-np.inf)).astype(view.tie_bonus.dtype)
        static.setflags(write=False)
        penalty.setflags(write=False)
        if len(view.memo) > 256:  # bounded: opt-out sets vary per user
            view.memo.clear()
        memo = (static, penalty, int(static.sum()))
        view.memo[key] = memo
    return memo  # the memo holds only these triples (Any)


def candidate_mask(view: CatalogView, req: PolicyRequest) -> np.ndarray:
    """Items that may appear in the personalised part of the list (a fresh array)."""
    mask = _static(view, req)[0].copy()
    if req.exclude_rows:
        mask[list(req.exclude_rows)] = False
    return mask


def _static_mask(view: CatalogView, req: PolicyRequest, blocked: frozenset[str]) -> np.ndarray:
    """The part of the mask that depends only on the request's shape, not on the user's
    history: computed once per shape and catalog view (it is per request otherwise)."""
    mask = view.servable_for(req.tenant) & ~view.crisis & ~view.group_full
    wanted = np.zeros(len(TYPE_CODES) + 1, dtype=bool)  # the last slot is code -1 (unknown)
    wanted[[TYPE_CODES[t] for t in req.types if t in TYPE_CODES]] = True
    mask &= wanted[view.type_code]
    # only the request's language (en-GB may get en, never de); no locale: the default
    mask &= view.language_mask(req.locale or req.default_locale)
    mask &= view.meets_in(region_of(req.locale))
    topics = [TOPIC_INDEX[t] for t in blocked if t in TOPIC_INDEX]
    if topics:
        mask &= ~view.topics[:, topics].any(axis=1)
    if req.is_minor:
        mask &= ~view.minor_excluded
    if req.pause_flagged and view.flagged.shape[0]:
        mask &= ~view.flagged
    return mask


def crisis_rows(
    view: CatalogView, locale: str | None, limit: int = 3, tenant: str | None = None,
) -> list[int]:
    """Crisis resources for the locale's country, then the international directory (the
    global ones and the tenant's own)."""
    region = region_of(locale)
    rows = np.flatnonzero(view.servable_for(tenant) & view.crisis)
    local = [int(r) for r in rows if region and view.cards[r].get("country") == region]  # type: ignore[union-attr]  # crisis rows always have a card
    intl = [int(r) for r in rows if view.cards[r].get("country") == "INTL"]  # type: ignore[union-attr]  # crisis rows always have a card
    chosen = (local + intl)[:limit]
    if not chosen:  # no country known and no directory: any crisis line beats none
        chosen = [int(r) for r in rows[:limit]]
    return chosen


def balanced_selection(
    view: CatalogView,
    ranked_rows: Sequence[int] | np.ndarray,
    k: int,
    req: PolicyRequest,
    embeddings: np.ndarray | None = None,
    scores: np.ndarray | None = None,
    mmr_lambda: float = 0.8,
) -> list[int]:
    """Greedy pick from ``ranked_rows`` under the topic and heavy-content caps.

    With embeddings, maximal marginal relevance trades a little score for variety:
    ``lambda * score - (1 - lambda) * max cosine to what is already picked``. Each pick is
    the best position not yet blocked: a position is blocked once picked or once one of
    its topics (or, for heavy content, the heavy count) reaches its cap, for good, since
    counts only grow. The blocking is done on the pool's arrays at the moment a cap is
    reached, so a pick costs a few array operations whatever the pool size (this runs on
    every request: per-position Python checks were a fifth of a request's CPU).
    """
    topic_cap = max(1, math.floor(req.max_topic_share * k))
    heavy_cap = max(0, math.floor(req.max_heavy_share * k))
    rows = np.asarray(ranked_rows, dtype=np.intp)
    m = len(rows)
    if m == 0 or k <= 0:
        return []
    pool_topics = view.topics[rows]
    heavy = view.heavy[rows]
    counts = np.zeros(pool_topics.shape[1], dtype=np.int64)
    blocked = heavy.copy() if heavy_cap == 0 else np.zeros(m, dtype=bool)
    heavy_count = 0
    picked: list[int] = []
    use_mmr = embeddings is not None and scores is not None and mmr_lambda < 1.0 and m > 1
    if use_mmr:
        cand = embeddings[rows]  # type: ignore[index]  # use_mmr implies embeddings is set
        raw = scores[rows].astype(np.float64)  # type: ignore[index]  # use_mmr implies scores is set
        spread = float(raw.max() - raw.min())
        relevance = mmr_lambda * ((raw - raw.min()) / spread if spread > 0 else np.zeros(m))
        max_sim = np.zeros(m)
    while len(picked) < k:
        if use_mmr and picked:
            value = relevance - (1 - mmr_lambda) * max_sim
            value[blocked] = -np.inf
            pos = int(np.argmax(value))  # the first of equals, as a stable sort gives
            if value[pos] == -np.inf:
                break
        else:
            free = np.flatnonzero(~blocked)
            if free.size == 0:
                break
            pos = int(free[0])
        blocked[pos] = True
        picked.append(int(rows[pos]))
        for t in view.topic_ids[rows[pos]]:
            counts[t] += 1
            if counts[t] >= topic_cap:
                blocked |= pool_topics[:, t]
        if heavy[pos]:
            heavy_count += 1
            if heavy_count >= heavy_cap:
                blocked |= heavy
        if use_mmr:
            np.maximum(max_sim, cand @ cand[pos], out=max_sim)
    return picked


def apply_policy(
    view: CatalogView,
    scores: np.ndarray,
    k: int,
    req: PolicyRequest,
    embeddings: np.ndarray | None = None,
    mmr_lambda: float = 0.8,
    pool_factor: int = 6,
) -> tuple[list[int], list[int]]:
    """The final list: ``(crisis rows, ranked rows)``, together at most ``k`` plus crisis.

    Crisis rows are returned separately and always first; they do not take the place of
    the user's own suggestions, so nothing helpful is withheld either.
    """
    from recommender.scoring import top_k

    static, penalty, available = _static(view, req)
    masked = scores + penalty  # a new array: the caller's scores stay as they were
    if req.exclude_rows:
        excluded = np.fromiter(req.exclude_rows, dtype=np.intp, count=len(req.exclude_rows))
        available -= int(static[excluded].sum())
        masked[excluded] = -np.inf
    size = max(k * pool_factor, k)
    while True:
        pool, _ = top_k(masked, size)
        ranked = balanced_selection(view, pool, k, req, embeddings, masked, mmr_lambda)
        # The caps can starve a small pool (one dominant topic): widen it before giving up.
        if len(ranked) == k or size >= available:
            break
        size *= 4
    if len(ranked) < k:
        ranked = _fill_past_topic_cap(view, masked, available, k, req, ranked)
    support = _support_first(view, masked, k, req, ranked)
    crisis = crisis_rows(view, req.locale, tenant=req.tenant) if req.risk else []
    return crisis, ranked if support is None else support


def _fill_past_topic_cap(
    view: CatalogView, masked: np.ndarray, available: int, k: int, req: PolicyRequest, ranked: list[int],
) -> list[int]:
    """The balanced list, then the best remaining candidates in score order up to ``k``
    although their topic is at its cap: a short list helps nobody when more qualifying
    content exists. The heavy-content cap still holds, and every candidate passed the
    candidate mask (approval, tenant, language, place, opt-outs, the under-18 rules)."""
    from recommender.scoring import top_k

    heavy_cap = max(0, math.floor(req.max_heavy_share * k))
    heavy_count = sum(bool(view.heavy[r]) for r in ranked)
    taken = set(ranked)
    out = list(ranked)
    order, _ = top_k(masked, available)
    for row in order.tolist():
        if len(out) >= k:
            break
        if row in taken:
            continue
        if view.heavy[row]:
            if heavy_count >= heavy_cap:
                continue
            heavy_count += 1
        out.append(int(row))
    return out


# How many support items a concern puts first; a crisis fills the list with them.
CONCERN_SUPPORT_ITEMS = 2


def _support_first(
    view: CatalogView, masked: np.ndarray, k: int, req: PolicyRequest, ranked: list[int],
) -> list[int] | None:
    """The list reordered for the moment: next to crisis lines, coping and safety-planning
    content in the order of the scores (which carry the context text); for a concern, a
    couple of such items first. Every rule of the candidate mask still holds."""
    if req.support is None or k <= 0:
        return None
    if req.support == "crisis":
        tier = view.crisis_support
    else:
        tier = (view.helping if req.support == "helping" else view.coping).astype(np.int8)
    if tier.shape[0] != masked.shape[0]:
        return None
    eligible = np.flatnonzero(candidate_mask(view, req) & (tier > 0))
    if eligible.size == 0:
        return None
    # the higher tier first, each in the order of the scores (which carry the context)
    order = eligible[np.lexsort((-masked[eligible], -tier[eligible]))]
    limit = k if req.support == "crisis" else min(CONCERN_SUPPORT_ITEMS, k)
    first = [int(r) for r in order[:limit]]
    rest = [r for r in ranked if r not in first]
    return (first + rest)[:k]


def _could_have_balanced(
    view: CatalogView, rows: list[int], req: PolicyRequest, k: int, counts: np.ndarray,
    topic_cap: int, heavy_cap: int,
) -> bool:
    """Whether a list over a topic cap left out a candidate it could have taken instead
    without breaking a cap (the cap is relaxed only when nothing else qualifies), or is
    longer than ``k``."""
    if len(rows) > k:
        return True
    chosen = set(rows)
    heavy_count = int(view.heavy[[r for r in rows if not view.crisis[r]]].sum()) if rows else 0
    for row in np.flatnonzero(candidate_mask(view, req)).tolist():
        if row in chosen:
            continue
        blocked_by_topic = any(counts[t] >= topic_cap for t in view.topic_ids[row])
        blocked_by_heavy = bool(view.heavy[row]) and heavy_count >= heavy_cap
        if not (blocked_by_topic or blocked_by_heavy):
            return True
    return False


def violates_policy(view: CatalogView, rows: Iterable[int], req: PolicyRequest, k: int) -> list[str]:
    """Every rule a returned list breaks (empty when it is safe); used by tests and audits."""
    rows = list(rows)
    problems: list[str] = []
    topic_cap = max(1, math.floor(req.max_topic_share * k))
    heavy_cap = max(0, math.floor(req.max_heavy_share * k))
    non_crisis = [r for r in rows if not view.crisis[r]]
    visible = view.servable_for(req.tenant)
    for r in rows:
        if not view.servable[r]:
            problems.append(f"{view.item_ids[r]} is not approved")
        elif not visible[r]:
            problems.append(f"{view.item_ids[r]} is private to another tenant")
        if view.crisis[r]:
            continue
        topics = {t for t, n in TOPIC_INDEX.items() if view.topics[r, n]}
        if topics & req.opt_outs:
            problems.append(f"{view.item_ids[r]} is on an opted-out topic")
        if req.is_minor and view.minor_excluded[r]:
            problems.append(f"{view.item_ids[r]} is withheld from minors")
    counts = view.topics[non_crisis].sum(axis=0) if non_crisis else np.zeros(1)
    if (counts > topic_cap).any() and _could_have_balanced(view, rows, req, k, counts, topic_cap, heavy_cap):
        problems.append("a topic exceeds its share")
    if int(view.heavy[non_crisis].sum()) > heavy_cap if non_crisis else False:
        problems.append("too many heavy resources")
    return problems
