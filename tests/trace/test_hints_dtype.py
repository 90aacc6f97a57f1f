"""Token-id models traced with float inputs (no ``--dtype int64``): the Embedding's dtype
error is a dtype problem, exit 2 with one line that says what to pass, in the CLI's words
and the API's; never a shape error. Real transformers models from tiny configs."""

from __future__ import annotations

import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import shapetrace
from shapetrace.trace.failures import ModelError

from ..cli_run import one_line_error, run
from .real_zoo import built

TINY_BERT = textwrap.dedent("""
    import transformers

    def tiny_bert():
        cfg = transformers.BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=1,
                                      num_attention_heads=4, intermediate_size=37,
                                      max_position_embeddings=64)
        cfg._attn_implementation = "eager"
        return transformers.BertModel(cfg).eval()
""")


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_cli_says_pass_dtype_int64(tmp_path, capsys, device: str) -> None:
    path = tmp_path / "tiny.py"
    path.write_text(TINY_BERT)
    code, out, err = run(["summary", f"{path}:tiny_bert", "--input", "2,7", "--device", device], capsys)
    one_line_error(code, err, "embeddings.word_embeddings", "token ids", "float32", "--dtype int64")
    assert out == ""
    # and the advice works
    code, out, err = run(["summary", f"{path}:tiny_bert", "--input", "2,7", "--dtype", "int64",
                          "--device", device], capsys)
    assert code == 0, err
    assert "word_embeddings" in out


@pytest.mark.parametrize("name", ["distilbert", "gpt2"])
@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_api_says_dtypes_long(name: str, device: str) -> None:
    with pytest.raises(ModelError) as e:
        shapetrace.summary(built(name), input_size=(2, 7), device=device)
    msg = str(e.value)
    assert "token ids" in msg and "dtypes=[torch.long]" in msg and "input_data" in msg
    assert shapetrace.summary(built(name), input_size=(2, 7), dtypes=[torch.long], device=device).ok


def test_the_hint_names_the_input_among_several() -> None:
    """BERT with ids and a float mask: only the ids' dtype changes in the advice."""
    with pytest.raises(ModelError) as e:
        shapetrace.summary(built("bert"), input_size=[(2, 7), (2, 7)], device="cpu")
    msg = str(e.value)
    assert "input 0 is float32" in msg
    assert '--dtype "int64;float32"' in msg and "dtypes=[torch.long, torch.float32]" in msg


class Lookup(nn.Module):
    """The model's own F.embedding (an op row, not an nn.Embedding)."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.zeros(10, 4))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.table)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_functional_lookup_gets_the_same_hint(device: str) -> None:
    with pytest.raises(ModelError, match=r"dtypes=\[torch.long\]"):
        shapetrace.summary(Lookup(), input_size=(2, 3), device=device)
    with pytest.raises(ModelError, match=r"but the input is float64"):
        shapetrace.summary(Lookup(), input_data=torch.zeros(2, 3, dtype=torch.float64), device=device)
