"""Interop for HDF5 / Keras: lstmkit reads what Keras 3 (torch backend) and h5py write, and the
weights it converts run in torch with Keras's numbers."""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import h5py
import keras
import numpy as np
import pytest
import torch

from conftest import FIXTURES


def keras_outputs(model, x):
    return [np.asarray(keras.ops.convert_to_numpy(o)) for o in model(x)]


@pytest.mark.parametrize("units,bidirectional,use_bias", [(5, False, True), (4, True, True), (3, False, False)])
def test_keras_weights_convert_to_torch_and_match(lstmkit, tmp_path, units, bidirectional, use_bias):
    """Keras LSTM → save_weights → lstmkit convert --module → nn.LSTM.load_state_dict: same outputs as Keras."""
    keras.utils.set_random_seed(units)
    inp = keras.Input((7, 3))
    layer = keras.layers.LSTM(units, return_sequences=True, use_bias=use_bias)
    out = keras.layers.Bidirectional(layer)(inp) if bidirectional else layer(inp)
    model = keras.Model(inp, out)
    model.save_weights(str(tmp_path / "m.weights.h5"))
    x = np.random.default_rng(0).standard_normal((2, 7, 3)).astype(np.float32)
    want = np.asarray(keras.ops.convert_to_numpy(model(x)))
    module = "layers/bidirectional" if bidirectional else "layers/lstm"
    lstmkit("convert", tmp_path / "m.weights.h5", tmp_path / "m.pt", "--module", module)
    lstm = torch.nn.LSTM(3, units, batch_first=True, bidirectional=bidirectional, bias=use_bias)
    lstm.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    with torch.no_grad():
        got = lstm(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_keras_gru_is_not_an_lstm(lstmkit, tmp_path):
    keras.utils.set_random_seed(1)
    inp = keras.Input((4, 3))
    keras.Model(inp, keras.layers.GRU(4)(inp)).save_weights(str(tmp_path / "g.weights.h5"))
    report = json.loads(lstmkit("inspect", tmp_path / "g.weights.h5", "--json").stdout)
    assert report["lstms"] == []


def h5py_datasets(path):
    """Every numeric dataset h5py sees with contiguous or compact storage: name → array."""
    out = {}
    with h5py.File(path) as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "fiu":
                out[name] = obj[()]
        f.visititems(visit)
    return out


@pytest.mark.parametrize("path", sorted(str(p.relative_to(FIXTURES)) for p in [*FIXTURES.glob("keras/*.h5"), *FIXTURES.glob("hdf5/*.h5")]))
def test_hdf5_datasets_match_h5py(lstmkit, tmp_path, path):
    """lstmkit lists exactly h5py's numeric contiguous / compact datasets; the plain h5py files convert to the same
    values (Keras files convert their layers to canonical nn.LSTM tensors, checked against torch above)."""
    file = FIXTURES / path
    report = json.loads(lstmkit("inspect", file, "--json").stdout)
    want = h5py_datasets(file)
    assert {t["name"]: tuple(t["shape"]) for t in report["tensors"]} == {k: v.shape for k, v in want.items()}
    for t in report["tensors"]:
        assert t["dtype"] == want[t["name"]].dtype.newbyteorder("=").name
    if path.startswith("keras/"):
        return
    lstmkit("convert", file, tmp_path / "all.npz")
    got = np.load(tmp_path / "all.npz")
    for name, value in want.items():
        np.testing.assert_array_equal(got[name], value)


def test_hdf5_written_by_h5py_every_way(lstmkit, tmp_path):
    """Superblock 0 and 3, float16 / float64 / int32, both byte orders, nested groups, a user block."""
    arrays = {"a/b/f16": np.arange(6, dtype="<f2").reshape(2, 3), "a/f64be": np.linspace(0, 1, 5).astype(">f8"),
              "i32": np.arange(-3, 3, dtype="<i4"), "scalar": np.float32(2.5)}
    for i, kw in enumerate([{}, {"libver": "latest"}, {"userblock_size": 512}]):
        path = tmp_path / f"t{i}.h5"
        with h5py.File(path, "w", **kw) as f:
            for k, v in arrays.items():
                f.create_dataset(k, data=v)
        if "userblock_size" in kw:
            # A user block moves the superblock to byte 512: not sniffed by content at byte 0.
            assert lstmkit("inspect", path, check=False).returncode == 2
            continue
        report = json.loads(lstmkit("inspect", path, "--json").stdout)
        assert {t["name"]: t["shape"] for t in report["tensors"]} == {k: list(np.shape(v)) for k, v in arrays.items()}
        lstmkit("convert", path, tmp_path / f"t{i}.npz")
        got = np.load(tmp_path / f"t{i}.npz")
        for k, v in arrays.items():
            np.testing.assert_array_equal(got[k], v)


CHUNKED = [  # h5py create_dataset keywords; each array is written with each
    {"chunks": (4, 3), "compression": "gzip"},
    {"chunks": (4, 3), "compression": "gzip", "compression_opts": 9, "shuffle": True},
    {"chunks": (5, 2), "shuffle": True, "fletcher32": True},
    {"chunks": (3, 7)},
    {"chunks": True, "compression": "gzip", "shuffle": True, "fletcher32": True},
    {"chunks": (11, 7), "compression": "gzip"},                   # one chunk covering the whole dataset
]


@pytest.mark.parametrize("libver", ["earliest", "latest"])
@pytest.mark.parametrize("options", range(len(CHUNKED)))
def test_chunked_datasets_read_as_h5py_reads_them(lstmkit, tmp_path, libver, options):
    """Chunked storage, with deflate, shuffle and fletcher32 and edge chunks, in both layout generations (v1 B-tree
    index; single chunk / fixed array index): lstmkit's values are h5py's."""
    rng = np.random.default_rng(options)
    arrays = {"w": rng.standard_normal((11, 7)).astype("<f4"), "g/h": rng.standard_normal((11, 7)).astype(">f8"),
              "g/half": rng.standard_normal((11, 7)).astype("<f2"), "ints": rng.integers(-9, 9, (11, 7)).astype("<i8")}
    path = tmp_path / "c.h5"
    with h5py.File(path, "w", libver=libver) as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=v, **CHUNKED[options])
    report = json.loads(lstmkit("inspect", path, "--json").stdout)
    assert {t["name"] for t in report["tensors"]} == set(arrays)
    lstmkit("convert", path, tmp_path / "c.npz")
    got = np.load(tmp_path / "c.npz")
    for k, v in arrays.items():
        np.testing.assert_array_equal(got[k], v)


@pytest.mark.parametrize("members", [9, 200, 5000])
def test_dense_groups_and_attributes_read_as_h5py_reads_them(lstmkit, tmp_path, members):
    """libver="latest" groups over 8 links (dense storage; 5000 links need a deeper v2 B-tree and indirect heap
    blocks) and a model_config over 64 KiB (dense attribute storage)."""
    path = tmp_path / "d.h5"
    rng = np.random.default_rng(members)
    want = {}
    with h5py.File(path, "w", libver="latest") as f:
        g = f.create_group("layers")
        for i in range(members):
            want[f"layers/w_{i}_{'n' * (i % 40)}"] = rng.standard_normal(3).astype(np.float32)
            g.create_dataset(f"w_{i}_{'n' * (i % 40)}", data=want[f"layers/w_{i}_{'n' * (i % 40)}"])
        config = {"class_name": "Sequential", "config": {"layers": [{"class_name": "LSTM", "config": {"name": "x"}}]},
                  "padding": "p" * 70000}
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "3.15.1"
        for i in range(30):
            f.attrs[f"extra_{i}"] = "a" * i
    report = json.loads(lstmkit("inspect", path, "--json").stdout)
    assert {t["name"] for t in report["tensors"]} == set(want)
    assert "keras_version  3.15.1" in lstmkit("inspect", path).stdout      # read from dense attribute storage
    lstmkit("convert", path, tmp_path / "d.npz")
    got = np.load(tmp_path / "d.npz")
    for k, v in want.items():
        np.testing.assert_array_equal(got[k], v)


def test_resizable_chunked_datasets_are_skipped_by_name(lstmkit, tmp_path):
    """libver="latest" indexes a resizable dataset's chunks by an extensible array or v2 B-tree: listed as skipped."""
    path = tmp_path / "r.h5"
    with h5py.File(path, "w", libver="latest") as f:
        f.create_dataset("grow", data=np.ones((4, 3), np.float32), chunks=(2, 3), maxshape=(None, 3))
        f.create_dataset("both", data=np.ones((4, 3), np.float32), chunks=(2, 3), maxshape=(None, None))
        f.create_dataset("kept", data=np.ones((4, 3), np.float32), chunks=(2, 3))
    proc = lstmkit("inspect", path)
    assert "extensible array" in proc.stdout and "version-2 B-tree" in proc.stdout
    assert [t["name"] for t in json.loads(lstmkit("inspect", path, "--json").stdout)["tensors"]] == ["kept"]


@pytest.mark.parametrize("recurrent_activation,activation", [("hard_sigmoid", "tanh"), ("sigmoid", "relu"), ("sigmoid", "tanh")])
def test_keras_model_file_verifies_against_keras(lstmkit, tmp_path, recurrent_activation, activation):
    """model.save("m.keras"): config.json's activations reach the reference pass; lstmkit verify passes on Keras's outputs."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((6, 3))
    y, h, c = keras.layers.LSTM(4, return_sequences=True, return_state=True, activation=activation,
                                recurrent_activation=recurrent_activation)(inp)
    model = keras.Model(inp, [y, h, c])
    model.save(str(tmp_path / "m.keras"))
    x = np.random.default_rng(1).standard_normal((2, 6, 3)).astype(np.float32)
    y, h, c = keras_outputs(model, x)
    np.savez(tmp_path / "golden.npz", input=x, output=y, h_n=h[None], c_n=c[None], batch_first=np.array(True))
    proc = lstmkit("verify", tmp_path / "m.keras", "--golden", tmp_path / "golden.npz", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The same weights without their config (a bare weights file) are read with the default activations.
    model.save_weights(str(tmp_path / "m.weights.h5"))
    proc = lstmkit("verify", tmp_path / "m.weights.h5", "--golden", tmp_path / "golden.npz", check=False)
    assert proc.returncode == (0 if (recurrent_activation, activation) == ("sigmoid", "tanh") else 1), proc.stdout


@pytest.mark.parametrize("legacy", [False, True])
def test_keras_go_backwards_runs_as_keras_and_survives_keras_output(lstmkit, tmp_path, legacy):
    """go_backwards=True: lstmkit verify matches Keras's (time-reversed) outputs, from .keras and legacy .h5; .keras
    output keeps it (Keras loads it and computes the same), .pt and .onnx refuse it by name."""
    keras.utils.set_random_seed(8)
    inp = keras.Input((7, 2))
    y, h, c = keras.layers.LSTM(3, go_backwards=True, return_sequences=True, return_state=True, name="back")(inp)
    model = keras.Model(inp, [y, h, c])
    src = tmp_path / ("b.h5" if legacy else "b.keras")
    model.save(src)
    x = np.random.default_rng(2).standard_normal((2, 7, 2)).astype(np.float32)
    y, h, c = keras_outputs(model, x)
    np.savez(tmp_path / "g.npz", input=x, output=y, h_n=h[None], c_n=c[None], batch_first=np.array(True))
    lstmkit("verify", src, "--golden", tmp_path / "g.npz")
    lstmkit("convert", src, tmp_path / "out.keras")
    again = keras.models.load_model(tmp_path / "out.keras")
    assert again.layers[0].go_backwards
    np.testing.assert_allclose(np.asarray(keras.ops.convert_to_numpy(again(x))), y, rtol=1e-5, atol=1e-6)  # one output
    for target in ["b.pt", "b.onnx"]:
        proc = lstmkit("convert", src, tmp_path / target, check=False)
        assert proc.returncode == 2 and "go_backwards" in proc.stderr, proc.stderr
        assert not (tmp_path / target).exists()


@pytest.mark.parametrize("bidirectional", [False, True])
def test_legacy_h5_models_convert_to_torch_and_match(lstmkit, tmp_path, bidirectional):
    """Keras 3's legacy writer (model.save("….h5")) → lstmkit convert --module → nn.LSTM: Keras's outputs."""
    keras.utils.set_random_seed(11)
    inp = keras.Input((6, 3))
    layer = keras.layers.LSTM(4, return_sequences=True, name="rnn")
    out = keras.layers.Bidirectional(layer, name="birnn")(inp) if bidirectional else layer(inp)
    model = keras.Model(inp, out)
    model.save(tmp_path / "m.h5")
    x = np.random.default_rng(5).standard_normal((2, 6, 3)).astype(np.float32)
    want = np.asarray(keras.ops.convert_to_numpy(model(x)))
    module = "model_weights/birnn" if bidirectional else "model_weights/rnn"
    report = json.loads(lstmkit("inspect", tmp_path / "m.h5", "--json").stdout)
    assert [m["module"] for m in report["lstms"]] == [module]
    with h5py.File(tmp_path / "m.h5") as f:
        version = f.attrs["keras_version"]
    assert f"keras_version  {version}" in lstmkit("inspect", tmp_path / "m.h5").stdout
    lstmkit("convert", tmp_path / "m.h5", tmp_path / "m.pt", "--module", module)
    lstm = torch.nn.LSTM(3, 4, batch_first=True, bidirectional=bidirectional)
    lstm.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    with torch.no_grad():
        np.testing.assert_allclose(lstm(torch.from_numpy(x))[0].numpy(), want, rtol=1e-5, atol=1e-6)


def test_keras2_layout_fixture_loads_in_keras_with_the_weights_lstmkit_reads(lstmkit, tmp_path):
    """Keras 3's legacy weights loader (which follows the layer_names / weight_names byte-string attributes) takes the
    tf.keras 2.x-layout fixture, and its kernels are the transposes of the weights lstmkit reads."""
    src = FIXTURES / "keras" / "keras2_hard_sigmoid.h5"
    inp = keras.Input((5, 3), name="input_1")
    model = keras.Model(inp, keras.layers.LSTM(4, return_sequences=True, name="lstm")(inp))
    model.load_weights(src)
    cell = model.get_layer("lstm").cell
    lstmkit("convert", src, tmp_path / "m.onnx", "--module", "model_weights/lstm")    # .npz refuses Keras 2's hard_sigmoid
    got = json.loads(lstmkit("inspect", src, "--json").stdout)
    assert [m["module"] for m in got["lstms"]] == ["model_weights/lstm"]
    with h5py.File(src) as f:
        kernel = f["model_weights/lstm/lstm/lstm_cell/kernel:0"][()]
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(cell.kernel), kernel)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(cell.recurrent_kernel),
                                      f["model_weights/lstm/lstm/lstm_cell/recurrent_kernel:0"][()])
    import onnx
    from onnx import numpy_helper
    w = next(numpy_helper.to_array(i) for i in onnx.load(tmp_path / "m.onnx").graph.initializer
             if numpy_helper.to_array(i).ndim == 3 and numpy_helper.to_array(i).shape[2] == 3)   # W (1, 4H, I), gates i o f c
    np.testing.assert_array_equal(w[0][:4], kernel[:, :4].T)                                   # the input gate block


def test_keras2_hard_sigmoid_depends_on_the_files_keras_version(lstmkit, tmp_path):
    """The same weights verify against Keras 2's hard_sigmoid golden only while the file says keras_version 2.x."""
    src = FIXTURES / "keras" / "keras2_hard_sigmoid.h5"
    golden = FIXTURES / "golden" / "keras2_hard_sigmoid.npz"
    lstmkit("verify", src, "--module", "model_weights/lstm", "--golden", golden)
    copy = tmp_path / "as_keras3.h5"
    copy.write_bytes(src.read_bytes())
    with h5py.File(copy, "a") as f:
        f.attrs["keras_version"] = "3.15.1"
    proc = lstmkit("verify", copy, "--module", "model_weights/lstm", "--golden", golden, check=False)
    assert proc.returncode == 1, proc.stdout
