"""Checks for the exercises of ``module2_cnns/solutions/05_inception_modules.ipynb``.

Every check draws fresh random sizes and inputs, computes the right answer itself (mostly by
asking PyTorch: its layers, its FLOP counter, its convolution) and compares, so a hard-coded answer
does not pass; a wrong answer gets an explanation of what went wrong and a hint
(``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import itertools
import math
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from utils.checks import (
    ExerciseError,
    answer_as_int,
    answer_as_number,
    call_answer,
    expect,
    fresh_generator,
    passed,
)

__all__ = [
    "check_conv_cost",
    "check_pointwise_conv",
    "check_inception_block",
    "check_savings_factor",
    "check_break_even_width",
]

BRANCH_NAMES = ("1×1", "1×1 → 3×3", "1×1 → 5×5", "pool → 1×1")


# --- helpers -----------------------------------------------------------------------------------

def _randint(generator: torch.Generator, low: int, high: int) -> int:
    """A random int in [low, high]."""
    return int(torch.randint(low, high + 1, (), generator=generator).item())


def _distinct(generator: torch.Generator, count: int, low: int, high: int) -> list[int]:
    """``count`` different random ints in [low, high]."""
    return [low + int(i) for i in torch.randperm(high - low + 1, generator=generator)[:count]]


def _diagnose_cases(answers: dict, expected: dict, mistakes: list, formula: str, describe, rel_tol: float = 0.0) -> None:
    """Return when every answer is right (exactly, or within ``rel_tol``); otherwise explain with the first
    typical mistake that reproduces *all* the answers (so one coincidence cannot mislead), or else show the formula."""
    def close(a, b):
        return a == b or math.isclose(a, b, rel_tol=rel_tol)

    if all(close(answers[case], expected[case]) for case in answers):
        return
    explanation = next((explanation for wrong_formula, explanation in mistakes
                        if all(close(answers[case], wrong_formula(*case)) for case in answers)),
                       f"The formula: {formula}.")
    case = next(case for case in answers if not close(answers[case], expected[case]))
    expect(False, f"{describe(case)} should be {expected[case]:,}, you gave {answers[case]:,}: {explanation}")


# --- exercise 1: the cost of a convolution -------------------------------------------------------

def _reference_conv_cost(in_channels, out_channels, kernel_size, height, width, stride, padding):
    """(parameters, MACs) of a real nn.Conv2d, counted by PyTorch (MACs = FLOPs / 2, biases not included)."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        conv(torch.zeros(1, in_channels, height, width))
    return sum(p.numel() for p in conv.parameters()), counter.get_total_flops() // 2


def _out(size, kernel_size, stride, padding):
    return (size + 2 * padding - kernel_size) // stride + 1


def check_conv_cost(conv_cost) -> bool:
    """``conv_cost(in_channels, out_channels, kernel_size, height, width, stride=1, padding=0)`` returns
    ``(parameters, macs)`` of ``nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding)`` on a
    ``height × width`` input: (k² C_in + 1) C_out, and H' W' k² C_in C_out multiply-accumulates."""
    generator = fresh_generator()
    cases = [
        (_randint(generator, 2, 48), _randint(generator, 2, 48), 3, _randint(generator, 6, 30), _randint(generator, 6, 30), 1, 1),
        (_randint(generator, 2, 48), _randint(generator, 2, 48), 1, _randint(generator, 6, 30), _randint(generator, 6, 30), 1, 0),
        (_randint(generator, 2, 48), _randint(generator, 2, 48), 5, _randint(generator, 8, 30), _randint(generator, 8, 30), 1, 0),
        (_randint(generator, 2, 48), _randint(generator, 2, 48), 3, _randint(generator, 9, 31), _randint(generator, 9, 31), 2, 1),
        (16, 32, 5, 28, 28, 1, 2),  # the 5x5 convolution of inception (3a)
    ]
    answers = {"parameters": {}, "MACs": {}}
    expected = {"parameters": {}, "MACs": {}}
    for case in cases:
        called = "conv_cost({}, {}, {}, {}, {}, stride={}, padding={})".format(*case)
        result = call_answer(conv_cost, *case[:5], stride=case[5], padding=case[6], what="conv_cost")
        expect(isinstance(result, (tuple, list)) and len(result) == 2,
               f"conv_cost should return two numbers, `return parameters, macs`; {called} returned {result!r}.")
        answers["parameters"][case] = answer_as_int(result[0], f"the parameters of {called}")
        answers["MACs"][case] = answer_as_int(result[1], f"the MACs of {called}",
                                        "Hint: use integer division `//` in the output-size formula.")
        expected["parameters"][case], expected["MACs"][case] = _reference_conv_cost(*case)

    def describe(what):
        return lambda case: f"the {what} of conv_cost" + "({}, {}, {}, {}, {}, stride={}, padding={})".format(*case)

    parameter_mistakes = [
        (lambda i, o, k, h, w, s, p: k * k * i * o, "you left out the biases, one per output channel."),
        (lambda i, o, k, h, w, s, p: (k * i + 1) * o, "a kernel is k × k, so it has k² weights per input channel, not k."),
        (lambda i, o, k, h, w, s, p: (k * k + 1) * o, "each output channel has one k × k kernel for *every* input "
                                                      "channel; multiply by in_channels."),
        (lambda i, o, k, h, w, s, p: 2 * k * k * i * o, "there is one bias per output channel, not one per weight."),
    ]
    _diagnose_cases(answers["parameters"], expected["parameters"], parameter_mistakes,
                    "(k² · C_in + 1) · C_out", describe("parameters"))

    def output_positions(h, w, k, s, p):
        return _out(h, k, s, p) * _out(w, k, s, p)

    mac_mistakes = [
        (lambda i, o, k, h, w, s, p: h * w * k * k * i * o,
         "each weight is used once per *output* position, and the output is H' × W' with "
         "H' = ⌊(H + 2p − k) / s⌋ + 1, not the input's H × W."),
        (lambda i, o, k, h, w, s, p: 2 * output_positions(h, w, k, s, p) * k * k * i * o,
         "that is the number of FLOPs: a MAC is one multiplication *and* one addition, counted once."),
        (lambda i, o, k, h, w, s, p: output_positions(h, w, k, s, p) * (k * k * i + 1) * o,
         "leave the bias additions out: count one MAC per weight per output position, H' W' k² C_in C_out "
         "(torchinfo adds one per bias and output value; the paper and this course's formula do not)."),
        (lambda i, o, k, h, w, s, p: output_positions(h, w, k, s, p) * k * i * o,
         "a kernel is k × k: k² multiply-accumulates per input channel, not k."),
        (lambda i, o, k, h, w, s, p: output_positions(h, w, k, s, p) * k * k * o,
         "each output value is a dot product over a k × k window of *every* input channel: multiply by in_channels."),
        (lambda i, o, k, h, w, s, p: output_positions(h, w, k, s, p) * o,
         "that is the number of output values; each one costs k² · C_in multiply-accumulates."),
        (lambda i, o, k, h, w, s, p: (_out(h, k, s, p) ** 2) * k * k * i * o,
         "the output is H' × W', and H' and W' can differ: compute both from the input's height and width."),
    ]
    _diagnose_cases(answers["MACs"], expected["MACs"], mac_mistakes,
                    "H' · W' · k² · C_in · C_out, with H' = ⌊(H + 2p − k) / s⌋ + 1 (and W' likewise)", describe("MACs"))
    return passed("(k² C_in + 1) C_out parameters and H' W' k² C_in C_out MACs: the 5×5 convolution of (3a) "
                  "costs 12 832 parameters and 10 035 200 MACs.")


# --- exercise 2: a 1x1 convolution without a convolution ---------------------------------------------

@contextmanager
def _no_convolutions(calls: list):
    """Make the convolution functions refuse to run (and note the attempt in ``calls``) inside the block."""
    def refuse(*args, **kwargs):
        calls.append(True)
        raise RuntimeError("convolutions are switched off for this exercise")

    originals = (F.conv2d, torch.conv2d)
    F.conv2d = torch.conv2d = refuse
    try:
        yield
    finally:
        F.conv2d, torch.conv2d = originals


def check_pointwise_conv(pointwise_conv) -> bool:
    """``pointwise_conv(images [B, C_in, H, W], weight [C_out, C_in, 1, 1], bias [C_out])`` returns what
    ``F.conv2d(images, weight, bias)`` does, ``[B, C_out, H, W]``, computed without a convolution."""
    generator = fresh_generator()
    batch_size = _randint(generator, 2, 3)
    in_channels, out_channels, height, width = _distinct(generator, 4, 2, 9)
    images = torch.randn(batch_size, in_channels, height, width, generator=generator)
    weight = torch.randn(out_channels, in_channels, 1, 1, generator=generator)
    bias = torch.randn(out_channels, generator=generator)
    expected = F.conv2d(images, weight, bias)
    called = (f"pointwise_conv(images {tuple(images.shape)}, weight {tuple(weight.shape)}, "
              f"bias {tuple(bias.shape)})")
    convolution_calls = []
    used_convolution = ("pointwise_conv called a convolution (F.conv2d or nn.Conv2d). The point of this exercise is that "
                        "none is needed: write the sum over input channels with torch.einsum (or a matrix product), "
                        "and add the bias.")
    try:
        with _no_convolutions(convolution_calls):
            output = call_answer(pointwise_conv, images.clone(), weight.clone(), bias.clone(), what="pointwise_conv",
                                 explain_crashes=True,
                                 hint="the weight has shape [C_out, C_in, 1, 1]: `weight[:, :, 0, 0]` is the "
                                      "[C_out, C_in] matrix; then `torch.einsum('oc,bchw->bohw', matrix, images)`, "
                                      "plus the bias reshaped to [1, C_out, 1, 1].")
    except ExerciseError:
        expect(not convolution_calls, used_convolution)
        raise
    expect(not convolution_calls, used_convolution)
    expect(isinstance(output, torch.Tensor), f"pointwise_conv should return a tensor, got {type(output).__name__}.")
    expected_shape = (batch_size, out_channels, height, width)
    expect(tuple(output.shape) != (batch_size, height, width, out_channels),
           f"{called} returned the channels last, {tuple(output.shape)}; move them back to axis 1: "
           f"the result should be {expected_shape} (e.g. einsum '...->bohw', or .permute(0, 3, 1, 2)).")
    expect(tuple(output.shape) == expected_shape,
           f"{called} should return shape {expected_shape} ([B, C_out, H, W]), got {tuple(output.shape)}.")
    output = output.detach().cpu().float()
    if torch.allclose(output, expected, rtol=1e-4, atol=1e-5):
        return passed("a 1×1 convolution is one matrix product per pixel: y[:, h, w] = W x[:, h, w] + b.")
    without_bias = F.conv2d(images, weight)
    expect(not torch.allclose(output, without_bias, rtol=1e-4, atol=1e-5),
           "the bias is missing: add `bias[None, :, None, None]` (one bias per output channel, at every pixel).")
    expect(not torch.allclose(output, without_bias - bias[None, :, None, None], rtol=1e-4, atol=1e-5),
           "the bias should be added, not subtracted.")
    expect(False, f"{called} computes something else than the 1×1 convolution: y[b, o, h, w] = bias[o] + "
                  "Σ_c weight[o, c, 0, 0] · images[b, c, h, w]. In einsum: 'oc,bchw->bohw'.")
    raise AssertionError("unreachable")


# --- exercise 3: the inception block ---------------------------------------------------------------

def _expected_weight_shapes(in_channels, ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj):
    return {
        "1×1": (ch1x1, in_channels, 1, 1),
        "3×3 reduce": (ch3x3_reduce, in_channels, 1, 1),
        "3×3": (ch3x3, ch3x3_reduce, 3, 3),
        "5×5 reduce": (ch5x5_reduce, in_channels, 1, 1),
        "5×5": (ch5x5, ch5x5_reduce, 5, 5),
        "pool proj": (pool_proj, in_channels, 1, 1),
    }


def _reference_branches(convs: dict, images, *, relu_after_reduce=True, relu_at_end=True, pool=True):
    """The four branch outputs, computed with the learner's convolutions (found by weight shape)."""
    def apply(name, x, relu):
        conv = convs[name]
        y = F.conv2d(x, conv.weight, conv.bias, padding=conv.weight.shape[-1] // 2)
        return torch.relu(y) if relu else y

    pooled = F.max_pool2d(images, 3, stride=1, padding=1) if pool else images
    return [
        apply("1×1", images, relu_at_end),
        apply("3×3", apply("3×3 reduce", images, relu_after_reduce), relu_at_end),
        apply("5×5", apply("5×5 reduce", images, relu_after_reduce), relu_at_end),
        apply("pool proj", pooled, relu_at_end),
    ]


def _branch_slices(widths: list[int]) -> list[slice]:
    starts = [sum(widths[:i]) for i in range(len(widths))]
    return [slice(start, start + width) for start, width in zip(starts, widths)]


def check_inception_block(inception_block_class) -> bool:
    """``InceptionBlock(in_channels, ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj)`` is an
    ``nn.Module`` whose forward concatenates, on the channel axis, four branches: a 1×1 convolution;
    a 1×1 then a 3×3; a 1×1 then a 5×5; a 3×3 max-pool (stride 1, padding 1) then a 1×1. Every
    convolution has a bias, keeps the height and width, and is followed by a ReLU."""
    generator = fresh_generator()
    for _ in range(2):  # two random blocks
        in_channels = _randint(generator, 3, 8)
        ch1x1, ch3x3_reduce, ch5x5_reduce, pool_proj = _distinct(generator, 4, 2, 9)
        ch3x3, ch5x5 = _randint(generator, 2, 9), _randint(generator, 2, 9)
        widths = (in_channels, ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj)
        called = "InceptionBlock({}, {}, {}, {}, {}, {}, {})".format(*widths)
        block = call_answer(inception_block_class, *widths, what="InceptionBlock(...)", explain_crashes=True,
                            hint="check __init__: every branch is built from the arguments it is given.")
        expect(isinstance(block, nn.Module), f"{called} should create an nn.Module, got a {type(block).__name__}. "
                                             "Pass the class itself: `check_inception_block(InceptionBlock)`.")
        block = block.cpu().eval()

        convs = [module for module in block.modules() if isinstance(module, nn.Conv2d)]
        expect(len(convs) == 6, f"{called} should have six convolutions (1×1; 1×1 and 3×3; 1×1 and 5×5; 1×1 after the "
                                f"pool), it has {len(convs)}. Make each one an nn.Conv2d stored in the module.")
        expect(all(conv.bias is not None for conv in convs),
               "every convolution should have a bias (nn.Conv2d's default, bias=True).")
        expected_shapes = _expected_weight_shapes(*widths)
        shapes = [tuple(conv.weight.shape) for conv in convs]
        if sorted(shapes) != sorted(expected_shapes.values()):
            expect((ch3x3, in_channels, 3, 3) not in shapes,
                   f"in {called} the 3×3 convolution reads the block's {in_channels} input channels; it should read "
                   f"the {ch3x3_reduce} channels of the 1×1 reduction before it (ch3x3_reduce).")
            expect((ch5x5, in_channels, 5, 5) not in shapes,
                   f"in {called} the 5×5 convolution reads the block's {in_channels} input channels; it should read "
                   f"the {ch5x5_reduce} channels of the 1×1 reduction before it (ch5x5_reduce).")
            expect((ch5x5, ch5x5_reduce, 3, 3) not in shapes, "the third branch's large kernel should be 5×5, not 3×3.")
            expect(False, f"{called}'s convolution weights should have the shapes {sorted(expected_shapes.values())} "
                          f"([out, in, k, k]), yours have {sorted(shapes)}.")
        by_shape = {tuple(conv.weight.shape): conv for conv in convs}
        convs_by_name = {name: by_shape[shape] for name, shape in expected_shapes.items()}
        expected_count = sum((shape[1] * shape[2] * shape[3] + 1) * shape[0] for shape in expected_shapes.values())
        count = sum(parameter.numel() for parameter in block.parameters())
        expect(count == expected_count, f"{called} should have {expected_count} parameters (six convolutions with "
                                        f"biases, nothing else), yours has {count}.")

        height, width = _distinct(generator, 2, 5, 9)
        images = torch.randn(2, in_channels, height, width, generator=generator)
        output = call_answer(block, images, what=f"the forward pass of {called}", explain_crashes=True,
                             hint="concatenate the four branch outputs with torch.cat([...], dim=1); for that, every branch "
                                  "must keep the height and width (padding k // 2 for each k × k convolution, and a "
                                  "max-pool with kernel_size=3, stride=1, padding=1).")
        expect(isinstance(output, torch.Tensor), f"the forward pass should return one tensor, got {type(output).__name__}.")
        out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj
        expect(output.dim() == 4 and tuple(output.shape[2:]) == (height, width),
               f"on an input {tuple(images.shape)} the output of {called} should keep the height and width, "
               f"(2, {out_channels}, {height}, {width}); got {tuple(output.shape)}. Every branch must keep H × W: "
               "padding = k // 2 for each k × k convolution, and the max-pool needs kernel_size=3, stride=1, padding=1.")
        expect(tuple(output.shape) == (2, out_channels, height, width),
               f"the output of {called} should have ch1x1 + ch3x3 + ch5x5 + pool_proj = {out_channels} channels, "
               f"got shape {tuple(output.shape)}. Concatenate the branches on the channel axis, dim=1.")

        output = output.detach()
        with torch.no_grad():
            reference = _reference_branches(convs_by_name, images)
            if torch.allclose(output, torch.cat(reference, dim=1), atol=1e-5):
                continue
            branch_widths = [ch1x1, ch3x3, ch5x5, pool_proj]
            for permutation in itertools.permutations(range(4)):
                if permutation != (0, 1, 2, 3) and torch.allclose(
                        output, torch.cat([reference[i] for i in permutation], dim=1), atol=1e-5):
                    expect(False, "the branches are all right but concatenated in another order: use "
                                  "torch.cat([1×1, 3×3, 5×5, pool], dim=1), in that order.")
            expect(bool((output >= 0).all()), "the block's output has negative values: every convolution is followed "
                                              "by a ReLU, including the last one of each branch.")
            for variant, explanation in [
                (dict(relu_after_reduce=False), "put a ReLU after the 1×1 reductions too (before the 3×3 and 5×5)."),
                (dict(pool=False), "the fourth branch starts with a 3×3 max-pool (stride 1, padding 1), then the 1×1."),
            ]:
                wrong = _reference_branches(convs_by_name, images, **variant)
                slices = _branch_slices(branch_widths)
                if all(torch.allclose(output[:, s], part, atol=1e-5) for s, part in zip(slices, wrong)):
                    expect(False, explanation)
            for name, s, part in zip(BRANCH_NAMES, _branch_slices(branch_widths), reference):
                expect(torch.allclose(output[:, s], part, atol=1e-5),
                       f"output channels {s.start}–{s.stop - 1} of {called}, the {name} branch, are not what that branch "
                       "should compute. Check its layers and their order (convolution, ReLU; the pool branch: "
                       "max-pool 3×3 with stride 1 and padding 1, then the 1×1 convolution and a ReLU).")
        expect(False, f"{called} computes something else than the inception block.")
    return passed("four branches, concatenated on the channels: the height and width stay, the widths add up.")


# --- exercise 4: what a reduction saves ---------------------------------------------------------------

def _savings(in_channels, reduce_channels, out_channels, kernel_size):
    return kernel_size**2 * in_channels * out_channels / (
        in_channels * reduce_channels + kernel_size**2 * reduce_channels * out_channels)


def check_savings_factor(savings_factor) -> bool:
    """``savings_factor(in_channels, reduce_channels, out_channels, kernel_size)`` is the weights of a
    k×k convolution from in_channels to out_channels, divided by the weights of a 1×1 reduction to
    reduce_channels followed by the k×k convolution (weights only, no biases)."""
    generator = fresh_generator()
    cases = [(_randint(generator, 64, 512), _randint(generator, 8, 64), _randint(generator, 16, 256), kernel_size)
             for kernel_size in (3, 5, 7)]
    cases.append((192, 16, 32, 5))  # the 5x5 branch of inception (3a)
    answers, expected = {}, {}
    for case in cases:
        called = "savings_factor({}, {}, {}, {})".format(*case)
        answers[case] = answer_as_number(call_answer(savings_factor, *case, what="savings_factor"), called)
        expected[case] = _savings(*case)
    mistakes = [
        (lambda i, r, o, k: 1 / _savings(i, r, o, k), "that is the factor upside down: divide the cost *without* the "
                                                     "reduction by the cost *with* it, so that a saving is above 1."),
        (lambda i, r, o, k: i / r, "the 1×1 reduction is not free: the branch with it costs C_in · r (the 1×1) plus "
                                   "k² · r · C_out (the k × k) weights."),
        (lambda i, r, o, k: k * k * i * o / (k * k * r * o), "the 1×1 reduction is not free: the branch with it costs "
                                                            "C_in · r (the 1×1) plus k² · r · C_out (the k × k) weights."),
        (lambda i, r, o, k: (k * k * i + 1) * o / ((i + 1) * r + (k * k * r + 1) * o),
         "count weights only, without the biases (then the factor is the same for MACs)."),
        (lambda i, r, o, k: k * i * o / (i * r + k * r * o), "a k × k kernel has k² weights per input channel, not k."),
    ]
    _diagnose_cases(answers, expected, mistakes, "R = k² C_in C_out / (C_in r + k² r C_out)",
                    lambda case: "savings_factor({}, {}, {}, {})".format(*case), rel_tol=1e-6)
    return passed("R = k² C_in C_out / (r (C_in + k² C_out)): 9.7 for the 5×5 branch of (3a).")


def _break_even(in_channels, out_channels, kernel_size):
    """The largest reduce width r with R > 1, i.e. r (C_in + k² C_out) < k² C_in C_out, in exact integers."""
    numerator = kernel_size**2 * in_channels * out_channels
    denominator = in_channels + kernel_size**2 * out_channels
    return (numerator - 1) // denominator


def check_break_even_width(break_even_width) -> bool:
    """``break_even_width(in_channels, out_channels, kernel_size)`` is the largest reduce width r (a whole
    number of channels) for which a 1×1 reduction still saves weights, i.e. the savings factor is above 1."""
    generator = fresh_generator()
    cases = [(_randint(generator, 32, 512), _randint(generator, 16, 256), kernel_size) for kernel_size in (3, 5)]
    cases.append((192, 32, 5))  # the 5x5 branch of inception (3a): 153 600 / 992 = 154.8...
    out_channels = 2 * _randint(generator, 4, 32)  # C_in = k² C_out: the break-even is exactly k² C_out / 2
    cases.append((9 * out_channels, out_channels, 3))
    for case in cases:
        in_channels, out_channels, kernel_size = case
        called = "break_even_width({}, {}, {})".format(*case)
        answer = answer_as_int(call_answer(break_even_width, *case, what="break_even_width"), called,
                         "A width is a whole number of channels.")
        expected = _break_even(*case)
        if answer == expected:
            continue
        bound = kernel_size**2 * in_channels * out_channels / (in_channels + kernel_size**2 * out_channels)
        at_answer = _savings(in_channels, answer, out_channels, kernel_size) if answer > 0 else float("inf")
        expect(not (bound.is_integer() and answer == int(bound)),
               f"{called} should be {expected}, you gave {answer}: at r = {answer} the factor is exactly 1, so the "
               "reduction saves nothing. The answer is the largest r with R *strictly* above 1.")
        expect(answer < bound, f"{called} should be {expected}, you gave {answer}: at r = {answer} the factor is "
                               f"{at_answer:.3f} < 1, the reduction costs more than it saves. Solve R > 1 for r: "
                               "r < k² C_in C_out / (C_in + k² C_out).")
        expect(False, f"{called} should be {expected}, you gave {answer}: a wider reduction still saves (the factor at "
                      f"r = {expected} is {_savings(in_channels, expected, out_channels, kernel_size):.4f}). Solve R > 1 "
                      "for r: r < k² C_in C_out / (C_in + k² C_out), and take the largest whole number below that.")
    return passed("r < k² C_in C_out / (C_in + k² C_out): for the 5×5 branch of (3a) any reduction to at most "
                  "154 channels saves; GoogLeNet's 16 saves almost ten times.")
