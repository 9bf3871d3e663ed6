"""Checks for the exercises of ``module2_cnns/solutions/01_convolution.ipynb``.

Every check builds fresh random inputs, computes the right answer itself (with ``F.conv2d`` or
``nn.Conv2d``) and compares, so a hard-coded answer does not pass; a wrong answer gets an
explanation of what went wrong and a hint (``utils.checks.ExerciseError``). The inputs are
float64 on the CPU, so that a right answer matches to many digits; the comparison allows
float32 rounding, in case an answer builds its output in float32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from utils.checks import (
    answer_as_float64,
    call_answer,
    expect,
    fresh_generator,
    passed,
    relative_error,
)

__all__ = [
    "check_conv2d_single_channel",
    "check_conv2d_im2col",
    "check_conv2d_einsum",
    "check_horizontal_edge_kernel",
    "check_parameter_counts",
]

#: How close an answer must be to PyTorch's (relative error): float32 rounding passes.
TOLERANCE = 1e-5


# --- helpers -----------------------------------------------------------------------------------

def _randn(*shape, generator) -> torch.Tensor:
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def _close(value: torch.Tensor, reference: torch.Tensor) -> bool:
    return tuple(value.shape) == tuple(reference.shape) and relative_error(value, reference) <= TOLERANCE


def _output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    return (size + 2 * padding - kernel_size) // stride + 1


# --- exercise 1: one channel, with loops -------------------------------------------------------

def check_conv2d_single_channel(conv2d_single_channel) -> bool:
    """``conv2d_single_channel(image [H, W], kernel [kH, kW])`` returns the "valid" cross-correlation
    ``y[i, j] = sum_u sum_v image[i + u, j + v] * kernel[u, v]``, shape ``[H - kH + 1, W - kW + 1]``."""
    generator = fresh_generator()
    for height, width, kernel_height, kernel_width in [(7, 9, 3, 2), (6, 5, 2, 3), (5, 5, 3, 3)]:
        image = _randn(height, width, generator=generator)
        kernel = _randn(kernel_height, kernel_width, generator=generator)
        output = call_answer(conv2d_single_channel, image.clone(), kernel.clone(), what="conv2d_single_channel",
                             explain_crashes=True,
                             hint="for output (i, j) the window is image[i + u, j + v] for u < kH and v < kW; "
                                  "make sure i + u never goes past the last row.")
        output = answer_as_float64(output, "the output of conv2d_single_channel")
        expected = F.conv2d(image[None, None], kernel[None, None])[0, 0]
        shape = (height - kernel_height + 1, width - kernel_width + 1)
        where = f"for an image {height} × {width} and a kernel {kernel_height} × {kernel_width}"
        got = tuple(output.shape)
        expect(got != (height - kernel_height, width - kernel_width),
               f"{where} the output should be {shape}, got {got}: one short in each direction. The kernel fits at "
               "H − kH + 1 positions (positions 0 to H − kH, both included): `range(H - kH + 1)`.")
        expect(got != (height, width),
               f"{where} the output should be {shape}, got {got}, the size of the image. Without padding the kernel "
               "only fits at H − kH + 1 positions down and W − kW + 1 across.")
        expect(got != shape[::-1] or shape[0] == shape[1],
               f"{where} the output should be {shape} (rows, columns), got {got}: height and width are swapped.")
        expect(got == shape, f"{where} the output should have shape {shape} = (H − kH + 1, W − kW + 1), got {got}.")
        if _close(output, expected):
            continue
        true_convolution = F.conv2d(image[None, None], kernel.flip(0, 1)[None, None])[0, 0]
        expect(not _close(output, true_convolution),
               f"{where} you computed the true convolution, with the kernel flipped. Deep learning's convolution "
               "does not flip: y[i, j] = Σ image[i + u, j + v] · kernel[u, v].")
        if kernel_height == kernel_width:
            transposed = F.conv2d(image[None, None], kernel.T[None, None])[0, 0]
            expect(not _close(output, transposed),
                   f"{where} your output equals the convolution with the kernel transposed: pair image[i + u, j + v] "
                   "with kernel[u, v] (u for rows, v for columns).")
        expect(not torch.allclose(output, torch.zeros_like(output)),
               f"{where} your output is all zeros: did you write each total into output[i, j]?")
        expect(False, f"{where} the shape is right but the numbers are not (relative error "
                      f"{relative_error(output, expected):.2e} against F.conv2d). Hint: y[i, j] = Σ_u Σ_v "
                      "image[i + u, j + v] · kernel[u, v], summed over the whole kernel.")
    return passed("four loops, one dot product per position: the same numbers as F.conv2d.")


# --- exercises 2 and 3: a whole layer ----------------------------------------------------------

def _check_conv_layer(conv2d, what: str, hint: str) -> None:
    """Compare ``conv2d(x, weight, bias, stride, padding)`` with ``F.conv2d`` on three layers."""
    generator = fresh_generator()
    cases = [  # (N, C_in, H, W, C_out, kH, kW, stride, padding): all sizes different, kernels non-square
        (2, 3, 7, 9, 4, 3, 2, 1, 0),
        (2, 3, 8, 11, 5, 3, 3, 2, 1),
        (1, 2, 10, 7, 3, 2, 4, 3, 2),
    ]
    for batch_size, in_channels, height, width, out_channels, kernel_height, kernel_width, stride, padding in cases:
        x = _randn(batch_size, in_channels, height, width, generator=generator)
        weight = _randn(out_channels, in_channels, kernel_height, kernel_width, generator=generator)
        bias = _randn(out_channels, generator=generator)
        output = call_answer(conv2d, x.clone(), weight.clone(), bias.clone(), stride, padding, what=what,
                             explain_crashes=True, hint=hint)
        output = answer_as_float64(output, f"the output of {what}")
        expected = F.conv2d(x, weight, bias, stride=stride, padding=padding)
        output_height = _output_size(height, kernel_height, stride, padding)
        output_width = _output_size(width, kernel_width, stride, padding)
        shape = (batch_size, out_channels, output_height, output_width)
        where = (f"for x {tuple(x.shape)}, weight {tuple(weight.shape)}, stride {stride} and padding {padding}, "
                 f"the output should have shape {shape}")
        got = tuple(output.shape)
        expect(got != (batch_size, out_channels, output_height * output_width),
               f"{where}, got {got}: reshape the [N, C_out, L] result to [N, C_out, H_out, W_out].")
        no_stride = (batch_size, out_channels, _output_size(height, kernel_height, 1, padding),
                     _output_size(width, kernel_width, 1, padding))
        expect(got != no_stride or stride == 1,
               f"{where}, got {got}: the stride is ignored. Move the window `stride` pixels at a time, and "
               "H_out = (H + 2·padding − kH) // stride + 1.")
        no_padding = (batch_size, out_channels, _output_size(height, kernel_height, stride, 0),
                      _output_size(width, kernel_width, stride, 0))
        expect(got != no_padding or padding == 0,
               f"{where}, got {got}: the padding is ignored. Add `padding` zeros on every side first, and "
               "H_out = (H + 2·padding − kH) // stride + 1.")
        expect(got == shape, f"{where}, got {got}. Hint: H_out = (H + 2·padding − kH) // stride + 1, and the "
                             "same for the width.")
        if _close(output, expected):
            continue
        without_bias = F.conv2d(x, weight, None, stride=stride, padding=padding)
        expect(not _close(output, without_bias),
               f"{where}: the shape is right and so is everything but the bias. Add one bias per output "
               "channel: `bias.reshape(1, C_out, 1, 1)` broadcasts over the batch and the positions.")
        flipped = F.conv2d(x, weight.flip(2, 3), bias, stride=stride, padding=padding)
        expect(not _close(output, flipped),
               f"{where}: you flipped the kernels (true convolution). Deep learning's convolution uses the "
               "kernel as it is.")
        expect(not _close(output, expected - 2 * bias.reshape(1, -1, 1, 1)),
               f"{where}: the bias should be added, not subtracted.")
        expect(False, f"{where}: the shape is right but the numbers are not (relative error "
                      f"{relative_error(output, expected):.2e} against F.conv2d). {hint}")


def check_conv2d_im2col(conv2d_im2col) -> bool:
    """``conv2d_im2col(x [N, C_in, H, W], weight [C_out, C_in, kH, kW], bias [C_out], stride, padding)``
    returns what ``F.conv2d(x, weight, bias, stride=stride, padding=padding)`` returns."""
    _check_conv_layer(conv2d_im2col, "conv2d_im2col",
                      "Hint: F.unfold(x, (kH, kW), stride=stride, padding=padding) is [N, C_in·kH·kW, L]; "
                      "weight.reshape(C_out, -1) is [C_out, C_in·kH·kW]; their product is [N, C_out, L].")
    return passed("unfold, one matrix multiplication, plus the bias: F.conv2d's numbers, with stride and padding.")


def check_conv2d_einsum(conv2d_einsum) -> bool:
    """``conv2d_einsum(x, weight, bias, stride, padding)``, written with ``Tensor.unfold`` and
    ``torch.einsum``, returns what ``F.conv2d(x, weight, bias, stride=stride, padding=padding)`` returns."""
    _check_conv_layer(conv2d_einsum, "conv2d_einsum",
                      "Hint: after F.pad, x.unfold(2, kH, stride).unfold(3, kW, stride) is "
                      "[N, C_in, H_out, W_out, kH, kW]; einsum 'nchwuv,ocuv->nohw' with the weight "
                      "[C_out, C_in, kH, kW] sums over c, u and v.")
    return passed("sliding windows and one einsum: F.conv2d's numbers, with stride and padding.")


# --- exercise 4: a horizontal-edge detector ----------------------------------------------------

def _response(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    return F.conv2d(image[None, None], kernel[None, None])[0, 0]


def check_horizontal_edge_kernel(kernel) -> bool:
    """``kernel`` (a 2-D tensor, at most 7 × 7) detects horizontal edges: on an image that is dark
    above and bright below it answers positive numbers along the edge and 0 elsewhere; it answers 0
    everywhere on a flat image and on a vertical edge. Any such kernel passes (Sobel y, Prewitt,
    [[-1], [1]], any positive multiple)."""
    kernel = answer_as_float64(kernel, "kernel")
    expect(kernel.dim() == 2, f"the kernel should be a 2-D tensor [kH, kW], got shape {tuple(kernel.shape)}.")
    kernel_height, kernel_width = kernel.shape
    expect(1 <= kernel_height <= 7 and 1 <= kernel_width <= 7,
           f"keep the kernel small (at most 7 × 7), got {kernel_height} × {kernel_width}.")
    expect(bool(torch.isfinite(kernel).all()), "the kernel has NaN or infinite entries.")
    scale = kernel.abs().sum().item()
    expect(scale > 0, "the kernel is all zeros: it detects nothing.")
    tolerance = 1e-6 * scale
    generator = fresh_generator()
    size = 16
    dark, bright = sorted((0.1 + 0.8 * torch.rand(2, generator=generator, dtype=torch.float64)).tolist())
    bright = max(bright, dark + 0.2)
    edge_at = int(torch.randint(6, 10, (), generator=generator))

    flat = torch.full((size, size), dark, dtype=torch.float64)
    expect(_response(flat, kernel).abs().max().item() <= tolerance,
           f"on a flat image (every pixel {dark:.2f}) your kernel answers {_response(flat, kernel)[0, 0].item():.3g}, "
           f"not 0: its numbers add up to {kernel.sum().item():.3g}. An edge detector's numbers must add up to 0, "
           "so that it answers only where the brightness changes.")

    vertical_edge = flat.clone()
    vertical_edge[:, edge_at:] = bright  # dark left, bright right
    expect(_response(vertical_edge, kernel).abs().max().item() <= tolerance,
           "your kernel responds to a vertical edge (dark left, bright right). A horizontal-edge detector must "
           "answer 0 there: every *column* of the kernel has to add up to 0."
           + (" Yours looks like a vertical-edge detector (Sobel x): transpose it." if kernel_height > 1
              and torch.allclose(kernel.sum(dim=1), torch.zeros(kernel_height, dtype=torch.float64), atol=tolerance)
              else ""))

    horizontal_edge = flat.clone()
    horizontal_edge[edge_at:, :] = bright  # dark top, bright bottom
    response = _response(horizontal_edge, kernel)
    expect(response.abs().max().item() > tolerance,
           "your kernel does not respond to a horizontal edge (dark top, bright bottom) at all. It should compare "
           "the rows below with the rows above, e.g. [[-1, -2, -1], [0, 0, 0], [1, 2, 1]].")
    expect(response.max().item() > tolerance,
           "your kernel answers with negative numbers on a dark-above-bright edge; this exercise asks for "
           "positive ones (brighter below = positive). Flip its sign.")
    expect(response.min().item() >= -tolerance,
           "on a single dark-above-bright edge your kernel answers with both signs, positive on some rows and "
           "negative on others. That is a line (second-difference) detector; an edge detector compares the "
           "bottom of the window with the top, e.g. [[-1, -2, -1], [0, 0, 0], [1, 2, 1]].")
    return passed(f"your {kernel_height} × {kernel_width} kernel answers {response.max().item():.3g} on the edge, "
                  "0 on flat regions and 0 on vertical edges.")


# --- exercise 5: parameters of a convolution and of a dense layer ------------------------------

def _parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def check_parameter_counts(parameter_counts) -> bool:
    """``parameter_counts(in_channels, out_channels, kernel_size, height, width)`` returns
    ``(conv_parameters, dense_parameters)``: the weights and biases of an ``nn.Conv2d(in_channels,
    out_channels, kernel_size, padding=kernel_size // 2)`` on a ``height × width`` image, and of the
    ``nn.Linear`` from the flattened input to a flattened output of the same shape as the convolution's."""
    generator = fresh_generator()
    cases = [(3, 16, 5, 24, 32)]  # first, and fixed: C_in, k and H, W all different, so every hint is unambiguous
    for _ in range(4):
        in_channels, out_channels = (int(v) for v in torch.randint(1, 9, (2,), generator=generator))
        kernel_size = int(torch.tensor([1, 3, 5, 7])[torch.randint(0, 4, (), generator=generator)])
        height, width = (int(v) for v in torch.randint(8, 40, (2,), generator=generator))
        cases.append((in_channels, out_channels, kernel_size, height, width))
    for in_channels, out_channels, kernel_size, height, width in cases:
        result = call_answer(parameter_counts, in_channels, out_channels, kernel_size, height, width,
                             what="parameter_counts", explain_crashes=True)
        expect(isinstance(result, (tuple, list)) and len(result) == 2,
               "parameter_counts should return two numbers: `return conv_parameters, dense_parameters`.")
        conv_answer, dense_answer = (answer_as_float64(value, name).reshape(-1)
                                     for value, name in zip(result, ("conv_parameters", "dense_parameters")))
        expect(conv_answer.numel() == 1 and dense_answer.numel() == 1,
               "conv_parameters and dense_parameters should each be one number.")
        conv_answer, dense_answer = conv_answer.item(), dense_answer.item()
        # the real layers, on the meta device: their parameters are counted without allocating memory
        conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, device="meta")
        inputs, outputs = in_channels * height * width, out_channels * height * width
        dense = nn.Linear(inputs, outputs, device="meta")
        conv_expected, dense_expected = _parameters(conv), _parameters(dense)
        where = (f"for {in_channels} → {out_channels} channels, a {kernel_size} × {kernel_size} kernel and a "
                 f"{height} × {width} image")
        weights = out_channels * in_channels * kernel_size**2
        if conv_answer != conv_expected:
            expect(conv_answer != weights,
                   f"{where}: the convolution has {conv_expected:,} parameters, you said {conv_answer:,.0f}. The "
                   "biases are missing: one per output channel.")
            expect(conv_answer != out_channels * in_channels * kernel_size + out_channels,
                   f"{where}: the convolution has {conv_expected:,} parameters, you said {conv_answer:,.0f}. A "
                   "kernel has kernel_size × kernel_size numbers (kernel_size²), not kernel_size.")
            expect(conv_answer != weights + outputs,
                   f"{where}: the convolution has {conv_expected:,} parameters, you said {conv_answer:,.0f}. The "
                   "bias is shared too: one per output channel, not one per output pixel.")
            expect(conv_answer != out_channels * kernel_size**2 + out_channels,
                   f"{where}: the convolution has {conv_expected:,} parameters, you said {conv_answer:,.0f}. Each "
                   "output channel has one kernel per *input* channel: C_out × C_in × k² weights.")
            expect(False, f"{where}: the convolution has {conv_expected:,} parameters, you said "
                          f"{conv_answer:,.0f}. Hint: C_out × C_in × k² weights plus C_out biases; the image size "
                          "does not matter.")
        if dense_answer != dense_expected:
            expect(dense_answer != inputs * outputs,
                   f"{where}: the dense layer has {dense_expected:,} parameters, you said {dense_answer:,.0f}. "
                   "The biases are missing: one per output unit.")
            expect(dense_answer != inputs * outputs + out_channels,
                   f"{where}: the dense layer has {dense_expected:,} parameters, you said {dense_answer:,.0f}. "
                   "A dense layer shares nothing: one bias per output *unit* (C_out · H · W of them), not per channel.")
            expect(dense_answer != inputs * out_channels + out_channels,
                   f"{where}: the dense layer has {dense_expected:,} parameters, you said {dense_answer:,.0f}. Its "
                   "output has the convolution's shape, C_out × H × W units, not C_out.")
            expect(False, f"{where}: the dense layer has {dense_expected:,} parameters, you said "
                          f"{dense_answer:,.0f}. Hint: it maps C_in·H·W inputs to C_out·H·W outputs: "
                          "inputs × outputs weights plus one bias per output.")
    in_channels, out_channels, kernel_size, height, width = cases[0]
    conv_parameters = out_channels * in_channels * kernel_size**2 + out_channels
    dense_parameters = (in_channels * height * width + 1) * out_channels * height * width
    return passed(f"C_out·C_in·k² + C_out for the convolution, whatever the image size. On a {in_channels} × "
                  f"{height} × {width} image with {out_channels} output channels the dense layer needs "
                  f"{dense_parameters / conv_parameters:,.0f} times as many.")
