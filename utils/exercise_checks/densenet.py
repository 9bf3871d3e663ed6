"""Checks for the exercises of ``module2_cnns/solutions/06_densenet.ipynb``.

Every check builds fresh random inputs (channel counts, growth rates, images, small networks),
computes the right answer itself, often with torchvision's own DenseNet layers, and compares, so a
hard-coded answer does not pass; a wrong answer gets an explanation of what went wrong and a hint
(``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.densenet import _DenseBlock as TorchvisionDenseBlock
from torchvision.models.densenet import _DenseLayer as TorchvisionDenseLayer
from torchvision.models.densenet import _Transition as TorchvisionTransition

from utils.checks import answer_as_int, call_answer, expect, fresh_generator, passed

__all__ = [
    "check_dense_block_channels",
    "check_transition_channels",
    "check_dense_layer",
    "check_transition",
    "check_dense_block_parameters",
    "check_densenet",
    "densenet_parameters",
]

#: The number of layers in each dense block of DenseNet-121 and DenseNet-169 (growth rate 32, 64 stem channels).
DENSENET121_BLOCKS = (6, 12, 24, 16)
DENSENET169_BLOCKS = (6, 12, 32, 32)


# --- reference answers ------------------------------------------------------------------------

def _dense_block_out_channels(in_channels: int, num_layers: int, growth_rate: int) -> int:
    return in_channels + num_layers * growth_rate


def _transition_out_channels(in_channels: int, compression: float = 0.5) -> int:
    return math.floor(compression * in_channels)


def _dense_layer_parameters(in_channels: int, growth_rate: int, bn_size: int = 4) -> int:
    width = bn_size * growth_rate
    return 2 * in_channels + in_channels * width + 2 * width + 9 * width * growth_rate


def _dense_block_parameters(in_channels: int, num_layers: int, growth_rate: int, bn_size: int = 4) -> int:
    return sum(_dense_layer_parameters(in_channels + i * growth_rate, growth_rate, bn_size) for i in range(num_layers))


def densenet_parameters(block_config, growth_rate: int, num_init_features: int, num_classes: int = 1000, *,
                        bn_size: int = 4, compression: float = 0.5, in_channels: int = 3,
                        last_transition: bool = False, final_norm: bool = True, stem_norm: bool = True,
                        basic_layers: bool = False) -> int:
    """The parameter count of an ImageNet-style DenseNet-BC (torchvision's ``DenseNet``), by formula.

    The keyword flags describe typical mistakes (a transition after the last block, no final batch
    norm, ...), so that a check can recognise them.
    """
    count = 49 * in_channels * num_init_features + (2 * num_init_features if stem_norm else 0)
    channels = num_init_features
    for i, num_layers in enumerate(block_config):
        for j in range(num_layers):
            reads = channels + j * growth_rate
            count += 2 * reads + 9 * reads * growth_rate if basic_layers else _dense_layer_parameters(reads, growth_rate, bn_size)
        channels += num_layers * growth_rate
        if i < len(block_config) - 1 or last_transition:
            out = _transition_out_channels(channels, compression)
            count += 2 * channels + channels * out
            channels = out
    if final_norm:
        count += 2 * channels
    return count + channels * num_classes + num_classes


# --- helpers -----------------------------------------------------------------------------------

def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _randint(generator: torch.Generator, low: int, high: int) -> int:
    """A random integer in [low, high]."""
    return int(torch.randint(low, high + 1, (), generator=generator))


def _as_int(value, what: str) -> int:
    return answer_as_int(value, what, "A number of channels or parameters is an integer (round down where the formula "
                                      "says ⌊·⌋).")


def _expect_module(value, what: str) -> nn.Module:
    expect(isinstance(value, nn.Module), f"{what} should give an nn.Module, got {type(value).__name__}: {value!r}")
    return value


def _expect_attributes(module: nn.Module, names: tuple[str, ...], what: str) -> None:
    missing = [name for name in names if not isinstance(getattr(module, name, None), nn.Module)]
    expect(not missing, f"{what} has no layer called {', '.join(missing)}. Name the layers as the exercise says "
                        f"({', '.join(names)}): the check looks them up by name, as torchvision does.")


def _check_conv(conv, kernel: int, in_channels: int, out_channels: int, what: str, name: str) -> None:
    expect(isinstance(conv, nn.Conv2d), f"{what}: `{name}` should be an nn.Conv2d, got {type(conv).__name__}.")
    expect(conv.kernel_size == (kernel, kernel),
           f"{what}: `{name}` should be a {kernel}×{kernel} convolution, got kernel_size={conv.kernel_size}.")
    expect(conv.in_channels == in_channels and conv.out_channels == out_channels,
           f"{what}: `{name}` should map {in_channels} to {out_channels} channels, yours maps "
           f"{conv.in_channels} to {conv.out_channels}.")
    expect(conv.bias is None, f"{what}: `{name}` has a bias. Use bias=False: DenseNet's convolutions have none (a batch "
                              "norm comes next on that path, which would cancel it).")
    expect(conv.stride == (1, 1), f"{what}: `{name}` should have stride 1 (got {conv.stride}); only the pooling shrinks images.")
    padding = (kernel - 1) // 2
    expect(conv.padding == (padding, padding),
           f"{what}: `{name}` should have padding={padding}, so that the image keeps its size (got {conv.padding}).")


def _check_norm(norm, channels: int, what: str, name: str) -> None:
    expect(isinstance(norm, nn.BatchNorm2d), f"{what}: `{name}` should be an nn.BatchNorm2d, got {type(norm).__name__}.")
    expect(norm.num_features == channels,
           f"{what}: `{name}` normalises the {channels} channels that come into it: nn.BatchNorm2d({channels}), "
           f"yours has {norm.num_features}.")


def _randomise_batch_norms(module: nn.Module, generator: torch.Generator) -> None:
    """Random scales, shifts and running statistics, so that a misplaced batch norm or ReLU changes the output."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=generator) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=generator) * 0.5)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=generator) * 0.3)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) + 0.5)


def _load_into(reference: nn.Module, module: nn.Module, what: str) -> None:
    """Copy the learner's weights into torchvision's module (the names are the same)."""
    state, wanted = module.state_dict(), reference.state_dict()
    unexpected, missing = sorted(set(state) - set(wanted)), sorted(set(wanted) - set(state))
    expect(not unexpected and not missing,
           f"{what}: its layers do not line up with torchvision's (unexpected {unexpected[:4]}, missing {missing[:4]}). "
           "Use exactly the layers the exercise lists, with those names, and no others.")
    reference.load_state_dict(state)


# --- exercise 1: channel arithmetic ------------------------------------------------------------

def check_dense_block_channels(dense_block_out_channels) -> bool:
    """``dense_block_out_channels(in_channels, num_layers, growth_rate)`` is ``in_channels + num_layers * growth_rate``."""
    generator = fresh_generator()
    for _ in range(5):
        c0, layers, k = _randint(generator, 3, 300), _randint(generator, 2, 30), _randint(generator, 2, 48)
        what = f"dense_block_out_channels({c0}, {layers}, {k})"
        value = _as_int(call_answer(dense_block_out_channels, c0, layers, k, what="dense_block_out_channels"), what)
        expected = _dense_block_out_channels(c0, layers, k)
        if value == expected:
            continue
        expect(value != layers * k, f"{what} = {value} counts only the new channels. The block's input stays in the "
                                    "stack and comes out of the block too: add in_channels.")
        expect(value != c0 + (layers - 1) * k, f"{what} = {value}: that is what the *last* layer reads. Each of the "
                                               f"{layers} layers adds {k} channels, the last one included.")
        expect(value != c0 + k, f"{what} = {value}: every one of the {layers} layers adds {k} channels, not only the first.")
        expect(value != c0 * layers + k and value != (c0 + k) * layers,
               f"{what} = {value}: concatenation *adds* channels: the input's {c0} once, plus {k} per layer.")
        expect(False, f"{what} should be {expected} (c0 + L·k), got {value}.")
    return passed("after L layers the stack has c0 + L·k channels.")


def check_transition_channels(transition_out_channels) -> bool:
    """``transition_out_channels(in_channels, compression)`` is ⌊compression · in_channels⌋."""
    generator = fresh_generator()
    cases = [(4 * _randint(generator, 2, 100) + 1, 0.25), (4 * _randint(generator, 2, 100) + 3, 0.25),  # θm ends in .25, .75
             (2 * _randint(generator, 8, 500) + 1, 0.5), (4 * _randint(generator, 2, 100) + 1, 0.75),
             (_randint(generator, 10, 500), 1.0), (2 * _randint(generator, 8, 500), 0.5)]
    for m, theta in cases:
        what = f"transition_out_channels({m}, {theta})"
        raw = call_answer(transition_out_channels, m, theta, what="transition_out_channels")
        expected = _transition_out_channels(m, theta)
        if not isinstance(raw, torch.Tensor) and isinstance(raw, numbers.Real) and not float(raw).is_integer():
            expect(abs(raw - theta * m) > 1e-9, f"{what} = {raw}: a number of channels must be a whole number. The "
                                                "formula is ⌊θm⌋: round down, e.g. with int() or math.floor().")
        value = _as_int(raw, what)
        if value == expected:
            continue
        expect(value != round(theta * m), f"{what} = {value}: round *down*, ⌊θm⌋ (int() or math.floor()); round() "
                                          "rounds to the nearest whole number.")
        expect(value != math.ceil(theta * m), f"{what} = {value}: round *down*, ⌊θm⌋ (int() or math.floor()), not up.")
        expect(value != m // 2, f"{what} = {value}: use the compression θ = {theta}, not a fixed half.")
        expect(value != m - math.floor(theta * m), f"{what} = {value}: θ is the fraction of channels that is *kept*.")
        expect(False, f"{what} should be ⌊{theta} · {m}⌋ = {expected}, got {value}.")
    return passed("a transition keeps ⌊θm⌋ channels.")


# --- exercise 2: the dense layer ---------------------------------------------------------------

def check_dense_layer(DenseLayer) -> bool:
    """``DenseLayer(in_channels, growth_rate, bn_size)`` with layers norm1, conv1, norm2, conv2 returns
    ``torch.cat([x, new], dim=1)``, where ``new`` is torchvision's ``_DenseLayer`` output with the same weights."""
    generator = fresh_generator()
    for bn_size in (4, _randint(generator, 2, 3)):
        growth_rate = _randint(generator, 3, 6)
        width = bn_size * growth_rate
        in_channels = _randint(generator, 5, 11)
        in_channels += in_channels == width  # different sizes, so that a swapped layer cannot go unnoticed
        what = f"DenseLayer({in_channels}, growth_rate={growth_rate}, bn_size={bn_size})"
        layer = _expect_module(call_answer(DenseLayer, in_channels, growth_rate, bn_size, what="DenseLayer"), what)
        _expect_attributes(layer, ("norm1", "conv1", "norm2", "conv2"), what)
        _check_norm(layer.norm1, in_channels, what, "norm1")
        _check_conv(layer.conv1, 1, in_channels, width, what, "conv1")
        _check_norm(layer.norm2, width, what, "norm2")
        _check_conv(layer.conv2, 3, width, growth_rate, what, "conv2")
        expected_count = _dense_layer_parameters(in_channels, growth_rate, bn_size)
        expect(_count(layer) == expected_count,
               f"{what} has {_count(layer):,} parameters, expected {expected_count:,}: two batch norms and two "
               "convolutions without bias, and nothing else.")

        _randomise_batch_norms(layer, generator)
        reference = TorchvisionDenseLayer(in_channels, growth_rate=growth_rate, bn_size=bn_size, drop_rate=0)
        _load_into(reference, layer, what)
        layer.eval()
        reference.eval()  # evaluation mode: the batch norms use their (random) running statistics
        x = torch.randn(2, in_channels, 6, 6, generator=generator)
        original = x.clone()
        with torch.no_grad():
            output = call_answer(layer, x, what=what, explain_crashes=True,
                                 hint="conv1 takes the layer's input (in_channels), conv2 takes conv1's output (bn_size·k).")
            new = reference(original.clone())
        expect(torch.equal(x, original), f"{what} changed its input x in place. Use F.relu(...) (or nn.ReLU() without "
                                         "inplace=True) on the batch norm's output, and never modify x: it is "
                                         "passed on to every later layer.")
        expect(isinstance(output, torch.Tensor), f"{what} should return a tensor, got {type(output).__name__}.")
        expect(tuple(output.shape) != (2, growth_rate, 6, 6),
               f"{what} returned only the {growth_rate} new channels. A DenseNet layer passes everything on: return "
               "torch.cat([x, new_features], dim=1).")
        expect(tuple(output.shape) == (2, in_channels + growth_rate, 6, 6),
               f"{what} on a [2, {in_channels}, 6, 6] input should give [2, {in_channels + growth_rate}, 6, 6] "
               f"(the input plus {growth_rate} new channels), got {tuple(output.shape)}. Concatenate along dim=1.")
        if torch.equal(output[:, growth_rate:], original) and torch.allclose(output[:, :growth_rate], new, atol=1e-5):
            expect(False, f"{what} puts the new channels first. The order is torch.cat([x, new_features], dim=1): "
                          "the input first, so that every layer's channels keep their place in the stack.")
        expect(torch.equal(output[:, :in_channels], original),
               f"the first {in_channels} channels of {what}'s output should be its input, unchanged: "
               "torch.cat([x, new_features], dim=1).")
        if not torch.allclose(output[:, in_channels:], new, rtol=1e-4, atol=1e-5):
            with torch.no_grad():
                no_relu = layer.conv2(layer.norm2(layer.conv1(layer.norm1(original))))
            expect(not torch.allclose(output[:, in_channels:], no_relu, rtol=1e-4, atol=1e-5),
                   f"{what}: the ReLUs are missing. Each convolution has BN and then ReLU in front of it.")
            expect(False, f"{what}'s new channels differ from torchvision's _DenseLayer with the same weights. The order "
                          "is norm1 → ReLU → conv1 → norm2 → ReLU → conv2 (batch norm and ReLU *before* each convolution).")
    return passed("your dense layer matches torchvision's and appends its k new channels to its input.")


# --- exercise 3: the transition layer ----------------------------------------------------------

def check_transition(Transition) -> bool:
    """``Transition(in_channels, out_channels)`` with layers norm, conv, pool matches torchvision's ``_Transition``:
    BN → ReLU → 1×1 conv → 2×2 average pooling with stride 2."""
    generator = fresh_generator()
    for size in (8, 7):  # an odd size too: the pooling drops the last row and column
        in_channels = _randint(generator, 6, 20)
        out_channels = _transition_out_channels(in_channels)
        what = f"Transition({in_channels}, {out_channels})"
        transition = _expect_module(call_answer(Transition, in_channels, out_channels, what="Transition"), what)
        _expect_attributes(transition, ("norm", "conv", "pool"), what)
        _check_norm(transition.norm, in_channels, what, "norm")
        _check_conv(transition.conv, 1, in_channels, out_channels, what, "conv")
        expect(not isinstance(transition.pool, nn.MaxPool2d),
               f"{what}: DenseNet's transition uses *average* pooling, nn.AvgPool2d(kernel_size=2, stride=2), not max pooling.")
        expect(isinstance(transition.pool, nn.AvgPool2d),
               f"{what}: `pool` should be nn.AvgPool2d(kernel_size=2, stride=2), got {type(transition.pool).__name__}.")
        kernel, stride = transition.pool.kernel_size, transition.pool.stride
        expect(kernel in (2, (2, 2)) and stride in (2, (2, 2)),
               f"{what}: the pooling should have kernel_size=2 and stride=2 (it halves the height and width), "
               f"got kernel_size={kernel}, stride={stride}.")
        expected_count = 2 * in_channels + in_channels * out_channels
        expect(_count(transition) == expected_count,
               f"{what} has {_count(transition):,} parameters, expected {expected_count:,} (2m for the batch norm, "
               "m·out for the 1×1 convolution).")

        _randomise_batch_norms(transition, generator)
        reference = TorchvisionTransition(in_channels, out_channels)
        _load_into(reference, transition, what)
        transition.eval()
        reference.eval()
        x = torch.randn(2, in_channels, size, size, generator=generator)
        with torch.no_grad():
            output = call_answer(transition, x.clone(), what=what, explain_crashes=True)
            expected = reference(x.clone())
        expect(isinstance(output, torch.Tensor), f"{what} should return a tensor, got {type(output).__name__}.")
        expect(tuple(output.shape) == tuple(expected.shape),
               f"{what} on a [2, {in_channels}, {size}, {size}] input should give {list(expected.shape)}, got "
               f"{list(output.shape)}. Did you apply the pooling?")
        if not torch.allclose(output, expected, rtol=1e-4, atol=1e-5):
            with torch.no_grad():
                no_relu = transition.pool(transition.conv(transition.norm(x)))
                pool_first = transition.conv(F.relu(transition.norm(transition.pool(x))))
            expect(not torch.allclose(output, no_relu, rtol=1e-4, atol=1e-5),
                   f"{what}: the ReLU is missing: norm → ReLU → conv → pool.")
            expect(not torch.allclose(output, pool_first, rtol=1e-4, atol=1e-5),
                   f"{what} pools before the batch norm and the ReLU. The order is norm → ReLU → conv → pool.")
            expect(False, f"{what}'s output differs from torchvision's _Transition with the same weights. The order is "
                          "norm → ReLU → conv → pool.")
    return passed("your transition matches torchvision's: BN, ReLU, 1×1 convolution, 2×2 average pooling.")


# --- exercise 4: a dense block's parameters by formula -----------------------------------------

def check_dense_block_parameters(dense_block_parameters) -> bool:
    """``dense_block_parameters(in_channels, num_layers, growth_rate, bn_size)`` is the parameter count of a
    block of bottleneck dense layers (torchvision's ``_DenseBlock``)."""
    generator = fresh_generator()
    cases = [(_randint(generator, 3, 40), _randint(generator, 2, 6), _randint(generator, 2, 12), 4) for _ in range(3)]
    cases.append((_randint(generator, 3, 40), _randint(generator, 2, 6), _randint(generator, 2, 12), _randint(generator, 2, 3)))
    for c0, layers, k, bn_size in cases:
        what = f"dense_block_parameters({c0}, {layers}, {k}, bn_size={bn_size})"
        value = _as_int(call_answer(dense_block_parameters, c0, layers, k, bn_size, what="dense_block_parameters"), what)
        expected = _count(TorchvisionDenseBlock(layers, c0, bn_size=bn_size, growth_rate=k, drop_rate=0))
        if value == expected:
            continue
        width = bn_size * k
        reads = [c0 + i * k for i in range(layers)]
        no_norms = sum(c * width + 9 * width * k for c in reads)
        wrong = {
            "The batch norms are missing: each has 2 parameters per channel (γ and β), and every layer has two of them "
            "(over its c input channels and over the bn_size·k bottleneck channels).": no_norms,
            "Each batch norm has 2 parameters per channel, γ and β. Its running mean and variance are buffers, "
            "not parameters.": no_norms + sum(4 * c + 4 * width for c in reads),
            "Every layer reads the whole stack so far: layer i (counting from 0) reads c0 + i·k channels, "
            "not c0.": layers * _dense_layer_parameters(c0, k, bn_size),
            "Layer i (counting from 0) reads c0 + i·k channels: the first layer reads the block's input, c0.":
                sum(_dense_layer_parameters(c + k, k, bn_size) for c in reads),
            "These are bottleneck layers: a 1×1 convolution to bn_size·k channels, then a 3×3 from bn_size·k to k, "
            "each with a batch norm in front.": sum(2 * c + 9 * c * k for c in reads),
            "DenseNet's convolutions have no bias.": expected + layers * (width + k),
            "The 3×3 convolution maps bn_size·k channels to k: 9·(bn_size·k)·k weights.":
                sum(2 * c + c * width + 2 * width + 9 * width * width for c in reads),
        }
        for hint, wrong_value in wrong.items():
            expect(value != wrong_value, f"{what} = {value:,}, expected {expected:,}. {hint}")
        expect(False, f"{what} should be {expected:,}, got {value:,}. Per layer reading c channels: 2c + c·(bn_size·k) "
                      "+ 2·(bn_size·k) + 9·(bn_size·k)·k; add this up over the layers, with c = c0 + i·k.")
    return passed("the parameter count of a dense block, by formula.")


# --- exercise 5: a whole DenseNet --------------------------------------------------------------

def _mistake_hints(what: str, value: int, block_config, growth_rate: int, num_init_features: int, num_classes: int) -> None:
    args = (block_config, growth_rate, num_init_features, num_classes)
    mistakes = {
        "There is a transition after the last dense block; the last block goes straight to the final batch norm.":
            densenet_parameters(*args, last_transition=True),
        "The final batch norm (over the last block's output, before the ReLU and pooling) is missing.":
            densenet_parameters(*args, final_norm=False),
        "The stem's batch norm (after the 7×7 convolution) is missing.": densenet_parameters(*args, stem_norm=False),
        "The transitions do not compress: use out = ⌊0.5·m⌋ channels (your transition_out_channels).":
            densenet_parameters(*args, compression=1.0),
        "The dense layers are not bottleneck layers: use your DenseLayer (1×1 to 4k, then 3×3 to k).":
            densenet_parameters(*args, basic_layers=True),
    }
    for hint, wrong in mistakes.items():
        expect(value != wrong, f"{what} has {value:,} parameters instead of {densenet_parameters(*args):,}. {hint}")


def check_densenet(make_densenet) -> bool:
    """``make_densenet(block_config, growth_rate, num_init_features, num_classes)`` builds torchvision's DenseNet
    layout: the same parameter count (DenseNet-169 and a random small one) and logits of shape [B, num_classes]."""
    generator = fresh_generator()
    num_blocks = _randint(generator, 2, 4)
    small = (tuple(_randint(generator, 1, 4) for _ in range(num_blocks)), _randint(generator, 4, 12),
             _randint(generator, 8, 24), _randint(generator, 3, 20))
    for block_config, growth_rate, num_init_features, num_classes in [small, (DENSENET169_BLOCKS, 32, 64, 1000)]:
        what = f"make_densenet({block_config}, growth_rate={growth_rate}, num_init_features={num_init_features}, num_classes={num_classes})"
        model = _expect_module(call_answer(make_densenet, block_config, growth_rate, num_init_features, num_classes,
                                           what="make_densenet"), what)
        count, expected = _count(model), densenet_parameters(block_config, growth_rate, num_init_features, num_classes)
        if count != expected:
            _mistake_hints(what, count, block_config, growth_rate, num_init_features, num_classes)
            expect(False, f"{what} has {count:,} parameters, torchvision's DenseNet with these settings has "
                          f"{expected:,}. Compare the two with torchinfo.summary, block by block.")
        model.eval()
        images = torch.randn(2, 3, 64, 64, generator=generator)
        with torch.no_grad():
            logits = call_answer(model, images, what=what, explain_crashes=True,
                                 hint="follow the channels: each block adds L·k, each transition keeps ⌊m/2⌋; the "
                                      "classifier reads the last block's channels after global average pooling.")
        expect(isinstance(logits, torch.Tensor) and tuple(logits.shape) == (2, num_classes),
               f"{what} on two 64×64 RGB images should give logits of shape (2, {num_classes}), got "
               f"{tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__}. End with global "
               "average pooling (e.g. nn.AdaptiveAvgPool2d(1)), nn.Flatten() and the linear layer.")
    return passed(f"your DenseNet-169 has {densenet_parameters(DENSENET169_BLOCKS, 32, 64):,} parameters, "
                  "exactly torchvision's densenet169.")
