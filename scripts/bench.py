"""Benchmarks lstmkit against the Python path it replaces, in one run on one machine.

Run through `scripts/bench` (which builds lstmkit in release mode). It first prints the CPU
(model, family / model, the flags that pick kernels) and the kernel paths lstmkit runs on it.
Every measurement is a separate process; rows interleave lstmkit and its baselines (rotating their
order) and repeat them, and the table reports medians, ratios and peak RSS (wait4 rusage, per
process). Inputs are made with torch
once and cached in $LSTMKIT_BENCH_DIR (default ~/.cache/lstmkit-bench). Before each timed command
that writes a large file, dirty pages are flushed (untimed) so that one command's writeback does
not land in the next one's time.

What is timed:
- compressed: validate and convert (→ .safetensors) of the checkpoint saved with np.savez_compressed,
  against the same commands on its np.savez (stored) copy and against numpy / safetensors doing it.
- keras: convert .pt → .keras against the Python path (torch.load, a Keras 3 model of the same layers on
  the torch backend, set_weights with the transposes and summed biases, model.save).
- validate / inspect / convert: lstmkit as a whole process (start, read, work, write, fsync, rename);
  `cp` as a whole process, and `cp` followed by `sync FILE` (the fsync lstmkit's atomic commit does
  before its rename, which neither cp nor the Python path does); Python twice: the operation alone inside a started interpreter (imports
  excluded, which favours Python) and the whole `python -c` process (what a CI job pays).
- run: the forward pass alone in each tool, after one untimed warm-up call in the same process
  (`lstmkit run --time-runs N`; torch `nn.LSTM.forward` under no_grad; onnxruntime `session.run`),
  2 threads each; the median over all timed calls of all repeats. lstmkit runs once per kernel
  path asked for (`--kernels best|all|avx512,avx2,...`, set through LSTMKIT_KERNELS), each path
  its own row against the same torch / onnxruntime timings. lstmkit's whole `run` process
  (load, forward, write the .npz) is shown too. lstmkit's output is checked against torch's with
  `lstmkit verify`'s float32 tolerance (|a - b| <= 1e-5 + 1.3e-6 |b|).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CACHE = Path(os.environ.get("LSTMKIT_BENCH_DIR", Path.home() / ".cache" / "lstmkit-bench"))

# (name, input_size, hidden_size, num_layers, bidirectional, seq, batch)
FORWARD_FULL = [
    ("small", 64, 128, 1, False, 100, 1),
    ("paper", 256, 512, 2, True, 256, 16),
    ("wide", 512, 1024, 1, False, 128, 32),
]
FORWARD_QUICK = [("small", 64, 128, 1, False, 100, 1), ("tiny-bi", 32, 64, 2, True, 50, 4)]
CHECKPOINT_FULL = (1536, 1536, 4, True)   # about 0.83 GB of float32
CHECKPOINT_QUICK = (256, 256, 2, True)    # about 10 MB
TIMED_CALLS = 5                           # forward calls timed per process, after one warm-up
RTOL, ATOL = 1.3e-6, 1e-5                 # lstmkit verify's float32 tolerance
GOAL_FORWARD = 0.9                        # forward pass time at most this ratio of torch's and of onnxruntime's
GOAL_CONVERT = 1.25                       # convert .pt → .npz / .safetensors / .pt time at most this ratio of cp's


class Run:
    """One finished process: wall seconds, peak RSS bytes, stdout, stderr."""

    def __init__(self, wall: float, rss: int, out: str, err: str):
        self.wall, self.rss, self.out, self.err = wall, rss, out, err


def measured(cmd: list[str], flush: bool = False, env: dict[str, str] | None = None) -> Run:
    """Runs cmd under a small Python wrapper so that the peak RSS is this child's alone (env: extra variables)."""
    if flush:
        os.sync()
    wrapper = [sys.executable, "-c", (
        "import os,sys,time,subprocess\n"
        "t=time.perf_counter(); p=subprocess.Popen(sys.argv[1:]); _,st,ru=os.wait4(p.pid,0)\n"
        "dt=time.perf_counter()-t\n"
        "code=os.waitstatus_to_exitcode(st)\n"
        "print(f'@@ {dt} {ru.ru_maxrss*1024} {code}', flush=True)\n"
        "sys.exit(code)\n"), *cmd]
    proc = subprocess.run(wrapper, capture_output=True, text=True, env={**os.environ, **(env or {})})
    line = [l for l in proc.stdout.splitlines() if l.startswith("@@ ")]
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    _, dt, rss, _ = line[-1].split()
    stdout = "\n".join(l for l in proc.stdout.splitlines() if not l.startswith("@@ "))
    return Run(float(dt), int(rss), stdout, proc.stderr)


PY_TIMED = r"""
import sys, time
t = None
def start():
    global t; t = time.perf_counter()
def stop():
    print("@@op", time.perf_counter() - t, flush=True)
"""


def python_op(body: str, *args: str, flush: bool = False) -> tuple[list[float], Run]:
    """Runs a Python snippet that calls start()/stop() around the operation (possibly several
    times); returns the operation times and the whole process."""
    run = measured([sys.executable, "-c", PY_TIMED + body, *args], flush=flush)
    ops = [float(l.split()[1]) for l in run.out.splitlines() if l.startswith("@@op ")]
    if not ops:
        raise RuntimeError(f"python snippet printed no timing: {run.err[-500:]}")
    return ops, run


def make_checkpoint(cfg) -> Path:
    i, h, layers, bi = cfg
    path = CACHE / f"lstm_{i}_{h}_{layers}_{'bi' if bi else 'uni'}.pt"
    if not path.exists():
        import torch
        torch.manual_seed(0)
        m = torch.nn.LSTM(i, h, num_layers=layers, bidirectional=bi)
        tmp = path.with_suffix(".tmp")
        torch.save(m.state_dict(), tmp)
        tmp.rename(path)
    return path


def make_forward_inputs(name, i, h, layers, bi, seq, batch) -> tuple[Path, Path, Path]:
    model = CACHE / f"fwd_{name}_{i}_{h}_{layers}_{int(bi)}.pt"
    onnx_path = model.with_suffix(".onnx")
    x = CACHE / f"fwd_{name}_{i}_{seq}_{batch}_x.npy"
    if not (model.exists() and onnx_path.exists() and x.exists()):
        import numpy as np
        import torch
        torch.manual_seed(1)
        m = torch.nn.LSTM(i, h, num_layers=layers, bidirectional=bi).eval()
        torch.save(m.state_dict(), model)
        inp = torch.randn(seq, batch, i)
        np.save(x, inp.numpy())
        torch.onnx.export(m, (inp,), str(onnx_path), dynamo=False, input_names=["x"],
                          output_names=["output", "h_n", "c_n"],
                          dynamic_axes={"x": {0: "seq", 1: "batch"}})
    return model, onnx_path, x


def median(xs):
    return statistics.median(xs)


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def ms(seconds: float) -> str:
    v = seconds * 1000
    return f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms"


class Table:
    def __init__(self):
        self.rows = []

    def add(self, *cells):
        self.rows.append([str(c) for c in cells])

    def print(self, header):
        rows = [header] + self.rows
        widths = [max(len(r[k]) for r in rows) for k in range(len(header))]
        for n, r in enumerate(rows):
            print(" | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
            if n == 0:
                print("-|-".join("-" * w for w in widths))


def verdict(ok: bool, quick: bool) -> str:
    return "(smoke)" if quick else ("met" if ok else "NOT met")


def rotate(items, k):
    k %= len(items)
    return items[k:] + items[:k]


# The CPU flags that decide which kernels run (x86-64); arm64 reports none of them.
KERNEL_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile")


def cpu_note() -> str:
    """Model name, family / model numbers, caches and the kernel-relevant flags of CPU 0."""
    info: dict[str, str] = {}
    for line in open("/proc/cpuinfo"):
        if not line.strip():
            break
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    flags = set(info.get("flags", info.get("Features", "")).split())
    model = info.get("model name", info.get("CPU part", platform.machine()))
    ident = f"family {info['cpu family']} model {info['model']}" if "cpu family" in info else platform.machine()
    shown = " ".join(f for f in KERNEL_FLAGS if f in flags) or "none of " + "/".join(KERNEL_FLAGS[:3])
    return f"{model} ({ident}, {info.get('cache size', '?')} L2 per core); flags: {shown}"


def kernel_paths(lstmkit: str, work: Path) -> tuple[str, list[str]]:
    """lstmkit's default kernel path and all the paths this CPU runs, from `run --time-runs`."""
    model, x = make_forward_inputs("probe", 4, 8, 1, False, 2, 1)[0::2]
    err = measured([lstmkit, "run", str(model), "--input", str(x), "--output", str(work / "probe.npz"),
                    "--time-runs", "1"]).err
    line = next(l for l in err.splitlines() if l.startswith("kernels: "))
    default = line.split()[1]
    return default, line.split("this CPU runs ")[1].rstrip(")").split(", ")


def machine_note() -> str:
    load = open("/proc/loadavg").read().split()[:3]
    return f"{os.cpu_count()} cores, {cpu_note()}, {platform.system()} {platform.release()}; load average {' '.join(load)}"


def busy_processes(me: int) -> str:
    """The other processes using CPU right now (ps's lifetime %CPU, so long-running ones show)."""
    out = subprocess.run(["ps", "-eo", "pid,ppid,pcpu,etime,comm", "--sort=-pcpu"], capture_output=True, text=True).stdout
    lines = []
    for l in out.splitlines()[1:]:
        pid, ppid, pcpu, etime, comm = l.split(None, 4)
        if float(pcpu) < 5 or int(pid) == me or comm in ("ps",):
            continue
        lines.append(f"{comm} ({pcpu}% since {etime})")
    return ", ".join(lines[:8]) or "nothing above 5% CPU"


def agreement(ours: Path, torch_out: Path, name: str) -> str:
    """How lstmkit's run output compares with torch's, under verify's float32 tolerance."""
    import numpy as np
    a, b = np.load(ours), np.load(torch_out)
    worst, bad = 0.0, 0
    for key in ("output", "h_n", "c_n"):
        if a[key].shape != b[key].shape:
            raise RuntimeError(f"run {name}: {key} is {a[key].shape}, torch's is {b[key].shape}")
        x, y = a[key].astype(np.float64), b[key].astype(np.float64)
        diff = np.abs(x - y)
        worst = max(worst, float(diff.max()))
        bad += int((diff > ATOL + RTOL * np.abs(y)).sum())
    if bad:
        print(f"warning: run {name}: {bad} values outside verify's tolerance", file=sys.stderr)
    return f"max |Δ| {worst:.1e}, {bad} outside tol"


SECTIONS = ("validate", "convert", "compressed", "onnx", "keras", "run")


def make_npz_pair(ckpt: Path) -> tuple[Path, Path]:
    """The checkpoint's state dict as np.savez (stored) and np.savez_compressed (deflated), cached."""
    stored, deflated = ckpt.with_suffix(".stored.npz"), ckpt.with_suffix(".deflated.npz")
    if not (stored.exists() and deflated.exists()):
        import numpy as np
        import torch
        sd = {k: v.numpy() for k, v in torch.load(ckpt, weights_only=True).items()}
        for path, save in ((stored, np.savez), (deflated, np.savez_compressed)):
            tmp = path.with_suffix(".tmp.npz")
            save(tmp, **sd)
            tmp.rename(path)
    return stored, deflated


def bench(lstmkit: str, quick: bool, repeats: int, only: set[str] = set(SECTIONS), kernels: str = "best") -> int:
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="lstmkit-bench-", dir=CACHE))
    table = Table()
    print(f"machine: {machine_note()}", file=sys.stderr)
    default_path, cpu_paths = kernel_paths(lstmkit, work)
    if kernels == "best":
        paths = [default_path]
    elif kernels == "all":
        paths = cpu_paths
    else:
        paths = kernels.split(",")
        missing = [p for p in paths if p not in cpu_paths]
        if missing:
            raise SystemExit(f"--kernels {kernels}: this CPU runs {', '.join(cpu_paths)}, not {', '.join(missing)}")
    print(f"kernels: {default_path} by default; this CPU runs {', '.join(cpu_paths)}; forward rows for {', '.join(paths)}",
          file=sys.stderr)
    print(f"busy at start: {busy_processes(os.getpid())}", file=sys.stderr)
    try:
        small_ckpt = make_checkpoint(CHECKPOINT_QUICK)
        ckpt = small_ckpt if quick else make_checkpoint(CHECKPOINT_FULL)
        size = ckpt.stat().st_size
        print(f"checkpoint {ckpt.name}: {human(size)}; {repeats} repeats; medians", file=sys.stderr)

        # 1. validate / inspect (metadata only) vs torch.load(mmap=True) + shape checks.
        py_check = r"""
import torch
start()
sd = torch.load(sys.argv[1], mmap=True, weights_only=True)
H = sd["weight_hh_l0"].shape[1]
for k, v in sd.items():
    if k.startswith("weight_ih") or k.startswith("weight_hh") or k.startswith("bias"):
        assert v.shape[0] == 4 * H, k
stop()
"""
        files = [small_ckpt] if quick else [small_ckpt, ckpt]
        for f in (files if "validate" in only else []):
            ours, inspect, op, proc, rss_o, rss_t = [], [], [], [], [], []
            for r in range(repeats):
                for step in rotate(["ours", "inspect", "py"], r):
                    if step == "ours":
                        run = measured([lstmkit, "validate", str(f)])
                        ours.append(run.wall); rss_o.append(run.rss)
                    elif step == "inspect":
                        run = measured([lstmkit, "inspect", str(f)])
                        inspect.append(run.wall); rss_o.append(run.rss)
                    else:
                        ops, run = python_op(py_check, str(f))
                        op.append(ops[-1]); proc.append(run.wall); rss_t.append(run.rss)
            fsize = human(f.stat().st_size)
            speedup = median(proc) / median(ours)
            table.add(f"validate .pt ({fsize})", ms(median(ours)),
                      f"python {ms(median(op))} op / {ms(median(proc))} process",
                      f"{speedup:.0f}x faster than the process, {median(op) / median(ours):.2f}x the op",
                      "≥ 30x faster", verdict(speedup >= 30, quick), human(max(rss_o)), human(max(rss_t)))
            table.add(f"inspect .pt ({fsize})", ms(median(inspect)), "-", "-", "metadata only", "-", "-", "-")

        # 2. convert .pt → npz / safetensors / pt vs cp and the Python path.
        py_npz = r"""
import torch, numpy as np
start()
sd = torch.load(sys.argv[1], weights_only=True)
np.savez(sys.argv[2], **{k: v.numpy() for k, v in sd.items()})
stop()
"""
        py_st = r"""
import torch
from safetensors.torch import save_file
start()
sd = torch.load(sys.argv[1], weights_only=True)
save_file(sd, sys.argv[2])
stop()
"""
        py_pt = r"""
import torch
start()
sd = torch.load(sys.argv[1], weights_only=True)
torch.save(sd, sys.argv[2])
stop()
"""
        for ext, py in (("npz", py_npz), ("safetensors", py_st), ("pt", py_pt)) if "convert" in only else ():
            ours, op, proc, cps, syncs, rss_o, rss_t = [], [], [], [], [], [], []
            out = work / f"out.{ext}"
            copy = work / "copy.bin"
            for r in range(repeats):
                for step in rotate(["cp", "ours", "py", "cp+sync"], r):
                    for p in work.glob("out.*"):
                        p.unlink()
                    if step == "cp":
                        cps.append(measured(["cp", str(ckpt), str(copy)], flush=True).wall)
                        copy.unlink()
                    elif step == "cp+sync":
                        # What lstmkit's commit does on top of the copy: wait for the data to reach the disk.
                        syncs.append(measured(["sh", "-c", 'cp "$0" "$1" && sync "$1"', str(ckpt), str(copy)], flush=True).wall)
                        copy.unlink()
                    elif step == "ours":
                        run = measured([lstmkit, "convert", str(ckpt), str(out), "--quiet"], flush=True)
                        ours.append(run.wall); rss_o.append(run.rss)
                    else:
                        ops, run = python_op(py, str(ckpt), str(out), flush=True)
                        op.append(ops[-1]); proc.append(run.wall); rss_t.append(run.rss)
            vs_cp = median(ours) / median(cps)
            vs_py = median(op) / median(ours)
            ok = vs_cp <= GOAL_CONVERT and vs_py >= 4 and max(rss_o) <= 100 * 1024 * 1024
            table.add(f"convert .pt→.{ext}", ms(median(ours)),
                      f"cp {ms(median(cps))} (+sync {ms(median(syncs))}); python {ms(median(op))} op / {ms(median(proc))} process",
                      f"{vs_cp:.2f}x cp ({median(ours) / median(syncs):.2f}x cp+sync); "
                      f"{vs_py:.1f}x / {median(proc) / median(ours):.1f}x faster than python",
                      f"≤ {GOAL_CONVERT}x cp, ≥ 4x faster, ≤ 100 MB", verdict(ok, quick), human(max(rss_o)), human(max(rss_t)))

        # 3. deflated npz (np.savez_compressed): validate reads npy headers only, convert streams.
        py_npz_check = r"""
import numpy as np
start()
with np.load(sys.argv[1]) as z:
    shapes = {k: z[k].shape for k in z.files}
stop()
"""
        py_npz_st = r"""
import numpy as np
from safetensors.numpy import save_file
start()
with np.load(sys.argv[1]) as z:
    save_file({k: z[k] for k in z.files}, sys.argv[2])
stop()
"""
        if "compressed" in only:
            stored, deflated = make_npz_pair(ckpt)
            label = f"{human(deflated.stat().st_size)} deflated / {human(stored.stat().st_size)} stored"
            v_def, v_sto, v_py, rss_v, rss_pv, v_bomb, rss_b = [], [], [], [], [], [], []
            bomb = Path(__file__).resolve().parents[1] / "Fixtures/compressed/lstm_2gib_zeros.npz"
            c_def, c_sto, c_py, rss_c, rss_pc = [], [], [], [], []
            out = work / "from_npz.safetensors"
            for r in range(repeats):  # all validate rounds first: the converts below evict the page cache
                for step in rotate(["vd", "vs", "vpy", "vb"], r):
                    if step == "vb":
                        run = measured([lstmkit, "validate", str(bomb)]); v_bomb.append(run.wall); rss_b.append(run.rss)
                    elif step == "vd":
                        run = measured([lstmkit, "validate", str(deflated)]); v_def.append(run.wall); rss_v.append(run.rss)
                    elif step == "vs":
                        v_sto.append(measured([lstmkit, "validate", str(stored)]).wall)
                    else:
                        ops, run = python_op(py_npz_check, str(deflated)); v_py.append(ops[-1]); rss_pv.append(run.rss)
            for r in range(repeats):
                for step in rotate(["cd", "cs", "cpy"], r):
                    if out.exists():
                        out.unlink()
                    if step == "cd":
                        run = measured([lstmkit, "convert", str(deflated), str(out), "--quiet"], flush=True)
                        c_def.append(run.wall); rss_c.append(run.rss)
                    elif step == "cs":
                        c_sto.append(measured([lstmkit, "convert", str(stored), str(out), "--quiet"], flush=True).wall)
                    else:
                        ops, run = python_op(py_npz_st, str(deflated), str(out), flush=True)
                        c_py.append(ops[-1]); rss_pc.append(run.rss)
            if out.exists():
                out.unlink()
            table.add(f"validate .npz ({label})", ms(median(v_def)),
                      f"stored {ms(median(v_sto))}; numpy np.load shapes {ms(median(v_py))} op",
                      f"{median(v_def) / median(v_sto):.2f}x stored; {median(v_py) / median(v_def):.0f}x faster than numpy",
                      "headers only: ≤ 2x stored", verdict(median(v_def) <= 2 * median(v_sto) + 0.005, quick),
                      human(max(rss_v)), human(max(rss_pv)))
            table.add("validate .npz (2.3 MB, a 2 GiB member)", ms(median(v_bomb)), "-",
                      f"{median(v_bomb) / median(v_sto):.2f}x the stored {human(stored.stat().st_size)} file", "headers only: < 100 ms, < 100 MB",
                      verdict(median(v_bomb) < 0.1 and max(rss_b) < 100 << 20, quick), human(max(rss_b)), "-")
            table.add("convert deflated .npz→.safetensors", ms(median(c_def)),
                      f"stored .npz {ms(median(c_sto))}; python np.load + save_file {ms(median(c_py))} op",
                      f"{median(c_def) / median(c_sto):.2f}x stored; {median(c_py) / median(c_def):.1f}x faster than python",
                      "≤ 100 MB RSS", verdict(max(rss_c) <= 100 * 1024 * 1024, quick), human(max(rss_c)), human(max(rss_pc)))

        # 4. .onnx output memory.
        ours, rss_o = [], []
        out = work / "out.onnx"
        for _ in range(repeats if "onnx" in only else 0):
            if out.exists():
                out.unlink()
            run = measured([lstmkit, "convert", str(ckpt), str(out), "--quiet"], flush=True)
            ours.append(run.wall); rss_o.append(run.rss)
        if "onnx" in only:
            out.unlink()
            table.add("convert .pt→.onnx", ms(median(ours)), "-", f"peak RSS {max(rss_o) / size:.2f}x the file",
                      "RSS ≤ 1.2x file", verdict(max(rss_o) <= 1.2 * size, quick), human(max(rss_o)), "-")

        # 5. .keras output vs the Python path (torch.load, a Keras model of the same layers, set_weights with the
        # transposes and summed biases, model.save), Keras on its torch backend; the outputs agree (checked in interop).
        py_keras = r"""
import os
os.environ["KERAS_BACKEND"] = "torch"
import torch, keras
start()
sd = torch.load(sys.argv[1], weights_only=True)
H = sd["weight_hh_l0"].shape[1]; I = sd["weight_ih_l0"].shape[1]
L = 1 + max(int(k.split("_l")[1].split("_")[0]) for k in sd)
bi = any(k.endswith("_reverse") for k in sd)
stack = [keras.Input((None, I))]
for _ in range(L):
    cell = keras.layers.LSTM(H, return_sequences=True)
    stack.append(keras.layers.Bidirectional(cell) if bi else cell)
model = keras.Sequential(stack)
weights = []
for k in range(L):
    for d in (["", "_reverse"] if bi else [""]):
        weights += [sd[f"weight_ih_l{k}{d}"].numpy().T, sd[f"weight_hh_l{k}{d}"].numpy().T,
                    (sd[f"bias_ih_l{k}{d}"] + sd[f"bias_hh_l{k}{d}"]).numpy()]
model.set_weights(weights)
model.save(sys.argv[2])
stop()
"""
        ours, op, proc, rss_o, rss_t = [], [], [], [], []
        out = work / "out.keras"
        for r in range(repeats if "keras" in only else 0):
            for step in rotate(["ours", "py"], r):
                if out.exists():
                    out.unlink()
                if step == "ours":
                    run = measured([lstmkit, "convert", str(ckpt), str(out), "--quiet"], flush=True)
                    ours.append(run.wall); rss_o.append(run.rss)
                else:
                    ops, run = python_op(py_keras, str(ckpt), str(out), flush=True)
                    op.append(ops[-1]); proc.append(run.wall); rss_t.append(run.rss)
        if "keras" in only:
            out.unlink()
            vs_py = median(op) / median(ours)
            ok = vs_py >= 4 and max(rss_o) <= 0.2 * size
            table.add("convert .pt→.keras", ms(median(ours)), f"python {ms(median(op))} op / {ms(median(proc))} process",
                      f"{vs_py:.1f}x / {median(proc) / median(ours):.1f}x faster than python; peak RSS {max(rss_o) / size:.2f}x the file",
                      "≥ 4x faster, RSS ≤ 0.2x file", verdict(ok, quick), human(max(rss_o)), human(max(rss_t)))

        # 6. forward pass vs torch and onnxruntime (2 threads each), output checked against torch.
        py_torch = r"""
import torch, numpy as np
torch.set_num_threads(2)
sd = torch.load(sys.argv[1], weights_only=True)
H = sd["weight_hh_l0"].shape[1]; I = sd["weight_ih_l0"].shape[1]
L = 1 + max(int(k.split("_l")[1].split("_")[0]) for k in sd)
m = torch.nn.LSTM(I, H, num_layers=L, bidirectional=any(k.endswith("_reverse") for k in sd))
m.load_state_dict(sd); m.eval()
x = torch.from_numpy(np.load(sys.argv[2]))
with torch.no_grad():
    y, (h, c) = m(x)
    for _ in range(int(sys.argv[3])):
        start(); m(x); stop()
if len(sys.argv) > 4:
    np.savez(sys.argv[4], output=y.numpy(), h_n=h.numpy(), c_n=c.numpy())
"""
        py_ort = r"""
import onnxruntime as ort, numpy as np
o = ort.SessionOptions(); o.intra_op_num_threads = 2; o.inter_op_num_threads = 1
s = ort.InferenceSession(sys.argv[1], o, providers=["CPUExecutionProvider"])
names = [i.name for i in s.get_inputs()]
assert names == ["x"], f"exported model's inputs are {names}, not ['x']"
x = np.load(sys.argv[2])
s.run(None, {"x": x})
for _ in range(int(sys.argv[3])):
    start(); s.run(None, {"x": x}); stop()
"""
        for cfg in (FORWARD_QUICK if quick else FORWARD_FULL) if "run" in only else ():
            name = cfg[0]
            model, onnx_path, x = make_forward_inputs(*cfg)
            ours = {p: [] for p in paths}
            whole = {p: [] for p in paths}
            rss_o = {p: [] for p in paths}
            t_torch, t_ort, rss_t = [], [], []
            for r in range(repeats):
                for step in rotate([f"ours:{p}" for p in paths] + ["torch", "ort"], r):
                    if step.startswith("ours:"):
                        path = step[5:]
                        out = work / "fwd.npz"
                        if out.exists():
                            out.unlink()
                        run = measured([lstmkit, "run", str(model), "--input", str(x), "--output", str(out),
                                        "--time-runs", str(TIMED_CALLS)], env={"LSTMKIT_KERNELS": path})
                        if f"kernels: {path} " not in run.err:
                            raise RuntimeError(f"lstmkit ran other kernels than {path}: {run.err[-300:]}")
                        times = [l for l in run.err.splitlines() if l.startswith("forward pass ms")]
                        ours[path] += [float(v) / 1000 for v in times[-1].split(":")[1].split()]
                        whole[path].append(run.wall); rss_o[path].append(run.rss)
                        if r == 0:
                            shutil.copy(out, work / f"ours_{path}.npz")
                    elif step == "torch":
                        extra = [str(work / "torch.npz")] if r == 0 else []
                        ops, run = python_op(py_torch, str(model), str(x), str(TIMED_CALLS), *extra)
                        t_torch += ops; rss_t.append(run.rss)
                    else:
                        ops, run = python_op(py_ort, str(onnx_path), str(x), str(TIMED_CALLS))
                        t_ort += ops
            label = f"run {name} I{cfg[1]} H{cfg[2]} L{cfg[3]}{' bi' if cfg[4] else ''} S{cfg[5]} N{cfg[6]}"
            for path in paths:
                check = agreement(work / f"ours_{path}.npz", work / "torch.npz", f"{name} [{path}]")
                vs_torch, vs_ort = median(ours[path]) / median(t_torch), median(ours[path]) / median(t_ort)
                ok = vs_torch <= GOAL_FORWARD and vs_ort <= GOAL_FORWARD and check.endswith(" 0 outside tol")
                table.add(f"{label} [{path}]", f"{ms(median(ours[path]))} ({ms(median(whole[path]))} process)",
                          f"torch {ms(median(t_torch))} / ort {ms(median(t_ort))}",
                          f"{vs_torch:.2f}x torch, {vs_ort:.2f}x ort; {check}",
                          f"≤ {GOAL_FORWARD}x both, within tol", verdict(ok, quick), human(max(rss_o[path])), human(max(rss_t)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"busy at end: {busy_processes(os.getpid())}", file=sys.stderr)
    print(f"machine: {machine_note()}", file=sys.stderr)
    table.print(["task", "lstmkit", "baseline", "ratio", "goal", "", "lstmkit RSS", "baseline RSS"])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lstmkit", required=True)
    ap.add_argument("--quick", action="store_true", help="small inputs, one repeat (smoke test; no claims)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--kernels", default="best",
                    help="forward rows for: best (lstmkit's default path), all (every path this CPU runs), or a comma list")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if not only <= set(SECTIONS):
        ap.error(f"--only takes {', '.join(SECTIONS)}")
    repeats = args.repeats or (1 if args.quick else 5)
    return bench(args.lstmkit, args.quick, repeats, only, args.kernels)


if __name__ == "__main__":
    sys.exit(main())
