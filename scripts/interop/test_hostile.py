"""Every malformed / hostile fixture, run through the built `lstmkit validate` and `lstmkit convert`
as separate processes under a 2 GiB address-space limit (RLIMIT_AS, what `ulimit -v 2097152` sets):
each must end with the manifest's exit code, never by a signal, print exactly one line on stderr
naming the file and containing `error_contains`, and leave no output or temporary file behind.

2 GiB is ample for a normal run: the debug binary converts a valid checkpoint under 512 MiB
(test_valid_run_fits_in_512_mib; it starts from about 128 MiB, below which the dynamic loader
fails), so a fixture that fails here asked for memory the readers must not grant.
"""
import json
import os
import resource
import subprocess

import pytest

from conftest import FIXTURES

ADDRESS_SPACE = 2 << 30
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
HOSTILE = [e for e in MANIFEST if e["kind"] in ("malformed", "hostile")]


def limited(limit):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def run_limited(binary, args, limit=ADDRESS_SPACE):
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True,
                          preexec_fn=limited(limit), timeout=300)


def check_outcome(e, command, proc, expected_exit, fragment):
    name = os.path.basename(e["file"])
    where = f"{command} {e['file']}: exit {proc.returncode}\nstderr: {proc.stderr}"
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}; " + where
    assert proc.returncode == expected_exit, where
    if expected_exit == 2:
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].strip(), "not exactly one stderr line; " + where
        assert name in lines[0], "the error does not name the file; " + where
        if fragment:
            assert fragment in lines[0], f"the error lacks {fragment!r}; " + where


def test_there_are_enough_hostile_fixtures():
    assert len(HOSTILE) >= 40


def test_valid_run_fits_in_512_mib(lstmkit, tmp_path):
    source = FIXTURES / "pytorch" / "lstm_l2_bi.pt"
    out = tmp_path / "out.safetensors"
    proc = run_limited(lstmkit.binary, ["convert", source, out], limit=ADDRESS_SPACE // 4)
    assert proc.returncode == 0, proc.stderr
    proc = run_limited(lstmkit.binary, ["validate", out], limit=ADDRESS_SPACE // 4)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("e", HOSTILE, ids=lambda e: e["file"])
def test_validate_under_address_limit(lstmkit, e):
    marker = e["expect"].get("side_effect_absent")
    if marker and os.path.lexists(marker):
        os.unlink(marker)
    proc = run_limited(lstmkit.binary, ["validate", FIXTURES / e["file"]])
    check_outcome(e, "validate", proc, e["expect"]["exit"], e["expect"].get("error_contains"))
    if marker:
        assert not os.path.lexists(marker), f"{e['file']}: reading it created {marker}"


@pytest.mark.parametrize("e", HOSTILE, ids=lambda e: e["file"])
def test_convert_under_address_limit(lstmkit, e, tmp_path):
    expect = e["expect"]
    expected_exit = expect.get("convert_exit", expect["exit"])
    fragment = expect.get("convert_error_contains", expect.get("error_contains"))
    out = tmp_path / "out.npz"
    proc = run_limited(lstmkit.binary, ["convert", FIXTURES / e["file"], out])
    check_outcome(e, "convert", proc, expected_exit, fragment)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == (["out.npz"] if expected_exit == 0 else []), f"convert {e['file']} left {left}"
