"""safetensors interop: the real `safetensors` package reads what lstmkit writes and lstmkit reads
what it writes; `convert --dtype float16 / bfloat16` equals torch's `.half()` / `.bfloat16()` bit for bit."""
import json
import struct

import numpy as np
import pytest
import safetensors
import safetensors.numpy
import safetensors.torch
import torch

NUMPY_DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
                np.float16, np.float32, np.float64]


def numpy_tensors():
    rng = np.random.default_rng(7)
    out = {}
    for dt in NUMPY_DTYPES:
        if dt == np.bool_:
            a = rng.integers(0, 2, size=(3, 4)).astype(np.bool_)
        elif np.issubdtype(dt, np.integer):
            info = np.iinfo(dt)
            a = rng.integers(info.min, info.max, size=(3, 4), dtype=dt, endpoint=True)
        else:
            a = rng.standard_normal((3, 4)).astype(dt)
        out[f"layer.{np.dtype(dt).name}"] = a
    out["scalar"] = np.array(2.5, np.float64)
    out["empty"] = np.zeros((0, 5), np.float32)
    out["empty_i8"] = np.zeros((2, 0), np.int8)
    return out


def torch_tensors():
    g = torch.Generator().manual_seed(3)
    return {
        "rnn.weight_ih_l0": torch.randn(64, 8, generator=g),
        "rnn.weight_hh_l0": torch.randn(64, 16, generator=g).bfloat16(),
        "rnn.bias_ih_l0": torch.randn(64, generator=g).half(),
        "rnn.bias_hh_l0": torch.randn(64, generator=g).double(),
        "steps": torch.tensor(12345678901, dtype=torch.int64),
        "mask": torch.tensor([True, False, True]),
        "codes": torch.arange(-5, 5, dtype=torch.int8),
        "big": (torch.arange(7, dtype=torch.int32) * 9000).to(torch.uint16),
        "empty": torch.zeros(0, 3, dtype=torch.bfloat16),
    }


def header(path):
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    return n, json.loads(data[8:8 + n]), data


def assert_same_arrays(a, b):
    assert set(a) == set(b)
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert a[k].shape == b[k].shape, k
        assert a[k].tobytes() == b[k].tobytes(), k


def assert_same_torch(a, b):
    assert set(a) == set(b)
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert a[k].shape == b[k].shape, k
        assert torch.equal(a[k].reshape(-1).view(torch.uint8), b[k].reshape(-1).view(torch.uint8)), k


def test_numpy_file_round_trips_through_lstmkit(lstmkit, tmp_path):
    src, dst = tmp_path / "in.safetensors", tmp_path / "out.safetensors"
    tensors = numpy_tensors()
    safetensors.numpy.save_file(tensors, src, metadata={"format": "np"})
    lstmkit("convert", src, dst, "--quiet")
    assert_same_arrays(tensors, safetensors.numpy.load_file(dst))
    with safetensors.safe_open(dst, "np") as f:
        assert f.metadata() == {"format": "np"}
    # Same tensors, same single metadata key: the reference writer's bytes exactly.
    assert dst.read_bytes() == src.read_bytes()


def test_torch_file_round_trips_through_lstmkit(lstmkit, tmp_path):
    src, dst = tmp_path / "in.safetensors", tmp_path / "out.safetensors"
    tensors = torch_tensors()
    safetensors.torch.save_file(tensors, src)
    lstmkit("convert", src, dst)
    assert_same_torch(tensors, safetensors.torch.load_file(dst))
    assert dst.read_bytes() == src.read_bytes()


def test_metadata_is_carried_with_awkward_strings(lstmkit, tmp_path):
    src, dst = tmp_path / "in.safetensors", tmp_path / "out.safetensors"
    metadata = {"format": "pt", "quote\"back\\slash": "line\nbreak\ttab\x01", "unicode": "é ✓ 𝄞", "empty": ""}
    safetensors.numpy.save_file({"w": np.ones(3, np.float32)}, src, metadata=metadata)
    lstmkit("convert", src, dst)
    n, head, data = header(dst)
    assert n % 8 == 0
    assert list(head)[0] == "__metadata__"
    with safetensors.safe_open(dst, "np") as f:
        assert f.metadata() == metadata


def test_output_layout_is_the_reference_layout(lstmkit, tmp_path):
    src, dst = tmp_path / "in.safetensors", tmp_path / "out.safetensors"
    safetensors.torch.save_file(torch_tensors(), src)
    lstmkit("convert", src, dst)
    n, head, _ = header(dst)
    assert n % 8 == 0
    order = sorted(head.items(), key=lambda kv: kv[1]["data_offsets"])
    dtype_rank = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]
    keys = [(-dtype_rank.index(v["dtype"]), k.encode()) for k, v in order]
    assert keys == sorted(keys)
    # every tensor starts aligned to its element size
    sizes = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4,
             "F64": 8, "I64": 8, "U64": 8}
    for _, v in order:
        assert (8 + n + v["data_offsets"][0]) % sizes[v["dtype"]] == 0


SPECIALS = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.0, 65520.0, 1e6, -1e6, 6.1e-5, 6.0e-8, 2.98e-8, 3.0e-8, 1e-10,
            1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.3895314e38, float("inf"), float("-inf"),
            float("nan"), 1e-40, -1e-45]


@pytest.mark.parametrize("target,cast", [("float16", torch.Tensor.half), ("bfloat16", torch.Tensor.bfloat16)])
@pytest.mark.parametrize("source", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
def test_dtype_cast_equals_torch_bit_for_bit(lstmkit, tmp_path, target, cast, source):
    g = torch.Generator().manual_seed(11)
    x = torch.cat([torch.tensor(SPECIALS, dtype=torch.float64),
                   torch.randn(5000, generator=g, dtype=torch.float64) * torch.logspace(-9, 6, 5000, dtype=torch.float64),
                   torch.tensor([1 + 2 ** -11 + 2 ** -40, 1 + 2 ** -8 + 2 ** -40], dtype=torch.float64)]).to(source)
    # Every float32 bit pattern class: a sweep of raw bits.
    if source == torch.float32:
        x = torch.cat([x, torch.arange(0, 2 ** 32, 65537, dtype=torch.int64).to(torch.int32).view(torch.float32)])
    ints = torch.arange(-3, 3, dtype=torch.int32)
    src, dst = tmp_path / "in.safetensors", tmp_path / "out.safetensors"
    safetensors.torch.save_file({"x": x, "ints": ints}, src)
    lstmkit("convert", src, dst, "--dtype", target)
    out = safetensors.torch.load_file(dst)
    expected = cast(x)
    assert out["x"].dtype == expected.dtype
    got_bits, want_bits = out["x"].view(torch.int16), expected.view(torch.int16)
    nan = torch.isnan(expected)
    assert torch.equal(torch.isnan(out["x"]), nan)
    assert torch.equal(got_bits[~nan], want_bits[~nan])
    assert torch.equal(out["ints"], ints)


def test_widening_casts_are_exact(lstmkit, tmp_path):
    x = torch.randn(1000, generator=torch.Generator().manual_seed(5)).bfloat16()
    y = torch.randn(1000, generator=torch.Generator().manual_seed(6)).half()
    src, dst = tmp_path / "in.safetensors", tmp_path / "out.safetensors"
    safetensors.torch.save_file({"x": x, "y": y}, src)
    lstmkit("convert", src, dst, "--dtype", "float64")
    out = safetensors.torch.load_file(dst)
    assert torch.equal(out["x"], x.double()) and torch.equal(out["y"], y.double())


def raw_file(tmp_path, head, data=b"", n=None):
    h = head.encode() if isinstance(head, str) else head
    p = tmp_path / "bad.safetensors"
    p.write_bytes(struct.pack("<Q", len(h) if n is None else n) + h + data)
    return p


BAD = [
    ("gap", '{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"\0\0"),
    ("overlap", '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', b"\0" * 3),
    ("size mismatch", '{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', b"\0" * 8),
    ("trailing byte", '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\0\0"),
    ("short data", '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', b"\0"),
    ("nul padding", '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}\0\0\0', b"\0"),
    ("lower-case dtype", '{"a":{"dtype":"u8","shape":[1],"data_offsets":[0,1]}}', b"\0"),
    ("negative dim", '{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', b"\0"),
    ("float dim", '{"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}', b"\0"),
    ("int metadata", '{"__metadata__":{"x":1},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\0"),
]


@pytest.mark.parametrize("label,head,data", BAD, ids=[b[0] for b in BAD])
def test_malformed_files_refused_like_the_reference(lstmkit, tmp_path, label, head, data):
    p = raw_file(tmp_path, head, data)
    with pytest.raises(Exception):
        safetensors.numpy.load_file(p)
    proc = lstmkit("convert", p, tmp_path / "out.safetensors", check=False)
    assert proc.returncode == 2, proc.stderr
    assert str(p) in proc.stderr
    assert not (tmp_path / "out.safetensors").exists()


def test_duplicate_names_refused_where_the_reference_keeps_the_last(lstmkit, tmp_path):
    head = '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
    p = raw_file(tmp_path, head, b"\0")
    assert list(safetensors.numpy.load_file(p)) == ["a"]  # serde keeps the last: a parser differential
    proc = lstmkit("convert", p, tmp_path / "out.safetensors", check=False)
    assert proc.returncode == 2
    assert "duplicate tensor name" in proc.stderr and "'a'" in proc.stderr


def test_tolerated_inputs_accepted_like_the_reference(lstmkit, tmp_path):
    head = ' {"__metadata__":null,"z":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},' \
           '"a":{"extra":[1],"dtype":"U8","shape":[1],"data_offsets":[0,1]}}\n '
    p = raw_file(tmp_path, head, b"\x07")
    ref = safetensors.numpy.load_file(p)
    lstmkit("convert", p, tmp_path / "out.safetensors")
    assert_same_arrays(ref, safetensors.numpy.load_file(tmp_path / "out.safetensors"))
