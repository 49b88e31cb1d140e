"""Checking an algorithm's parameters before any data is loaded or any model is fitted.

Parameters reach the algorithms from the command line as strings or JSON values
(``solace train --param``, ``solace evaluate --set``, ``solace tune``). Passed on as they
are, a typo surfaces minutes later as a library's own error (LightFM's empty
``AssertionError`` for an unknown loss, ``'>' not supported between 'str' and 'int'``), and
an impossible value such as ``epochs=-5`` trains without complaint. Each algorithm
therefore declares its parameters once as a small pydantic model next to its class
(``Recommender.params_model``); :func:`check_params` coerces the values ("64" -> 64) and
turns pydantic's errors into one line naming the parameter, the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, get_args

from pydantic import BaseModel, ConfigDict, ValidationError


class ParamError(ValueError):
    """Invalid algorithm parameters: ``problems`` holds (name, value, reason) triples.

    ``config`` is the named configuration the parameters belong to (when known), so
    ``solace evaluate --set`` can say ``als.factors='abc'`` while ``solace train --param``
    says ``factors='abc'``, each in the form the user typed.
    """

    def __init__(self, problems: list[tuple[str | None, Any, str]], config: str | None = None) -> None:
        self.problems = problems
        self.config = config
        super().__init__(self.describe())

    def describe(self, prefix: str = "") -> str:
        return "; ".join(
            f"{prefix}{name}={value!r}: {reason}" if name is not None
            else f"{prefix.rstrip('.')}: {reason}" if prefix else reason
            for name, value, reason in self.problems
        )


class AlgorithmParams(BaseModel):
    """Base of every algorithm's parameter model: unknown names are refused, and values
    are coerced from the command line's strings where that is unambiguous."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: ClassVar[str] = "algorithm"

    @classmethod
    def check(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        """The given parameters, coerced to their types (only those given: the model's own
        defaults stay the class's business); raises :class:`ParamError`."""
        try:
            return cls.model_validate(dict(params)).model_dump(exclude_unset=True)
        except ValidationError as exc:
            raise ParamError([cls._problem(err, params) for err in exc.errors()]) from None

    @classmethod
    def _problem(cls, err: Any, params: Mapping[str, Any]) -> tuple[str | None, Any, str]:
        loc = err.get("loc") or ()
        name = str(loc[0]) if loc else None
        value = params.get(name) if name is not None else None
        return name, value, cls._reason(err, name)

    @classmethod
    def _reason(cls, err: Any, name: str | None) -> str:
        kind: str = err["type"]
        ctx = err.get("ctx") or {}
        if kind == "extra_forbidden":
            known = ", ".join(cls.model_fields) or "no parameters"
            return f"unknown parameter of {cls.algorithm}; it takes {known}"
        if kind == "literal_error" and name in cls.model_fields:
            return "choose from " + ", ".join(str(c) for c in get_args(cls.model_fields[name].annotation))
        bounds = {"greater_than_equal": ("at least", "ge"), "greater_than": ("more than", "gt"),
                  "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}
        if kind in bounds:
            words, key = bounds[kind]
            limit = ctx.get(key)
            return f"must be {words} {limit:g}" if isinstance(limit, int | float) else f"must be {words} {limit}"
        if kind.startswith("int_"):
            return "must be a whole number"
        if kind.startswith("float_"):
            return "must be a number"
        if kind.startswith("bool_"):
            return "must be true or false"
        if kind == "value_error" and "error" in ctx:
            return str(ctx["error"])
        return str(err["msg"])[:1].lower() + str(err["msg"])[1:]


__all__ = ["AlgorithmParams", "ParamError"]
