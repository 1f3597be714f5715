"""Fixtures/manifest.json is coherent with the files under Fixtures/ (no regeneration needed)."""
import io
import json
import os
import zipfile

import numpy as np
import pytest

from conftest import FIXTURES

MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
KINDS = {"valid", "invalid-schema", "malformed", "hostile", "unsupported", "large"}
# The folders scripts/make_fixtures.py owns; other folders (e.g. *-unit/) belong to other generators.
FAMILIES = ["npz", "pytorch", "onnx", "safetensors", "golden", "invalid", "malformed", "realworld", "compressed"]


def family_files():
    for d in FAMILIES:
        for p in (FIXTURES / d).rglob("*"):
            if p.is_file() or p.is_symlink():
                yield p
FORMATS = {"npy", "npz", "pytorch", "pytorch-legacy", "torchscript", "onnx", "safetensors", "hdf5", "keras"}
CONFIG_KEYS = ["module", "input_size", "hidden_size", "num_layers", "bidirectional", "proj_size", "bias", "dtype"]


def test_sorted_unique_and_present():
    files = [e["file"] for e in MANIFEST]
    assert files == sorted(files) and len(set(files)) == len(files)
    for e in MANIFEST:
        assert (FIXTURES / e["file"]).exists(), e["file"]
        for extra in e.get("external_data", []):
            assert os.path.lexists(FIXTURES / extra), extra


def test_every_fixture_file_is_listed_or_referenced():
    listed = {e["file"] for e in MANIFEST}
    referenced = {g for e in MANIFEST for g in [e.get("golden"), *e.get("mismatched_goldens", []), *e.get("external_data", [])] if g}
    for p in family_files():
        rel = p.relative_to(FIXTURES).as_posix()
        assert rel in listed or rel in referenced, rel


@pytest.mark.parametrize("e", MANIFEST, ids=lambda e: e["file"])
def test_entry_shape(e):
    assert e["kind"] in KINDS and e["format"] in FORMATS and e["producer"] and e["description"]
    exit_code = e["expect"]["exit"]
    if e["kind"] in ("valid", "large"):
        assert exit_code == 0 and e["lstms"]
        for l in e["lstms"]:
            assert list(l)[: len(CONFIG_KEYS)] == CONFIG_KEYS
    elif e["kind"] == "invalid-schema":
        assert exit_code == 1 and e["expect"]["problems"]
    elif "convert_exit" in e["expect"]:
        # Damage only commands that read tensor data can see: metadata commands pass, convert refuses.
        assert exit_code == 0 and e["expect"]["convert_exit"] == 2 and e["expect"]["convert_error_contains"]
    else:
        assert exit_code == 2 and e["expect"]["error_contains"]
    if "golden" in e:
        assert e["expect"]["verify_exit"] in (0, 1)


@pytest.mark.parametrize("e", [e for e in MANIFEST if "golden" in e], ids=lambda e: e["file"])
def test_golden_matches_config(e):
    """DESIGN §4 layouts: rank-3 output for nn.LSTM goldens, rank-4 for ONNX-node goldens."""
    module = e.get("golden_module", e["lstms"][0]["module"])
    cfg = next(l for l in e["lstms"] if l["module"] == module)
    for golden in [e["golden"], *e.get("mismatched_goldens", [])]:
        with np.load(FIXTURES / golden) as g:
            assert set(g.files) <= {"input", "h0", "c0", "output", "h_n", "c_n", "batch_first", "sequence_lens"}
            assert all(g[k].dtype == np.float32 for k in g.files if k not in ("batch_first", "sequence_lens"))
            assert g["batch_first"].dtype == np.bool_ and g["batch_first"].shape == ()
            D = 2 if cfg["bidirectional"] else 1
            H = cfg["hidden_size"]
            R = cfg["proj_size"] or H
            x, y = g["input"], g["output"]
            if y.ndim == 3:
                seq, batch = (x.shape[1], x.shape[0]) if g["batch_first"] else x.shape[:2]
                assert y.shape == ((batch, seq, D * R) if g["batch_first"] else (seq, batch, D * R))
                assert g["h_n"].shape == (cfg["num_layers"] * D, batch, R)
                assert g["c_n"].shape == (cfg["num_layers"] * D, batch, H)
            else:
                D = 2 if cfg["onnx"]["direction"] == "bidirectional" else 1
                if g["batch_first"]:
                    batch, seq = x.shape[:2]
                    assert y.shape == (batch, seq, D, H) and g["h_n"].shape == (batch, D, H)
                else:
                    seq, batch = x.shape[:2]
                    assert y.shape == (seq, D, batch, H) and g["h_n"].shape == (D, batch, H)
            assert x.shape[-1] == cfg["input_size"]


def test_no_local_paths():
    """Neither the files nor their ZIP members (inflated) name this machine's folders."""
    for p in family_files():
        if not p.is_symlink():
            data = p.read_bytes()
            parts = [data]
            if data[:2] == b"PK":
                try:
                    with zipfile.ZipFile(io.BytesIO(data)) as z:
                        parts += [z.read(n) for n in z.namelist()]
                except Exception:  # malformed archives are fixtures too; their raw bytes are checked above
                    pass
            for part in parts:
                for needle in (b"/work/", b"/root/", b"/home/"):
                    assert needle not in part, (p, needle)


def test_fixtures_under_7_mb():
    """The committed fixtures stay small (the 2.3 MB deflate bomb and the HDF5 / Keras files included)."""
    assert sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file() and not p.is_symlink()) < 7_000_000
