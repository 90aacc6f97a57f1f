"""What a row does, in a few words, in English or Korean (the seed's words where it has them:
특징 추출, 차원 축소, 단축 경로, 펼치기, 특징 결합, 라벨 분류).

A row's ``kind`` is a torch.nn class name (module rows) or a torch function name (op
rows); ``CATEGORY`` maps each exact kind to what it does. Kinds not listed get no
description rather than a guess.
"""

from __future__ import annotations

import math
from enum import Enum

from ..core.explain import Lang
from ..core.records import Report, Row


class Category(str, Enum):
    CONV = "conv"
    CONV_T = "conv_transpose"
    POOL = "pool"
    ACT = "activation"
    NORM = "norm"
    DROPOUT = "dropout"
    FLATTEN = "flatten"
    RESHAPE = "reshape"
    LINEAR = "linear"
    CLASSIFY = "classify"
    ADD = "add"
    ARITH = "arithmetic"
    REDUCE = "reduce"
    RESIDUAL = "residual"
    CONCAT = "concat"
    EMBED = "embedding"
    RNN = "recurrent"
    ATTN = "attention"
    UPSAMPLE = "upsample"
    MATMUL = "matmul"
    SOFTMAX = "softmax"
    PAD = "pad"
    BLOCK = "block"
    OTHER = "other"


def _dims(*names: str) -> list[str]:
    return [f"{n}{d}d" for n in names for d in (1, 2, 3)]


_KINDS: dict[Category, list[str]] = {
    Category.CONV: _dims("Conv", "LazyConv") + ["conv1d", "conv2d", "conv3d"],
    Category.CONV_T: _dims("ConvTranspose", "LazyConvTranspose") + [
        "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"],
    Category.POOL: _dims("MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool", "FractionalMaxPool")
    + ["LPPool1d", "LPPool2d", "LPPool3d", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d",
       "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
       "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "lp_pool1d", "lp_pool2d"],
    Category.ACT: ["ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
                   "Mish", "Sigmoid", "Tanh", "Hardtanh", "Hardswish", "Hardsigmoid", "Softplus",
                   "Softsign", "LogSigmoid", "Tanhshrink", "Threshold", "GLU", "Hardshrink", "Softshrink",
                   "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "elu", "selu",
                   "celu", "gelu", "silu", "mish", "sigmoid", "tanh", "hardtanh", "hardswish",
                   "hardsigmoid", "softplus", "softsign", "logsigmoid", "glu", "sigmoid_", "tanh_"],
    Category.NORM: _dims("BatchNorm", "InstanceNorm", "LazyBatchNorm", "LazyInstanceNorm") + [
        "LayerNorm", "GroupNorm", "RMSNorm", "LocalResponseNorm", "SyncBatchNorm", "batch_norm",
        "layer_norm", "group_norm", "instance_norm", "rms_norm", "normalize"],
    Category.DROPOUT: ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                       "FeatureAlphaDropout", "dropout", "dropout1d", "dropout2d", "dropout3d",
                       "alpha_dropout", "feature_alpha_dropout"],
    Category.FLATTEN: ["Flatten", "flatten"],
    Category.RESHAPE: ["Unflatten", "view", "reshape", "permute", "transpose", "unsqueeze", "squeeze",
                       "unflatten", "view_as", "movedim", "contiguous", "expand", "repeat", "getitem",
                       "split", "chunk", "unbind", "narrow", "select", "t", "swapaxes", "PixelShuffle",
                       "PixelUnshuffle", "pixel_shuffle", "pixel_unshuffle", "ChannelShuffle"],
    Category.LINEAR: ["Linear", "LazyLinear", "Bilinear", "linear", "bilinear", "addmm",
                      "NonDynamicallyQuantizableLinear"],
    Category.ADD: ["add", "add_", "sub", "sub_"],
    Category.ARITH: ["mul", "mul_", "div", "div_", "rsub", "rdiv", "neg", "pow", "exp", "log", "sqrt",
                     "rsqrt", "abs", "clamp", "clamp_", "where", "masked_fill", "masked_fill_", "maximum",
                     "minimum"],
    Category.REDUCE: ["mean", "sum", "amax", "amin", "max", "min", "std", "var", "logsumexp", "norm",
                      "prod"],
    Category.RESIDUAL: ["Residual"],
    Category.CONCAT: ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "Concat"],
    Category.EMBED: ["Embedding", "EmbeddingBag", "embedding"],
    Category.RNN: ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"],
    Category.ATTN: ["MultiheadAttention", "scaled_dot_product_attention", "multi_head_attention_forward",
                    "TransformerEncoderLayer", "TransformerDecoderLayer"],
    Category.UPSAMPLE: ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "interpolate",
                        "upsample"],
    Category.MATMUL: ["matmul", "mm", "bmm", "einsum", "baddbmm", "mv", "dot"],
    Category.SOFTMAX: ["Softmax", "LogSoftmax", "Softmin", "softmax", "log_softmax", "softmin"],
    Category.PAD: _dims("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad")
    + ["pad"],
    Category.BLOCK: ["Sequential", "ModuleList", "ModuleDict", "TransformerEncoder", "TransformerDecoder",
                     "Transformer"],
}

CATEGORY: dict[str, Category] = {k: cat for cat, kinds in _KINDS.items() for k in kinds}

_TEXT: dict[Category, dict[Lang, str]] = {
    Category.CONV: {Lang.EN: "feature extraction", Lang.KO: "특징 추출"},
    Category.CONV_T: {Lang.EN: "upsampling (transposed conv)", Lang.KO: "업샘플링 (전치 합성곱)"},
    Category.POOL: {Lang.EN: "dimension reduction", Lang.KO: "차원 축소"},
    Category.ACT: {Lang.EN: "non-linearity", Lang.KO: "비선형성 추가"},
    Category.NORM: {Lang.EN: "normalization", Lang.KO: "정규화"},
    Category.DROPOUT: {Lang.EN: "dropout (training only)", Lang.KO: "드롭아웃 (학습 시에만)"},
    Category.FLATTEN: {Lang.EN: "flatten ({n}D -> 1D)", Lang.KO: "펼치기 ({n}D -> 1D)"},
    Category.RESHAPE: {Lang.EN: "reshape", Lang.KO: "모양 변경"},
    Category.LINEAR: {Lang.EN: "combine features", Lang.KO: "특징 결합"},
    Category.CLASSIFY: {Lang.EN: "classify labels (0-{last})", Lang.KO: "라벨 분류 (0~{last} 라벨)"},
    Category.ADD: {Lang.EN: "shortcut add", Lang.KO: "단축 경로 더하기"},
    Category.ARITH: {Lang.EN: "elementwise arithmetic", Lang.KO: "원소별 연산"},
    Category.REDUCE: {Lang.EN: "reduction (mean, sum, max)", Lang.KO: "축약 (평균, 합, 최대)"},
    Category.RESIDUAL: {Lang.EN: "Residual Block (shortcut path)", Lang.KO: "Residual Block (단축 경로)"},
    Category.CONCAT: {Lang.EN: "concatenate features", Lang.KO: "특징 연결"},
    Category.EMBED: {Lang.EN: "embedding lookup", Lang.KO: "임베딩 조회"},
    Category.RNN: {Lang.EN: "recurrent (sequence)", Lang.KO: "순환 (시퀀스 처리)"},
    Category.ATTN: {Lang.EN: "attention", Lang.KO: "어텐션"},
    Category.UPSAMPLE: {Lang.EN: "upsampling", Lang.KO: "업샘플링"},
    Category.MATMUL: {Lang.EN: "matrix product", Lang.KO: "행렬 곱"},
    Category.SOFTMAX: {Lang.EN: "probabilities (softmax)", Lang.KO: "확률 (softmax)"},
    Category.PAD: {Lang.EN: "padding", Lang.KO: "패딩"},
    Category.BLOCK: {Lang.EN: "", Lang.KO: ""},
    Category.OTHER: {Lang.EN: "", Lang.KO: ""},
}

# Notes the tracer attaches (``core.records.Note``); the core's own keys are in core/messages.py.
TRACE_NOTES: dict[str, dict[Lang, str]] = {
    "reused_module": {Lang.EN: "call {call} of this module: its parameters are counted at its first call",
                      Lang.KO: "이 모듈의 {call}번째 호출: 파라미터는 첫 호출에서 센다"},
    "tied_params": {Lang.EN: "{param} is {owner} (tied weights, {count:,} parameters counted there)",
                    Lang.KO: "{param}은 {owner}와 같은 텐서 (가중치 공유, {count:,}개는 그쪽에서 센다)"},
    "unused_params": {Lang.EN: "includes the {count:,} parameters of {module}, never called as a module "
                                "(used through its weights, or not at all)",
                      Lang.KO: "모듈로 호출되지 않는 {module}의 파라미터 {count:,}개 포함 "
                               "(가중치만 직접 쓰이거나 쓰이지 않음)"},
}


def note_text(key: str, params: dict, lang: Lang) -> str | None:
    table = TRACE_NOTES.get(key)
    if table is None:
        return None
    return table[lang].format(**params)


def has_residual_add(rows: list[Row], i: int) -> bool:
    """Row i is a block whose own forward adds two tensors of the same shape (x + shortcut)."""
    r = rows[i]
    for j in range(i + 1, len(rows)):
        c = rows[j]
        if c.depth <= r.depth:
            break
        if c.depth == r.depth + 1 and c.is_op and CATEGORY.get(c.kind) is Category.ADD \
                and len(c.input_shapes) >= 2 and c.input_shapes[0] == c.input_shapes[1]:
            return True
    return False


def categorize(report: Report) -> list[Category]:
    """One category per row of ``report``."""
    rows = report.rows
    cats: list[Category] = []
    for i, r in enumerate(rows):
        cat = CATEGORY.get(r.kind)
        if cat is Category.ADD and (len(r.input_shapes) < 2 or r.input_shapes[0] != r.input_shapes[1]):
            cat = Category.ARITH  # x + 1, x + bias: not two paths of the same shape meeting
        if cat in (Category.RESHAPE, Category.FLATTEN) and r.kind != "Flatten":
            cat = Category.FLATTEN if _flattens(r) else Category.RESHAPE
        if cat is None or cat is Category.BLOCK:
            if not r.leaf and has_residual_add(rows, i):
                cat = Category.RESIDUAL
            elif cat is None:
                cat = Category.BLOCK if not r.leaf else Category.OTHER
        cats.append(cat)
    last = _classifier_index(rows, cats)
    if last is not None:
        cats[last] = Category.CLASSIFY
    return cats


def _flattens(r: Row) -> bool:
    """(N, C, H, W) -> (N, C*H*W): the output is 2D and the input had more dims."""
    if not r.input_shapes or not r.output_shapes:
        return False
    i, o = r.input_shapes[0], r.output_shapes[0]
    return len(o) == 2 and len(i) > 2 and math.prod(i) == math.prod(o)


_TAIL = (Category.ACT, Category.SOFTMAX, Category.DROPOUT)


def _classifier_index(rows: list[Row], cats: list[Category]) -> int | None:
    """The final Linear of the flow (only activations/softmax/dropout after it), if it has
    at least two outputs: the layer that scores the labels."""
    for i in range(len(rows) - 1, -1, -1):
        if not rows[i].leaf:
            continue
        if cats[i] is Category.LINEAR:
            out = rows[i].output_shapes[0] if rows[i].output_shapes else ()
            return i if out and out[-1] >= 2 else None
        if cats[i] not in _TAIL:
            return None
    return None


def describe(row: Row, cat: Category, lang: Lang) -> str:
    text = _TEXT[cat][lang]
    if cat is Category.FLATTEN:
        i = row.input_shapes[0] if row.input_shapes else ()
        return text.format(n=max(len(i) - 2, 1))
    if cat is Category.CLASSIFY:
        out = row.output_shapes[0] if row.output_shapes else (1,)
        return text.format(last=out[-1] - 1)
    return text
