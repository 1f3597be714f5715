"""PyTorch interop: what `lstmkit convert … out.pt` writes is what real torch 2.15 loads.

For every PyTorch fixture in the manifest (state dicts, checkpoints, whole models, legacy streams,
TorchScript): the converted file loads with `torch.load(weights_only=True)` and with `mmap=True`
(also with torch's `calculate_storage_offsets`, which trusts the miniz layout blindly), every tensor
equals what torch itself reads from the source, and each LSTM extracted with `--module` loads into
`nn.LSTM(...).load_state_dict(strict=True)` and computes the same output as the source weights.
A re-written `torch.save` state dict is byte-identical to torch's own file, and a hostile pickle is
refused without running anything.
"""
import collections
import json
import os
import pickle
import types
import uuid

import pytest
import torch
import torch.nn as nn

from conftest import FIXTURES

MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
# realworld/ (cells, parametrized weights) has its own tests in test_realworld.py.
PYTORCH = [f for f in MANIFEST["fixtures"]
           if f["format"] in ("pytorch", "pytorch-legacy", "torchscript") and f["kind"] in ("valid", "invalid-schema")
           and not f["file"].startswith("realworld/")]


# --- what torch itself reads from a source file ------------------------------------------------

class _Placeholder(nn.Module):
    """Stands in for a user class that is not importable here (a whole-model pickle)."""


def _whole_model_unpickler():
    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            try:
                return super().find_class(module, name)
            except (ImportError, AttributeError):
                return type(name, (_Placeholder,), {})

    return types.SimpleNamespace(Unpickler=Unpickler, load=pickle.load, __name__="whole_model_pickle")


def flatten(obj, prefix=""):
    """Tensors under the dotted names lstmkit gives them (dict keys, list indices, state_dict())."""
    out = collections.OrderedDict()
    join = (lambda k: f"{prefix}.{k}" if prefix else str(k))
    if isinstance(obj, torch.Tensor):
        out[prefix or "tensor"] = obj
    elif isinstance(obj, nn.Module):
        for k, v in obj.state_dict().items():
            out[join(k)] = v
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, join(k)))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(flatten(v, join(i)))
    return out


def torch_view(path, fmt):
    """The tensors torch reads from `path`, flattened."""
    if fmt == "torchscript":
        return collections.OrderedDict(torch.jit.load(str(path)).state_dict())
    return flatten(torch.load(path, weights_only=False, pickle_module=_whole_model_unpickler()))


def convert(lstmkit, src, out, *args):
    lstmkit("convert", src, out, "--quiet", *args)
    return out


def assert_same(a, b, what):
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    assert a.shape == b.shape, f"{what}: shape {tuple(a.shape)} != {tuple(b.shape)}"
    assert torch.equal(a, b), f"{what}: values differ"


def load_all_ways(path):
    """torch.load with weights_only=True, with mmap=True, and with computed storage offsets."""
    plain = torch.load(path, weights_only=True)
    mapped = torch.load(path, weights_only=True, mmap=True)
    config = torch.utils.serialization.config.load
    saved = config.calculate_storage_offsets
    config.calculate_storage_offsets = True
    try:
        computed = torch.load(path, weights_only=True, mmap=True)
    finally:
        config.calculate_storage_offsets = saved
    for name in plain:
        assert_same(mapped[name], plain[name], f"{path.name} mmap {name}")
        assert_same(computed[name], plain[name], f"{path.name} calculate_storage_offsets {name}")
    return plain


# --- every fixture, every tensor ---------------------------------------------------------------

@pytest.mark.parametrize("fixture", PYTORCH, ids=[f["file"] for f in PYTORCH])
def test_converted_checkpoint_loads_in_torch_with_the_same_tensors(lstmkit, tmp_path, fixture):
    src = FIXTURES / fixture["file"]
    out = convert(lstmkit, src, tmp_path / "out.pt")
    ours = load_all_ways(out)
    assert isinstance(ours, collections.OrderedDict)
    theirs = torch_view(src, fixture["format"])
    for name, t in theirs.items():
        assert name in ours, f"{name} missing from the converted file"
        assert_same(ours[name], t, name)
    if fixture["format"] != "torchscript":
        assert list(ours) == list(theirs)


def _lstm_modules():
    cases = []
    for f in PYTORCH:
        if f["kind"] != "valid":
            continue
        for lstm in f.get("lstms", []):
            cases.append((f, lstm))
    return cases


@pytest.mark.parametrize("fixture,lstm", _lstm_modules(),
                         ids=[f"{f['file']}:{l['module'] or '<root>'}" for f, l in _lstm_modules()])
def test_extracted_module_loads_strictly_and_computes_the_same(lstmkit, tmp_path, fixture, lstm):
    src = FIXTURES / fixture["file"]
    module = lstm["module"]
    out = tmp_path / "lstm.pt"
    lstmkit("convert", src, out, "--quiet", *(["--module", module] if module else []))
    sd = load_all_ways(out)
    dtype = getattr(torch, lstm["dtype"])

    def make():
        return nn.LSTM(lstm["input_size"], lstm["hidden_size"], num_layers=lstm["num_layers"], bias=lstm["bias"],
                       bidirectional=lstm["bidirectional"], proj_size=lstm["proj_size"], dtype=dtype)

    ours = make()
    ours.load_state_dict(sd, strict=True)
    prefix = module + "." if module else ""
    source = {k[len(prefix):]: v for k, v in torch_view(src, fixture["format"]).items() if k.startswith(prefix)}
    reference = make()
    reference.load_state_dict({k: source[k] for k in reference.state_dict()}, strict=True)

    torch.manual_seed(0)
    x = torch.randn(5, 2, lstm["input_size"]).to(dtype)
    with torch.no_grad():
        y_ours, (h_ours, c_ours) = ours(x)
        y_ref, (h_ref, c_ref) = reference(x)
    assert torch.equal(y_ours, y_ref) and torch.equal(h_ours, h_ref) and torch.equal(c_ours, c_ref)


# --- byte equality with torch.save -------------------------------------------------------------

def _state(kind):
    torch.manual_seed(1)
    sd = collections.OrderedDict()
    if kind == "lstm":
        sd.update(nn.LSTM(6, 8, num_layers=2, bidirectional=True, proj_size=3).state_dict())
    elif kind == "dtypes":
        w = torch.randn(4, 5)
        sd["w"], sd["wt"], sd["row"] = w, w.t(), w[2]
        sd["half"] = torch.randn(7).half()
        sd["bf16"] = torch.randn(3, 3).bfloat16()
        sd["double"] = torch.randn(2, dtype=torch.float64)
        sd["long"] = torch.tensor([-(2 ** 40), 5])
        sd["scalar"] = torch.tensor(3)
        sd["empty"] = torch.zeros(0, 2)
        sd["bools"] = torch.tensor([True, False, True])
        for dt in (torch.int8, torch.uint8, torch.int16, torch.int32, torch.uint16, torch.uint32, torch.uint64):
            sd[str(dt)] = torch.arange(4).to(dt)
        sd["big"] = torch.randn(70_000)          # numel past BININT2
        sd["rank6"] = torch.randn(1, 2, 1, 2, 1, 2)
    elif kind == "many":
        for i in range(1100):                   # > 1000 items: two SETITEMS batches; > 256 memo entries
            sd[f"blocks.{i}.scale"] = torch.full((2,), float(i))
    return sd


@pytest.mark.parametrize("kind", ["lstm", "dtypes", "many"])
def test_rewritten_state_dict_is_byte_identical_to_torch_save(lstmkit, tmp_path, kind):
    (tmp_path / "torch").mkdir()
    (tmp_path / "ours").mkdir()
    src = tmp_path / "torch" / "weights.pt"
    torch.save(_state(kind), src)
    out = convert(lstmkit, src, tmp_path / "ours" / "weights.pt")
    assert out.read_bytes() == src.read_bytes()


def test_converting_twice_gives_the_same_bytes(lstmkit, tmp_path):
    src = FIXTURES / "pytorch" / "crnn_checkpoint.pt"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = convert(lstmkit, src, tmp_path / "a" / "ck.pt")
    b = convert(lstmkit, src, tmp_path / "b" / "ck.pt")
    assert a.read_bytes() == b.read_bytes()


def test_other_formats_convert_to_loadable_pt(lstmkit, tmp_path):
    import safetensors.torch
    tensors = {"weight_ih_l0": torch.randn(16, 3), "weight_hh_l0": torch.randn(16, 4),
               "bias_ih_l0": torch.randn(16), "bias_hh_l0": torch.randn(16)}
    src = tmp_path / "w.safetensors"
    safetensors.torch.save_file(tensors, src)
    sd = load_all_ways(convert(lstmkit, src, tmp_path / "w.pt"))
    lstm = nn.LSTM(3, 4)
    lstm.load_state_dict(sd, strict=True)
    for k, v in tensors.items():
        assert_same(sd[k], v, k)


# --- hostile input -----------------------------------------------------------------------------

def test_hostile_pickle_is_refused_and_nothing_runs(lstmkit, tmp_path):
    marker = f"/tmp/lstmkit-pwned-{uuid.uuid4().hex}"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    src = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "payload": Evil()}, src)
    for args in (["inspect", src], ["convert", src, tmp_path / "out.pt"]):
        proc = lstmkit(*args, check=False)
        assert proc.returncode == 2, proc.stderr
        assert "evil.pt" in proc.stderr and "system" in proc.stderr and "data.pkl" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert not os.path.exists(marker)
    assert not (tmp_path / "out.pt").exists()
