"""Benchmarks lstmkit against the Python path it replaces, in one run on one machine.

Run through `scripts/bench` (which builds lstmkit in release mode). Every measurement is a separate
process; rows interleave lstmkit and its baselines and repeat them, and the table reports medians,
ratios and peak RSS (wait4 rusage, per process). Inputs are made with torch once and cached in
$LSTMKIT_BENCH_DIR (default ~/.cache/lstmkit-bench).

Python baselines time only the operation inside an already started interpreter (imports excluded),
which favours Python; lstmkit is timed as a whole process (start, read, work, write).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
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
CHECKPOINT_QUICK = (256, 256, 2, True)


def measured(cmd: list[str]) -> tuple[float, int, str]:
    """Runs cmd under a fresh Python wrapper so that peak RSS is this child's alone."""
    wrapper = [sys.executable, "-c", (
        "import os,sys,time,subprocess\n"
        "t=time.perf_counter(); p=subprocess.Popen(sys.argv[1:]); _,st,ru=os.wait4(p.pid,0)\n"
        "dt=time.perf_counter()-t\n"
        "code=os.waitstatus_to_exitcode(st)\n"
        "print(f'@@ {dt} {ru.ru_maxrss*1024} {code}')\n"
        "sys.exit(code)\n"), *cmd]
    proc = subprocess.run(wrapper, capture_output=True, text=True)
    line = [l for l in proc.stdout.splitlines() if l.startswith("@@ ")]
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    _, dt, rss, _ = line[-1].split()
    stdout = "\n".join(l for l in proc.stdout.splitlines() if not l.startswith("@@ "))
    return float(dt), int(rss), stdout


PY_TIMED = r"""
import sys, time, json, os, resource
t = None
def start():
    global t; t = time.perf_counter()
def stop():
    print("@@op", time.perf_counter() - t)
"""


def python_op(body: str, *args: str) -> tuple[float, int]:
    """Runs a Python snippet that calls start()/stop() around the operation; returns (op seconds, peak RSS)."""
    code = PY_TIMED + body
    dt, rss, out = measured([sys.executable, "-c", code, *args])
    ops = [l for l in out.splitlines() if l.startswith("@@op ")]
    return (float(ops[-1].split()[1]) if ops else dt), rss


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
    model = CACHE / f"fwd_{name}.pt"
    onnx_path = CACHE / f"fwd_{name}.onnx"
    x = CACHE / f"fwd_{name}_x.npy"
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


def human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class Table:
    def __init__(self):
        self.rows = []

    def add(self, *cells):
        self.rows.append([str(c) for c in cells])

    def print(self, header):
        rows = [header] + self.rows
        widths = [max(len(r[k]) for r in rows) for k in range(len(header))]
        for n, r in enumerate(rows):
            print("  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths))))
            if n == 0:
                print("  ".join("-" * w for w in widths))


def bench(lstmkit: str, quick: bool, repeats: int) -> int:
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="lstmkit-bench-", dir=CACHE))
    table = Table()
    try:
        ckpt = make_checkpoint(CHECKPOINT_QUICK if quick else CHECKPOINT_FULL)
        size = ckpt.stat().st_size
        print(f"checkpoint {ckpt.name}: {human(size)}; {repeats} repeats; medians", file=sys.stderr)

        # 1. validate (metadata only) vs torch.load(mmap=True) + shape checks.
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
        ours, theirs, rss_o, rss_t = [], [], [], []
        for _ in range(repeats):
            dt, rss, _ = measured([lstmkit, "validate", str(ckpt)])
            ours.append(dt); rss_o.append(rss)
            dt, rss = python_op(py_check, str(ckpt))
            theirs.append(dt); rss_t.append(rss)
        table.add("validate .pt", f"{median(ours)*1000:.1f} ms", f"{median(theirs)*1000:.1f} ms",
                  "torch.load(mmap)+checks", f"{median(theirs)/median(ours):.1f}x faster",
                  human(max(rss_o)), human(max(rss_t)))

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
        for ext, py in (("npz", py_npz), ("safetensors", py_st), ("pt", py_pt)):
            ours, theirs, cps, rss_o, rss_t = [], [], [], [], []
            out = work / f"out.{ext}"
            for _ in range(repeats):
                for p in work.glob("out.*"):
                    p.unlink()
                dt, rss, _ = measured(["cp", str(ckpt), str(work / "copy.bin")])
                cps.append(dt)
                dt, rss, _ = measured([lstmkit, "convert", str(ckpt), str(out), "--force", "--quiet"])
                ours.append(dt); rss_o.append(rss)
                out.unlink()
                dt, rss = python_op(py, str(ckpt), str(out))
                theirs.append(dt); rss_t.append(rss)
            table.add(f"convert .pt→.{ext}", f"{median(ours)*1000:.0f} ms", f"{median(theirs)*1000:.0f} ms",
                      f"python (cp {median(cps)*1000:.0f} ms)",
                      f"{median(theirs)/median(ours):.1f}x faster; {median(ours)/median(cps):.2f}x cp",
                      human(max(rss_o)), human(max(rss_t)))

        # 3. .onnx output memory.
        try:
            ours, rss_o = [], []
            for _ in range(repeats):
                out = work / "out.onnx"
                if out.exists():
                    out.unlink()
                dt, rss, _ = measured([lstmkit, "convert", str(ckpt), str(out), "--force", "--quiet"])
                ours.append(dt); rss_o.append(rss)
            table.add("convert .pt→.onnx", f"{median(ours)*1000:.0f} ms", "-", "-",
                      f"peak RSS {max(rss_o)/size:.2f}x file", human(max(rss_o)), "-")
        except RuntimeError as e:
            table.add("convert .pt→.onnx", "failed", "-", "-", str(e).splitlines()[0][:60], "-", "-")

        # 4. forward pass vs torch and onnxruntime (2 threads each).
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
    m(x)
    start(); y = m(x); stop()
"""
        py_ort = r"""
import onnxruntime as ort, numpy as np
o = ort.SessionOptions(); o.intra_op_num_threads = 2; o.inter_op_num_threads = 1
s = ort.InferenceSession(sys.argv[1], o, providers=["CPUExecutionProvider"])
x = np.load(sys.argv[2])
s.run(None, {"x": x})
start(); s.run(None, {"x": x}); stop()
"""
        for cfg in (FORWARD_QUICK if quick else FORWARD_FULL):
            name = cfg[0]
            model, onnx_path, x = make_forward_inputs(*cfg)
            ours, t_torch, t_ort = [], [], []
            for _ in range(repeats):
                out = work / "fwd.npz"
                dt, rss, _ = measured([lstmkit, "run", str(model), "--input", str(x), "--output", str(out)])
                ours.append(dt)
                out.unlink()
                t_torch.append(python_op(py_torch, str(model), str(x))[0])
                t_ort.append(python_op(py_ort, str(onnx_path), str(x))[0])
            table.add(f"run {name} {cfg[1:]}", f"{median(ours)*1000:.0f} ms",
                      f"{median(t_torch)*1000:.0f} / {median(t_ort)*1000:.0f} ms", "torch / onnxruntime",
                      f"{median(ours)/median(t_torch):.2f}x torch, {median(ours)/median(t_ort):.2f}x ort", "-", "-")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table.print(["task", "lstmkit", "baseline", "baseline is", "ratio", "lstmkit RSS", "baseline RSS"])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lstmkit", required=True)
    ap.add_argument("--quick", action="store_true", help="small inputs, one repeat (smoke test; no claims)")
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args()
    repeats = args.repeats or (1 if args.quick else 5)
    return bench(args.lstmkit, args.quick, repeats)


if __name__ == "__main__":
    sys.exit(main())
