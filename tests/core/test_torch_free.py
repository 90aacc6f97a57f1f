"""The core works with torch unavailable: ``import shapetrace``, ``output_shape`` and
``explain`` run in a process where importing torch fails."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
import textwrap

CORE = pathlib.Path(__file__).resolve().parents[2] / "src" / "shapetrace" / "core"

SCRIPT = textwrap.dedent("""
    import sys
    sys.modules["torch"] = None  # any "import torch" now raises ImportError
    import shapetrace
    from shapetrace.core.layers import known_layers

    assert shapetrace.output_shape("Conv2d", (1, 1, 28, 28), out_channels=32, kernel_size=3,
                                   padding=1) == (1, 32, 28, 28)
    assert shapetrace.output_shape("MaxPool2d", (1, 32, 28, 28), kernel_size=2) == (1, 32, 14, 14)
    assert shapetrace.output_shape("Linear", (1, 1152), out_features=512) == (1, 512)
    assert shapetrace.output_shape("Bilinear", [(4, 2), (4, 3)], out_features=5) == (4, 5)
    assert shapetrace.output_shape("Embedding", (2, 7), num_embeddings=10, embedding_dim=4) == (2, 7, 4)
    assert shapetrace.output_shape("Upsample", (1, 3, 5, 5), scale_factor=2, mode="bilinear") == (1, 3, 10, 10)
    text = shapetrace.explain("Conv2d", (1, 1, 28, 28), out_channels=32, kernel_size=3, padding=1)
    assert "H_out = floor((28 + 2*1 - 1*(3-1) - 1) / 1) + 1 = 28" in text, text
    ko = shapetrace.explain("MaxPool2d", (1, 1, 7, 7), lang="ko", kernel_size=2)
    assert "출력" in ko and "floor" in ko, ko
    try:
        shapetrace.output_shape("Conv2d", (1, 3, 28, 28), in_channels=1, out_channels=8, kernel_size=3)
    except shapetrace.ShapeError as e:
        assert "in_channels" in str(e)
    else:
        raise AssertionError("no ShapeError")
    # every registered layer answers without torch
    assert len(known_layers()) >= 90
    assert sys.modules["torch"] is None
    print("torch-free ok")
""")


def test_output_shape_and_explain_work_without_torch():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "torch-free ok" in proc.stdout


def test_no_core_module_imports_torch():
    """A static check too, so that a lazy ``import torch`` inside a function is caught
    even where no test calls that function."""
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "torch" or n.startswith("torch.") for n in names):
                offenders.append(f"{path.relative_to(CORE)}:{node.lineno}")
    assert not offenders, f"core modules import torch: {offenders}"
