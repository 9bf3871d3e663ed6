"""Checks for the exercises of ``module2_cnns/solutions/04_residual_connections.ipynb``.

Every check builds fresh random inputs (channel counts, images, small models), computes the
right answer itself, often with torchvision's own ResNet blocks, and compares, so a hard-coded
answer does not pass; a wrong answer gets an explanation of what went wrong and a hint
(``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock as TorchvisionBasicBlock
from torchvision.models.resnet import Bottleneck as TorchvisionBottleneck

from utils.checks import answer_as_int, call_answer, expect, fresh_generator, passed

__all__ = [
    "check_shortcut",
    "check_basic_block",
    "check_bottleneck",
    "check_block_parameter_counts",
    "check_weight_gradient_norms",
    "check_resnet34",
]

#: The number of blocks in each of ResNet-34's four stages, and their widths.
RESNET34_BLOCKS = (3, 4, 6, 3)
RESNET_WIDTHS = (64, 128, 256, 512)


# --- helpers -----------------------------------------------------------------------------------

def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _randint(generator: torch.Generator, low: int, high: int) -> int:
    """A random integer in [low, high]."""
    return int(torch.randint(low, high + 1, (), generator=generator))


def _projection(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                         nn.BatchNorm2d(out_channels))


def _needs_projection(in_channels: int, out_channels: int, stride: int) -> bool:
    return stride != 1 or in_channels != out_channels


def _randomise_batch_norms(module: nn.Module, generator: torch.Generator) -> None:
    """Random scales and shifts, so that a misplaced batch norm or ReLU changes the output."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=generator) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=generator) * 0.5)


def _expect_module(value, what: str) -> nn.Module:
    expect(isinstance(value, nn.Module), f"{what} should give an nn.Module, got {type(value).__name__}: {value!r}")
    return value


def _expect_attributes(block: nn.Module, names: tuple[str, ...], what: str) -> None:
    missing = [name for name in names if not isinstance(getattr(block, name, None), nn.Module)]
    expect(not missing, f"{what} has no layer called {', '.join(missing)}. Name the layers as the exercise says "
                        f"({', '.join(names)}): the check looks them up by name, as torchvision does.")


def _load_into_torchvision(block: nn.Module, reference: nn.Module, what: str) -> None:
    """Copy the learner's weights into torchvision's block (``shortcut.*`` becomes ``downsample.*``)."""
    state = {name.replace("shortcut.", "downsample.", 1) if name.startswith("shortcut.") else name: value
             for name, value in block.state_dict().items()}
    wanted = reference.state_dict()
    unexpected = sorted(set(state) - set(wanted))
    missing = sorted(set(wanted) - set(state))
    expect(not unexpected and not missing,
           f"{what}: its layers do not line up with torchvision's (unexpected {unexpected[:4]}, missing {missing[:4]}). "
           "Use exactly the layers the exercise lists, with those names; the shortcut is `nn.Identity()` or "
           "`nn.Sequential(conv, batch norm)`.")
    for name, value in state.items():
        expect(value.shape == wanted[name].shape,
               f"{what}: `{name.replace('downsample.', 'shortcut.')}` has shape {tuple(value.shape)}, "
               f"expected {tuple(wanted[name].shape)}.")
    reference.load_state_dict(state)


def _check_conv(conv: nn.Conv2d, kernel: int, stride: int, what: str, name: str, stride_hint: str = "") -> None:
    expect(isinstance(conv, nn.Conv2d), f"{what}: `{name}` should be an nn.Conv2d, got {type(conv).__name__}.")
    expect(conv.kernel_size == (kernel, kernel),
           f"{what}: `{name}` should be a {kernel}×{kernel} convolution, got kernel_size={conv.kernel_size}.")
    expect(conv.bias is None, f"{what}: `{name}` has a bias. Use bias=False: the batch norm right after it "
                              "subtracts the mean (which cancels any bias) and adds its own shift β.")
    expect(conv.stride == (stride, stride), f"{what}: `{name}` should have stride {stride}, got {conv.stride}. {stride_hint}")


def _diagnose_block_output(output, block, x, shortcut_out, branch, what: str) -> None:
    """Explain the usual mistakes in a block's forward, given its branch F(x) and shortcut(x)."""
    expect(not torch.allclose(output, branch, atol=1e-5),
           f"{what} returns F(x) without the shortcut: add `self.shortcut(x)` before the last ReLU.")
    expect(not torch.allclose(output, F.relu(branch), atol=1e-5),
           f"{what} returns ReLU(F(x)), a plain block: add the shortcut, ReLU(F(x) + shortcut(x)).")
    expect(bool((output >= 0).all()),
           f"{what} gives negative outputs: apply the ReLU *after* the addition, ReLU(F(x) + shortcut(x)).")
    expect(not torch.allclose(output, F.relu(branch) + shortcut_out, atol=1e-5),
           f"{what} computes ReLU(F(x)) + shortcut(x). The ReLU comes after the addition: ReLU(F(x) + shortcut(x)).")


# --- exercise 1: the projection shortcut -------------------------------------------------------

def check_shortcut(make_shortcut) -> bool:
    """``make_shortcut(in_channels, out_channels, stride)`` gives ``nn.Identity()`` when the shapes match,
    else a 1×1 convolution (that stride, no bias) followed by ``nn.BatchNorm2d(out_channels)``."""
    generator = fresh_generator()
    channels = _randint(generator, 3, 8)
    x = torch.randn(2, channels, 6, 6, generator=generator)
    identity = _expect_module(call_answer(make_shortcut, channels, channels, 1, what="make_shortcut"),
                              f"make_shortcut({channels}, {channels}, 1)")
    expect(_count(identity) == 0,
           f"make_shortcut({channels}, {channels}, 1): the shapes match, so the shortcut should be the identity, with "
           f"no parameters; yours has {_count(identity)}. Hint: `return nn.Identity()` in that case.")
    with torch.no_grad():
        output = call_answer(identity, x.clone(), what=f"make_shortcut({channels}, {channels}, 1)", explain_crashes=True)
    expect(isinstance(output, torch.Tensor) and output.shape == x.shape and torch.equal(output, x),
           f"make_shortcut({channels}, {channels}, 1) should return its input unchanged (the identity).")

    in_channels = _randint(generator, 3, 8)
    out_channels = in_channels * 2
    for in_c, out_c, stride in [(in_channels, out_channels, 2), (in_channels, out_channels, 1), (channels, channels, 2)]:
        what = f"make_shortcut({in_c}, {out_c}, stride={stride})"
        module = _expect_module(call_answer(make_shortcut, in_c, out_c, stride, what="make_shortcut"), what)
        expect(_count(module) > 0,
               f"{what}: the {'stride' if stride != 1 else 'number of channels'} changes the shape here, so x cannot "
               "be added to F(x) as it is. The shortcut needs a projection: a 1×1 convolution, then batch norm.")
        convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
        norms = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
        expect(len(convs) == 1, f"{what}: the projection has exactly one nn.Conv2d, yours has {len(convs)}.")
        _check_conv(convs[0], 1, stride, what, "the convolution")
        expect(convs[0].in_channels == in_c and convs[0].out_channels == out_c,
               f"{what}: the convolution should map {in_c} to {out_c} channels, yours maps "
               f"{convs[0].in_channels} to {convs[0].out_channels}.")
        expect(convs[0].padding == (0, 0), f"{what}: a 1×1 convolution needs no padding (yours has {convs[0].padding}).")
        expect(len(norms) == 1 and norms[0].num_features == out_c,
               f"{what}: follow the convolution by one nn.BatchNorm2d({out_c}), as ResNet does.")
        expect(_count(module) == in_c * out_c + 2 * out_c,
               f"{what} has {_count(module)} parameters, expected {in_c * out_c + 2 * out_c} "
               f"({in_c}·{out_c} weights and 2·{out_c} for the batch norm). Use only those two layers.")
        x = torch.randn(2, in_c, 7, 7, generator=generator)
        module.train()
        with torch.no_grad():
            output = call_answer(module, x, what=what, explain_crashes=True)
            expected = norms[0](convs[0](x))
        size = (7 - 1) // stride + 1
        expect(isinstance(output, torch.Tensor) and tuple(output.shape) == (2, out_c, size, size),
               f"{what} on a [2, {in_c}, 7, 7] input should give [2, {out_c}, {size}, {size}], got "
               f"{tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__}.")
        expect(torch.allclose(output, expected, atol=1e-5),
               f"{what} should compute BatchNorm(Conv1x1(x)): first the convolution, then the batch norm, and nothing "
               "else (no ReLU: in the block, the ReLU comes after the addition).")
    return passed("the identity when the shapes match, a 1×1 convolution with batch norm when they do not.")


# --- exercise 2: the basic block ---------------------------------------------------------------

def _torchvision_basic_block(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    downsample = _projection(in_channels, out_channels, stride) if _needs_projection(in_channels, out_channels, stride) else None
    return TorchvisionBasicBlock(in_channels, out_channels, stride=stride, downsample=downsample)


def check_basic_block(BasicBlock) -> bool:
    """``BasicBlock(in_channels, out_channels, stride=1)`` with layers conv1, bn1, conv2, bn2, shortcut computes
    ReLU(bn2(conv2(ReLU(bn1(conv1(x))))) + shortcut(x)), like torchvision's BasicBlock."""
    generator = fresh_generator()
    channels = _randint(generator, 3, 8)
    in_channels = _randint(generator, 3, 8)
    cases = [(channels, channels, 1), (in_channels, 2 * in_channels, 2), (channels, channels, 2)]
    for in_c, out_c, stride in cases:
        what = f"BasicBlock({in_c}, {out_c}, stride={stride})"
        block = _expect_module(call_answer(BasicBlock, in_c, out_c, stride, what="BasicBlock"), what)
        _expect_attributes(block, ("conv1", "bn1", "conv2", "bn2", "shortcut"), what)
        where = "The stride goes on the first convolution, as in torchvision."
        _check_conv(block.conv1, 3, stride, what, "conv1", where)
        _check_conv(block.conv2, 3, 1, what, "conv2", where)
        expect(block.conv1.padding == (1, 1) and block.conv2.padding == (1, 1),
               f"{what}: use padding=1 on both 3×3 convolutions, so that they keep the image size.")
        reference = _torchvision_basic_block(in_c, out_c, stride)
        projection = _needs_projection(in_c, out_c, stride)
        expect(not projection or _count(block.shortcut) > 0,
               f"{what}: the shapes change here, so the shortcut needs a projection (your make_shortcut from "
               "exercise 1), not the identity.")
        expect(projection or _count(block.shortcut) == 0,
               f"{what}: the shapes match here, so the shortcut should be the identity (no parameters).")
        expect(_count(block) == _count(reference),
               f"{what} has {_count(block):,} parameters, torchvision's {_count(reference):,}. Two 3×3 convolutions "
               "without bias, two batch norms, and the shortcut.")

        x = F.relu(torch.randn(3, in_c, 8, 8, generator=generator))  # a block's input comes out of a ReLU
        block.train()
        with torch.no_grad():
            nn.init.zeros_(block.bn2.weight)
            nn.init.zeros_(block.bn2.bias)
            output = call_answer(block, x, what=what, explain_crashes=True,
                                 hint="check the shapes: with a stride or new channel count the shortcut must be a projection.")
            expect(isinstance(output, torch.Tensor), f"{what} should return a tensor, got {type(output).__name__}.")
            size = (8 - 1) // stride + 1
            expect(tuple(output.shape) == (3, out_c, size, size),
                   f"{what} on a [3, {in_c}, 8, 8] input should give [3, {out_c}, {size}, {size}], got {tuple(output.shape)}.")
            identity_output = F.relu(block.shortcut(x))
            expect(bool((output >= 0).all()),
                   f"{what} gives negative outputs: apply the ReLU *after* the addition, ReLU(F(x) + shortcut(x)).")
            expect(bool(output.abs().sum() > 0) or bool(identity_output.abs().sum() == 0),
                   f"with bn2's γ and β at zero, F(x) = 0 and {what} should return ReLU(shortcut(x)); yours returned "
                   "zeros. Did you add the shortcut?")
            expect(torch.allclose(output, identity_output, atol=1e-5),
                   f"with bn2's γ and β at zero, F(x) = 0, so {what} should return ReLU(shortcut(x))"
                   + (" = x, the identity" if not projection else "") + ". Yours does not: is bn2 the last layer of "
                   "the branch, and is the shortcut added before the final ReLU?")

            _randomise_batch_norms(block, generator)
            _load_into_torchvision(block, reference, what)
            reference.train()
            output = block(x)
            expected = reference(x)
            if not torch.allclose(output, expected, rtol=1e-4, atol=1e-5):
                branch = block.bn2(block.conv2(F.relu(block.bn1(block.conv1(x)))))
                _diagnose_block_output(output, block, x, block.shortcut(x), branch, what)
                expect(False, f"{what}'s output differs from torchvision's BasicBlock with the same weights. It should be "
                              "ReLU(bn2(conv2(ReLU(bn1(conv1(x))))) + shortcut(x)).")
    return passed("your basic block matches torchvision's, with an identity or a projection shortcut, and is the "
                  "identity when its last γ is zero.")


# --- exercise 3: the bottleneck block ----------------------------------------------------------

def _torchvision_bottleneck(in_channels: int, width: int, stride: int) -> nn.Module:
    out_channels = 4 * width
    downsample = _projection(in_channels, out_channels, stride) if _needs_projection(in_channels, out_channels, stride) else None
    return TorchvisionBottleneck(in_channels, width, stride=stride, downsample=downsample)


def check_bottleneck(Bottleneck) -> bool:
    """``Bottleneck(in_channels, width, stride=1)`` (output 4·width channels) with layers conv1, bn1, conv2, bn2,
    conv3, bn3, shortcut matches torchvision's Bottleneck (the stride on the 3×3 convolution)."""
    generator = fresh_generator()
    width = _randint(generator, 2, 4)
    cases = [(4 * width, width, 1), (width, width, 1), (4 * width, 2 * width, 2)]
    for in_c, w, stride in cases:
        out_c = 4 * w
        what = f"Bottleneck({in_c}, {w}, stride={stride})"
        block = _expect_module(call_answer(Bottleneck, in_c, w, stride, what="Bottleneck"), what)
        _expect_attributes(block, ("conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "shortcut"), what)
        where = "The stride goes on the 3×3 convolution (conv2), as in torchvision."
        _check_conv(block.conv1, 1, 1, what, "conv1", where)
        _check_conv(block.conv2, 3, stride, what, "conv2", where)
        _check_conv(block.conv3, 1, 1, what, "conv3", where)
        expect(block.conv1.out_channels == w and block.conv2.out_channels == w,
               f"{what}: conv1 squeezes {in_c} channels to the width {w}, conv2 keeps {w}; yours give "
               f"{block.conv1.out_channels} and {block.conv2.out_channels}.")
        expect(block.conv3.out_channels == out_c,
               f"{what}: conv3 expands to 4 × width = {out_c} channels, yours to {block.conv3.out_channels}.")
        expect(block.conv2.padding == (1, 1), f"{what}: the 3×3 convolution needs padding=1.")
        projection = _needs_projection(in_c, out_c, stride)
        expect(not projection or _count(block.shortcut) > 0,
               f"{what}: the block's output has {out_c} channels" + (f" and stride {stride}" if stride != 1 else "")
               + f", its input {in_c}: the shortcut needs a projection.")
        expect(projection or _count(block.shortcut) == 0,
               f"{what}: input and output both have {out_c} channels at the same size: the shortcut is the identity.")
        reference = _torchvision_bottleneck(in_c, w, stride)
        expect(_count(block) == _count(reference),
               f"{what} has {_count(block):,} parameters, torchvision's {_count(reference):,}.")

        x = F.relu(torch.randn(3, in_c, 8, 8, generator=generator))
        block.train()
        with torch.no_grad():
            nn.init.zeros_(block.bn3.weight)
            nn.init.zeros_(block.bn3.bias)
            output = call_answer(block, x, what=what, explain_crashes=True,
                                 hint="the output has 4 × width channels; where the shapes differ the shortcut is a projection.")
            expect(isinstance(output, torch.Tensor), f"{what} should return a tensor, got {type(output).__name__}.")
            size = (8 - 1) // stride + 1
            expect(tuple(output.shape) == (3, out_c, size, size),
                   f"{what} on a [3, {in_c}, 8, 8] input should give [3, {out_c}, {size}, {size}], got {tuple(output.shape)}.")
            expect(bool((output >= 0).all()),
                   f"{what} gives negative outputs: apply the ReLU *after* the addition, ReLU(F(x) + shortcut(x)).")
            expect(torch.allclose(output, F.relu(block.shortcut(x)), atol=1e-5),
                   f"with bn3's γ and β at zero, F(x) = 0, so {what} should return ReLU(shortcut(x)). Is bn3 the last "
                   "layer of the branch, and is the shortcut added before the final ReLU?")

            _randomise_batch_norms(block, generator)
            _load_into_torchvision(block, reference, what)
            reference.train()
            output, expected = block(x), reference(x)
            if not torch.allclose(output, expected, rtol=1e-4, atol=1e-5):
                branch = block.bn3(block.conv3(F.relu(block.bn2(block.conv2(F.relu(block.bn1(block.conv1(x))))))))
                _diagnose_block_output(output, block, x, block.shortcut(x), branch, what)
                expect(False, f"{what}'s output differs from torchvision's Bottleneck with the same weights. Each of the "
                              "first two convolutions is followed by its batch norm and a ReLU; the third by its batch "
                              "norm only; then add the shortcut and apply the ReLU.")
    return passed("your bottleneck block matches torchvision's: squeeze, 3×3, expand, and a shortcut.")


# --- exercise 4: parameter counts by formula ---------------------------------------------------

def _basic_block_parameters(channels: int) -> int:
    return 2 * 9 * channels * channels + 2 * 2 * channels


def _bottleneck_parameters(channels: int) -> int:
    width = channels // 4
    return channels * width + 9 * width * width + width * channels + 2 * width + 2 * width + 2 * channels


def check_block_parameter_counts(basic_block_parameters, bottleneck_parameters) -> bool:
    """``basic_block_parameters(c)`` and ``bottleneck_parameters(c)``: the parameters of a block with c channels in
    and out (identity shortcut; the bottleneck's width is c // 4), by formula."""
    generator = fresh_generator()
    for channels in [4 * _randint(generator, 2, 32), 4 * _randint(generator, 33, 128), 256]:
        basic = answer_as_int(call_answer(basic_block_parameters, channels, what="basic_block_parameters"),
                        f"basic_block_parameters({channels})")
        want = _basic_block_parameters(channels)
        where = f"basic_block_parameters({channels}) = {basic:,}, expected {want:,}"
        if basic != want:
            expect(basic != 2 * 9 * channels * channels, f"{where}. You counted the convolutions' weights; add the two "
                                                         "batch norms, γ and β for every channel.")
            expect(basic != want + 2 * 2 * channels, f"{where}. The running mean and variance of a batch norm are "
                                                     "buffers, not parameters: count only γ and β.")
            expect(basic != want + 2 * channels, f"{where}. The convolutions have no bias (bias=False): drop it.")
            expect(basic != 2 * channels * channels + 4 * channels, f"{where}. Each output channel of a 3×3 convolution "
                                                                    "has 3·3·in_channels weights: multiply by 9.")
            expect(False, f"{where}. Hint: 2 convolutions of 3·3·c·c weights, 2 batch norms of 2·c.")
        bottleneck = answer_as_int(call_answer(bottleneck_parameters, channels, what="bottleneck_parameters"),
                             f"bottleneck_parameters({channels})")
        want = _bottleneck_parameters(channels)
        where = f"bottleneck_parameters({channels}) = {bottleneck:,}, expected {want:,}"
        if bottleneck != want:
            width = channels // 4
            weights = 2 * channels * width + 9 * width * width
            expect(bottleneck != weights, f"{where}. You counted the convolutions' weights; add the three batch norms "
                                          f"(2·{width}, 2·{width} and 2·{channels}).")
            expect(bottleneck != weights + 2 * 3 * width, f"{where}. The last batch norm follows the expanding 1×1 "
                                                          f"convolution, so it has {channels} channels, not {width}.")
            expect(bottleneck != _basic_block_parameters(channels),
                   f"{where}. That is the basic block's count: the bottleneck squeezes to c // 4 = {width} channels.")
            expect(False, f"{where}. Hint: 1×1 from c to c/4, 3×3 at c/4, 1×1 back to c, and a batch norm after each.")
    return passed(f"at 256 channels a basic block has {_basic_block_parameters(256):,} parameters, a bottleneck block "
                  f"{_bottleneck_parameters(256):,}: {_basic_block_parameters(256) / _bottleneck_parameters(256):.1f} times fewer.")


# --- exercise 5: gradient norm per layer -------------------------------------------------------

class _TinyResidualCNN(nn.Module):
    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.stem = nn.Conv2d(2, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = F.relu(x + self.conv2(F.relu(self.bn(self.conv1(x)))))
        return self.head(x.mean(dim=(2, 3)))


def _layers_with_weights(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _reference_weight_gradient_norms(model, images, labels) -> list[float]:
    model.zero_grad()
    F.cross_entropy(model(images), labels).backward()
    return [layer.weight.grad.norm().item() for layer in _layers_with_weights(model)]


def check_weight_gradient_norms(weight_gradient_norms) -> bool:
    """``weight_gradient_norms(model, images, labels)``: zero the old gradients, one cross-entropy backward pass,
    then the L2 norm of the weight gradient of every nn.Conv2d and nn.Linear, in the order of model.modules()."""
    generator = fresh_generator()
    channels, num_classes = _randint(generator, 3, 6), _randint(generator, 3, 5)
    torch.manual_seed(_randint(generator, 0, 10_000))
    model = _TinyResidualCNN(channels, num_classes)
    images = torch.randn(8, 2, 6, 6, generator=generator)
    labels = torch.randint(0, num_classes, (8,), generator=generator)
    expected = _reference_weight_gradient_norms(model, images, labels)
    stale = {}
    for name, parameter in model.named_parameters():  # left over from an earlier step: must be zeroed first
        parameter.grad = torch.randn(parameter.shape, generator=generator)
        stale[name] = parameter.grad.clone()
    result = call_answer(weight_gradient_norms, model, images, labels, what="weight_gradient_norms")
    expect(isinstance(result, (list, tuple)), f"weight_gradient_norms should return a list of numbers, got {type(result).__name__}.")
    layers = _layers_with_weights(model)
    parameters = list(model.parameters())
    expect(len(result) != len(parameters),
           f"you returned {len(result)} numbers, one per parameter; return one per layer with weights "
           f"(nn.Conv2d and nn.Linear: {len(layers)} here), the norm of `layer.weight.grad`, without biases.")
    expect(len(result) != 2 * len(layers),
           f"you returned {len(result)} numbers, two per layer: return only the norm of each layer's weight gradient, "
           "without biases.")
    expect(len(result) != len(layers) + 1,
           f"you returned {len(result)} numbers; the batch norm is not a layer we measure here: only nn.Conv2d and nn.Linear.")
    expect(len(result) == len(layers),
           f"this model has {len(layers)} layers with weights (nn.Conv2d and nn.Linear), you returned {len(result)} numbers.")
    values = []
    for i, value in enumerate(result):
        if isinstance(value, torch.Tensor):
            expect(value.numel() == 1, f"entry {i} should be one number, got a tensor of shape {tuple(value.shape)}.")
            value = value.item()
        expect(isinstance(value, (int, float)) and not isinstance(value, bool),
               f"entry {i} should be a number (use `.item()`), got {type(value).__name__}.")
        values.append(float(value))
    if all(math.isclose(v, e, rel_tol=1e-4, abs_tol=1e-9) for v, e in zip(values, expected)):
        return passed("one backward pass from zeroed gradients, and the norm of each layer's weight gradient.")
    expect(not all(math.isclose(v, e, rel_tol=1e-4) for v, e in zip(values, reversed(expected))),
           "your numbers are in reverse order: go from the input side to the output side, as model.modules() does.")
    accumulated = [layer.weight.grad.norm().item() if layer.weight.grad is not None else 0.0 for layer in layers]
    stale_by_id = {id(p): stale[n] for n, p in model.named_parameters()}
    with_stale = [stale_by_id[id(layer.weight)].norm().item() for layer in layers]
    expect(not all(math.isclose(v, s, rel_tol=1e-4) for v, s in zip(values, with_stale)),
           "these are the norms of the old gradients: run the forward and backward pass first.")
    expect(not (all(math.isclose(v, a, rel_tol=1e-4) for v, a in zip(values, accumulated))
                and not all(math.isclose(a, e, rel_tol=1e-4) for a, e in zip(accumulated, expected))),
           "the model already had gradients from an earlier step, and backward() adds to them: call "
           "model.zero_grad() before the backward pass.")
    grads = [layer.weight.grad if layer.weight.grad is not None else torch.zeros_like(layer.weight) for layer in layers]
    expect(not all(math.isclose(v, g.abs().mean().item(), rel_tol=1e-4) for v, g in zip(values, grads)),
           "that is the mean |grad|; the L2 norm is sqrt(sum of squares): `layer.weight.grad.norm()`.")
    expect(not all(math.isclose(v, (g**2).sum().item(), rel_tol=1e-4) for v, g in zip(values, grads)),
           "that is the squared norm; take the square root: `layer.weight.grad.norm()`.")
    expect(not all(math.isclose(v, layer.weight.detach().norm().item(), rel_tol=1e-4) for v, layer in zip(values, layers)),
           "that is the norm of the weights themselves; take the norm of their gradient, `layer.weight.grad`.")
    wrong = next(i for i, (v, e) in enumerate(zip(values, expected)) if not math.isclose(v, e, rel_tol=1e-4, abs_tol=1e-9))
    expect(False, f"layer {wrong} ({type(layers[wrong]).__name__}): got {values[wrong]:.4g}, expected {expected[wrong]:.4g}. "
                  "Hint: model.zero_grad(); F.cross_entropy(model(images), labels).backward(); then "
                  "`layer.weight.grad.norm().item()` for every nn.Conv2d and nn.Linear in model.modules().")
    raise AssertionError("unreachable")


# --- exercise 6: ResNet-34 ---------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _torchvision_resnet34_parameters(num_classes: int) -> int:
    return _count(torchvision.models.resnet34(weights=None, num_classes=num_classes))


def check_resnet34(make_resnet34, BasicBlock) -> bool:
    """``make_resnet34(num_classes)`` builds ResNet-34 from ``BasicBlock``: torchvision's parameter count, blocks
    (3, 4, 6, 3) at widths 64-512, the image halved at the start of stages 2-4, and ``num_classes`` logits."""
    generator = fresh_generator()
    num_classes = _randint(generator, 5, 20)
    model = _expect_module(call_answer(make_resnet34, num_classes, what="make_resnet34"), f"make_resnet34({num_classes})")
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    expect(len(blocks) == sum(RESNET34_BLOCKS),
           f"ResNet-34 has {sum(RESNET34_BLOCKS)} basic blocks (3, 4, 6 and 3 in its four stages); yours has {len(blocks)}. "
           "Build it from the BasicBlock class you pass to the check.")
    outputs = []
    hooks = [block.register_forward_hook(lambda module, inputs, output: outputs.append(tuple(output.shape)))
             for block in blocks]
    images = torch.randn(2, 3, 64, 64, generator=generator)
    model.train()
    try:
        with torch.no_grad():
            logits = call_answer(model, images, what=f"make_resnet34({num_classes})", explain_crashes=True,
                                 hint="each block's in_channels must be the previous block's out_channels.")
    finally:
        for hook in hooks:
            hook.remove()
    expected_shapes = []
    for stage, (width, count) in enumerate(zip(RESNET_WIDTHS, RESNET34_BLOCKS)):
        expected_shapes += [(2, width, 16 // 2**stage, 16 // 2**stage)] * count
    for i, (got, want) in enumerate(zip(outputs, expected_shapes)):
        if got != want:
            stage = next(s for s in range(4) if i < sum(RESNET34_BLOCKS[:s + 1]))
            expect(got[1] == want[1], f"block {i + 1} (stage {stage + 1}) outputs {got[1]} channels, expected {want[1]}: "
                                      "the stages are 64, 128, 256 and 512 channels wide.")
            expect(False, f"for a 64×64 image, block {i + 1} (stage {stage + 1}) should output {want[2]}×{want[3]} pixels, "
                          f"yours gives {got[2]}×{got[3]}. The stem (7×7 conv with stride 2, then a 3×3 max pool with "
                          "stride 2) makes 64×64 into 16×16; stage 1 keeps the size; the first block of each later stage "
                          "has stride 2.")
    expect(isinstance(logits, torch.Tensor) and tuple(logits.shape) == (2, num_classes),
           f"make_resnet34({num_classes}) should give logits of shape (2, {num_classes}) for two images, got "
           f"{tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__}. Hint: global average "
           "pooling, flatten, then nn.Linear(512, num_classes).")
    want = _torchvision_resnet34_parameters(num_classes)
    expect(_count(model) == want,
           f"make_resnet34({num_classes}) has {_count(model):,} parameters, torchvision's resnet34 {want:,}. "
           "Stem: a 7×7 convolution without bias (3 → 64), batch norm, ReLU, max pool.")
    with_1000_classes = want - (512 + 1) * num_classes + (512 + 1) * 1000
    return passed(f"your ResNet-34 has torchvision's parameter count ({with_1000_classes:,} with 1000 classes), "
                  "and the right shape after every block.")
