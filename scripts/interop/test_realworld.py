"""Real-world LSTMs (Fixtures/realworld/): what lstmkit writes from each one loads strictly into
torch's own nn.LSTM / nn.LSTMCell, or runs in onnxruntime, and reproduces the golden torch made by
running the original module (a cell step by step, weight_norm through its parametrization)."""
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from conftest import FIXTURES

MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]
REAL = [f for f in MANIFEST if f["file"].startswith("realworld/") and f["kind"] == "valid" and "golden" in f]
CASES = [(f, l) for f in REAL for l in f["lstms"] if l["module"] == f.get("golden_module", l["module"])]
ATOL = 2e-5


def golden(fixture):
    with np.load(FIXTURES / fixture["golden"]) as g:
        return {k: g[k] for k in g.files}


def run_lstm(m: nn.LSTM, g):
    with torch.no_grad():
        y, (h, c) = m(torch.from_numpy(g["input"]), (torch.from_numpy(g["h0"]), torch.from_numpy(g["c0"])))
    return y.numpy(), h.numpy(), c.numpy()


def run_cell(m: nn.LSTMCell, g):
    h, c = torch.from_numpy(g["h0"][0]), torch.from_numpy(g["c0"][0])
    ys = []
    with torch.no_grad():
        for x in torch.from_numpy(g["input"]):
            h, c = m(x, (h, c))
            ys.append(h)
    return torch.stack(ys).numpy(), h[None].numpy(), c[None].numpy()


def expect_golden(got, g, label):
    for name, a in zip(("output", "h_n", "c_n"), got):
        np.testing.assert_allclose(a, g[name], atol=ATOL, rtol=0, err_msg=f"{label} {name}")


def ids(cases):
    return [f"{f['file']}:{l['module']}" for f, l in cases]


@pytest.mark.parametrize("fixture,lstm", CASES, ids=ids(CASES))
def test_module_loads_strictly_and_reproduces_the_golden(lstmkit, tmp_path, fixture, lstm):
    """convert --module M → .pt: nn.LSTM / nn.LSTMCell takes it strictly and computes torch's golden."""
    out = tmp_path / "m.pt"
    lstmkit("convert", FIXTURES / fixture["file"], out, "--module", lstm["module"], "--quiet")
    sd = torch.load(out, weights_only=True)
    g = golden(fixture)
    if lstm.get("kind") == "LSTMCell":
        cell = nn.LSTMCell(lstm["input_size"], lstm["hidden_size"])
        cell.load_state_dict(sd, strict=True)
        expect_golden(run_cell(cell, g), g, fixture["file"])
    else:
        m = nn.LSTM(lstm["input_size"], lstm["hidden_size"], num_layers=lstm["num_layers"],
                    bidirectional=lstm["bidirectional"], proj_size=lstm["proj_size"], bias=lstm["bias"])
        m.load_state_dict(sd, strict=True)
        expect_golden(run_lstm(m, g), g, fixture["file"])


CELLS = [(f, l) for f, l in CASES if l.get("kind") == "LSTMCell"]


@pytest.mark.parametrize("fixture,lstm", CELLS, ids=ids(CELLS))
def test_cell_as_lstm_reproduces_the_cell(lstmkit, tmp_path, fixture, lstm):
    """convert --as lstm: nn.LSTM(num_layers=1) with the cell's tensors computes what the cell did;
    and --as cell on that file gives the cell back, bit for bit."""
    out, back = tmp_path / "lstm.pt", tmp_path / "cell.safetensors"
    lstmkit("convert", FIXTURES / fixture["file"], out, "--module", lstm["module"], "--as", "lstm", "--quiet")
    m = nn.LSTM(lstm["input_size"], lstm["hidden_size"])
    m.load_state_dict(torch.load(out, weights_only=True), strict=True)
    g = golden(fixture)
    expect_golden(run_lstm(m, g), g, fixture["file"])
    lstmkit("convert", out, back, "--as", "cell", "--quiet")
    from safetensors.torch import load_file
    cell = load_file(back)
    assert sorted(cell) == ["bias_hh", "bias_ih", "weight_hh", "weight_ih"]
    for k, v in cell.items():
        assert torch.equal(v, m.state_dict()[k + "_l0"]), k


@pytest.mark.parametrize("fixture,lstm", CASES, ids=ids(CASES))
def test_module_to_onnx_runs_in_onnxruntime_like_the_golden(lstmkit, tmp_path, fixture, lstm):
    """convert --module M → .onnx (a cell becomes a one-layer LSTM graph): onnxruntime computes the golden."""
    out = tmp_path / "m.onnx"
    lstmkit("convert", FIXTURES / fixture["file"], out, "--module", lstm["module"], "--quiet")
    s = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    g = golden(fixture)
    feeds = {"x": g["input"]}
    names = {i.name for i in s.get_inputs()}
    if "h0" in names:
        feeds.update(h0=g["h0"], c0=g["c0"])
        expect_golden(s.run(["output", "h_n", "c_n"], feeds), g, fixture["file"])
    else:
        # No state inputs: compare with torch running the converted weights from zero state.
        lstmkit("convert", out, tmp_path / "back.pt", "--quiet")
        sd = torch.load(tmp_path / "back.pt", weights_only=True)
        m = nn.LSTM(lstm["input_size"], lstm["hidden_size"], num_layers=lstm["num_layers"],
                    bidirectional=lstm["bidirectional"], proj_size=lstm["proj_size"], bias=lstm["bias"])
        m.load_state_dict(sd, strict=True)
        with torch.no_grad():
            y, (h, c) = m(torch.from_numpy(g["input"]))
        for a, b in zip(s.run(["output", "h_n", "c_n"], feeds), (y, h, c)):
            np.testing.assert_allclose(a, b.numpy(), atol=ATOL, rtol=0)


@pytest.mark.parametrize("tag", ["uni", "bi"])
def test_quantized_lstm_reads_as_torchs_dequantized_weights(lstmkit, tmp_path, tag):
    """A quantize_dynamic state dict converts to the float model's state dict: the LSTM's tensors are
    bit for bit torch's own w.dequantize(), under the module's prefix beside the other tensors."""
    src = FIXTURES / f"realworld/lstm_{tag}_quantized_dynamic.pt"
    out = tmp_path / "float.pt"
    proc = lstmkit("convert", src, out)
    assert "dequantized" in proc.stderr
    sd = torch.load(out, weights_only=True)
    bi = tag == "bi"
    model = nn.Sequential()
    model.lstm = nn.LSTM(5, 6, num_layers=2, bidirectional=bi)
    model.fc = nn.Linear(12 if bi else 6, 3)
    model.load_state_dict(sd, strict=True)
    q = torch.load(src, weights_only=False)
    qmodel = torch.ao.nn.quantized.dynamic.LSTM(5, 6, num_layers=2, bidirectional=bi)
    qmodel.load_state_dict({k[len("lstm."):]: v for k, v in q.items() if k.startswith("lstm.")}, strict=True)
    wb = qmodel._weight_bias()
    for k, w in wb["weight"].items():
        assert torch.equal(sd["lstm." + k], w.dequantize()), k
    for k, b in wb["bias"].items():
        assert torch.equal(sd["lstm." + k], b), k


def test_every_realworld_pattern_has_a_fixture():
    files = {f["file"].split("/", 1)[1] for f in MANIFEST if f["file"].startswith("realworld/")}
    for name in ["cell_decoder_state_dict.pt", "two_cells_checkpoint.pt", "cell_decoder_script.pt", "cell_decoder_trace.pt",
                 "cell_decoder.safetensors", "cell_decoder.npz", "cell_decoder_export.onnx", "cell_decoder_export_nofold.onnx",
                 "cell_decoder_dynamo.onnx", "lstm_bi_export_nofold.onnx", "lstm_uni_scripted.onnx", "lstm_scripted_if.onnx",
                 "lstm_scripted_if_if.onnx", "lstm_weight_norm.pt", "lstm_weight_norm_legacy.pt", "awd_lstm_weight_drop.pt",
                 "lstm_uni_quantized_dynamic.pt", "lstm_bi_quantized_dynamic.pt", "lstm_if_two_weights.onnx"]:
        assert name in files, name


@pytest.mark.parametrize("fixture,lstm", CELLS, ids=ids(CELLS))
def test_cell_compares_equal_to_its_lstm_form(lstmkit, tmp_path, fixture, lstm):
    """compare treats a cell as the one-layer LSTM it is: weights and forward pass agree exactly."""
    out = tmp_path / "lstm.safetensors"
    lstmkit("convert", FIXTURES / fixture["file"], out, "--module", lstm["module"], "--as", "lstm", "--quiet")
    for extra in ([], ["--numeric"]):
        proc = lstmkit("compare", FIXTURES / fixture["file"], out, "--module", lstm["module"], *extra, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_two_branches_with_different_weights_are_two_modules(lstmkit, tmp_path):
    """Each branch's LSTM, converted to .pt, loads into nn.LSTM and computes what onnxruntime computes
    when the If takes that branch."""
    src = FIXTURES / "realworld/lstm_if_two_weights.onnx"
    s = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((5, 2, 4)).astype(np.float32)
    for flag, module in ((True, "/If/then_branch/lstm_a/LSTM"), (False, "/If/else_branch/lstm_b/LSTM")):
        out = tmp_path / "m.pt"
        lstmkit("convert", src, out, "--module", module, "--quiet", "--force")
        m = nn.LSTM(4, 3, bias=False)
        m.load_state_dict(torch.load(out, weights_only=True), strict=True)
        with torch.no_grad():
            y, _ = m(torch.from_numpy(x))
        (got,) = s.run(["y"], {"x": x, "flag": np.array(flag)})
        np.testing.assert_allclose(got[:, 0], y.numpy(), atol=ATOL, rtol=0, err_msg=module)
