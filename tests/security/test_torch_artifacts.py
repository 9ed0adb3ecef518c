"""Issue 25: a PyTorch version's weights are safetensors, and a file whose header lies about
sizes or offsets is refused before any tensor is built; ``torch.load`` is never called.
TorchScript and ``torch.export`` programs are refused: PyTorch's loader of a crafted ``.pt2``
runs code from it (shown here), so Lakebook neither keeps nor reads them.
"""
from __future__ import annotations

import json
import struct

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

import kernel_magics as kb  # noqa: E402
from kernel_magics.registry.frameworks import artifacts  # noqa: E402
from kernel_magics.shared.errors import UnsafeArtifact  # noqa: E402


@pytest.fixture
def weights(lh):
    net = torch.nn.Linear(2, 1)
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    lh.registry.register(kb.torch_model(net), "lin", input_example=X)
    folder = lh.registry.get("lin").artifact_path
    data = (folder / "weights.safetensors").read_bytes()
    size = struct.unpack("<Q", data[:8])[0]
    return folder, json.loads(data[8:8 + size]), data[8 + size:]


def _file(header: dict, body: bytes, length: int | None = None) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + body


def _lies(header: dict, body: bytes) -> dict[str, bytes]:
    name = next(k for k in header if k != "__metadata__")
    past_end = json.loads(json.dumps(header))
    past_end[name]["data_offsets"][1] = len(body) + 4096
    bigger = json.loads(json.dumps(header))
    bigger[name]["shape"] = [1000, 1000]
    overlap = json.loads(json.dumps(header))
    others = [k for k in header if k not in ("__metadata__", name)]
    if others:
        overlap[others[0]]["data_offsets"] = list(header[name]["data_offsets"])
    return {"offsets past the end": _file(past_end, body),
            "shape bigger than its bytes": _file(bigger, body),
            "overlapping tensors": _file(overlap, body),
            "header length 2^40": _file(header, body, 2**40),
            "header length past the file": _file(header, body, len(json.dumps(header)) + 99),
            "not JSON": struct.pack("<Q", 5) + b"{nope" + body}


@pytest.mark.parametrize("case", ["offsets past the end", "shape bigger than its bytes",
                                  "overlapping tensors", "header length 2^40",
                                  "header length past the file", "not JSON"])
def test_a_safetensors_header_that_lies_is_refused(lh, weights, case, monkeypatch):
    folder, header, body = weights
    (folder / "weights.safetensors").write_bytes(_lies(header, body)[case])
    lh.catalog.execute("UPDATE model_versions SET artifact_sha256 = ? WHERE name = 'lin'",
                       (artifacts.digest(folder, "weights.safetensors", ("module.py",)),))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    with pytest.raises(UnsafeArtifact, match="not a valid safetensors file"):
        lh.registry.get("lin").load()


def test_changed_module_source_is_refused_by_the_digest(lh, weights):
    folder, header, body = weights
    source = (folder / "module.py")
    source.write_text(source.read_text() + "\nimport os\nos.system('touch /tmp/pwned')\n")
    with pytest.raises(UnsafeArtifact, match="sha256 changed"):
        lh.registry.get("lin").load()


def test_torchscript_is_not_kept(lh):
    from kernel_magics.shared.errors import InvalidInput
    scripted = torch.jit.script(torch.nn.Linear(2, 1))
    with pytest.raises(InvalidInput, match="TorchScript"):
        kb.torch_model(scripted)
    assert np.isfinite(scripted(torch.zeros(1, 2)).item())


def _crafted_program(tmp_path, monkeypatch) -> tuple[bytes, list]:
    """A real ``torch.export.save`` archive whose sample inputs record is replaced by a
    pickle that calls a function of ours (a marker, not a payload), and that marker's log."""
    import io
    import pickle
    import zipfile
    (tmp_path / "pt2_marker.py").write_text(
        "CALLS = []\n\ndef mark():\n    CALLS.append('ran')\n    return ((), {})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import sys
    monkeypatch.delitem(sys.modules, "pt2_marker", raising=False)  # a fresh log each test
    import pt2_marker

    class Payload:
        def __reduce__(self):
            return (pt2_marker.mark, ())

    net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    program = torch.export.export(net, (torch.zeros(3, 2),))
    saved = io.BytesIO()
    torch.export.save(program, saved)
    crafted = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(saved.getvalue())) as src, \
            zipfile.ZipFile(crafted, "w", zipfile.ZIP_STORED) as out:
        for record in src.infolist():
            data = src.read(record)
            if record.filename.endswith("sample_inputs/model.pt"):
                data = pickle.dumps(Payload())
            out.writestr(record.filename, data)
    return crafted.getvalue(), pt2_marker.CALLS


def test_torch_export_load_runs_code_from_a_crafted_program(tmp_path, monkeypatch):
    """Why Lakebook keeps no torch.export program: PyTorch's own loader runs code from the
    file (its sample inputs fall back to a full unpickle). If this fails, PyTorch no longer
    does: accepting ``.pt2`` programs can be reconsidered."""
    import io
    data, calls = _crafted_program(tmp_path, monkeypatch)
    try:
        torch.export.load(io.BytesIO(data))
    except Exception:  # it fails afterwards, once the pickle has run
        pass
    assert calls == ["ran"]


def test_a_torch_export_program_or_file_is_refused_without_being_read(
        lh, tmp_path, monkeypatch):
    from kernel_magics.shared.errors import InvalidInput
    data, calls = _crafted_program(tmp_path, monkeypatch)
    path = tmp_path / "model.pt2"
    path.write_bytes(data)
    monkeypatch.setattr(torch.export, "load", lambda *a, **k: pytest.fail("torch.export.load"))
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: pytest.fail("torch.jit.load"))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load"))
    for given in (str(path), path, data):
        with pytest.raises(InvalidInput, match=r"does not load PyTorch files.*"
                                               r"kb\.torch_model\(net"):
            kb.torch_model(given)
    program = torch.export.export(torch.nn.Linear(2, 1), (torch.zeros(3, 2),))
    with pytest.raises(InvalidInput, match="torch.export program is not kept"):
        kb.torch_model(program)
    # registered as it is (the flavour is detected), it is refused the same way
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 2.0]})
    with pytest.raises(InvalidInput, match="torch.export program is not kept"):
        lh.registry.register(program, "prog", input_example=X)
    assert calls == [] and lh.catalog.scalar("SELECT COUNT(*) FROM model_versions") == 0
