"""`lstmkit convert` as users run it: exit codes and sentences, atomic output when failing or killed,
the progress bar, and outputs that numpy / torch / safetensors load identically."""
import glob
import os
import pty
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch


def write_inputs(tmp_path):
    src = tmp_path / "in.safetensors"
    safetensors.numpy.save_file({"w": np.arange(12, dtype=np.float32).reshape(3, 4), "n": np.array(3, np.int64)}, src,
                                metadata={"epoch": "3"})
    return src


def temporaries(folder):
    return glob.glob(str(folder / ".*.lstmkit-*"))


def test_existing_output_is_refused_without_force(lstmkit, tmp_path):
    src = write_inputs(tmp_path)
    out = tmp_path / "out.safetensors"
    out.write_bytes(b"previous")
    before = src.read_bytes()
    proc = lstmkit("convert", src, out, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"{out}: output exists (use --force to replace it)"
    assert out.read_bytes() == b"previous"
    lstmkit("convert", src, out, "--force", "--quiet")
    assert out.read_bytes() == before == src.read_bytes()


@pytest.mark.parametrize("args,code,needle", [
    (["missing.safetensors", "out.safetensors"], 2, "missing.safetensors: cannot open"),
    (["in.safetensors", "out.txt"], 64, "cannot tell the output format"),
    (["in.safetensors", "in.safetensors", "--force"], 2, "the output is the input file"),
    (["in.safetensors", "out.safetensors", "--dtype", "int8"], 64, "--dtype"),
    (["in.safetensors", "out.safetensors", "--module", "nope"], 64, "--module nope: the file holds no LSTM"),
])
def test_errors_exit_with_one_sentence(lstmkit, tmp_path, args, code, needle):
    write_inputs(tmp_path)
    before = sorted(os.listdir(tmp_path))
    proc = subprocess.run([lstmkit.binary, "convert", *args], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    assert needle in proc.stderr
    assert sorted(os.listdir(tmp_path)) == before


def test_malformed_input_leaves_nothing_and_keeps_existing_output(lstmkit, tmp_path):
    bad = tmp_path / "bad.safetensors"
    good = write_inputs(tmp_path).read_bytes()
    bad.write_bytes(good[:-1])
    out = tmp_path / "out.safetensors"
    proc = lstmkit("convert", bad, out, check=False)
    assert proc.returncode == 2 and str(bad) in proc.stderr and "at byte" in proc.stderr
    assert not out.exists() and not temporaries(tmp_path)
    out.write_bytes(b"previous")
    proc = lstmkit("convert", bad, out, "--force", check=False)
    assert proc.returncode == 2
    assert out.read_bytes() == b"previous" and not temporaries(tmp_path)


def big_input(tmp_path, mb=72):
    src = tmp_path / "big.safetensors"
    n = mb * (1 << 20) // 4 // 16
    rng = np.random.default_rng(1)
    safetensors.numpy.save_file({f"t{i}": rng.standard_normal(n, dtype=np.float32) for i in range(16)}, src)
    return src


def start_and_wait_for_temporary(lstmkit, args, folder):
    proc = subprocess.Popen([lstmkit.binary, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not temporaries(folder):
        assert proc.poll() is None, "convert finished before it could be interrupted"
        assert time.time() < deadline
        time.sleep(0.001)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_killed_convert_leaves_the_target_untouched(lstmkit, tmp_path, sig):
    src = big_input(tmp_path)
    out = tmp_path / "out.safetensors"
    out.write_bytes(b"previous")
    proc = start_and_wait_for_temporary(lstmkit, ["convert", src, out, "--force", "--dtype", "float16"], tmp_path)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert out.read_bytes() == b"previous"
    if sig != signal.SIGKILL:  # a catchable signal also removes the temporary file
        assert not temporaries(tmp_path)


def run_with_tty_stderr(args):
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait()
    os.close(master)
    return proc, b"".join(chunks).decode(errors="replace")


def test_progress_bar_only_on_a_terminal_for_large_inputs(lstmkit, tmp_path):
    src = big_input(tmp_path, mb=66)
    out = tmp_path / "out.safetensors"
    proc, err = run_with_tty_stderr([lstmkit.binary, "convert", src, out])
    assert proc.returncode == 0
    assert "converting [" in err and "%" in err
    proc, err = run_with_tty_stderr([lstmkit.binary, "convert", src, out, "--force", "--quiet"])
    assert proc.returncode == 0 and err == ""
    piped = lstmkit("convert", src, out, "--force")
    assert piped.stderr == ""
    small = write_inputs(tmp_path)
    proc, err = run_with_tty_stderr([lstmkit.binary, "convert", small, tmp_path / "small.safetensors"])
    assert proc.returncode == 0 and "converting" not in err


def test_large_conversion_keeps_memory_bounded(lstmkit, tmp_path):
    src = big_input(tmp_path, mb=128)
    out = tmp_path / "out.safetensors"
    for extra in [[], ["--dtype", "bfloat16"]]:
        # A fresh parent, so RUSAGE_CHILDREN holds only this run's peak.
        measure = "import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); " \
                  "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        proc = subprocess.run([sys.executable, "-c", measure, lstmkit.binary, "convert", src, out, "--force", "--quiet", *extra],
                              capture_output=True, text=True)
        code, max_rss_kb = map(int, proc.stdout.split())
        assert code == 0, proc.stderr
        assert max_rss_kb < 96 * 1024, f"{extra}: {max_rss_kb} KB resident for a 128 MB input"
    loaded = safetensors.torch.load_file(out)
    ref = safetensors.torch.load_file(src)
    assert all(torch.equal(loaded[k], ref[k].bfloat16()) for k in ref)


def crnn_state():
    torch.manual_seed(0)
    model = torch.nn.ModuleDict({
        "cnn": torch.nn.Conv2d(1, 4, 3),
        "rnn0": torch.nn.LSTM(12, 8, bidirectional=True),
        "rnn1": torch.nn.LSTM(16, 6, num_layers=2, proj_size=3),
    })
    return model, {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_npz_output_loads_in_numpy_identically(lstmkit, tmp_path):
    _, state = crnn_state()
    state["step"] = torch.tensor(12, dtype=torch.int64)
    state["half"] = torch.randn(3, 2).half()
    src = tmp_path / "model.safetensors"
    safetensors.torch.save_file(state, src, metadata={"epoch": "4"})
    out = tmp_path / "model.npz"
    proc = lstmkit("convert", src, out)
    assert "note: 1 metadata entry (epoch) not written: npz holds tensors only" in proc.stderr
    with np.load(out) as z:
        assert sorted(z.files) == sorted(state)
        for k, v in state.items():
            assert z[k].dtype == v.numpy().dtype and np.array_equal(z[k], v.numpy()), k


@pytest.mark.parametrize("ext", ["npz", "safetensors", "pt"])
def test_module_output_loads_into_nn_lstm(lstmkit, tmp_path, ext):
    model, state = crnn_state()
    src = tmp_path / "crnn.safetensors"
    safetensors.torch.save_file(state, src)
    x = torch.randn(5, 2, 16)
    for dtype in [None, "float64"]:
        out = tmp_path / f"rnn1.{ext}"
        lstmkit("convert", src, out, "--module", "rnn1", "--force", *(["--dtype", dtype] if dtype else []))
        if ext == "npz":
            with np.load(out) as z:
                loaded = {k: torch.from_numpy(z[k]) for k in z.files}
        elif ext == "pt":
            loaded = torch.load(out, weights_only=True)
        else:
            loaded = safetensors.torch.load_file(out)
        lstm = torch.nn.LSTM(16, 6, num_layers=2, proj_size=3)
        if dtype:
            lstm = lstm.double()
        lstm.load_state_dict(loaded, strict=True)
        ref = model["rnn1"].double() if dtype else model["rnn1"]
        with torch.no_grad():
            got = lstm(x.double() if dtype else x)[0]
            want = ref(x.double() if dtype else x)[0]
        assert torch.equal(got, want)
        model = crnn_state()[0]


def test_bfloat16_npz_is_read_back_by_ml_dtypes(lstmkit, tmp_path):
    import ml_dtypes
    x = torch.randn(4, 5)
    src = tmp_path / "x.safetensors"
    safetensors.torch.save_file({"x": x}, src)
    lstmkit("convert", src, tmp_path / "x.npz", "--dtype", "bfloat16")
    with np.load(tmp_path / "x.npz") as z:
        got = z["x"].view(ml_dtypes.bfloat16)
    assert np.array_equal(got.view(np.uint16), x.bfloat16().view(torch.int16).numpy().view(np.uint16))


def test_pt_output_loads_in_torch_identically(lstmkit, tmp_path):
    _, state = crnn_state()
    state["step"] = torch.tensor(12, dtype=torch.int64)
    state["bf"] = torch.randn(3, 2).bfloat16()
    state["empty"] = torch.zeros(0, 4)
    src = tmp_path / "model.safetensors"
    safetensors.torch.save_file(state, src, metadata={"epoch": "4"})
    out = tmp_path / "model.pt"
    proc = lstmkit("convert", src, out)
    assert "note: 1 metadata entry (epoch) not written: the .pt state dict holds tensors only" in proc.stderr
    loaded = torch.load(out, weights_only=True)
    assert list(loaded) == list(safetensors.torch.load_file(src))
    for k, v in state.items():
        assert loaded[k].dtype == v.dtype and loaded[k].shape == v.shape and torch.equal(loaded[k], v), k


@pytest.mark.parametrize("source_ext", ["pt", "safetensors", "npz"])
def test_onnx_output_runs_in_onnxruntime_like_nn_lstm(lstmkit, tmp_path, source_ext):
    import onnxruntime as ort
    model, state = crnn_state()
    src = tmp_path / f"crnn.{source_ext}"
    if source_ext == "pt":
        torch.save(state, src)
    elif source_ext == "safetensors":
        safetensors.torch.save_file(state, src)
    else:
        np.savez(src, **{k: v.numpy() for k, v in state.items()})
    out = tmp_path / "rnn0.onnx"
    proc = lstmkit("convert", src, out, "--module", "rnn0")
    assert "from LSTM 'rnn0'" in proc.stdout
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = torch.randn(7, 3, 12)
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        want_output, (want_h, want_c) = model["rnn0"](x)
    for g, w in zip(got, [want_output, want_h, want_c]):
        assert g.shape == tuple(w.shape)
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-6)
    several = lstmkit("convert", src, tmp_path / "x.onnx", check=False)
    assert several.returncode == 64 and "pick it with --module" in several.stderr
