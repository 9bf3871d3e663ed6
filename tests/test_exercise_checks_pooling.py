"""The checks of the padding, stride and pooling exercises pass right answers (including alternative right
answers) and reject typical wrong ones with a message that says what is wrong."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from utils.checks import ExerciseError
from utils.exercise_checks import pooling as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args):
    raise NotImplementedError("Your turn")


# --- right answers, written the way a learner would ----------------------------------------------

def conv_output_size(n, k, s=1, p=0, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def same_padding(kernel_size, dilation=1):
    return dilation * (kernel_size - 1) // 2


def max_pool2d(x, kernel_size, stride=None):
    stride = kernel_size if stride is None else stride
    return x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride).amax(dim=(-2, -1))


def receptive_field(layers):
    size, jump = 1, 1
    for kernel_size, stride, dilation in layers:
        size += dilation * (kernel_size - 1) * jump
        jump *= stride
    return size, jump


def measure_receptive_field(model, input_size):
    x = torch.ones(1, 1, input_size, input_size, requires_grad=True)
    output = model(x)
    output[:, :, output.shape[-2] // 2, output.shape[-1] // 2].sum().backward()
    seen = x.grad[0, 0] != 0
    return int(seen.any(dim=1).sum()), int(seen.any(dim=0).sum())


# --- exercise 1 ---------------------------------------------------------------------------------

def test_check_output_size_passes_right_answers(capsys):
    assert checks.check_output_size(conv_output_size) is True
    assert checks.check_output_size(lambda n, k, s=1, p=0, d=1: math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1)
    assert checks.check_output_size(lambda n, k, s=1, p=0, d=1: np.int64((n + 2 * p - (d * (k - 1) + 1)) // s + 1))
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda n, k, s=1, p=0, d=1: math.ceil((n + 2 * p - d * (k - 1) - 1) / s) + 1, "not up"),
        (lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * (k - 1) - 1) / s + 1, "whole number"),
        (lambda n, k, s=1, p=0, d=1: (n + 2 * p - k) // s + 1, "dilation is missing"),
        (lambda n, k, s=1, p=0, d=1: (n + p - d * (k - 1) - 1) // s + 1, "both sides"),
        (lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * (k - 1) - 1) // s, "first window"),
        (lambda n, k, s=1, p=0, d=1: (n + 2 * p - d * (k - 1)) // s + 1, "subtract all of them"),
        (lambda n, k, s=1, p=0, d=1: round((n + 2 * p - d * (k - 1) - 1) / s) + 1, "nearest whole number"),
        (lambda n, k, s=1, p=0, d=1: n + 2 * p - d * (k - 1), "divide by the stride"),
        (lambda n, k, s=2, p=0, d=1: (n + 2 * p - d * (k - 1) - 1) // s + 1, "default values: s=1"),
        (lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s + 1, "default values"),
        (lambda *args: 24, "output size is"),  # a hard-coded answer
        (not_implemented, "NotImplementedError"),
        ("conv_output_size", "pass the function itself"),
    ],
)
def test_check_output_size_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_output_size(wrong)


# --- exercise 2 ---------------------------------------------------------------------------------

def test_check_same_padding_passes_right_answers():
    assert checks.check_same_padding(same_padding) is True
    assert checks.check_same_padding(lambda k, d=1: (k // 2) * d) is True
    assert checks.check_same_padding(lambda k, d=1: int(d * (k - 1) / 2)) is True


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda k, d=1: k // 2, "dilation is missing"),
        (lambda k, d=1: d * (k - 1), "both sides"),
        (lambda k, d=1: d * (k - 1) / 2, "whole number"),
        (lambda k, d: d * (k - 1) // 2, "default value"),
        (lambda k, d=1: 1, "turns .* pixels into"),  # a hard-coded answer
        (lambda k, d=1: -1, "cannot be negative"),
        (lambda k, d=2: d * (k - 1) // 2, "default value: dilation=1"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_same_padding_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_same_padding(wrong)


# --- exercise 3 ---------------------------------------------------------------------------------

def max_pool2d_with_loops(x, kernel_size, stride=None):
    stride = stride or kernel_size
    out_h, out_w = (x.shape[-2] - kernel_size) // stride + 1, (x.shape[-1] - kernel_size) // stride + 1
    rows = [torch.stack([x[..., i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size].amax(dim=(-2, -1))
                         for j in range(out_w)], dim=-1) for i in range(out_h)]
    return torch.stack(rows, dim=-2)


def max_pool2d_with_im2col(x, kernel_size, stride=None):
    stride = stride or kernel_size
    N, C, H, W = x.shape
    columns = F.unfold(x.reshape(N * C, 1, H, W), kernel_size, stride=stride)  # [N*C, k*k, L]
    out_h, out_w = (H - kernel_size) // stride + 1, (W - kernel_size) // stride + 1
    return columns.max(dim=1).values.reshape(N, C, out_h, out_w)


def test_check_max_pool2d_passes_right_answers():
    assert checks.check_max_pool2d(max_pool2d) is True
    assert checks.check_max_pool2d(max_pool2d_with_loops) is True
    assert checks.check_max_pool2d(max_pool2d_with_im2col) is True


def windows(x, k, s):
    s = s or k
    return x.unfold(2, k, s).unfold(3, k, s)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda x, k, s=None: F.max_pool2d(x, k, s), "write max pooling yourself"),
        (lambda x, k, s=None: nn.MaxPool2d(k, s)(x), "write max pooling yourself"),
        (lambda x, k, s=None: torch.max_pool2d(x, k, s or k), "write max pooling yourself"),
        (lambda x, k, s=None: windows(x, k, s).mean(dim=(-2, -1)), "average pooling"),
        (lambda x, k, s=None: windows(x, k, s).amin(dim=(-2, -1)), "smallest"),
        (lambda x, k, s=None: windows(x, k, s or 1).amax(dim=(-2, -1)), "defaults to kernel_size"),
        (lambda x, k, s=None: windows(x, k, s).amax(dim=(-2, -1)).amax(dim=1, keepdim=True), "batch and channel"),
        (lambda x, k, s=None: windows(x, k, s).amax(dim=(-2, -1)).detach(), "not connected"),
        (lambda x, k, s=None: windows(x, k, s).amax(dim=(-2, -1)).detach() + windows(x, k, s).mean(dim=(-2, -1))
         - windows(x, k, s).mean(dim=(-2, -1)).detach(), "gradient is not"),
        (lambda x, k, s=None: x[..., ::k, ::k], "should have shape|values differ"),
        (lambda x, k: windows(x, k, None).amax(dim=(-2, -1)), "raised TypeError"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_max_pool2d_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_max_pool2d(wrong)


def test_check_max_pool2d_puts_pytorch_back_afterwards():
    with pytest.raises(ExerciseError):
        checks.check_max_pool2d(lambda x, k, s=None: F.max_pool2d(x, k, s))
    x = torch.randn(1, 1, 4, 4)
    assert torch.equal(F.max_pool2d(x, 2), nn.MaxPool2d(2)(x))


# --- exercise 4 ---------------------------------------------------------------------------------

def test_check_receptive_field_passes_right_answers():
    assert checks.check_receptive_field(receptive_field) is True

    def with_a_list(layers):  # a list instead of a tuple, and a product for the jump: also right
        sizes = [1]
        for i, (k, _stride, d) in enumerate(layers):
            sizes.append(sizes[-1] + d * (k - 1) * math.prod(layer[1] for layer in layers[:i]))
        return [sizes[-1], math.prod(layer[1] for layer in layers)]

    assert checks.check_receptive_field(with_a_list) is True


def own_stride_first(layers):
    size, jump = 1, 1
    for k, s, d in layers:
        jump *= s
        size += d * (k - 1) * jump
    return size, jump


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda layers: (1 + sum(d * (k - 1) for k, s, d in layers), math.prod(s for k, s, d in layers)),
         r"add d\(k − 1\)·j"),
        (own_stride_first, "layers \\*below\\*"),
        (lambda layers: receptive_field([(k, s, 1) for k, s, d in layers]), "dilation is missing"),
        (lambda layers: (receptive_field(layers)[0] - 1, receptive_field(layers)[1]), "start from r = 1"),
        (lambda layers: (receptive_field(layers)[0], 1 + sum(s - 1 for k, s, d in layers)), "product of all the strides"),
        (lambda layers: receptive_field(layers)[0], "two numbers"),
        (lambda layers: (28, 4), "the answer is"),  # a hard-coded answer
        (lambda layers: [(k, s) for k, s in layers], "kernel_size, stride, dilation"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_receptive_field_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_receptive_field(wrong)


def test_check_receptive_field_explains_the_empty_stack():
    def forgets_the_input(layers):
        return receptive_field(layers) if layers else (0, 1)

    with pytest.raises(ExerciseError, match="size 1, jump 1"):
        checks.check_receptive_field(forgets_the_input)


# --- exercise 5 ---------------------------------------------------------------------------------

def test_check_measured_receptive_field_passes_right_answers():
    assert checks.check_measured_receptive_field(measure_receptive_field) is True

    def bounding_box(model, input_size):  # the extent from the first to the last non-zero row and column
        x = torch.ones(1, 1, input_size, input_size, requires_grad=True)
        out = model(x)
        out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
        rows, columns = x.grad[0, 0].nonzero(as_tuple=True)
        return (rows.max() - rows.min() + 1).item(), (columns.max() - columns.min() + 1).item()

    assert checks.check_measured_receptive_field(bounding_box) is True


def measured_then(change):
    return lambda model, input_size: change(*measure_receptive_field(model, input_size))


def whole_output(model, input_size):
    x = torch.ones(1, 1, input_size, input_size, requires_grad=True)
    model(x).sum().backward()
    seen = x.grad[0, 0] != 0
    return int(seen.any(dim=1).sum()), int(seen.any(dim=0).sum())


def corner_unit(model, input_size):
    x = torch.ones(1, 1, input_size, input_size, requires_grad=True)
    model(x)[:, :, 0, 0].sum().backward()
    seen = x.grad[0, 0] != 0
    return int(seen.any(dim=1).sum()), int(seen.any(dim=0).sum())


@pytest.mark.parametrize(
    "wrong, message",
    [
        (measured_then(lambda height, width: (width, height)), "height first"),
        (measured_then(lambda height, width: (height * width, height * width)), "not the number of pixels"),
        (measured_then(lambda height, width: height * width), "two numbers"),
        (measured_then(lambda height, width: (height / 1, width / 1)), "whole number"),
        (whole_output, "whole input|Hint"),
        (corner_unit, "centre unit's field"),
        (lambda model, input_size: (7, 7), "centre unit's field"),  # a hard-coded answer
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_measured_receptive_field_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_measured_receptive_field(wrong)
