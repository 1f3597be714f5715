"""Shared helpers for interop tests: run the lstmkit binary built by scripts/test."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Fixtures"


@pytest.fixture(scope="session")
def lstmkit():
    binary = os.environ.get("LSTMKIT_BIN")
    if not binary:
        binary = subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip() + "/lstmkit"

    def run(*args, check=True):
        proc = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"lstmkit {' '.join(map(str, args))} exited {proc.returncode}: {proc.stderr}")
        return proc

    run.binary = binary
    return run
