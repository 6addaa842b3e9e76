"""User models from torch.export .pt2 files: rebuilt from JSON and raw bytes, never unpickled."""

import contextlib
import io
import json
import zipfile

import pytest
import torch
from torch import nn

from search.spec import ModelFile
from search.user_models import (
    PT2_ARCHIVE_VERSION,
    PT2_SCHEMA_MAJOR,
    UserModelError,
    load_user_workload,
    sequential_from_pt2,
)
from tests.utils.uploads import (
    N_FEATURES,
    _OpensFile,
    malicious_pickle,
    npz_dataset_bytes,
    pt2_bytes,
    pt2_mlp_bytes,
    pt2_with_pickled_weight,
    rewrite_zip,
    torch_mlp,
)


class _ConvNet(nn.Module):
    """Conv -> in-place ReLU -> MaxPool -> x.view(x.size(0), -1) -> eval Dropout -> Linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(self.act(self.conv(x)))
        return self.fc(self.drop(x.view(x.size(0), -1)))


def _write(tmp_path, content: bytes, name: str = "model.pt2"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _sympy_payload(content: bytes, marker) -> bytes:
    """A program whose input size is a shape expression that, eval'd, creates `marker`
    (torch's deserializer passes expr_str to sympy.sympify)."""
    expr = f"__import__('pathlib').Path({str(marker)!r}).touch() or Symbol('s0')"

    def change(name: str, data: bytes) -> bytes:
        if name.endswith("models/model.json"):
            program = json.loads(data)
            sizes = program["graph_module"]["graph"]["tensor_values"]["x"]["sizes"]
            sizes[0] = {"as_expr": {"expr_str": expr, "hint": {"as_int": 2}}}
            return json.dumps(program).encode()
        return data

    return rewrite_zip(content, change)


def _sample_inputs_payload(content: bytes, marker) -> bytes:
    """The archive's sample inputs (a torch.save pickle) replaced by a malicious pickle."""
    return rewrite_zip(
        content,
        lambda name, data: malicious_pickle(marker) if "sample_inputs" in name else data,
    )


def test_pt2_mlp_gives_the_original_outputs(tmp_path):
    model = torch_mlp()
    rebuilt = sequential_from_pt2(_write(tmp_path, pt2_mlp_bytes()))
    assert [type(m) for m in rebuilt] == [nn.Linear, nn.ReLU, nn.Linear]
    assert [n for n, m in rebuilt.named_children() if isinstance(m, nn.Linear)] == ["fc1", "fc2"]
    x = torch.randn(7, N_FEATURES)  # not the exported batch size
    with torch.no_grad():
        assert torch.allclose(rebuilt(x), model(x), atol=1e-6)


@pytest.mark.parametrize("dynamic", [False, True])
def test_pt2_conv_net_gives_the_original_outputs(tmp_path, dynamic):
    model = _ConvNet().eval()
    example = torch.randn(2, 1, 8, 8)
    if dynamic:
        program = torch.export.export(
            model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},)
        )
        buffer = io.BytesIO()
        torch.export.save(program, buffer)
        content = buffer.getvalue()
    else:
        content = pt2_bytes(model, example)
    rebuilt = sequential_from_pt2(_write(tmp_path, content))
    kinds = [type(m) for m in rebuilt]
    assert kinds == [nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten, nn.Linear]
    x = torch.randn(5, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(rebuilt(x), model(x), atol=1e-5)


def test_pt2_sequential_with_flatten(tmp_path):
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 3 * 3, 4)
    ).eval()
    rebuilt = sequential_from_pt2(_write(tmp_path, pt2_bytes(model, torch.randn(2, 1, 8, 8))))
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(rebuilt(x), model(x), atol=1e-5)


def test_the_payloads_are_live_for_torch_export_load(tmp_path):
    """Why .pt2 files are not read with torch.export.load: each crafted archive below runs its
    payload there. (Test-made files only; this proves the payloads the next tests use work.)"""
    content = pt2_mlp_bytes()
    for craft in (pt2_with_pickled_weight, _sample_inputs_payload, _sympy_payload):
        marker = tmp_path / f"{craft.__name__}.ran"
        with contextlib.suppress(Exception):  # it fails afterwards; the payload has run
            torch.export.load(io.BytesIO(craft(content, marker)))
        assert marker.exists(), craft.__name__


def test_pickled_weight_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    path = _write(tmp_path, pt2_with_pickled_weight(pt2_mlp_bytes(), marker))
    with pytest.raises(UserModelError, match=r"model\.pt2: 'fc1\.weight' is stored as a pickle"):
        sequential_from_pt2(path)
    assert not marker.exists()


def test_pickled_constant_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    entry = {"path_name": "opaque_obj_0", "is_param": False, "use_pickle": True}

    def change(name: str, data: bytes) -> bytes:
        if name.endswith("model_constants_config.json"):
            return json.dumps({"config": {"obj": {**entry, "tensor_meta": None}}}).encode()
        return data

    content = io.BytesIO(rewrite_zip(pt2_mlp_bytes(), change))
    with zipfile.ZipFile(content, "a") as archive:  # torch.export.load would pickle.loads it
        archive.writestr("archive/data/constants/opaque_obj_0", malicious_pickle(marker))
    with pytest.raises(UserModelError, match="'obj' is stored as a pickle"):
        sequential_from_pt2(_write(tmp_path, content.getvalue()))
    assert not marker.exists()


@pytest.mark.parametrize("craft", [_sample_inputs_payload, _sympy_payload])
def test_sample_inputs_and_shape_expressions_are_never_run(tmp_path, craft):
    marker = tmp_path / "ran"
    rebuilt = sequential_from_pt2(_write(tmp_path, craft(pt2_mlp_bytes(), marker)))
    assert [type(m) for m in rebuilt] == [nn.Linear, nn.ReLU, nn.Linear]
    assert not marker.exists()


def test_torch_save_zip_named_pt2_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    buffer = io.BytesIO()
    torch.save({"model": _OpensFile(marker)}, buffer)
    path = _write(tmp_path, buffer.getvalue())
    with pytest.raises(UserModelError, match=r"model\.pt2: not a torch\.export \.pt2 archive"):
        sequential_from_pt2(path)
    assert not marker.exists()


def test_garbage_pt2_is_refused_naming_the_file(tmp_path):
    with pytest.raises(UserModelError, match=r"junk\.pt2: not a torch\.export \.pt2 program"):
        sequential_from_pt2(_write(tmp_path, b"PK\x03\x04junk", "junk.pt2"))


def test_unsupported_op_is_refused_naming_it(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 2)).eval()
    path = _write(tmp_path, pt2_bytes(model, torch.randn(2, 4)))
    with pytest.raises(UserModelError, match=r"model\.pt2: node .*torch\.ops\.aten\.sigmoid"):
        sequential_from_pt2(path)


def test_flatten_of_the_batch_is_refused(tmp_path):
    class FlattenAll(nn.Module):
        def forward(self, x):
            return torch.flatten(x)

    path = _write(tmp_path, pt2_bytes(FlattenAll(), torch.randn(2, 3)))
    with pytest.raises(UserModelError, match=r"only flatten\(x, 1\)"):
        sequential_from_pt2(path)


def test_load_user_workload_reads_a_pt2(tmp_path):
    model_path = _write(tmp_path, pt2_mlp_bytes())
    data_path = _write(tmp_path, npz_dataset_bytes(), "data.npz")
    workload = load_user_workload(
        ModelFile(path=str(model_path), format="pt2", dataset=str(data_path))
    )
    assert [n for n, m in workload.model.named_children() if isinstance(m, nn.Linear)] == [
        "fc1",
        "fc2",
    ]


def test_pt2_layout_constants_match_the_installed_torch():
    """The reader pins the archive layout it understands; a torch upgrade must re-check it."""
    from torch._export.serde.schema import SCHEMA_VERSION, Layout, ScalarType
    from torch.export.pt2_archive.constants import ARCHIVE_VERSION_VALUE

    from search.user_models import _pt2

    assert PT2_ARCHIVE_VERSION == ARCHIVE_VERSION_VALUE
    assert SCHEMA_VERSION[0] == PT2_SCHEMA_MAJOR
    assert Layout.Strided == _pt2._PT2_STRIDED
    names = {torch.float16: "HALF", torch.float32: "FLOAT", torch.float64: "DOUBLE"}
    for code, dtype in _pt2._PT2_DTYPES.items():
        assert ScalarType(code).name == names.get(dtype, "BFLOAT16")
