#!/usr/bin/env python3
"""Regenerates every file under Fixtures/ and Fixtures/manifest.json with real torch, numpy, onnx,
onnxruntime and safetensors (versions pinned in scripts/requirements-fixtures.txt).

    "$(scripts/venv)/bin/python" scripts/make_fixtures.py
    "$(scripts/venv)/bin/python" scripts/make_fixtures.py --only realworld   # that family alone
    "$(scripts/venv)/bin/python" scripts/make_fixtures.py --only malformed/graphs
    "$(scripts/venv)/bin/python" scripts/make_fixtures.py --only compressed
    "$(scripts/venv)/bin/python" scripts/make_fixtures.py --only keras      # with hdf5/ and its goldens

Training-derived fixtures (the CRNN's Adam step) differ in their last bits between CPUs (AVX2 and
AVX-512 kernels round differently), so regenerate one family with --only when adding one.

The family folders (npz/, pytorch/, onnx/, safetensors/, golden/, invalid/, malformed/) are
deleted and rewritten; Fixtures/README.md is kept. Output is deterministic: every random value is
seeded by the fixture's name, and a second run writes the same bytes.
"""
from __future__ import annotations

import os
import shutil
import sys
import warnings

if os.environ.get("PYTHONHASHSEED") != "0":
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
warnings.filterwarnings("ignore")

import torch  # noqa: E402

from fixtures import common as c  # noqa: E402
from fixtures import compressed_files, goldens, graph_malformed, keras_files, malformed, npz_files, onnx_files, pytorch_files, realworld_files, safetensors_files, selfcheck  # noqa: E402


ONLY = {"realworld": realworld_files.make, "malformed/graphs": graph_malformed.make, "compressed": compressed_files.make,
        "keras": keras_files.make}
# Files a family writes outside its own folder (goldens, malformed cases), dropped with it by --only.
ALSO = {"keras": ["hdf5/", "golden/keras_", "malformed/hdf5_"]}


def main() -> None:
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    if len(sys.argv) == 3 and sys.argv[1] == "--only" and sys.argv[2] in ONLY:
        family = sys.argv[2]
        shutil.rmtree(c.FIXTURES / family, ignore_errors=True)
        m = c.Manifest.existing(dropping=family + "/")
        for prefix in ALSO.get(family, []):
            for name in [n for n in m.entries if n.startswith(prefix)]:
                del m.entries[name]
            for old in c.FIXTURES.glob(prefix + "*"):
                shutil.rmtree(old) if old.is_dir() else old.unlink()
        ONLY[family](m)
        m.write()
        c.assert_no_local_paths()
        print(f"{family}: {sum(1 for f in m.entries if f.startswith(family + '/'))} manifest entries")
        return
    for d in c.FAMILY_DIRS:
        shutil.rmtree(c.FIXTURES / d, ignore_errors=True)
    m = c.Manifest()
    goldens.make_base(m)
    npz_files.make(m)
    pytorch_files.make(m)
    goldens.make_checks(m)
    onnx_files.make(m)
    safetensors_files.make(m)
    malformed.make(m)
    realworld_files.make(m)
    keras_files.make(m)
    graph_malformed.make(m)
    compressed_files.make(m)
    m.write()
    pairs = selfcheck.run(m)
    refused = selfcheck.check_malformed(m)
    c.assert_no_local_paths()
    total = sum(p.stat().st_size for p in c.FIXTURES.rglob("*") if p.is_file() and not p.is_symlink())
    counts: dict[str, int] = {}
    for e in m.entries.values():
        counts[e["file"].split("/")[0]] = counts.get(e["file"].split("/")[0], 0) + 1
    print(f"{len(m.entries)} manifest entries {counts}; {pairs} golden pairings and {refused} malformed files checked; Fixtures/ holds {total} bytes")
    assert total < 7_000_000, "Fixtures/ must stay under 7 MB (the 2 GiB zero bomb alone is 2.3 MB: deflate cannot go below about 1032:1)"


if __name__ == "__main__":
    main()
