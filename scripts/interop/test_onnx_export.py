"""`convert … .onnx` graphs that users deploy: every weight dtype × batch-first × sequence lengths ×
opset (low end, default, newest), checked by onnx.checker (full_check), run by onnxruntime's CPU
provider, compared with torch's nn.LSTM on the same weights and inputs, and run by lstmkit itself.

The graph computes in float16 for float16 weights and in float32 otherwise (bfloat16 and float64
weights are stored as they are and Cast), so results are compared with the tolerance of the type
the graph computes in (lstmkit verify's: float32 rtol 1.3e-6 atol 1e-5, float16 rtol 1e-3).
"""
import json
import subprocess

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from conftest import FIXTURES

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}
IO = {"float32": np.float32, "float16": np.float16, "bfloat16": np.float32, "float64": np.float64}
TOL = {"float16": (1e-3, 1e-5)}  # others compute in float32
OPSETS = [14, 17, 28]
I, H, L, S, N = 5, 7, 2, 6, 3


def tolerance(dtype):
    rtol, atol = TOL.get(dtype, (1.3e-6, 1e-5))
    # float16 rounds every step's state: allow for the error carried across steps and layers.
    return (rtol * 4, atol * 40) if dtype == "float16" else (rtol, atol)


def make_model(tmp_path, dtype, batch_first, proj=0):
    torch.manual_seed(7)
    m = torch.nn.LSTM(I, H, num_layers=L, bidirectional=True, batch_first=batch_first, proj_size=proj).eval().to(DTYPES[dtype])
    path = tmp_path / f"m_{dtype}.pt"
    torch.save(m.state_dict(), path)
    return m, path


def torch_reference(m, x, h0, c0, lengths, batch_first):
    """nn.LSTM in float64 on the stored weights (and on inputs in the graph's I/O type), packed when
    lengths are given, padded with zeros to the full length."""
    ref = torch.nn.LSTM(I, H, num_layers=L, bidirectional=True, batch_first=batch_first, proj_size=m.proj_size).double().eval()
    ref.load_state_dict({k: v.double() for k, v in m.state_dict().items()})
    xt = torch.from_numpy(x.astype(np.float64))
    state = (torch.from_numpy(h0.astype(np.float64)), torch.from_numpy(c0.astype(np.float64)))
    with torch.no_grad():
        if lengths is None:
            y, (hn, cn) = ref(xt, state)
        else:
            packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=batch_first,
                                                             enforce_sorted=False)
            yp, (hn, cn) = ref(packed, state)
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(yp, batch_first=batch_first, total_length=S)
    return y.numpy(), hn.numpy(), cn.numpy()


def close(name, got, want, dtype):
    rtol, atol = tolerance(dtype)
    got = got.astype(np.float64)
    bad = np.abs(got - want) > atol + rtol * np.abs(want)
    assert got.shape == want.shape, f"{name}: {got.shape} vs {want.shape}"
    assert not bad.any(), f"{name}: {bad.sum()} of {bad.size} outside rtol {rtol} atol {atol}, max |Δ| {np.abs(got - want).max():.3g}"


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq-major", "batch-first"])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_export_runs_in_onnxruntime_and_matches_torch(lstmkit, tmp_path, dtype, batch_first, lengths, opset):
    m, pt = make_model(tmp_path, dtype, batch_first)
    out = tmp_path / "m.onnx"
    args = ["convert", pt, out, "--opset", opset, "--initial-state"]
    if batch_first:
        args.append("--batch-first")
    if lengths:
        args.append("--sequence-lengths")
    proc = lstmkit(*args)
    if dtype in ("bfloat16", "float64"):
        assert "computed in float32" in proc.stderr, proc.stderr
    model = onnx.load(out)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == opset
    names = [i.name for i in model.graph.input]
    assert names == ["x", "h0", "c0"] + (["sequence_lens"] if lengths else [])

    rng = np.random.default_rng(opset)
    io = IO[dtype]
    x = rng.standard_normal((N, S, I) if batch_first else (S, N, I)).astype(io)
    h0 = rng.standard_normal((L * 2, N, H)).astype(io)
    c0 = rng.standard_normal((L * 2, N, H)).astype(io)
    lens = [S, 3, 1] if lengths else None
    feeds = {"x": x, "h0": h0, "c0": c0}
    if lengths:
        feeds["sequence_lens"] = np.array(lens, dtype=np.int32)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    y, hn, cn = session.run(["output", "h_n", "c_n"], feeds)
    assert y.dtype == io and hn.dtype == io
    want = torch_reference(m, x, h0, c0, lens, batch_first)
    for name, got, w in zip(("output", "h_n", "c_n"), (y, hn, cn), want):
        close(f"onnxruntime {name}", got, w, dtype)

    # lstmkit runs the graph it wrote, on the same inputs, and agrees with onnxruntime.
    inputs = tmp_path / "in.npz"
    arrays = {"input": x.astype(np.float32), "h0": h0.astype(np.float32), "c0": c0.astype(np.float32)}
    if lengths:
        arrays["sequence_lens"] = np.array(lens, dtype=np.int32)
    np.savez(inputs, **arrays)
    result = tmp_path / "y.npz"
    run = ["run", out, "--input", inputs, "--output", result]
    if batch_first:
        run.append("--batch-first")
    lstmkit(*run)
    with np.load(result) as r:
        for name, got in (("output", y), ("h_n", hn), ("c_n", cn)):
            close(f"lstmkit run {name}", r[name], got.astype(np.float64), dtype)


@pytest.mark.parametrize("lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_projected_export_runs_in_onnxruntime_and_matches_torch(lstmkit, tmp_path, dtype, lengths):
    """proj_size > 0 lowers to Scan loops (ONNX's LSTM has no projection); lengths mask their steps."""
    m, pt = make_model(tmp_path, dtype, True, proj=4)
    out = tmp_path / "p.onnx"
    lstmkit("convert", pt, out, "--batch-first", "--initial-state", *(["--sequence-lengths"] if lengths else []))
    onnx.checker.check_model(onnx.load(out), full_check=True)
    rng = np.random.default_rng(3)
    io = IO[dtype]
    x = rng.standard_normal((N, S, I)).astype(io)
    h0 = rng.standard_normal((L * 2, N, 4)).astype(io)
    c0 = rng.standard_normal((L * 2, N, H)).astype(io)
    lens = [S, 3, 1] if lengths else None
    feeds = {"x": x, "h0": h0, "c0": c0}
    if lengths:
        feeds["sequence_lens"] = np.array(lens, dtype=np.int32)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(["output", "h_n", "c_n"], feeds)
    for name, g, w in zip(("output", "h_n", "c_n"), got, torch_reference(m, x, h0, c0, lens, True)):
        close(f"onnxruntime {name}", g, w, dtype)


def test_batch_first_graph_is_what_torch_exports(lstmkit, tmp_path):
    """Input x and output of a --batch-first graph are (batch, seq, ·), as in torch.onnx.export of a
    batch_first=True nn.LSTM; both graphs compute the same numbers."""
    m, pt = make_model(tmp_path, "float32", True)
    ours = tmp_path / "ours.onnx"
    lstmkit("convert", pt, ours, "--batch-first")
    theirs = tmp_path / "torch.onnx"
    x = torch.randn(N, S, I)
    torch.onnx.export(m, (x,), str(theirs), dynamo=False, input_names=["x"], output_names=["output", "h_n", "c_n"],
                      dynamic_axes={"x": {0: "batch", 1: "seq"}})
    a = ort.InferenceSession(str(ours), providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})
    b = ort.InferenceSession(str(theirs), providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})
    for u, v in zip(a, b):
        assert u.shape == v.shape
        np.testing.assert_allclose(u, v, rtol=1.3e-6, atol=1e-5)


@pytest.mark.parametrize("opset", [13, 29])
def test_opset_outside_the_range_is_a_usage_error(lstmkit, tmp_path, opset):
    _, pt = make_model(tmp_path, "float32", False)
    proc = lstmkit("convert", pt, tmp_path / "m.onnx", "--opset", opset, check=False)
    if opset == 13:
        assert proc.returncode == 0, proc.stderr  # 13 is supported too (Squeeze / Split take inputs from 13 on)
    else:
        assert proc.returncode == 64 and "--opset 29 is outside 13–28" in proc.stderr, proc.stderr


def test_graph_options_refuse_other_outputs(lstmkit, tmp_path):
    _, pt = make_model(tmp_path, "float32", False)
    proc = lstmkit("convert", pt, tmp_path / "m.npz", "--sequence-lengths", check=False)
    assert proc.returncode == 64 and "--sequence-lengths applies to an .onnx output only" in proc.stderr


ONNX_FEATURES = ["node_peepholes.onnx", "node_clip.onnx", "node_input_forget.onnx", "node_activations.onnx",
                 "node_reverse.onnx", "node_layout1.onnx", "node_bidirectional.onnx", "node_sequence_lens.onnx"]


@pytest.mark.parametrize("name", ONNX_FEATURES)
def test_onnx_to_onnx_keeps_features(lstmkit, tmp_path, name):
    """ONNX → ONNX keeps what ONNX expresses; the graph runs in onnxruntime and computes what the
    source node does (lstmkit compare --numeric runs both modules)."""
    src = FIXTURES / "onnx" / name
    assert src.exists(), src
    out = tmp_path / "copy.onnx"
    lstmkit("convert", src, out)
    onnx.checker.check_model(onnx.load(out), full_check=True)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    # The source's own input dims where it fixes them (constant sequence_lens fix the batch).
    source_dims = [d.dim_value for d in onnx.load(src).graph.input[0].type.tensor_type.shape.dim]
    shape = [s or (d if isinstance(d, int) else 2) for s, d in zip(source_dims, inputs[0].shape)]
    session.run(None, {inputs[0].name: np.random.default_rng(0).standard_normal(shape).astype(np.float32)})
    lstmkit("compare", src, out, "--numeric")
