"""SIGINT / SIGTERM / SIGHUP while `lstmkit convert` writes its output: the process exits 130 / 143 /
129, the temporary file (`.<name>.lstmkit-XXXXXX` in the output's folder) is gone, and the target
is either absent (it did not exist) or byte for byte what it was (it existed, --force given).

The input is a 336 MB stored .npz (8 float32 arrays), so the write phase lasts long enough to be
interrupted: the signal is sent once the temporary file holds some bytes but not all of them.
"""
import hashlib
import os
import signal
import subprocess
import time

import numpy as np
import pytest

EXPECTED_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
ARRAYS = 8
SHAPE = (1024, 10240)
OUTPUT_BYTES = ARRAYS * SHAPE[0] * SHAPE[1] * 4


@pytest.fixture(scope="module")
def big_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("signals-input") / "big.npz"
    block = np.arange(SHAPE[0] * SHAPE[1], dtype=np.float32).reshape(SHAPE)
    np.savez(path, **{f"layer{i}.weight": block + i for i in range(ARRAYS)})
    return path


def temporary_files(folder):
    return [p for p in folder.iterdir() if ".lstmkit-" in p.name]


def interrupt_mid_write(binary, source, out, sig, extra=()):
    """Starts the conversion, waits until the temporary file is partly written, sends `sig`.
    Returns (exit code, stderr, bytes the temporary file held when the signal was sent)."""
    proc = subprocess.Popen([binary, "convert", str(source), str(out), "--quiet", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = 0
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            for p in temporary_files(out.parent):
                try:
                    seen = p.stat().st_size
                except FileNotFoundError:
                    continue
            if 0 < seen < OUTPUT_BYTES:
                proc.send_signal(sig)
                break
            time.sleep(0.001)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err, seen


@pytest.mark.parametrize("sig", list(EXPECTED_EXIT), ids=lambda s: s.name)
@pytest.mark.parametrize("existing", [False, True], ids=["new-target", "existing-target"])
def test_signal_mid_write_leaves_no_partial_output(lstmkit, big_npz, tmp_path, sig, existing):
    out = tmp_path / "out.safetensors"
    before = None
    extra = ()
    if existing:
        out.write_bytes(b"the previous output, which an interrupted convert must keep\n" * 1000)
        before = hashlib.sha256(out.read_bytes()).hexdigest()
        extra = ("--force",)
    code, err, seen = interrupt_mid_write(lstmkit.binary, big_npz, out, sig, extra)
    assert 0 < seen < OUTPUT_BYTES, f"the signal was not sent mid-write (temporary file at {seen} bytes; exit {code}, {err})"
    assert code == EXPECTED_EXIT[sig], f"exit {code} after {sig.name}; stderr: {err}"
    assert temporary_files(tmp_path) == [], f"temporary file left: {temporary_files(tmp_path)}"
    if existing:
        assert hashlib.sha256(out.read_bytes()).hexdigest() == before, "the existing target was modified"
    else:
        assert not out.exists(), "a partial target was left"
    assert sorted(p.name for p in tmp_path.iterdir()) == (["out.safetensors"] if existing else [])


def test_uninterrupted_conversion_completes(lstmkit, big_npz, tmp_path):
    """The same conversion without a signal writes the whole file (the interrupted runs above were
    interrupted, not failing on their own)."""
    out = tmp_path / "out.safetensors"
    lstmkit("convert", big_npz, out, "--quiet")
    assert out.stat().st_size > OUTPUT_BYTES
    assert temporary_files(tmp_path) == []
