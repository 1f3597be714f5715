"""Writes the lstmkit wheel: a ZIP (the standard library's) holding the binary as a data script, so
that `pip install` puts it on the venv's PATH, with METADATA, WHEEL and RECORD (PEP 427 / 491)."""
from __future__ import annotations

import argparse
import base64
import hashlib
import zipfile
from pathlib import Path

SUMMARY = "Read, validate, convert and verify LSTM weights in PyTorch, ONNX, npz and safetensors files"


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--tag", required=True, help="platform tag, e.g. manylinux_2_36_x86_64")
    ap.add_argument("--readme", required=True)
    ap.add_argument("--license", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    dist_info = f"lstmkit-{a.version}.dist-info"
    data = f"lstmkit-{a.version}.data"
    readme = Path(a.readme).read_text()
    files: list[tuple[str, bytes, int]] = [
        (f"{data}/scripts/lstmkit", Path(a.binary).read_bytes(), 0o755),
        (f"{dist_info}/METADATA", (
            "Metadata-Version: 2.1\n"
            "Name: lstmkit\n"
            f"Version: {a.version}\n"
            f"Summary: {SUMMARY}\n"
            "License: MIT\n"
            "Requires-Python: >=3.8\n"
            "Description-Content-Type: text/markdown\n"
            "\n" + readme).encode(), 0o644),
        (f"{dist_info}/WHEEL", (
            "Wheel-Version: 1.0\n"
            "Generator: lstmkit scripts/package\n"
            "Root-Is-Purelib: false\n"
            f"Tag: py3-none-{a.tag}\n").encode(), 0o644),
        (f"{dist_info}/LICENSE", Path(a.license).read_bytes(), 0o644),
    ]
    record = "".join(f"{name},{record_hash(body)},{len(body)}\n" for name, body, _ in files)
    record += f"{dist_info}/RECORD,,\n"
    files.append((f"{dist_info}/RECORD", record.encode(), 0o644))
    out = Path(a.out) / f"lstmkit-{a.version}-py3-none-{a.tag}.whl"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body, mode in files:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, body)
    print(out)


if __name__ == "__main__":
    main()
