"""ONNX interop: what lstmkit writes passes the ONNX checker and runs in onnxruntime like torch, and
ONNX models exported by torch convert to .pt files that nn.LSTM loads and that reproduce onnxruntime.

- `lstmkit convert X.pt out.onnx` for every valid PyTorch fixture and module (proj_size included;
  non-float32 fixtures with --dtype float32, since onnxruntime's CPU LSTM runs float32): the checker
  passes with full_check, and onnxruntime's output / h_n / c_n equal torch's within 1e-5 at several
  sequence lengths and batch sizes (the graph's seq / batch dims are dynamic).
- Random nn.LSTMs (proj_size, bidirectional, several layers, no bias) the same way.
- `lstmkit convert X.onnx out.pt` for every torch-exported ONNX fixture: nn.LSTM.load_state_dict
  takes the file as it is (strict) and reproduces onnxruntime running X.onnx.
- ONNX-only features (reverse, peepholes, clip, input_forget, activations) survive .onnx → .onnx:
  onnxruntime gives the same numbers for the original node and lstmkit's graph.
"""
from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from conftest import FIXTURES, ROOT

warnings.filterwarnings("ignore")
sys.path.insert(0, str(ROOT / "scripts"))  # whole-model fixtures pickle classes from scripts/fixtures
ATOL = 1e-5
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]


def fixtures(fmt: str) -> list[dict]:
    """Valid fixtures of `fmt` outside realworld/ (which test_realworld.py covers against goldens)."""
    return [f for f in MANIFEST if f["format"] == fmt and f["kind"] == "valid" and not f["file"].startswith("realworld/")]


def session(path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def flatten(obj, prefix: str = "") -> dict[str, torch.Tensor]:
    """Flattened tensors of a torch.load result (state dict, nested checkpoint or whole model)."""
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    out: dict[str, torch.Tensor] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(obj, torch.Tensor):
        out[prefix[:-1]] = obj
    return out


def lstm_from(config: dict, state: dict[str, torch.Tensor], batch_first: bool = False) -> torch.nn.LSTM:
    m = torch.nn.LSTM(config["input_size"], config["hidden_size"], num_layers=config["num_layers"],
                      bidirectional=config["bidirectional"], proj_size=config["proj_size"], bias=config["bias"],
                      batch_first=batch_first)
    m.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return m.eval()


def expect_runs_like_torch(path, m: torch.nn.LSTM, input_size: int) -> None:
    onnx.checker.check_model(str(path), full_check=True)
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == ["x"]
    assert [o.name for o in model.graph.output] == ["output", "h_n", "c_n"]
    s = session(path)
    g = torch.Generator().manual_seed(0)
    for seq, batch in ((5, 2), (11, 3), (1, 1)):
        x = torch.randn(seq, batch, input_size, generator=g)
        with torch.no_grad():
            y, (h, c) = m(x)
        got = s.run(["output", "h_n", "c_n"], {"x": x.numpy()})
        for name, a, b in zip(("output", "h_n", "c_n"), got, (y, h, c)):
            assert a.shape == tuple(b.shape), f"{name}: {a.shape} vs {tuple(b.shape)}"
            np.testing.assert_allclose(a, b.numpy(), atol=ATOL, rtol=0, err_msg=f"{path.name} {name} seq={seq} batch={batch}")


PT_CASES = [(f, l) for f in fixtures("pytorch") for l in f["lstms"]]


@pytest.mark.parametrize("fixture,lstm", PT_CASES, ids=[f"{f['file']}:{l['module'] or 'root'}" for f, l in PT_CASES])
def test_pytorch_fixture_to_onnx_runs_like_torch(lstmkit, tmp_path, fixture, lstm):
    src = FIXTURES / fixture["file"]
    out = tmp_path / "out.onnx"
    args = ["convert", src, out]
    if len(fixture["lstms"]) > 1:
        args += ["--module", lstm["module"]]
    if lstm["dtype"] != "float32":
        args += ["--dtype", "float32"]
    lstmkit(*args)
    flat = flatten(torch.load(src, weights_only=False, map_location="cpu"))
    prefix = lstm["module"] + "." if lstm["module"] else ""
    state = {k[len(prefix):]: v for k, v in flat.items() if k.startswith(prefix) and "." not in k[len(prefix):]}
    expect_runs_like_torch(out, lstm_from(lstm, state), lstm["input_size"])


RANDOM = [
    dict(input_size=3, hidden_size=4, num_layers=1, bidirectional=False, proj_size=0, bias=True),
    dict(input_size=5, hidden_size=6, num_layers=3, bidirectional=True, proj_size=0, bias=True),
    dict(input_size=4, hidden_size=5, num_layers=2, bidirectional=False, proj_size=0, bias=False),
    dict(input_size=3, hidden_size=5, num_layers=1, bidirectional=False, proj_size=2, bias=True),
    dict(input_size=4, hidden_size=7, num_layers=2, bidirectional=True, proj_size=3, bias=True),
    dict(input_size=4, hidden_size=6, num_layers=3, bidirectional=True, proj_size=5, bias=False),
]


@pytest.mark.parametrize("config", RANDOM, ids=lambda c: "_".join(f"{k}{int(v)}" for k, v in c.items()))
def test_random_lstm_to_onnx_runs_like_torch(lstmkit, tmp_path, config):
    torch.manual_seed(sum(int(v) * 31 ** i for i, v in enumerate(config.values())))
    m = lstm_from(config, torch.nn.LSTM(**{k: v for k, v in config.items()}).state_dict())
    torch.save(m.state_dict(), tmp_path / "m.pt")
    lstmkit("convert", tmp_path / "m.pt", tmp_path / "m.onnx")
    model = onnx.load(str(tmp_path / "m.onnx"))
    assert model.ir_version == 8 and [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    lowering = {p.key: p.value for p in model.metadata_props}["lstmkit.lowering"]
    assert lowering == ("scan-projection" if config["proj_size"] else "lstm-node")
    expect_runs_like_torch(tmp_path / "m.onnx", m, config["input_size"])
    # Reading lstmkit's own graph back gives the same tensors.
    lstmkit("convert", tmp_path / "m.onnx", tmp_path / "back.pt")
    back = torch.load(tmp_path / "back.pt")
    assert set(back) == set(m.state_dict())
    for k, v in m.state_dict().items():
        assert torch.equal(back[k], v), k


TORCH_ONNX = [f for f in fixtures("onnx") if f["file"].startswith("onnx/lstm_")]


@pytest.mark.parametrize("fixture", TORCH_ONNX, ids=lambda f: f["file"])
def test_torch_exported_onnx_to_pt_reproduces_onnxruntime(lstmkit, tmp_path, fixture):
    src = FIXTURES / fixture["file"]
    lstmkit("convert", src, tmp_path / "out.pt")
    state = torch.load(tmp_path / "out.pt")
    golden = np.load(FIXTURES / fixture["golden"])
    batch_first = bool(golden["batch_first"]) if "batch_first" in golden else False
    m = lstm_from(fixture["lstms"][0], state, batch_first=batch_first)
    s = session(src)
    names = [i.name for i in s.get_inputs()]
    feeds = {"x": golden["input"]}
    if "h0" in names:
        feeds.update(h0=golden["h0"], c0=golden["c0"])
    want = s.run(None, feeds)
    with torch.no_grad():
        hx = (torch.from_numpy(golden["h0"]), torch.from_numpy(golden["c0"])) if "h0" in names else None
        y, (h, c) = m(torch.from_numpy(golden["input"]), hx)
    for name, a, b in zip(("output", "h_n", "c_n"), want, (y, h, c)):
        np.testing.assert_allclose(b.numpy(), a, atol=ATOL, rtol=0, err_msg=f"{fixture['file']} {name}")


@pytest.mark.parametrize("name", ["crnn_export", "crnn_dynamo"])
def test_whole_crnn_onnx_modules_to_pt_reproduce_torch(lstmkit, tmp_path, name):
    src = FIXTURES / "onnx" / f"{name}.onnx"
    fixture = next(f for f in MANIFEST if f["file"] == f"onnx/{name}.onnx")
    for k, lstm in enumerate(fixture["lstms"]):
        out = tmp_path / f"rnn{k}.pt"
        lstmkit("convert", src, out, "--module", lstm["module"])
        m = lstm_from(lstm, torch.load(out))
        golden = np.load(FIXTURES / "golden" / f"crnn_rnn{k}.npz")
        with torch.no_grad():
            y, (h, c) = m(torch.from_numpy(golden["input"]), (torch.from_numpy(golden["h0"]), torch.from_numpy(golden["c0"])))
        for key, got in (("output", y), ("h_n", h), ("c_n", c)):
            np.testing.assert_allclose(got.numpy(), golden[key], atol=ATOL, rtol=0, err_msg=f"{name} rnn{k} {key}")


NODE_FEATURES = ["node_reverse", "node_peepholes", "node_clip", "node_input_forget", "node_activations",
                 "node_bidirectional", "node_constant_nodes", "node_external_data", "node_float_data"]


@pytest.mark.parametrize("name", NODE_FEATURES)
def test_onnx_features_survive_onnx_to_onnx(lstmkit, tmp_path, name):
    src = FIXTURES / "onnx" / f"{name}.onnx"
    out = tmp_path / "out.onnx"
    lstmkit("convert", src, out)
    onnx.checker.check_model(str(out), full_check=True)
    original = session(src)
    inputs = {i.name: i for i in original.get_inputs()}
    seq, batch, _ = inputs["X"].shape
    x = np.random.default_rng(1).standard_normal(inputs["X"].shape).astype(np.float32)
    feeds = {"X": x}
    for state in ("initial_h", "initial_c"):
        if state in inputs:
            feeds[state] = np.zeros(inputs[state].shape, np.float32)
    y, y_h, y_c = original.run(["Y", "Y_h", "Y_c"], feeds)
    got = session(out).run(["output", "h_n", "c_n"], {"x": x})
    np.testing.assert_allclose(got[0], y.transpose(0, 2, 1, 3).reshape(seq, batch, -1), atol=ATOL, rtol=0)
    np.testing.assert_allclose(got[1], y_h, atol=ATOL, rtol=0)
    np.testing.assert_allclose(got[2], y_c, atol=ATOL, rtol=0)


def test_reverse_only_node_to_pt_names_the_feature(lstmkit, tmp_path):
    proc = lstmkit("convert", FIXTURES / "onnx" / "node_reverse.onnx", tmp_path / "out.pt", check=False)
    assert proc.returncode == 2
    assert "reverse-only direction" in proc.stderr and "node_reverse.onnx" in proc.stderr
    assert not (tmp_path / "out.pt").exists()


def test_inconsistent_onnx_is_a_schema_problem_naming_the_node(lstmkit, tmp_path):
    """A node whose R disagrees with hidden_size is a wrong shape: exit 1, as in every other format."""
    proc = lstmkit("convert", FIXTURES / "onnx-unit" / "hb_bad_hidden_size.onnx", tmp_path / "out.onnx", check=False)
    assert proc.returncode == 1
    assert "bad_hidden" in proc.stderr and "hidden_size 5" in proc.stderr
    assert not (tmp_path / "out.onnx").exists()
