"""Interop for the reference pass: `lstmkit run / verify / compare` against real torch, onnxruntime
and numpy. Every model and golden here is made on the spot by the Python libraries."""
import os
import subprocess

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import TensorProto, helper



def torch_lstm(seed, **kw):
    torch.manual_seed(seed)
    return torch.nn.LSTM(**kw).eval()


def save_state_npz(lstm, path, compressed=False):
    arrays = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
    (np.savez_compressed if compressed else np.savez)(path, **arrays)


def assert_close(actual, expected):
    torch.testing.assert_close(torch.from_numpy(np.asarray(actual)), torch.from_numpy(np.asarray(expected)))


@pytest.mark.parametrize("kw", [
    dict(input_size=5, hidden_size=7, num_layers=2, bidirectional=True),
    dict(input_size=4, hidden_size=6, num_layers=3, bidirectional=True, proj_size=3),
    dict(input_size=3, hidden_size=5, bias=False),
])
def test_run_matches_torch(lstmkit, tmp_path, kw):
    lstm = torch_lstm(1, **kw)
    save_state_npz(lstm, tmp_path / "model.npz")
    D = 2 if lstm.bidirectional else 1
    R = lstm.proj_size or lstm.hidden_size
    x = torch.randn(11, 3, lstm.input_size)
    h0 = torch.randn(lstm.num_layers * D, 3, R)
    c0 = torch.randn(lstm.num_layers * D, 3, lstm.hidden_size)
    np.save(tmp_path / "x.npy", x.numpy())
    np.savez(tmp_path / "state.npz", h0=h0.numpy(), c0=c0.numpy())
    lstmkit("run", tmp_path / "model.npz", "--input", tmp_path / "x.npy", "--h0", tmp_path / "state.npz",
            "--c0", tmp_path / "state.npz", "--output", tmp_path / "out.npz")
    with torch.no_grad():
        out, (hn, cn) = lstm(x, (h0, c0))
    got = np.load(tmp_path / "out.npz")
    assert got["output"].dtype == np.float32
    assert_close(got["output"], out.numpy())
    assert_close(got["h_n"], hn.numpy())
    assert_close(got["c_n"], cn.numpy())
    assert not got["batch_first"]


def test_run_batch_first_and_float64(lstmkit, tmp_path):
    lstm = torch_lstm(2, input_size=4, hidden_size=8, num_layers=2, batch_first=True).double()
    save_state_npz(lstm, tmp_path / "model.npz")
    x = torch.randn(3, 9, 4, dtype=torch.float64)
    np.savez(tmp_path / "in.npz", input=x.numpy())
    lstmkit("run", tmp_path / "model.npz", "--input", tmp_path / "in.npz", "--batch-first", "--precision", "float64",
            "--output", tmp_path / "out.npz")
    with torch.no_grad():
        out, (hn, cn) = lstm(x)
    got = np.load(tmp_path / "out.npz")
    assert got["output"].dtype == np.float64 and got["output"].shape == (3, 9, 8)
    np.testing.assert_allclose(got["output"], out.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got["c_n"], cn.numpy(), rtol=1e-12, atol=1e-13)


def torch_golden(lstm, path, seq=13, batch=2):
    D = 2 if lstm.bidirectional else 1
    R = lstm.proj_size or lstm.hidden_size
    x = torch.randn(seq, batch, lstm.input_size)
    h0 = torch.randn(lstm.num_layers * D, batch, R)
    c0 = torch.randn(lstm.num_layers * D, batch, lstm.hidden_size)
    with torch.no_grad():
        out, (hn, cn) = lstm(x, (h0, c0))
    arrays = dict(input=x.numpy(), h0=h0.numpy(), c0=c0.numpy(), output=out.numpy(), h_n=hn.numpy(),
                  c_n=cn.numpy(), batch_first=np.array(False))
    np.savez(path, **arrays)
    return arrays


def test_verify_passes_and_fails(lstmkit, tmp_path):
    lstm = torch_lstm(3, input_size=6, hidden_size=10, num_layers=2, bidirectional=True)
    save_state_npz(lstm, tmp_path / "model.npz")
    gold = torch_golden(lstm, tmp_path / "golden.npz")
    assert lstmkit("verify", tmp_path / "model.npz", "--golden", tmp_path / "golden.npz").returncode == 0

    # One value of the golden moved by 1e-3: verify fails and names the output.
    bad = dict(gold)
    bad["h_n"] = gold["h_n"].copy()
    bad["h_n"][1, 0, 2] += 1e-3
    np.savez(tmp_path / "bad.npz", **bad)
    proc = lstmkit("verify", tmp_path / "model.npz", "--golden", tmp_path / "bad.npz", check=False)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "h_n" in proc.stderr and "(1, 0, 2)" in proc.stderr

    # ... and passes once the tolerance allows it.
    assert lstmkit("verify", tmp_path / "model.npz", "--golden", tmp_path / "bad.npz", "--atol", "2e-3").returncode == 0

    # A model with the i and f gates exchanged fails.
    state = {k: v.detach().numpy().copy() for k, v in lstm.state_dict().items()}
    for k, v in state.items():
        if not k.startswith("weight_hr"):
            H = v.shape[0] // 4
            state[k] = np.concatenate([v[H:2 * H], v[:H], v[2 * H:]])
    np.savez(tmp_path / "swapped.npz", **state)
    assert lstmkit("verify", tmp_path / "swapped.npz", "--golden", tmp_path / "golden.npz", check=False).returncode == 1


def test_verify_json(lstmkit, tmp_path):
    import json
    lstm = torch_lstm(4, input_size=3, hidden_size=4)
    save_state_npz(lstm, tmp_path / "model.npz")
    torch_golden(lstm, tmp_path / "golden.npz")
    report = json.loads(lstmkit("verify", tmp_path / "model.npz", "--golden", tmp_path / "golden.npz", "--json").stdout)
    assert [r["name"] for r in report["results"]] == ["output", "h_n", "c_n"]
    assert all(r["passed"] and r["mismatches"] == 0 and r["max_abs_error"] < 1e-5 for r in report["results"])


def test_compare_same_and_different(lstmkit, tmp_path):
    a = torch_lstm(5, input_size=4, hidden_size=6, num_layers=2)
    b = torch_lstm(6, input_size=4, hidden_size=6, num_layers=2)
    save_state_npz(a, tmp_path / "a.npz")
    save_state_npz(a, tmp_path / "a_compressed.npz", compressed=True)
    save_state_npz(b, tmp_path / "b.npz")
    assert lstmkit("compare", tmp_path / "a.npz", tmp_path / "a_compressed.npz").returncode == 0
    assert lstmkit("compare", tmp_path / "a.npz", tmp_path / "a_compressed.npz", "--numeric").returncode == 0
    proc = lstmkit("compare", tmp_path / "a.npz", tmp_path / "b.npz", check=False)
    assert proc.returncode == 1 and "weight_ih_l0" in proc.stderr
    assert lstmkit("compare", tmp_path / "a.npz", tmp_path / "b.npz", "--numeric", check=False).returncode == 1


def test_compare_torch_export_equals_its_source(lstmkit, tmp_path):
    lstm = torch_lstm(7, input_size=5, hidden_size=8, num_layers=2, bidirectional=True)
    torch.save(lstm.state_dict(), tmp_path / "model.pt")
    x = torch.randn(6, 2, 5)
    torch.onnx.export(lstm, (x,), str(tmp_path / "model.onnx"), dynamo=False, input_names=["x"],
                      output_names=["output", "h_n", "c_n"])
    assert lstmkit("compare", tmp_path / "model.pt", tmp_path / "model.onnx").returncode == 0
    assert lstmkit("compare", tmp_path / "model.pt", tmp_path / "model.onnx", "--numeric").returncode == 0
    other = torch_lstm(8, input_size=5, hidden_size=8, num_layers=2, bidirectional=True)
    torch.save(other.state_dict(), tmp_path / "other.pt")
    assert lstmkit("compare", tmp_path / "other.pt", tmp_path / "model.onnx", check=False).returncode == 1


def onnx_node_model(path, *, H, I, direction, clip=None, peephole=False, input_forget=0, activations=None,
                    alpha=None, seed=0):
    """One LSTM node with constant W/R/B(/P) initializers; X, initial_h, initial_c as graph inputs."""
    rng = np.random.default_rng(seed)
    nd = 2 if direction == "bidirectional" else 1
    u = lambda *s: (rng.uniform(-1, 1, s) * 2 / np.sqrt(H)).astype(np.float32)
    inits = {"W": u(nd, 4 * H, I), "R": u(nd, 4 * H, H), "B": u(nd, 8 * H)}
    if peephole:
        inits["P"] = u(nd, 3 * H)
    attrs = {"hidden_size": H, "direction": direction}
    if clip is not None:
        attrs["clip"] = clip
    if input_forget:
        attrs["input_forget"] = input_forget
    if activations:
        attrs["activations"] = activations
    if alpha:
        attrs["activation_alpha"] = alpha
    node = helper.make_node("LSTM", ["X", "W", "R", "B", "", "h0", "c0"] + (["P"] if peephole else []),
                            ["Y", "Y_h", "Y_c"], name="lstm", **attrs)
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["S", "N", I]),
              helper.make_tensor_value_info("h0", TensorProto.FLOAT, [nd, "N", H]),
              helper.make_tensor_value_info("c0", TensorProto.FLOAT, [nd, "N", H])]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None] * r)
               for n, r in (("Y", 4), ("Y_h", 3), ("Y_c", 3))]
    graph = helper.make_graph([node], "g", inputs, outputs,
                              [onnx.numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return nd


@pytest.mark.parametrize("kw", [
    dict(direction="forward"),
    dict(direction="reverse", peephole=True, clip=0.5),
    dict(direction="bidirectional", input_forget=1, peephole=True),
    dict(direction="bidirectional", activations=["HardSigmoid", "ScaledTanh", "Softsign", "Sigmoid", "Elu", "Tanh"],
         alpha=[0.3, 1.2, 0.8]),
])
def test_verify_onnxruntime_golden(lstmkit, tmp_path, kw):
    H, I, S, N = 5, 3, 9, 2
    nd = onnx_node_model(tmp_path / "node.onnx", H=H, I=I, seed=11, **kw)
    rng = np.random.default_rng(12)
    feeds = {"X": rng.standard_normal((S, N, I)).astype(np.float32),
             "h0": rng.standard_normal((nd, N, H)).astype(np.float32),
             "c0": rng.standard_normal((nd, N, H)).astype(np.float32)}
    Y, Yh, Yc = onnxruntime.InferenceSession(str(tmp_path / "node.onnx"),
                                             providers=["CPUExecutionProvider"]).run(None, feeds)
    np.savez(tmp_path / "golden.npz", input=feeds["X"], h0=feeds["h0"], c0=feeds["c0"], output=Y, h_n=Yh, c_n=Yc,
             batch_first=np.array(False))
    proc = lstmkit("verify", tmp_path / "node.onnx", "--golden", tmp_path / "golden.npz", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def kernel_paths(lstmkit, tmp_path):
    """The kernel paths this CPU runs, as `lstmkit run --time-runs` reports them."""
    lstm = torch_lstm(0, input_size=2, hidden_size=3)
    save_state_npz(lstm, tmp_path / "tiny.npz")
    np.save(tmp_path / "tiny_x.npy", np.zeros((1, 1, 2), np.float32))
    err = lstmkit("run", tmp_path / "tiny.npz", "--input", tmp_path / "tiny_x.npy", "--output", tmp_path / "tiny_out.npz",
                  "--time-runs", "1").stderr
    line = next(l for l in err.splitlines() if l.startswith("kernels: "))
    return line.split("this CPU runs ")[1].rstrip(")").split(", ")


@pytest.mark.parametrize("kw,batch,threads", [
    (dict(input_size=40, hidden_size=48, num_layers=2, bidirectional=True), 13, 2),   # rows 1..12 tiles, two directions
    (dict(input_size=33, hidden_size=64, num_layers=2), 20, 2),                         # one direction: hidden units split
    (dict(input_size=9, hidden_size=37, proj_size=11), 1, 1),                          # GEMV steps, narrow panels
])
def test_every_kernel_path_matches_torch(lstmkit, tmp_path, kw, batch, threads):
    """LSTMKIT_KERNELS picks each path this CPU runs; each gives torch's numbers within verify's float32 tolerance."""
    paths = kernel_paths(lstmkit, tmp_path)
    assert paths[-1] == "portable"
    lstm = torch_lstm(5, **kw)
    save_state_npz(lstm, tmp_path / "model.npz")
    x = torch.randn(30, batch, lstm.input_size)
    np.save(tmp_path / "x.npy", x.numpy())
    with torch.no_grad():
        want = [t.numpy() for t in (lambda o: (o[0], *o[1]))(lstm(x))]
    for path in paths:
        out = tmp_path / f"out_{path}.npz"
        proc = subprocess.run([lstmkit.binary, "run", tmp_path / "model.npz", "--input", tmp_path / "x.npy", "--output", out,
                               "--threads", str(threads), "--time-runs", "1"],
                              capture_output=True, text=True, env={**os.environ, "LSTMKIT_KERNELS": path})
        assert proc.returncode == 0, proc.stderr
        assert f"kernels: {path} " in proc.stderr
        got = np.load(out)
        for key, expected in zip(("output", "h_n", "c_n"), want):
            np.testing.assert_allclose(got[key], expected, rtol=1.3e-6, atol=1e-5, err_msg=f"{path} {key}")


def test_bad_kernel_path_is_a_usage_error(lstmkit, tmp_path):
    lstm = torch_lstm(0, input_size=2, hidden_size=3)
    save_state_npz(lstm, tmp_path / "m.npz")
    np.save(tmp_path / "x.npy", np.zeros((1, 1, 2), np.float32))
    proc = subprocess.run([lstmkit.binary, "run", tmp_path / "m.npz", "--input", tmp_path / "x.npy", "--output", tmp_path / "o.npz"],
                          capture_output=True, text=True, env={**os.environ, "LSTMKIT_KERNELS": "sse9"})
    assert proc.returncode == 64
    assert proc.stderr.strip() == "lstmkit: LSTMKIT_KERNELS=sse9 names no kernel path; use one of avx512, avx2, portable or auto"
    assert not (tmp_path / "o.npz").exists()
    # Commands that run no forward pass ignore it.
    proc = subprocess.run([lstmkit.binary, "validate", tmp_path / "m.npz"], capture_output=True, text=True,
                          env={**os.environ, "LSTMKIT_KERNELS": "sse9"})
    assert proc.returncode == 0, proc.stderr
