"""Checks for the exercises of ``module2_cnns/solutions/03_lenet_alexnet_vgg.ipynb``.

Every check draws fresh random sizes and inputs, computes the right answer itself (mostly by
asking PyTorch's own layers) and compares, so a hard-coded answer does not pass; a wrong answer
gets an explanation of what went wrong and a hint (``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import torch
from torch import nn

from utils.checks import answer_as_int, call_answer, expect, fresh_generator, passed

__all__ = [
    "check_conv_parameter_count",
    "check_conv_output_size",
    "check_lenet_feature_sizes",
    "check_lenet5",
    "check_vgg_block",
    "check_receptive_field",
]

#: LeNet-5's four feature layers as (name, kernel size, stride, padding): C1, S2, C3, S4.
LENET_LAYERS = (("C1", 5, 1, 2), ("S2", 2, 2, 0), ("C3", 5, 1, 0), ("S4", 2, 2, 0))
#: Parameters of the ReLU / max-pool LeNet-5 without its output layer; the output layer adds 85 per class.
LENET_BODY_PARAMETERS = 156 + 2_416 + 48_120 + 10_164


# --- helpers -----------------------------------------------------------------------------------

def _randint(generator: torch.Generator, low: int, high: int) -> int:
    """A random int in [low, high]."""
    return int(torch.randint(low, high + 1, (), generator=generator).item())


def _as_int(value, what: str, hint: str = "") -> int:
    return answer_as_int(value, what, hint or "Hint: use integer division `//` (it rounds down), not `/`.")


def _parameter_count(module: nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def _conv_count(in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> int:
    return nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias, device="meta").weight.numel() \
        + (out_channels if bias else 0)


def _output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """The size PyTorch itself computes, from a real convolution on a blank input."""
    conv = nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding, bias=False)
    with torch.no_grad():
        return conv(torch.zeros(1, 1, size, size)).shape[-1]


def _lenet_reference_sizes(image_size: int) -> list[int]:
    features = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5), nn.MaxPool2d(2, 2))
    sizes, images = [], torch.zeros(1, 1, image_size, image_size)
    with torch.no_grad():
        for layer in features:
            images = layer(images)
            sizes.append(images.shape[-1])
    return sizes


def _forward_ok(model: nn.Module, inputs: torch.Tensor, what: str, hint: str) -> torch.Tensor:
    try:
        with torch.no_grad():
            return model(inputs)
    except NotImplementedError:
        expect(False, f"{what} still raises NotImplementedError: replace that line with your code first.")
    except RuntimeError as error:
        expect(False, f"the forward pass of {what} failed on an input of shape {tuple(inputs.shape)}: "
                      f"{str(error).splitlines()[0]}. {hint}")
    raise AssertionError("unreachable")


def _diagnose_cases(answers: dict, expected: dict, mistakes: list, formula: str, describe) -> None:
    """Return when every answer is right; otherwise explain with the first typical mistake that
    reproduces *all* the answers (so one coincidence cannot mislead), or else show the formula."""
    if answers == expected:
        return
    explanation = next((explanation for wrong_formula, explanation in mistakes
                        if all(answers[case] == wrong_formula(*case) for case in answers)),
                       f"The formula: {formula}.")
    case = next(case for case in answers if answers[case] != expected[case])
    expect(False, f"{describe(case)} should be {expected[case]}, you gave {answers[case]}: {explanation}")


# --- exercise 1: parameters of a convolution ---------------------------------------------------

def check_conv_parameter_count(conv_parameter_count) -> bool:
    """``conv_parameter_count(in_channels, out_channels, kernel_size, bias=True)`` is the number of
    parameters of ``nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)``."""
    generator = fresh_generator()
    cases = [(_randint(generator, 2, 64), _randint(generator, 2, 64), kernel_size, True)
             for kernel_size in (1, 3, _randint(generator, 4, 11))]
    cases.append((_randint(generator, 2, 64), _randint(generator, 2, 64), _randint(generator, 2, 7), False))
    cases.append((1, 6, 5, True))  # LeNet-5's C1
    answers, expected = {}, {}
    for case in cases:
        in_channels, out_channels, kernel_size, bias = case
        called = f"conv_parameter_count({in_channels}, {out_channels}, {kernel_size}, bias={bias})"
        answers[case] = _as_int(call_answer(conv_parameter_count, in_channels, out_channels, kernel_size, bias=bias,
                                            what="conv_parameter_count"), called)
        expected[case] = _conv_count(in_channels, out_channels, kernel_size, bias)
    mistakes = [
        (lambda i, o, k, b: k * k * i * o, "you left out the biases, one per output channel."),
        (lambda i, o, k, b: (k * k * i + 1) * o, "with bias=False there are no biases, only weights."),
        (lambda i, o, k, b: (k * i + b) * o, "a kernel is k × k, so it has k² weights per input channel, not k."),
        (lambda i, o, k, b: (k * k + b) * o, "each output channel has one k × k kernel for *every* input channel; "
                                             "multiply by in_channels."),
        (lambda i, o, k, b: (k * k * i + b) * i, "the number of kernels (and biases) is out_channels, not in_channels."),
        (lambda i, o, k, b: k * k * i * o * (1 + b), "there is one bias per output channel, not one per weight."),
        (lambda i, o, k, b: k * k * i * o + b * i * o, "there is one bias per output channel, not one per kernel."),
    ]
    _diagnose_cases(answers, expected, mistakes, "(k² · C_in + 1) · C_out with a bias, k² · C_in · C_out without",
                    lambda case: f"conv_parameter_count({case[0]}, {case[1]}, {case[2]}, bias={case[3]})")
    return passed("(k² · C_in + 1) · C_out, and k² · C_in · C_out without biases; LeNet-5's C1 has 156.")


# --- exercise 2: the output-size formula ------------------------------------------------------------

def check_conv_output_size(conv_output_size) -> bool:
    """``conv_output_size(size, kernel_size, stride=1, padding=0)`` is the output width of a convolution
    (or pooling) on a ``size``-wide input: floor((size + 2 padding - kernel_size) / stride) + 1."""
    generator = fresh_generator()
    cases = [(_randint(generator, 10, 60), 3, 1, 1), (_randint(generator, 10, 60), 5, 1, 0),
             (2 * _randint(generator, 5, 30), 2, 2, 0)]
    while len(cases) < 8:  # strided cases whose division does not come out even, so the rounding matters
        size, kernel_size, stride = _randint(generator, 12, 80), _randint(generator, 2, 11), _randint(generator, 2, 4)
        padding = _randint(generator, 1, max(1, kernel_size // 2))
        if (size + 2 * padding - kernel_size) % stride:
            cases.append((size, kernel_size, stride, padding))
    cases.append((224, 11, 4, 2))  # AlexNet's first convolution: 55

    def describe(case):
        return f"conv_output_size({case[0]}, kernel_size={case[1]}, stride={case[2]}, padding={case[3]})"

    answers, expected = {}, {}
    for case in cases:
        size, kernel_size, stride, padding = case
        raw = call_answer(conv_output_size, size, kernel_size, stride=stride, padding=padding, what="conv_output_size")
        if isinstance(raw, float) and not raw.is_integer():
            expect(False, f"{describe(case)} gave {raw}, not a whole number: a layer cannot produce a fraction of a "
                          "pixel. Use integer division `//`, which rounds down.")
        answers[case] = _as_int(raw, describe(case))
        expected[case] = _output_size(size, kernel_size, stride, padding)
    mistakes = [
        (lambda n, k, s, p: (n + 2 * p - k) // s, "you forgot the + 1 (a kernel that fits exactly once, "
                                                  "size == kernel_size, gives one output)."),
        (lambda n, k, s, p: (n + p - k) // s + 1, "padding is added on *both* sides, so it counts twice."),
        (lambda n, k, s, p: n + 2 * p - k + 1, "divide by the stride (the kernel moves `stride` pixels at a time)."),
        (lambda n, k, s, p: -(-(n + 2 * p - k) // s) + 1, "you rounded up; round *down*, with `//` (the kernel must "
                                                          "fit inside the padded input)."),
        (lambda n, k, s, p: (n - k) // s + 1, "you left out the padding: it adds 2·padding to the size."),
    ]
    _diagnose_cases(answers, expected, mistakes, "(size + 2·padding − kernel_size) // stride + 1", describe)
    return passed("(n + 2p − k) // s + 1, rounding down; AlexNet's 224 → 55 included.")


# --- exercise 3: feature-map sizes through LeNet-5 ---------------------------------------------------

def check_lenet_feature_sizes(lenet_feature_sizes) -> bool:
    """``lenet_feature_sizes(image_size)`` is the list of the feature maps' widths after C1, S2, C3
    and S4 of LeNet-5 (C1 5×5 padding 2, S2 2×2 stride 2, C3 5×5, S4 2×2 stride 2)."""
    generator = fresh_generator()
    image_sizes = [28, 32, _randint(generator, 16, 27), _randint(generator, 33, 99)]
    for image_size in image_sizes:
        called = f"lenet_feature_sizes({image_size})"
        answer = call_answer(lenet_feature_sizes, image_size, what="lenet_feature_sizes")
        expect(isinstance(answer, (list, tuple)) and len(answer) == 4,
               f"{called} should be a list of 4 widths (after C1, S2, C3 and S4), got {answer!r}.")
        answer = [_as_int(value, f"{called}[{index}]") for index, value in enumerate(answer)]
        expected = _lenet_reference_sizes(image_size)
        if answer == expected:
            continue
        for index, (name, kernel_size, stride, padding) in enumerate(LENET_LAYERS):
            if answer[index] == expected[index]:
                continue
            before = image_size if index == 0 else expected[index - 1]
            hint = {
                "C1": "C1 has 5×5 kernels and padding 2, so it keeps the size: 28 → 28.",
                "S2": "S2 is a 2×2 pooling with stride 2: it halves the size (rounding down).",
                "C3": "C3 has 5×5 kernels and no padding: it takes 4 pixels off, 14 → 10.",
                "S4": "S4 is a 2×2 pooling with stride 2: it halves the size (rounding down).",
            }[name]
            expect(False, f"{called} should be {expected}, you gave {answer}: {name} ({kernel_size}×{kernel_size}, "
                          f"stride {stride}, padding {padding}) turns {before} into {expected[index]}, not "
                          f"{answer[index]}. {hint} Feed each layer the previous layer's output size.")
    return passed(f"28 → {_lenet_reference_sizes(28)}: 16 maps of 5×5 = 400 numbers into the classifier.")


# --- exercise 4: LeNet-5 as an nn.Module ---------------------------------------------------------------

def _layers_of(model: nn.Module, kind) -> list[nn.Module]:
    return [module for module in model.modules() if isinstance(module, kind)]


def _lenet_reference_forward(convs, linears, images, activation=torch.relu, pool=nn.functional.max_pool2d):
    hidden = pool(activation(convs[0](images)), 2)
    hidden = pool(activation(convs[1](hidden)), 2).flatten(1)
    hidden = activation(linears[0](hidden))
    hidden = activation(linears[1](hidden))
    return linears[2](hidden)


def check_lenet5(lenet_class) -> bool:
    """``lenet_class(num_classes)`` is the modern LeNet-5: conv 6@5×5 (padding 2), ReLU, max-pool 2,
    conv 16@5×5, ReLU, max-pool 2, flatten, 400 → 120 → 84 → num_classes with ReLUs between; logits out."""
    generator = fresh_generator()
    expect(not isinstance(lenet_class, nn.Module), "pass the class itself, `check_lenet5(LeNet5)`, not a model made "
                                                   "from it: the check builds its own, with other numbers of classes.")
    num_classes = _randint(generator, 3, 20)
    while num_classes == 10:
        num_classes = _randint(generator, 3, 20)
    described = f"LeNet5(num_classes={num_classes})"
    model = call_answer(lenet_class, num_classes=num_classes, what="LeNet5")
    expect(isinstance(model, nn.Module), f"{described} should be an nn.Module, got a {type(model).__name__}. "
                                         "Hint: `class LeNet5(nn.Module):` and call `super().__init__()` first.")
    model = model.cpu().eval()
    convs, linears = _layers_of(model, nn.Conv2d), _layers_of(model, nn.Linear)
    expect(len(convs) == 2 and len(linears) == 3,
           f"LeNet-5 has 2 convolutions and 3 fully connected layers; {described} has {len(convs)} nn.Conv2d and "
           f"{len(linears)} nn.Linear. (Layers kept in a plain Python list are invisible to the module: use "
           "nn.Sequential(*layers).)")
    conv_shapes = [(conv.in_channels, conv.out_channels, conv.kernel_size) for conv in convs]
    expect(conv_shapes == [(1, 6, (5, 5)), (6, 16, (5, 5))],
           f"the convolutions should be 1 → 6 channels and 6 → 16 channels, both with 5×5 kernels; yours are "
           f"{[f'{i} → {o}, {k[0]}×{k[1]}' for i, o, k in conv_shapes]}.")
    expect(convs[0].padding == (2, 2) and convs[1].padding == (0, 0),
           f"C1 needs padding=2 (so a 28×28 digit stays 28×28) and C3 none; yours have padding "
           f"{convs[0].padding[0]} and {convs[1].padding[0]}.")
    linear_shapes = [(layer.in_features, layer.out_features) for layer in linears]
    expect(linear_shapes == [(400, 120), (120, 84), (84, num_classes)],
           f"the fully connected layers should be 400 → 120 → 84 → {num_classes} (num_classes); yours are "
           f"{' , '.join(f'{i} → {o}' for i, o in linear_shapes)}. (16 maps of 5×5 = 400 inputs; use num_classes for "
           "the last layer.)")
    expect(all(layer.bias is not None for layer in convs + linears), "keep the biases (the default bias=True).")
    count, expected_count = _parameter_count(model), LENET_BODY_PARAMETERS + 85 * num_classes
    expect(count == expected_count, f"{described} should have {expected_count:,} parameters, yours has {count:,}: "
                                    "there are parameters in something other than the five layers.")

    batch_size = _randint(generator, 16, 24)  # enough logits that some are negative (a ReLU on them shows)
    images = torch.randn(batch_size, 1, 28, 28, generator=generator)
    logits = _forward_ok(model, images, described, "Flatten the [B, 16, 5, 5] maps to [B, 400] before the first "
                                                   "nn.Linear (nn.Flatten()).")
    expect(isinstance(logits, torch.Tensor) and tuple(logits.shape) == (batch_size, num_classes),
           f"for {batch_size} digits the output should have shape ({batch_size}, {num_classes}), got "
           f"{tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__}.")
    with torch.no_grad():
        expected = _lenet_reference_forward(convs, linears, images)
        if torch.allclose(logits, expected, atol=1e-5):
            return passed(f"{described}: {count:,} parameters (61,706 with 10 classes), logits of shape "
                          f"({batch_size}, {num_classes}).")
        expect(not torch.allclose(logits.sum(1), torch.ones(batch_size), atol=1e-4),
               "the outputs sum to 1 per row: you applied a softmax. Return the logits; nn.CrossEntropyLoss applies "
               "the softmax itself.")
        expect(not torch.allclose(logits, torch.relu(expected), atol=1e-5),
               "the logits went through a ReLU: leave the last layer's outputs as they are.")
        expect(not torch.allclose(logits, _lenet_reference_forward(convs, linears, images, activation=torch.tanh), atol=1e-5),
               "you used tanh, as the 1998 LeNet-5 did (almost: it scaled it); this exercise asks for the modern ReLU.")
        expect(not torch.allclose(logits, _lenet_reference_forward(convs, linears, images, pool=nn.functional.avg_pool2d),
                                  atol=1e-5),
               "you used average pooling, close to the 1998 sub-sampling; this exercise asks for max-pooling, "
               "nn.MaxPool2d(2).")
    expect(False, f"{described} computes something else. The order is C1, ReLU, max-pool 2, C3, ReLU, max-pool 2, "
                  "flatten, Linear + ReLU, Linear + ReLU, Linear.")
    raise AssertionError("unreachable")


# --- exercise 5: a VGG block ------------------------------------------------------------------------

def _vgg_reference_forward(convs, images):
    hidden = images
    for conv in convs:
        hidden = torch.relu(conv(hidden))
    return nn.functional.max_pool2d(hidden, 2)


def check_vgg_block(vgg_block) -> bool:
    """``vgg_block(num_convs, in_channels, out_channels)`` is an ``nn.Module``: ``num_convs`` 3×3
    convolutions with padding 1 and a ReLU after each (the first from in_channels to out_channels,
    the others out_channels to out_channels), then a 2×2 max-pool with stride 2."""
    generator = fresh_generator()
    settings = [(1, _randint(generator, 1, 4), _randint(generator, 5, 8)),
                (_randint(generator, 2, 3), _randint(generator, 1, 4), _randint(generator, 5, 8))]
    for num_convs, in_channels, out_channels in settings:
        called = f"vgg_block({num_convs}, {in_channels}, {out_channels})"
        block = call_answer(vgg_block, num_convs, in_channels, out_channels, what="vgg_block")
        expect(isinstance(block, nn.Module), f"{called} should return an nn.Module (e.g. nn.Sequential(*layers)), "
                                             f"got a {type(block).__name__}.")
        block = block.cpu().eval()
        convs = _layers_of(block, nn.Conv2d)
        expect(len(convs) == num_convs, f"{called} should have {num_convs} convolutions, it has {len(convs)}.")
        expect(all(conv.kernel_size == (3, 3) for conv in convs), f"every convolution in a VGG block is 3×3; {called} "
                                                                 f"has kernels {[conv.kernel_size for conv in convs]}.")
        expect(all(conv.padding == (1, 1) and conv.stride == (1, 1) for conv in convs),
               f"every convolution needs padding=1 (and stride 1), so that it keeps the size; {called} has padding "
               f"{[conv.padding[0] for conv in convs]} and stride {[conv.stride[0] for conv in convs]}.")
        channels = [(conv.in_channels, conv.out_channels) for conv in convs]
        expected_channels = [(in_channels, out_channels)] + [(out_channels, out_channels)] * (num_convs - 1)
        expect(channels == expected_channels,
               f"{called}'s convolutions should go {expected_channels} (in → out channels), yours go {channels}: the "
               "first takes in_channels, every later one takes the previous one's out_channels.")
        expected_count = sum(_conv_count(i, o, 3) for i, o in expected_channels)
        count = _parameter_count(block)
        expect(count == expected_count, f"{called} should have {expected_count} parameters, yours has {count}.")

        batch_size, height, width = _randint(generator, 2, 4), 8 * _randint(generator, 1, 2), 8 * _randint(generator, 1, 2)
        images = torch.randn(batch_size, in_channels, height, width, generator=generator)
        output = _forward_ok(block, images, called, "")
        expected_shape = (batch_size, out_channels, height // 2, width // 2)
        expect(isinstance(output, torch.Tensor), f"{called} should return a tensor from its forward pass, got "
                                                 f"{type(output).__name__}.")
        expect(tuple(output.shape) != (batch_size, out_channels, height, width),
               f"{called} keeps the size {height}×{width}: end the block with nn.MaxPool2d(kernel_size=2, stride=2), "
               "which halves it.")
        expect(tuple(output.shape) == expected_shape,
               f"on an input {tuple(images.shape)}, {called} should give {expected_shape}, got {tuple(output.shape)}. "
               "One 2×2 max-pool, at the end of the block.")
        with torch.no_grad():
            expected = _vgg_reference_forward(convs, images)
            if torch.allclose(output, expected, atol=1e-5):
                continue
            linear = images
            for conv in convs:
                linear = conv(linear)
            expect(not torch.allclose(output, nn.functional.max_pool2d(linear, 2), atol=1e-5),
                   f"{called} has no ReLUs: put nn.ReLU() after every convolution.")
        expect(False, f"{called} computes something else: the order is conv, ReLU, conv, ReLU, …, then the max-pool.")
    return passed("n × (3×3 conv + ReLU), then a 2×2 max-pool: the size halves, the channels become out_channels.")


# --- exercise 6: the receptive field of a stack -------------------------------------------------------

def _measured_receptive_field(kernel_sizes: list[int]) -> int:
    """Width of the input patch that one output pixel of a stack of stride-1 convolutions depends on."""
    field = 1 + sum(kernel_size - 1 for kernel_size in kernel_sizes)
    image_size = field + 6
    stack = nn.Sequential(*[nn.Conv2d(1, 1, kernel_size, padding=kernel_size // 2, bias=False)
                            for kernel_size in kernel_sizes]).double()
    for conv in stack:
        nn.init.ones_(conv.weight)  # all paths positive: no cancellation
    image = torch.zeros(1, 1, image_size, image_size, dtype=torch.float64, requires_grad=True)
    stack(image)[0, 0, image_size // 2, image_size // 2].backward()
    return int(image.grad[0, 0].ne(0).any(dim=0).sum())


def check_receptive_field(receptive_field) -> bool:
    """``receptive_field(kernel_sizes)`` is the width of the input patch one output pixel sees, for a
    stack of stride-1 convolutions with the given (odd) kernel sizes, first layer first."""
    generator = fresh_generator()
    stacks = [[3, 3], [3, 3, 3], [5]]
    for _ in range(3):
        stacks.append([2 * _randint(generator, 0, 3) + 1 for _ in range(_randint(generator, 2, 5))])
    for kernel_sizes in stacks:
        called = f"receptive_field({kernel_sizes})"
        answer = _as_int(call_answer(receptive_field, list(kernel_sizes), what="receptive_field"), called)
        expected = _measured_receptive_field(kernel_sizes)
        if answer == expected:
            continue
        expect(answer != sum(kernel_sizes),
               f"{called} should be {expected}, you gave {answer}: the kernels overlap. Each layer adds k − 1 pixels to "
               "what the layer before saw, not k; start from 1 (one pixel sees itself).")
        expect(answer != max(kernel_sizes), f"{called} should be {expected}, you gave {answer}: every layer widens the "
                                            "view, not only the biggest kernel.")
        expect(False, f"{called} should be {expected}, you gave {answer}. Start from 1 and add k − 1 for every layer.")
    return passed("r = 1 + Σ (k − 1): two 3×3 see 5×5, three see 7×7.")
