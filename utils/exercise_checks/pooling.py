"""Checks for the exercises of ``module2_cnns/solutions/02_padding_stride_pooling.ipynb``.

Every check builds fresh random inputs (layer settings, tensors, stacks of layers),
computes the right answer itself and compares, so a hard-coded answer does not
pass; a wrong answer gets an explanation of what went wrong and a hint
(``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import nn

from utils.checks import (
    call_answer,
    expect,
    fresh_generator,
    library_refused,
    passed,
)

__all__ = [
    "check_output_size",
    "check_same_padding",
    "check_max_pool2d",
    "check_receptive_field",
    "check_measured_receptive_field",
]


# --- reference answers ------------------------------------------------------------------------

def _output_size(n: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _receptive_field(layers) -> tuple[int, int]:
    r, j = 1, 1
    for k, s, d in layers:
        r, j = r + d * (k - 1) * j, j * s
    return r, j


# --- helpers -----------------------------------------------------------------------------------

def _randint(generator: torch.Generator, low: int, high: int) -> int:
    """A random integer in [low, high], both included."""
    return int(torch.randint(low, high + 1, (), generator=generator))


def _choice(generator: torch.Generator, options):
    return options[_randint(generator, 0, len(options) - 1)]


def _as_int(value, what: str, hint: str) -> int:
    """The learner's answer as an int, or an ExerciseError that says what it is instead."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point() \
            and value.dtype != torch.bool:
        value = value.item()
    expect(not isinstance(value, bool), f"{what} returned {value!r}, a bool; it should be a whole number. {hint}")
    expect(isinstance(value, numbers.Integral),
           f"{what} should return a whole number (an int), got {value!r} ({type(value).__name__}). {hint}")
    return int(value)


def _call(function, *args, what: str, hint: str = ""):
    """Call the learner's function; turn NotImplementedError and crashes into one short explanation."""
    return call_answer(function, *args, what=what, explain_crashes=True, hint=hint)


def _no_library_max_pooling():
    """While active, PyTorch's own max-pooling functions raise an ExerciseError."""
    return library_refused(
        [(F, "max_pool2d"), (F, "max_pool2d_with_indices"), (F, "adaptive_max_pool2d"),
         (torch, "max_pool2d"), (torch, "max_pool2d_with_indices"), (torch, "adaptive_max_pool2d"),
         (nn.MaxPool2d, "forward"), (nn.AdaptiveMaxPool2d, "forward")],
        "write max pooling yourself, from tensor operations (`unfold` and `amax`, or a reshape): calling "
        "F.max_pool2d or nn.MaxPool2d is what the exercise replaces.")


# --- exercise 1: the output-size formula -------------------------------------------------------

def check_output_size(conv_output_size) -> bool:
    """``conv_output_size(n, k, s=1, p=0, d=1)`` is floor((n + 2p − d(k−1) − 1)/s) + 1, as an int."""
    hint = "Use floor division `//`, which keeps whole numbers whole."
    _call(conv_output_size, 28, 5, what="conv_output_size",
          hint="give s, p and d default values: `def conv_output_size(n, k, s=1, p=0, d=1)`.")
    generator = fresh_generator()
    configurations = []
    while len(configurations) < 300:
        n, k, s = _randint(generator, 1, 64), _randint(generator, 1, 7), _randint(generator, 1, 4)
        p, d = _randint(generator, 0, 3), _randint(generator, 1, 3)
        if _output_size(n, k, s, p, d) >= 1:  # where no window fits PyTorch refuses; the exercise does not ask
            configurations.append((n, k, s, p, d))
    answers = [_as_int(_call(conv_output_size, *c, what="conv_output_size"), "conv_output_size", hint)
               for c in configurations]
    wrong = [(c, a) for c, a in zip(configurations, answers) if a != _output_size(*c)]
    if not wrong:
        value = _as_int(_call(conv_output_size, 28, 5, what="conv_output_size"), "conv_output_size", hint)
        expect(value == 24, f"conv_output_size(28, 5) should be 24 (a 5 × 5 kernel fits at 28 − 5 + 1 positions), "
                            f"got {value}. Check the default values: s=1, p=0, d=1.")
        return passed("one formula gives the output size of every convolution and pooling layer.")
    (n, k, s, p, d), value = wrong[0]
    case = f"for n={n}, k={k}, s={s}, p={p}, d={d} the output size is {_output_size(n, k, s, p, d)}, but yours gave {value}"
    typical_mistakes = {  # explanation: the wrong formula
        "round down (floor), not up: a last window that would hang over the end of the row is dropped.":
            lambda n, k, s, p, d: -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1,
        "round down (floor), not to the nearest whole number.":
            lambda n, k, s, p, d: round((n + 2 * p - d * (k - 1) - 1) / s) + 1,
        "the dilation is missing: a kernel with dilation d spans d(k − 1) + 1 pixels, not k.":
            lambda n, k, s, p, d: (n + 2 * p - k) // s + 1,
        "padding is added on both sides of the row, so it adds 2p pixels, not p.":
            lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1,
        "count the first window too: the formula ends in + 1.":
            lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s,
        "the window spans d(k − 1) + 1 pixels; subtract all of them, then add 1 for the first position: "
        "(n + 2p − d(k − 1) − 1) // s + 1.":
            lambda n, k, s, p, d: (n + 2 * p - d * (k - 1)) // s + 1,
        "divide by the stride: the window moves s pixels at a time.":
            lambda n, k, s, p, d: n + 2 * p - d * (k - 1),
    }
    for explanation, mistake in typical_mistakes.items():  # the mistake that explains every answer
        expect(answers != [mistake(*c) for c in configurations], f"{case}: {explanation}")
    expect(False, f"{case}. Hint: floor((n + 2p − d(k − 1) − 1) / s) + 1.")


# --- exercise 2: padding for a "same" output ---------------------------------------------------

def check_same_padding(same_padding) -> bool:
    """``same_padding(kernel_size, dilation=1)`` is the padding that keeps the size at stride 1: d(k − 1)/2."""
    hint = "Use floor division `//` (d(k − 1) is even for an odd k, so nothing is lost)."
    _call(same_padding, 3, what="same_padding", hint="give dilation a default value: "
                                                    "`def same_padding(kernel_size, dilation=1)`.")
    generator = fresh_generator()
    n = _randint(generator, 24, 40)
    cases = [(k, d) for k in (1, 3, 5, 7, 9, 11) for d in (1, 2, 3, 4)]
    order = torch.randperm(len(cases), generator=generator).tolist()
    for k, d in (cases[i] for i in order):
        expected = d * (k - 1) // 2
        value = _as_int(_call(same_padding, k, d, what="same_padding"), "same_padding", hint)
        if value == expected:
            continue
        expect(value >= 0, f"same_padding({k}, {d}) gave {value}; padding cannot be negative.")
        out = _output_size(n, k, 1, value, d)
        case = (f"with padding {value}, a {k} × {k} kernel with dilation {d} turns {n} pixels into {out}, "
                f"not {n}")
        expect(value != k // 2, f"{case}: the dilation is missing. A dilated kernel spans d(k − 1) + 1 pixels.")
        expect(value != d * (k - 1), f"{case}: padding goes on both sides, so each side needs half of d(k − 1).")
        expect(False, f"{case}. Hint: solve n + 2p − d(k − 1) = n for p.")
    value = _as_int(_call(same_padding, 3, what="same_padding"), "same_padding", hint)
    expect(value == 1, f"same_padding(3) should be 1 (a 3 × 3 kernel needs one pixel on each side), got {value}. "
                       "Check the default value: dilation=1.")
    return passed("p = d(k − 1)/2 keeps the size of the feature map: 'same' padding.")


# --- exercise 3: max pooling from scratch -------------------------------------------------------

def check_max_pool2d(max_pool2d) -> bool:
    """``max_pool2d(x [N, C, H, W], kernel_size, stride=None)`` matches ``F.max_pool2d`` in values and gradients,
    without calling PyTorch's max pooling."""
    generator = fresh_generator()
    cases = [  # (shape, kernel_size, stride): tiling, a remainder to drop, overlapping windows, big strides
        ((2, 3, 8, 8), 2, None),
        ((1, 2, _randint(generator, 9, 13), _randint(generator, 9, 13)), 2, None),
        ((2, 2, _randint(generator, 10, 14), _randint(generator, 10, 14)), 3, 2),
        ((1, 3, 7, 9), 3, 1),
        ((2, 1, _randint(generator, 12, 16), _randint(generator, 12, 16)), _randint(generator, 2, 4), 3),
    ]
    for shape, k, s in cases:
        x = torch.randn(shape, dtype=torch.float64, generator=generator)  # float64, random: no ties
        x_reference = x.clone().requires_grad_()
        expected = F.max_pool2d(x_reference, k, s)
        upstream = torch.randn(expected.shape, dtype=torch.float64, generator=generator)
        expected.backward(upstream)
        args = (k,) if s is None else (k, s)
        setting = f"kernel_size={k}" + ("" if s is None else f", stride={s}")
        case = f"for x of shape {tuple(shape)} with {setting}"
        x_learner = x.clone().requires_grad_()
        with _no_library_max_pooling():
            output = _call(max_pool2d, x_learner, *args, what="max_pool2d",
                           hint="`x.unfold(2, k, s)` cuts the rows into windows; then do the same to the columns (3).")
        expect(isinstance(output, torch.Tensor), f"max_pool2d should return a tensor, got {type(output).__name__}.")
        if output.shape != expected.shape:
            expect(not (s is None and output.shape[-1] == x.shape[-1] - k + 1),
                   f"{case} the output should have shape {tuple(expected.shape)}, got {tuple(output.shape)}: "
                   "when stride is None it defaults to kernel_size, as in PyTorch.")
            expect(output.shape[:2] == x.shape[:2],
                   f"{case} the output should have shape {tuple(expected.shape)}, got {tuple(output.shape)}: keep the "
                   "batch and channel axes; pool each channel on its own, over the last two axes only.")
            expect(False, f"{case} the output should have shape {tuple(expected.shape)}, got {tuple(output.shape)}. "
                          "Hint: floor((n − k)/s) + 1 windows along each axis; a remainder that no window covers "
                          "is dropped.")
        values = output.detach().to(torch.float64)
        if not torch.allclose(values, expected.detach(), atol=1e-12):
            windows = x.unfold(2, k, s or k).unfold(3, k, s or k)
            expect(not torch.allclose(values, windows.mean(dim=(-2, -1))),
                   f"{case} you computed the mean of each window: that is average pooling. Take the max.")
            expect(not torch.allclose(values, windows.amin(dim=(-2, -1))),
                   f"{case} you took the smallest value of each window; max pooling keeps the largest.")
            expect(False, f"{case} the values differ from max pooling's (largest difference "
                          f"{(values - expected.detach()).abs().max().item():.3g}). Hint: the max over the last two "
                          "axes of x.unfold(2, k, s).unfold(3, k, s).")
        expect(output.requires_grad, "your output is not connected to x, so no gradient can flow back: build it from "
                                     "tensor operations on x (no .detach(), .numpy(), .item() or torch.tensor(...)).")
        output.backward(upstream)
        expect(x_learner.grad is not None, "no gradient reached x: build the output from tensor operations on x.")
        difference = (x_learner.grad - x_reference.grad).abs().max().item()
        expect(difference < 1e-10,
               f"{case} the values are right but the gradient is not (largest difference {difference:.3g}): each "
               "window's upstream gradient should go to its largest input only. Use amax/max, which autograd "
               "differentiates that way, rather than building the output by hand from copied numbers.")
    return passed("your max pooling gives PyTorch's values, and its gradient goes to each window's largest input.")


# --- exercise 4: the receptive field of a stack -------------------------------------------------

def check_receptive_field(receptive_field) -> bool:
    """``receptive_field(layers)``, layers a list of ``(kernel_size, stride, dilation)``, returns ``(size, jump)``."""
    generator = fresh_generator()
    stacks = [[(3, 1, 1)], [(3, 1, 1), (3, 1, 1)], [(3, 1, 1), (2, 2, 1), (3, 1, 1)]]  # by hand: 3, 5, 10
    for _ in range(30):
        stacks.append([(_choice(generator, (1, 2, 3, 3, 5, 7)), _choice(generator, (1, 1, 2, 3)),
                        _choice(generator, (1, 1, 1, 2, 4))) for _ in range(_randint(generator, 1, 8))])
    stacks.append([])  # no layers at all: the input itself
    for layers in stacks:
        result = _call(receptive_field, [tuple(layer) for layer in layers], what="receptive_field",
                       hint="each layer is a tuple (kernel_size, stride, dilation): `for k, s, d in layers:`.")
        expect(isinstance(result, (tuple, list)) and len(result) == 2,
               f"receptive_field should return two numbers, `return size, jump`; got {result!r}.")
        size = _as_int(result[0], "receptive_field (the size)", "")
        jump = _as_int(result[1], "receptive_field (the jump)", "")
        want_size, want_jump = _receptive_field(layers)
        if (size, jump) == (want_size, want_jump):
            continue
        case = f"for the layers {layers} (kernel, stride, dilation) the answer is ({want_size}, {want_jump})"
        case += f", yours is ({size}, {jump})"
        expect(layers, f"{case}: with no layers, one 'unit' is one input pixel: size 1, jump 1.")
        expect(jump == want_jump, f"{case}: the jump is the product of all the strides.")
        without_jump = 1 + sum(d * (k - 1) for k, s, d in layers)
        expect(size != without_jump, f"{case}: after a stride, neighbouring units are j pixels apart, so each extra "
                                     "tap of a later kernel reaches j pixels further: add d(k − 1)·j, not d(k − 1).")
        expect(size != _receptive_field_with_own_stride(layers),
               f"{case}: widen each layer's window with the jump of the layers *below* it, then multiply in its own "
               "stride (its stride only spreads out the layers above).")
        expect(size != _receptive_field([(k, s, 1) for k, s, d in layers])[0],
               f"{case}: the dilation is missing: a dilated kernel's taps are d units apart, so it adds d(k − 1)·j.")
        expect(size != want_size - 1, f"{case}: start from r = 1 (one input pixel sees itself), not 0.")
        expect(False, f"{case}. Hint: r ← r + d(k − 1)·j, then j ← j·s, layer by layer, from r = j = 1.")
    return passed("the receptive field grows by d(k − 1)·j per layer, the jump j by a factor s.")


def _receptive_field_with_own_stride(layers) -> int:
    """A typical mistake: the jump is updated before the size."""
    r, j = 1, 1
    for k, s, d in layers:
        j = j * s
        r = r + d * (k - 1) * j
    return r


# --- exercise 5: measure a receptive field by backpropagation ------------------------------------

def _random_twin(generator: torch.Generator, n: int):
    """A random all-ones linear stack (convolutions and average pooling) whose centre output unit sees a field,
    without holes and inside the n × n input, of the returned (height, width); and the output's size."""
    modules, axes = [], ([], [])  # per axis: (kernel, stride, padding, dilation)
    sizes, fields, jumps = [n, n], [1, 1], [1, 1]
    for _ in range(_randint(generator, 2, 5)):
        if _randint(generator, 0, 3) == 0 and min(sizes) >= 8:
            modules.append(nn.AvgPool2d(2))
            settings = [(2, 2, 0, 1)] * 2
        else:
            # no holes in the field: neighbouring units never see further apart than each one sees, so a dilation
            # of 2 needs 2j <= r below, and a stride of 2 needs 2j <= r after this layer, on both axes
            kernel = (_choice(generator, (1, 3, 3, 5)), _choice(generator, (1, 3, 3, 5)))
            dilation = tuple(_choice(generator, (1, 1, 2)) if 2 * jumps[a] <= fields[a] else 1 for a in range(2))
            new_fields = [fields[a] + dilation[a] * (kernel[a] - 1) * jumps[a] for a in range(2)]
            stride_allowed = min(sizes) >= 12 and all(2 * jumps[a] <= new_fields[a] for a in range(2))
            stride = _choice(generator, (1, 1, 2)) if stride_allowed else 1
            padding = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))
            conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation, bias=False)
            nn.init.ones_(conv.weight)
            modules.append(conv)
            settings = [(kernel[a], stride, padding[a], dilation[a]) for a in range(2)]
        for a in range(2):
            axes[a].append(settings[a])
            k, s, p, d = settings[a]
            sizes[a] = _output_size(sizes[a], k, s, p, d)
            fields[a], jumps[a] = fields[a] + d * (k - 1) * jumps[a], jumps[a] * s
    if not any(k > 1 for axis in axes for k, *_ in axis):  # make sure the field is more than one pixel
        return _random_twin(generator, n)
    expected = []
    for a in range(2):
        r, j, start = 1, 1, 0
        for k, s, p, d in axes[a]:
            r, j, start = r + d * (k - 1) * j, j * s, start - p * j
        first = (sizes[a] // 2) * j + start
        if first < 0 or first + r > n:  # the border would cut the centre unit's field: draw another stack
            return _random_twin(generator, n)
        expected.append(r)
    return nn.Sequential(*modules), tuple(expected), tuple(sizes)


def check_measured_receptive_field(measure_receptive_field) -> bool:
    """``measure_receptive_field(model, input_size)`` returns ``(height, width)`` of the region where the gradient
    of the centre output unit with respect to a one-channel ``input_size`` × ``input_size`` input is non-zero."""
    generator = fresh_generator()
    for _ in range(4):
        n = _randint(generator, 28, 48)
        model, expected, out_sizes = _random_twin(generator, n)
        result = _call(measure_receptive_field, model, n, what="measure_receptive_field",
                       hint="the input is one image with one channel: torch.ones(1, 1, input_size, input_size).")
        expect(isinstance(result, (tuple, list)) and len(result) == 2,
               f"measure_receptive_field should return two numbers, `return height, width`; got {result!r}.")
        height = _as_int(result[0], "measure_receptive_field (the height)", "Hint: count rows with `.sum().item()`.")
        width = _as_int(result[1], "measure_receptive_field (the width)", "Hint: count columns with `.sum().item()`.")
        if (height, width) == expected:
            continue
        case = (f"for the model {model} on a {n} × {n} input (output {out_sizes[0]} × {out_sizes[1]}), the centre "
                f"unit's field is {expected[0]} rows × {expected[1]} columns, yours is ({height}, {width})")
        expect((height, width) != expected[::-1], f"{case}: height first (rows), then width (columns).")
        expect(expected[0] * expected[1] not in (height, width),
               f"{case}: return the height and width of the non-zero region, not the number of pixels in it.")
        expect((height, width) != (n, n), f"{case}: your region covers the whole input. Backpropagate from one output "
                                          "unit, output[:, :, row, column].sum().backward(), not from all outputs.")
        expect(False, f"{case}. Hint: the unit (out_h // 2, out_w // 2); then grad != 0, .any(dim=1) marks the rows "
                      "and .any(dim=0) the columns that the field touches.")
    return passed("backpropagation from one unit measures its receptive field.")
