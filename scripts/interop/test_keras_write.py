"""Interop for lstmkit's Keras output: Keras 3 (torch backend) loads every .keras / .weights.h5
lstmkit writes and computes torch's numbers; h5py and libhdf5 read the HDF5 it writes; modules Keras
cannot hold are refused by name, leaving nothing behind."""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import h5py
import keras
import numpy as np
import pytest
import torch

from conftest import FIXTURES

CASES = [  # input, hidden, layers, bidirectional, bias
    (3, 5, 1, False, True),
    (4, 6, 2, False, True),
    (3, 4, 1, True, True),
    (5, 3, 3, True, False),
]


def torch_lstm(i, h, layers, bi, bias, seed):
    torch.manual_seed(seed)
    return torch.nn.LSTM(i, h, num_layers=layers, bidirectional=bi, bias=bias, batch_first=True)


def keras_numpy(model, x):
    """The model's (first) output as an array."""
    out = model(x)
    return np.asarray(keras.ops.convert_to_numpy(out[0] if isinstance(out, (list, tuple)) else out))


@pytest.mark.parametrize("i,h,layers,bi,bias", CASES)
def test_pt_to_keras_runs_in_keras_as_torch(lstmkit, tmp_path, i, h, layers, bi, bias):
    """nn.LSTM → .pt → lstmkit convert → keras.models.load_model: Keras's outputs are torch's."""
    lstm = torch_lstm(i, h, layers, bi, bias, seed=i * 10 + h)
    torch.save(lstm.state_dict(), tmp_path / "m.pt")
    lstmkit("convert", tmp_path / "m.pt", tmp_path / "m.keras")
    x = np.random.default_rng(1).standard_normal((3, 9, i)).astype(np.float32)
    with torch.no_grad():
        want = lstm(torch.from_numpy(x))[0].numpy()
    model = keras.models.load_model(tmp_path / "m.keras")
    assert [type(layer).__name__ for layer in model.layers] == ["Bidirectional" if bi else "LSTM"] * layers
    np.testing.assert_allclose(keras_numpy(model, x), want, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("i,h,layers,bi,bias", CASES[:3])
def test_weights_h5_loads_into_the_users_model(lstmkit, tmp_path, i, h, layers, bi, bias):
    """.pt → lstmkit → .weights.h5 → model.load_weights on a model built the Keras way."""
    lstm = torch_lstm(i, h, layers, bi, bias, seed=7)
    torch.save(lstm.state_dict(), tmp_path / "m.pt")
    lstmkit("convert", tmp_path / "m.pt", tmp_path / "m.weights.h5")
    stack = [keras.Input((None, i))]
    for _ in range(layers):
        cell = keras.layers.LSTM(h, return_sequences=True, use_bias=bias)
        stack.append(keras.layers.Bidirectional(cell) if bi else cell)
    model = keras.Sequential(stack)
    model.load_weights(tmp_path / "m.weights.h5")
    x = np.random.default_rng(2).standard_normal((2, 6, i)).astype(np.float32)
    with torch.no_grad():
        want = lstm(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(keras_numpy(model, x), want, rtol=1e-5, atol=2e-6)


def test_keras_to_keras_to_torch_round_trip(lstmkit, tmp_path):
    """Keras model → .keras → lstmkit → .pt (torch's numbers = Keras's) → lstmkit → .keras (Keras's numbers again)."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((None, 4)), keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True))])
    model.save(tmp_path / "a.keras")
    x = np.random.default_rng(3).standard_normal((2, 8, 4)).astype(np.float32)
    want = keras_numpy(model, x)
    lstmkit("convert", tmp_path / "a.keras", tmp_path / "b.pt")
    lstm = torch.nn.LSTM(4, 5, bidirectional=True, batch_first=True)
    lstm.load_state_dict(torch.load(tmp_path / "b.pt", weights_only=True))
    with torch.no_grad():
        np.testing.assert_allclose(lstm(torch.from_numpy(x))[0].numpy(), want, rtol=1e-5, atol=2e-6)
    lstmkit("convert", tmp_path / "b.pt", tmp_path / "c.keras")
    again = keras.models.load_model(tmp_path / "c.keras")
    np.testing.assert_allclose(keras_numpy(again, x), want, rtol=1e-5, atol=2e-6)


def test_hard_sigmoid_keras_file_keeps_its_activations(lstmkit, tmp_path):
    """A Keras file's hard_sigmoid / relu survive .keras → lstmkit → .keras (and .pt refuses them)."""
    src = FIXTURES / "keras" / "hard_sigmoid.keras"
    model = keras.models.load_model(src)
    lstmkit("convert", src, tmp_path / "out.keras")
    again = keras.models.load_model(tmp_path / "out.keras")
    def lstm_of(m):
        return next(layer for layer in m.layers if isinstance(layer, keras.layers.LSTM))
    before, after = lstm_of(model), lstm_of(again)
    assert after.recurrent_activation.__name__ == before.recurrent_activation.__name__ == "hard_sigmoid"
    assert after.activation.__name__ == before.activation.__name__
    x = np.random.default_rng(4).standard_normal((2, 5, model.input_shape[-1])).astype(np.float32)
    np.testing.assert_allclose(keras_numpy(again, x), keras_numpy(model, x), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_dtype_policies(lstmkit, tmp_path, dtype):
    """--dtype float16 / bfloat16 / float64 → Keras's dtype policy; Keras loads the weights bit for bit (bfloat16 as the
    opaque datasets Keras itself writes) and computes torch's outputs within that precision."""
    import ml_dtypes
    lstm = torch_lstm(3, 4, 1, False, True, seed=5)
    torch.save(lstm.state_dict(), tmp_path / "m.pt")
    lstmkit("convert", tmp_path / "m.pt", tmp_path / "m.keras", "--dtype", dtype)
    model = keras.models.load_model(tmp_path / "m.keras")
    cell = model.layers[0].cell
    assert cell.kernel.dtype == cell.recurrent_kernel.dtype == dtype
    np_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype
    want_kernel = lstm.weight_ih_l0.detach().to(getattr(torch, dtype)).float().numpy().T.astype(np_dtype)
    np.testing.assert_array_equal(np.asarray(keras.ops.convert_to_numpy(cell.kernel)).astype(np_dtype), want_kernel)
    x = np.random.default_rng(5).standard_normal((2, 4, 3)).astype(np.float32)
    with torch.no_grad():
        want = lstm(torch.from_numpy(x))[0].numpy()
    loose = {"float16": 2e-2, "bfloat16": 1e-1}.get(dtype)
    got = np.asarray(keras.ops.convert_to_numpy(model(x.astype(np_dtype)))).astype(np.float32)
    np.testing.assert_allclose(got, want, rtol=loose or 1e-6, atol=loose or 1e-7)


def test_onnx_to_keras_runs_as_onnxruntime(lstmkit, tmp_path):
    """An exported ONNX LSTM → .keras: Keras's outputs are the ONNX model's (torch's)."""
    lstm = torch_lstm(3, 4, 1, True, True, seed=11)
    x = torch.randn(2, 6, 3)
    torch.onnx.export(lstm, (x,), tmp_path / "m.onnx", dynamo=False, input_names=["x"])
    lstmkit("convert", tmp_path / "m.onnx", tmp_path / "m.keras")
    model = keras.models.load_model(tmp_path / "m.keras")
    with torch.no_grad():
        want = lstm(x)[0].numpy()
    np.testing.assert_allclose(keras_numpy(model, x.numpy()), want, rtol=1e-5, atol=2e-6)


def test_written_hdf5_reads_in_h5py_as_keras_writes_it(lstmkit, tmp_path):
    """The HDF5 lstmkit writes has Keras's groups, datasets and `name` attributes as h5py reads them."""
    lstm = torch_lstm(3, 4, 2, True, True, seed=2)
    torch.save(lstm.state_dict(), tmp_path / "m.pt")
    lstmkit("convert", tmp_path / "m.pt", tmp_path / "m.weights.h5")
    seen = {}
    with h5py.File(tmp_path / "m.weights.h5", "r") as f:
        f.visititems(lambda name, obj: seen.__setitem__(name, (dict(obj.attrs), getattr(obj, "shape", None))))
        sd = lstm.state_dict()
        kernel = f["layers/bidirectional_1/backward_layer/cell/vars/0"][()]
        np.testing.assert_array_equal(kernel, sd["weight_ih_l1_reverse"].numpy().T)
        bias = f["layers/bidirectional/forward_layer/cell/vars/2"][()]
        np.testing.assert_allclose(bias, (sd["bias_ih_l0"] + sd["bias_hh_l0"]).numpy(), rtol=1e-7)
    assert seen["vars"] == ({"name": "sequential"}, None)
    assert seen["layers/bidirectional/forward_layer/cell/vars"] == ({"name": "lstm_cell"}, None)
    assert seen["layers/bidirectional_1/backward_layer/cell/vars/1"][1] == (4, 16)
    # lstmkit reads it back as the same module.
    report = json.loads(lstmkit("inspect", tmp_path / "m.weights.h5", "--json").stdout)
    assert sorted(m["module"] for m in report["lstms"]) == ["layers/bidirectional", "layers/bidirectional_1"]


def test_many_members_and_attributes_read_back_in_h5py(lstmkit, tmp_path):
    """A group with more members than one default symbol-table node holds (8) still reads in h5py:
    a stacked 12-layer LSTM gives `layers/` 12 members."""
    lstm = torch_lstm(2, 3, 12, False, True, seed=4)
    torch.save(lstm.state_dict(), tmp_path / "m.pt")
    lstmkit("convert", tmp_path / "m.pt", tmp_path / "m.keras")
    model = keras.models.load_model(tmp_path / "m.keras")
    x = np.random.default_rng(6).standard_normal((1, 4, 2)).astype(np.float32)
    with torch.no_grad():
        want = lstm(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(keras_numpy(model, x), want, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("kwargs,why", [
    ({"proj_size": 2}, "proj_size 2"),
])
def test_what_keras_cannot_hold_is_refused(lstmkit, tmp_path, kwargs, why):
    torch.manual_seed(0)
    torch.save(torch.nn.LSTM(3, 4, **kwargs).state_dict(), tmp_path / "m.pt")
    proc = lstmkit("convert", tmp_path / "m.pt", tmp_path / "m.keras", check=False)
    assert proc.returncode == 2, proc.stderr
    assert why in proc.stderr and "Keras" in proc.stderr and "m.pt" in proc.stderr
    assert not (tmp_path / "m.keras").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "m.pt"]


def test_onnx_peepholes_refused_for_keras(lstmkit, tmp_path):
    src = next(p for p in sorted(FIXTURES.glob("onnx*/*peephole*.onnx")))
    proc = lstmkit("convert", src, tmp_path / "m.keras", check=False)
    assert proc.returncode == 2 and "peepholes" in proc.stderr and "Keras" in proc.stderr
    assert not (tmp_path / "m.keras").exists()


@pytest.mark.parametrize("layers,bi", [(2, True), (3, False)])
def test_pt_keras_pt_round_trip_keeps_the_weights(lstmkit, tmp_path, layers, bi):
    """.pt → .keras → .pt: one module per Keras layer (layers/lstm, layers/lstm_1, …), whose tensors are the nn.LSTM's
    layers with the biases summed into bias_ih (bias_hh = 0); an nn.LSTM(num_layers) rebuilt from them, and Keras,
    compute the original's outputs."""
    lstm = torch_lstm(4, 5, layers, bi, True, seed=21)
    torch.save(lstm.state_dict(), tmp_path / "a.pt")
    lstmkit("convert", tmp_path / "a.pt", tmp_path / "b.keras")
    lstmkit("convert", tmp_path / "b.keras", tmp_path / "c.pt")
    back = torch.load(tmp_path / "c.pt", weights_only=True)
    base = "layers/bidirectional" if bi else "layers/lstm"
    rebuilt = {}
    for k in range(layers):
        prefix = f"{base}_{k}." if k else f"{base}."
        for suffix in ["", "_reverse"] if bi else [""]:
            for kind in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]:
                rebuilt[f"{kind}_l{k}{suffix}"] = back.pop(f"{prefix}{kind}_l0{suffix}")
    assert back == {}
    sd = lstm.state_dict()
    for k, v in sd.items():
        if k.startswith("weight"):
            assert torch.equal(rebuilt[k], v), k
        elif k.startswith("bias_ih"):
            torch.testing.assert_close(rebuilt[k], v + sd[k.replace("bias_ih", "bias_hh")], rtol=0, atol=0)
        else:
            assert torch.count_nonzero(rebuilt[k]) == 0, k
    again = torch.nn.LSTM(4, 5, num_layers=layers, bidirectional=bi, batch_first=True)
    again.load_state_dict(rebuilt)
    x = torch.randn(2, 7, 4)
    with torch.no_grad():
        torch.testing.assert_close(again(x)[0], lstm(x)[0], rtol=1e-5, atol=2e-6)
        want = lstm(x)[0].numpy()
    np.testing.assert_allclose(keras_numpy(keras.models.load_model(tmp_path / "b.keras"), x.numpy()), want, rtol=1e-5, atol=2e-6)


def test_keras2_hard_sigmoid_has_no_keras3_name(lstmkit, tmp_path):
    src = FIXTURES / "keras" / "keras2_hard_sigmoid.h5"
    proc = lstmkit("convert", src, tmp_path / "m.keras", "--module", "model_weights/lstm", check=False)
    assert proc.returncode == 2 and "HardSigmoid α 0.2 β 0.5, which has no Keras 3 name" in proc.stderr
    assert not (tmp_path / "m.keras").exists()


def test_cudnn_weights_become_a_keras_lstm(lstmkit, tmp_path):
    """Keras 2's CuDNNLSTM 8U bias → a Keras 3 LSTM with the summed bias, computing the golden torch made."""
    src = FIXTURES / "keras" / "cudnn_lstm.weights.h5"
    golden = np.load(FIXTURES / "golden" / "keras2_cudnn_lstm.npz")
    lstmkit("convert", src, tmp_path / "m.keras")
    model = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(keras_numpy(model, golden["input"]), golden["output"], rtol=1e-5, atol=2e-6)
