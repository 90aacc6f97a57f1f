"""Real third-party models for tests/trace/test_real_zoo.py: transformers 5 built from tiny
configs and torchvision's own model definitions, no weights (nothing is downloaded).

torchvision's registry wheels are CUDA builds: beside the CPU torch its C ops do not
load and ``import torchvision`` fails with "operator torchvision::nms does not exist"
(torchvision/_meta_registrations.py registers meta kernels for ops it expects to exist).
Its pure-Python models need none of those ops, so ``import_torchvision`` defines the two
schemas the import looks up first. transformers imports torchvision when it is installed,
so this module defines them when it is imported, before either is. Test-only: the package
never imports torchvision.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

_SCHEMAS = {
    # torchvision/csrc/ops/nms.cpp and quantized/cpu/qnms_kernel.cpp declare these.
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_LIBRARY: list[torch.library.Library] = []  # kept alive: dropping a Library removes its ops


def _defined(name: str) -> bool:
    try:
        torch._C._get_schema(f"torchvision::{name}", "")
        return True
    except RuntimeError:
        return False


def import_torchvision():
    """torchvision, importable beside the CPU torch (see the module docstring)."""
    missing = [name for name in _SCHEMAS if not _defined(name)]
    if missing:
        lib = torch.library.Library("torchvision", "FRAGMENT")
        for name in missing:
            lib.define(_SCHEMAS[name])
        _LIBRARY.append(lib)
    import torchvision

    return torchvision




import_torchvision()


@dataclass
class Case:
    """A model and its input: ``kwargs`` for ``shapetrace.summary`` (input_data or input_size
    and dtypes) and the same input as ``args``/``call_kwargs`` for a real forward."""

    name: str
    build: Callable[[], nn.Module]
    inputs: Callable[[], dict[str, Any] | torch.Tensor]
    family: str = "transformers"
    tags: set[str] = field(default_factory=set)

    def input_data(self) -> Any:
        # The input is made from a fixed seed without touching the global RNG.
        return self.inputs()


def _ids(*shape: int, vocab: int = 99, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, vocab, shape, generator=g)


def _image(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g)


def _hf(config_name: str, model_name: str, **config: Any) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        import transformers

        cfg = getattr(transformers, config_name)(**config)
        # eager attention: the tiny models run on any device the same way.
        cfg._attn_implementation = "eager" if "attn" not in config else config["attn"]
        return getattr(transformers, model_name)(cfg).eval()

    return build


_TEXT = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=37, max_position_embeddings=64)
_DECODER = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, intermediate_size=48, max_position_embeddings=64)
_MOE = dict(_DECODER, num_local_experts=4, num_experts_per_tok=2)


def _text(mask: bool = True, **extra: Any) -> Callable[[], dict[str, torch.Tensor]]:
    def make() -> dict[str, torch.Tensor]:
        out = {"input_ids": _ids(2, 7)}
        if mask:
            m = torch.ones(2, 7, dtype=torch.long)
            m[1, 5:] = 0  # a padded second sequence: the mask has real work to do
            out["attention_mask"] = m
        out.update({k: v() for k, v in extra.items()})
        return out

    return make


TRANSFORMERS: list[Case] = [
    Case("bert", _hf("BertConfig", "BertModel", **_TEXT), _text(), tags={"mask"}),
    Case("distilbert", _hf("DistilBertConfig", "DistilBertModel", vocab_size=99, dim=32, n_layers=2, n_heads=4,
                           hidden_dim=37, max_position_embeddings=64), _text(), tags={"mask"}),
    Case("mobilebert", _hf("MobileBertConfig", "MobileBertModel", vocab_size=99, hidden_size=32, embedding_size=16,
                           num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, intra_bottleneck_size=16,
                           true_hidden_size=16, num_feedforward_networks=2, max_position_embeddings=64),
         _text(), tags={"mask"}),
    Case("gpt2", _hf("GPT2Config", "GPT2Model", vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64, bos_token_id=1,
                           eos_token_id=2),
         _text(), tags={"mask"}),
    Case("llama", _hf("LlamaConfig", "LlamaModel", **_DECODER), _text(), tags={"mask"}),
    Case("mistral", _hf("MistralConfig", "MistralModel", **_DECODER), _text(), tags={"mask"}),
    Case("qwen2", _hf("Qwen2Config", "Qwen2Model", **_DECODER), _text(), tags={"mask"}),
    Case("mixtral", _hf("MixtralConfig", "MixtralModel", **_MOE), _text(), tags={"mask", "moe"}),
    Case("qwen2_moe", _hf("Qwen2MoeConfig", "Qwen2MoeModel", **dict(_DECODER, num_experts=4, num_experts_per_tok=2,
                                                                   moe_intermediate_size=24,
                                                                   shared_expert_intermediate_size=24)),
         _text(), tags={"mask", "moe"}),
    # Longformer chunks its sequence with ``torch.div(n, 2 * w, rounding_mode="trunc")``, a real
    # one-value tensor given to ``view`` of a meta one.
    Case("longformer", _hf("LongformerConfig", "LongformerModel", **_TEXT, attention_window=4, pad_token_id=0,
                           bos_token_id=1, eos_token_id=2, sep_token_id=2), _text(), tags={"mask"}),
    # JetMoE routes with ``expert_counts.tolist()``: values computed from the weights, which a
    # meta trace does not have (the default device runs it on the CPU; explicit meta says why not).
    Case("jetmoe", _hf("JetMoeConfig", "JetMoeModel", **dict(_DECODER, kv_channels=8, num_local_experts=4,
                                                            num_experts_per_tok=2)),
         _text(), tags={"mask", "moe", "values_from_weights"}),
    Case("t5", _hf("T5Config", "T5Model", vocab_size=99, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_heads=4),
         _text(decoder_input_ids=lambda: _ids(2, 5, seed=1)), tags={"mask"}),
    Case("whisper", _hf("WhisperConfig", "WhisperModel", vocab_size=99, d_model=32, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48,
                        decoder_ffn_dim=48, num_mel_bins=8, max_source_positions=16, max_target_positions=16,
                        pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1),
         lambda: {"input_features": _image(2, 8, 32), "decoder_input_ids": _ids(2, 5)}),
    Case("clip", _hf("CLIPConfig", "CLIPModel",
                     text_config=dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                      intermediate_size=37, max_position_embeddings=64, bos_token_id=1,
                                      eos_token_id=2, pad_token_id=0),
                     vision_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                        intermediate_size=37, image_size=32, patch_size=8),
                     projection_dim=16),
         _text(pixel_values=lambda: _image(2, 3, 32, 32)), tags={"mask"}),
    Case("vit", _hf("ViTConfig", "ViTModel", hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=37, image_size=32, patch_size=8),
         lambda: {"pixel_values": _image(2, 3, 32, 32)}),
    Case("convnext", _hf("ConvNextConfig", "ConvNextModel", hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 2, 1]),
         lambda: {"pixel_values": _image(2, 3, 32, 32)}),
    Case("resnet", _hf("ResNetConfig", "ResNetModel", embedding_size=8, hidden_sizes=[8, 16, 24, 32],
                       depths=[1, 1, 2, 1]),
         lambda: {"pixel_values": _image(2, 3, 32, 32)}, tags={"batchnorm"}),
    Case("swin", _hf("SwinConfig", "SwinModel", image_size=32, patch_size=4, embed_dim=8, depths=[1, 2],
                     num_heads=[2, 4], window_size=4),
         lambda: {"pixel_values": _image(2, 3, 32, 32)}),
]


def _tv(name: str, **kwargs: Any) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        tv = import_torchvision()
        fn = getattr(tv.models.segmentation, name, None) or getattr(tv.models, name)
        return fn(weights=None, **kwargs).eval()

    return build


TORCHVISION: list[Case] = [
    Case(f"tv_{name}", _tv(name, **kw), (lambda s=size: _image(2, 3, s, s)), family="torchvision",
         tags={"batchnorm"} if name != "squeezenet1_1" else set())
    for name, size, kw in [
        ("resnet18", 32, {}),
        ("mobilenet_v3_small", 32, {}),
        ("efficientnet_b0", 32, {}),
        ("squeezenet1_1", 48, {}),
        ("shufflenet_v2_x0_5", 32, {}),
        ("densenet121", 32, {}),
        ("regnet_y_400mf", 32, {}),
        ("mnasnet0_5", 32, {}),
        ("googlenet", 32, {"aux_logits": False, "init_weights": False}),
        ("inception_v3", 75, {"aux_logits": False, "init_weights": False}),
        ("lraspp_mobilenet_v3_large", 32, {"weights_backbone": None}),
        ("deeplabv3_mobilenet_v3_large", 32, {"weights_backbone": None}),
    ]
]

CASES: dict[str, Case] = {c.name: c for c in TRANSFORMERS + TORCHVISION}


@functools.lru_cache(maxsize=None)
def built(name: str) -> nn.Module:
    """One model per name for the whole test process (building is most of the cost). Every
    test checks that a trace leaves the model exactly as it was, so sharing is safe; the
    build runs from a fixed seed and puts the global RNG back."""
    state = torch.get_rng_state(), random.getstate()
    try:
        torch.manual_seed(0)
        return CASES[name].build()
    finally:
        torch.set_rng_state(state[0])
        random.setstate(state[1])
