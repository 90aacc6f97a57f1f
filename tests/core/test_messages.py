"""Every note a layer rule can emit has English and Korean text, with the same
placeholders, and renders in ``explain`` in both languages; the oracle's table of
inferred arguments matches the registry."""

from __future__ import annotations

import pathlib
import re
import string

import pytest

import shapetrace
from shapetrace.core.layers import REGISTRY, known_layers
from shapetrace.core.words import NOTES, TEXT, Lang, note_text

from .oracle import INFERRED

CORE = pathlib.Path(__file__).resolve().parents[2] / "src" / "shapetrace" / "core"

# One call per note key that produces it.
EXAMPLES = {
    "floor_drops": ("Conv2d", (1, 1, 28, 28), dict(out_channels=1, kernel_size=3, stride=2)),
    "same_padding": ("Conv2d", (1, 1, 28, 28), dict(out_channels=1, kernel_size=4, padding="same")),
    "ceil_extra_window": ("MaxPool1d", (1, 1, 5), dict(kernel_size=2, stride=2, ceil_mode=True)),
    "ceil_window_dropped": ("MaxPool1d", (1, 1, 2), dict(kernel_size=1, stride=2, ceil_mode=True)),
    "adaptive_uneven": ("AdaptiveAvgPool1d", (1, 1, 10), dict(output_size=3)),
    "pad_crops": ("ZeroPad2d", (1, 1, 4, 4), dict(padding=-1)),
    "embedding_indices": ("Embedding", (2, 3), dict(num_embeddings=10, embedding_dim=4)),
    "num_features_ignored": ("InstanceNorm1d", (2, 5, 4), dict(num_features=3)),
    "num_channels_ignored": ("GroupNorm", (2, 6, 3), dict(num_groups=2, num_channels=4, affine=False)),
    "dropout_rank": ("Dropout2d", (2, 3), {}),
    "dropout2d_3d": ("Dropout2d", (2, 3, 4), {}),
    "softmax_implicit_dim": ("Softmax", (2, 3), {}),
    "conv_zero_channels": ("Conv2d", (1, 0, 5, 5), dict(in_channels=0, out_channels=4, kernel_size=3)),
    "conv_transpose_empty": ("ConvTranspose1d", (2, 1, 2), dict(out_channels=1, kernel_size=3, padding=2)),
    "pixel_unshuffle_empty": ("PixelUnshuffle", (0, 1, 2, 2), dict(downscale_factor=2)),
    "bn_train_single_value": ("BatchNorm1d", (1, 3), {}),
    "bn_train_eps": ("BatchNorm1d", (2, 3), dict(eps=0.0)),
}


def emitted_keys() -> set[str]:
    keys = set()
    for path in CORE.rglob("*.py"):
        keys |= set(re.findall(r'note\(\s*"([a-z0-9_]+)"', path.read_text()))
    return keys


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def test_every_emitted_key_has_english_and_korean_text():
    missing = {k for k in emitted_keys() if not {"en", "ko"} <= set(NOTES.get(k, {}))}
    assert not missing, f"note keys without en+ko text: {sorted(missing)}"


def test_both_languages_use_the_same_numbers():
    for key, table in TEXT.items():
        assert set(table) == set(Lang), key
        assert placeholders(table["en"]) == placeholders(table["ko"]), key


def test_every_emitted_key_has_an_example():
    assert emitted_keys() <= set(EXAMPLES), sorted(emitted_keys() - set(EXAMPLES))


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_note_renders_in_both_languages(key):
    layer, shape, kwargs = EXAMPLES[key]
    result = shapetrace.compute(layer, shape, **kwargs)
    found = [n for n in result.notes if n.key == key]
    assert found, f"{layer}{kwargs} on {shape} did not emit {key}: {result.notes}"
    for lang in ("en", "ko"):
        text = note_text(key, found[0].args, lang)
        assert "{" not in text, text
        assert text in shapetrace.explain(layer, shape, lang=lang, **kwargs)
    assert note_text(key, found[0].args, "en") != note_text(key, found[0].args, "ko")


def test_oracle_fills_exactly_the_arguments_the_core_infers():
    inferred = {name: set(d.inferred) for name, d in REGISTRY.items() if d.inferred}
    assert inferred == {name: set(args) for name, args in INFERRED.items()}


ISSUE_2_LAYERS = """
Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d MaxPool1d MaxPool2d MaxPool3d
AvgPool1d AvgPool2d AvgPool3d LPPool1d LPPool2d LPPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d
AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveMaxPool3d Linear Bilinear Flatten Unflatten Upsample
UpsamplingNearest2d UpsamplingBilinear2d PixelShuffle PixelUnshuffle Fold Unfold ChannelShuffle
ZeroPad1d ZeroPad2d ZeroPad3d ConstantPad1d ConstantPad2d ConstantPad3d ReflectionPad1d ReflectionPad2d
ReflectionPad3d ReplicationPad1d ReplicationPad2d ReplicationPad3d CircularPad1d CircularPad2d CircularPad3d
Embedding BatchNorm1d BatchNorm2d BatchNorm3d InstanceNorm1d InstanceNorm2d InstanceNorm3d LayerNorm GroupNorm
RMSNorm LocalResponseNorm Dropout Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout Identity
ReLU ReLU6 LeakyReLU PReLU ELU SELU CELU GELU SiLU Mish Sigmoid Tanh Hardtanh Hardswish Hardsigmoid Softplus
Softsign Softshrink Hardshrink Tanhshrink Threshold LogSigmoid RReLU Softmax LogSoftmax Softmin Softmax2d GLU
""".split()


def test_every_layer_of_issue_2_is_registered():
    assert set(ISSUE_2_LAYERS) <= set(known_layers()), sorted(set(ISSUE_2_LAYERS) - set(known_layers()))


def test_every_layer_family_has_an_oracle_test():
    here = pathlib.Path(__file__).parent
    families = {d.family for d in REGISTRY.values()}
    missing = {f for f in families if not (here / f"test_oracle_{f}.py").exists()}
    assert not missing, f"families without a torch-oracle test: {sorted(missing)}"


def test_every_category_and_column_has_words():
    """The records and the view carry keys (records.Category, options.Column); their words
    are in the one table, in both languages (blank only for the kinds that say nothing)."""
    from shapetrace.core.records import Category
    from shapetrace.render.options import Column

    for cat in Category:
        table = TEXT[f"category.{cat.value}"]
        assert bool(table[Lang.EN].strip()) == bool(table[Lang.KO].strip()), cat
        assert table[Lang.EN].strip() or cat in (Category.BLOCK, Category.OTHER), cat
    for col in Column:
        assert all(TEXT[f"column.{col.value}"][lg].strip() for lg in Lang), col


def test_text_for_people_lives_in_the_one_table():
    """No renderer of the core/render side keeps its own per-language table, nor the page's
    presets (their titles are the table's preset.<id>, with the page's words, page.<word>)."""
    src = CORE.parent
    for rel in ("core/explain.py", "render/view.py", "render/describe.py", "render/seed_table.py",
                "render/md.py", "render/htmlfmt.py", "render/memory.py", "web/presets.py"):
        text = (src / rel).read_text()
        assert "Lang.KO" not in text and '"ko":' not in text, rel
