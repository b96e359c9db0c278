"""A serving process settles its collector (``core.heap``) once its app is built; a test client's app
(``app_from_env``) leaves the process's collector as it was. Run in fresh interpreters: freezing this
test process's objects would keep them for the rest of the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.heap import THRESHOLDS

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import gc, json, sys
import api.main
before = gc.get_threshold()
getattr(api.main, sys.argv[1])()
print(json.dumps({"thresholds": gc.get_threshold(), "frozen": gc.get_freeze_count(), "before": before}))
"""


def _probe(factory: str, tmp_path: Path) -> dict[str, object]:
    env = {
        **os.environ,
        "PATCHGAP_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "PATCHGAP_SERVE_JOBS": "0",
        "PATCHGAP_SERVE_UPLOADS": "0",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, factory], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_serving_factory_settles_the_collector(tmp_path: Path) -> None:
    served = _probe("serving_app", tmp_path)
    assert served["thresholds"] == list(THRESHOLDS) != served["before"]
    assert isinstance(served["frozen"], int)
    assert served["frozen"] > 50_000  # the imported web stack, toolkit and app
    plain = _probe("app_from_env", tmp_path)
    assert plain["thresholds"] == plain["before"]
    assert plain["frozen"] == 0
