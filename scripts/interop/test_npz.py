"""numpy reads back, identically, every npz that `lstmkit convert` writes (stored and --compress)."""
import zipfile

import ml_dtypes
import numpy as np
import pytest


def lstm_state(rng, hidden=3, inputs=2):
    return {
        "weight_ih_l0": rng.standard_normal((4 * hidden, inputs)).astype(np.float32),
        "weight_hh_l0": rng.standard_normal((4 * hidden, hidden)).astype(np.float32),
        "bias_ih_l0": rng.standard_normal(4 * hidden).astype(np.float32),
        "bias_hh_l0": rng.standard_normal(4 * hidden).astype(np.float32),
    }


def extra_arrays(rng):
    """Every dtype lstmkit reads, in both byte orders, plus Fortran order, 0-d, empty and bfloat16."""
    arrays = {}
    for descr in ["|b1", "|i1", "|u1", "<i2", ">i2", "<u2", ">u4", "<i4", ">i8", "<u8",
                  "<f2", ">f2", "<f4", ">f4", "<f8", ">f8"]:
        name = "extra/" + descr.replace("<", "le_").replace(">", "be_").replace("|", "")
        arrays[name] = (rng.standard_normal((3, 4)) * 50).astype(descr)
    arrays["extra/fortran"] = np.asfortranarray(rng.standard_normal((2, 3, 4)).astype(np.float32))
    arrays["extra/scalar"] = np.float64(3.25)
    arrays["extra/empty"] = np.zeros((0, 5), np.float32)
    arrays["extra/bf16"] = rng.standard_normal(5).astype(ml_dtypes.bfloat16)
    return arrays


def assert_same(original, written):
    """Same names in the same order, same values and shapes; dtypes equal up to byte order
    (lstmkit writes little-endian, C order)."""
    assert list(written.files) == list(original.files)
    for name in original.files:
        a, b = original[name], written[name]
        assert b.shape == a.shape, name
        assert b.dtype == a.dtype.newbyteorder("<") or b.dtype == a.dtype, (name, a.dtype, b.dtype)
        assert b.dtype.byteorder in ("<", "|", "="), (name, b.dtype)
        if a.dtype.kind == "V":  # ml_dtypes bfloat16 is saved as raw 2-byte void
            assert a.tobytes() == b.tobytes(), name
        else:
            assert np.array_equal(a, b), name


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("source", ["savez", "savez_compressed"])
def test_convert_npz_round_trips_through_numpy(lstmkit, tmp_path, compress, source):
    rng = np.random.default_rng(7)
    arrays = {**lstm_state(rng), **extra_arrays(rng)}
    src = tmp_path / "in.npz"
    getattr(np, source)(src, **arrays)
    out = tmp_path / "out.npz"
    lstmkit("convert", src, out, *(["--compress"] if compress else []))

    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
        expected = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        assert {info.compress_type for info in z.infolist()} == {expected}
        assert [info.filename for info in z.infolist()] == [name + ".npy" for name in arrays]
    with np.load(src) as original, np.load(out) as written:
        assert_same(original, written)
    bf16 = np.load(out)["extra/bf16"].view(ml_dtypes.bfloat16)
    assert np.array_equal(bf16, arrays["extra/bf16"])


def test_convert_output_is_deterministic(lstmkit, tmp_path):
    rng = np.random.default_rng(3)
    src = tmp_path / "in.npz"
    np.savez(src, **lstm_state(rng))
    lstmkit("convert", src, tmp_path / "a.npz")
    lstmkit("convert", src, tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_stored_payloads_are_64_byte_aligned(lstmkit, tmp_path):
    rng = np.random.default_rng(5)
    src = tmp_path / "in.npz"
    np.savez(src, **lstm_state(rng))
    out = tmp_path / "out.npz"
    lstmkit("convert", src, out)
    data = out.read_bytes()
    with zipfile.ZipFile(out) as z:
        for info in z.infolist():
            start = info.header_offset + 30 + int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little") \
                + int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
            header_len = int.from_bytes(data[start + 8:start + 10], "little")
            assert (start + 10 + header_len) % 64 == 0, info.filename
