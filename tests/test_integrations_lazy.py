"""`import gitcfg` imports no integration and no framework (issue 15)."""

from __future__ import annotations

import json
import subprocess
import sys

FRAMEWORKS = ("hydra", "omegaconf", "optuna", "xgboost", "lightgbm", "torch", "lightning")


def test_import_gitcfg_and_track_import_no_integration_nor_framework(repo):
    code = (
        "import json, sys, gitcfg\n"
        "gitcfg.track({'lr': 0.1}).finish()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    )
    loaded = json.loads(proc.stdout)
    assert [m for m in loaded if m.startswith(("gitcfg.integrations", "gitcfg.integration"))] == []
    assert [m for m in loaded if m.split(".")[0] in FRAMEWORKS] == []
