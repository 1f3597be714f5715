"""Compressed inputs under an address-space limit (issue: metadata-only reads, one memory budget).

Every command runs on every DEFLATED npz fixture (Fixtures/compressed/, the npz savez_compressed
fixture and the malformed npz files) with RLIMIT_AS = 1.5 GiB, as CI runners and containers impose
(`ulimit -v 1572864`). Each must end with exit 0, 1 or 2 and at most one sentence on stderr — never
a signal, a Swift runtime abort or a half-written output. The 2 GiB zero bomb is checked further:
inspect and validate read npy headers only (peak RSS far below the member's size), convert streams
it into the output, and the commands that need its values are refused by the memory budget.
"""
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from conftest import FIXTURES

LIMIT = 1536 << 20
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
BOMB = FIXTURES / "compressed/lstm_2gib_zeros.npz"


def deflated_npz_fixtures():
    out = []
    for e in MANIFEST:
        if e["format"] != "npz":
            continue
        path = FIXTURES / e["file"]
        try:
            with zipfile.ZipFile(path) as z:
                if not any(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist()):
                    continue
        except zipfile.BadZipFile:
            pass  # malformed ZIPs are exactly what must not crash
        out.append(e)
    return out


FILES = deflated_npz_fixtures()


# A small Python process sets the limit and spawns lstmkit: its peak RSS (wait4) is then lstmkit's
# own, not inflated by the pages of the test process it was forked from (the kernel counts a
# child's pre-exec memory in ru_maxrss).
WRAPPER = (
    "import os, resource, subprocess, sys\n"
    "limit = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "print(usage.ru_maxrss * 1024, file=sys.stderr)\n"
    "sys.exit(os.waitstatus_to_exitcode(status) % 256 if os.waitstatus_to_exitcode(status) >= 0 else 128 - os.waitstatus_to_exitcode(status))\n"
)


def limited(binary, *args):
    """Runs lstmkit under RLIMIT_AS; returns (exit code, stdout, stderr, peak RSS in bytes). A
    signal shows as 128 + its number."""
    proc = subprocess.run([sys.executable, "-c", WRAPPER, str(LIMIT), binary, *map(str, args)],
                          capture_output=True, text=True, timeout=600)
    *lines, rss = proc.stderr.rstrip("\n").split("\n")
    return proc.returncode, proc.stdout, "\n".join(lines) + ("\n" if lines else ""), int(rss)


def peak_rss(binary, *args):
    code, _, _, rss = limited(binary, *args)
    return code, rss


def input_for(entry, tmp_path):
    lstm = (entry.get("lstms") or [{"input_size": 3}])[0]
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((2, 1, lstm["input_size"]), dtype=np.float32))
    return path


def commands(entry, tmp_path):
    f = FIXTURES / entry["file"]
    golden = FIXTURES / entry["golden"] if "golden" in entry else FIXTURES / "golden/lstm_l2_bi.npz"
    return [
        ("inspect", f), ("inspect", f, "--json"), ("validate", f), ("validate", f, "--json"),
        ("convert", f, tmp_path / "out.npz"), ("convert", f, tmp_path / "out.pt"),
        ("convert", f, tmp_path / "out16.safetensors", "--dtype", "float16"),
        ("convert", f, tmp_path / "out.npz", "--compress", "--force"), ("convert", f, tmp_path / "out.onnx"),
        ("run", f, "--input", input_for(entry, tmp_path), "--output", tmp_path / "y.npz"),
        ("verify", f, "--golden", golden), ("compare", f, f), ("compare", f, f, "--numeric"),
    ]


@pytest.mark.parametrize("entry", [e for e in FILES if e["file"] != "compressed/lstm_2gib_zeros.npz"], ids=lambda e: e["file"])
def test_every_command_ends_cleanly_under_rlimit_as(lstmkit, entry, tmp_path):
    for args in commands(entry, tmp_path):
        code, out, err, _ = limited(lstmkit.binary, *args)
        shown = "lstmkit " + " ".join(map(str, args))
        assert code in (0, 1, 2), f"{shown}: exit {code} (128 + N is signal N)\n{err[-2000:]}"
        assert "Fatal error" not in err and "Backtrace" not in err, f"{shown}: {err[-2000:]}"
        if code == 2:
            assert len(err.strip().splitlines()) == 1, f"{shown}: {err}"
            assert entry["file"].split("/")[-1] in err or str(tmp_path) in err, f"{shown}: {err}"
        if args[0] == "convert" and code != 0:
            assert not os.path.exists(args[2]) or "--force" in args, f"{shown} failed but left {args[2]}"
    expect = entry["expect"]
    if "convert_exit" in expect:
        code, _, err, _ = limited(lstmkit.binary, "convert", FIXTURES / entry["file"], tmp_path / "again.npz")
        assert code == expect["convert_exit"] and expect["convert_error_contains"] in err, err


def test_bomb_metadata_commands_read_headers_only(lstmkit):
    for args in (("inspect", BOMB), ("validate", BOMB), ("validate", BOMB, "--json")):
        code, rss = peak_rss(lstmkit.binary, *args)
        assert code == 0, args
        assert rss < 100 << 20, f"{args}: peak RSS {rss >> 20} MiB for a 2 GiB member"
    code, out, _, _ = limited(lstmkit.binary, "validate", BOMB, "--json")
    report = json.loads(out)
    assert report["lstms"][0]["input_size"] == 32768 and report["lstms"][0]["hidden_size"] == 4096
    assert {t["name"]: t["shape"] for t in report["tensors"]}["weight_ih_l0"] == [16384, 32768]


@pytest.mark.parametrize("ext", ["npz", "safetensors"])
def test_bomb_converts_in_bounded_memory(lstmkit, tmp_path, ext):
    out = tmp_path / f"big.{ext}"
    code, rss = peak_rss(lstmkit.binary, "convert", BOMB, out)
    try:
        assert code == 0
        assert rss < 100 << 20, f"convert peak RSS {rss >> 20} MiB"
        if ext == "npz":
            with zipfile.ZipFile(out) as z:
                sizes = {i.filename: i.file_size for i in z.infolist()}
                assert sizes["weight_ih_l0.npy"] == 16384 * 32768 * 4 + 128
                with z.open("weight_ih_l0.npy") as f:
                    version = np.lib.format.read_magic(f)
                    shape, _, dtype = (np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0)(f)
                    assert shape == (16384, 32768) and dtype == np.float32
                    f.seek(1 << 30)
                    assert f.read(1 << 20) == bytes(1 << 20)
        else:
            with open(out, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
                header = json.loads(f.read(n))
                assert header["weight_ih_l0"]["shape"] == [16384, 32768]
                f.seek(8 + n + (1 << 30))
                assert f.read(1 << 20) == bytes(1 << 20)
    finally:
        out.unlink(missing_ok=True)


def test_bomb_values_are_refused_by_the_budget(lstmkit, tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 1, 32768), dtype=np.float32))
    for args in (("run", BOMB, "--input", x, "--output", tmp_path / "y.npz"),
                 ("compare", BOMB, BOMB), ("convert", BOMB, tmp_path / "h.npz", "--dtype", "float16"),
                 ("convert", BOMB, tmp_path / "m.onnx")):
        code, out, err, _ = limited(lstmkit.binary, *args)
        assert code == 2, f"{args}: exit {code}\n{err}"
        assert "address space" in err or "memory budget" in err, err
        assert len(err.strip().splitlines()) == 1 and "lstm_2gib_zeros.npz" in err, err
        assert not (tmp_path / "y.npz").exists() and not (tmp_path / "h.npz").exists() and not (tmp_path / "m.onnx").exists()
    # --max-bytes refuses the same without any address-space limit.
    proc = subprocess.run([lstmkit.binary, "compare", BOMB, BOMB, "--max-bytes", "1G"], capture_output=True, text=True)
    assert proc.returncode == 2 and "over the memory budget of 1.0 GiB" in proc.stderr, proc.stderr
