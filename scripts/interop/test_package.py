"""scripts/package from this checkout: the wheel's binary runs from a fresh venv, the tarball's binary
needs only the C library, and the pre-commit hook runs on a repository of checkpoints."""
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT

ALLOWED = ("libc.so", "libm.so", "ld-linux", "libpthread.so", "libdl.so", "linux-vdso.so")


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([ROOT / "scripts/package"], check=True, env={**os.environ, "LSTMKIT_DIST": str(out)},
                   stdout=subprocess.DEVNULL)
    wheel = next(out.glob("lstmkit-*-py3-none-manylinux_*.whl"))
    tarball = next(out.glob("lstmkit-*-linux-*.tar.gz"))
    return wheel, tarball


def revision():
    return subprocess.check_output(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, text=True).strip()


def test_wheel_runs_from_a_fresh_venv(dist, tmp_path):
    wheel, _ = dist
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([venv / "bin/pip", "install", "--quiet", "--no-index", wheel], check=True)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin"}  # no Swift toolchain, no library path
    version = subprocess.run(["lstmkit", "--version"], env=env, capture_output=True, text=True, check=True).stdout
    assert version.startswith("0.1.0 (") and revision() in version, version
    ok = subprocess.run(["lstmkit", "validate", FIXTURES / "pytorch/lstm_l2_bi.pt"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and "valid" in ok.stdout, ok.stderr
    bad = subprocess.run(["lstmkit", "validate", FIXTURES / "invalid/gru_shaped.npz"], env=env,
                         capture_output=True, text=True)
    assert bad.returncode in (1, 2), bad


def test_wheel_is_a_valid_wheel_with_the_tag_the_binary_satisfies(dist):
    wheel, _ = dist
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = next(n for n in names if n.endswith(".dist-info/WHEEL"))
        tag = next(l for l in z.read(info).decode().splitlines() if l.startswith("Tag: "))
        record = z.read(next(n for n in names if n.endswith(".dist-info/RECORD"))).decode()
        binary = z.getinfo(next(n for n in names if n.endswith(".data/scripts/lstmkit")))
    assert wheel.name.endswith(tag.split("-", 2)[2] + ".whl")
    assert (binary.external_attr >> 16) & 0o111, "the binary is not executable in the wheel"
    assert all(n in record for n in names)
    glibc = tuple(int(x) for x in tag.split("manylinux_")[1].split("_")[:2])
    assert glibc <= tuple(int(x) for x in os.confstr("CS_GNU_LIBC_VERSION").split()[1].split(".")[:2])


def test_tarball_binary_needs_only_the_c_library(dist, tmp_path):
    _, tarball = dist
    with tarfile.open(tarball) as t:
        t.extractall(tmp_path, filter="data")
    folder = next(tmp_path.glob("lstmkit-*"))
    assert {p.name for p in folder.iterdir()} >= {"lstmkit", "LICENSE", "README.md", "completions"}
    assert {p.name for p in (folder / "completions").iterdir()} == {"lstmkit.bash", "lstmkit.zsh", "lstmkit.fish"}
    ldd = subprocess.run(["ldd", folder / "lstmkit"], capture_output=True, text=True, check=True).stdout
    libs = [l.split()[0] for l in ldd.splitlines() if l.strip()]
    assert all(any(a in lib for a in ALLOWED) for lib in libs), ldd
    run = subprocess.run([folder / "lstmkit", "inspect", FIXTURES / "onnx/node_peepholes.onnx"], env={},
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_pre_commit_hook_validates_staged_checkpoints(dist, tmp_path):
    wheel, _ = dist
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([venv / "bin/pip", "install", "--quiet", "--no-index", wheel], check=True)
    pre_commit = Path(sys.executable).parent / "pre-commit"
    repo = tmp_path / "project"
    repo.mkdir()
    shutil.copy(FIXTURES / "pytorch/lstm_l2_bi.pt", repo / "good.pt")
    shutil.copy(FIXTURES / "invalid/gru_shaped.npz", repo / "bad.npz")
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    for args in (["init", "-q"], ["add", "."]):
        subprocess.run(["git", *args], cwd=repo, check=True)

    def hook(*files, args=()):
        cmd = [pre_commit, "try-repo", ROOT, "lstmkit-validate", "--files", *files]
        return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)

    good = hook("good.pt")
    assert good.returncode == 0 and "Passed" in good.stdout, good.stdout + good.stderr
    bad = hook("good.pt", "bad.npz")
    assert bad.returncode == 1 and "Failed" in bad.stdout and "bad.npz" in bad.stdout, bad.stdout + bad.stderr
