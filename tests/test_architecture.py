"""The layers hold where it matters at run time: a serving worker loads no training code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_CREATE_APP = """
import sys
from core.config import Settings
from serving.app import create_app

settings = Settings(home=sys.argv[1])
settings.ensure_home()
create_app(settings)
import core.encoder, recommender.crisis
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("training", "solace"))
print("LOADED:" + ",".join(loaded))
print("WARM:", bool(core.encoder._MODELS), bool(recommender.crisis._DETECTORS))
"""


def _create_app_in_a_fresh_process(tmp_path: Path) -> str:
    """What a gunicorn worker does before it accepts: create the app; its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLACE_")}
    env["HF_HUB_OFFLINE"] = "1"
    done = subprocess.run([sys.executable, "-c", _CREATE_APP, str(tmp_path / "home")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_creating_the_serving_app_imports_no_training_module(tmp_path: Path) -> None:
    out = _create_app_in_a_fresh_process(tmp_path)
    line = next(x for x in out.splitlines() if x.startswith("LOADED:"))
    assert line == "LOADED:", f"a serving worker imported {line[len('LOADED:'):]}"


@pytest.mark.slow
def test_a_worker_loads_the_encoder_and_crisis_detector_before_it_takes_traffic(tmp_path: Path) -> None:
    """Ready means ready: no request pays the seconds of loading the models."""
    assert "WARM: True True" in _create_app_in_a_fresh_process(tmp_path)
