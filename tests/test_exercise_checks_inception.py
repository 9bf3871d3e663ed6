"""The checks of the inception-module exercises pass right answers (including alternative right answers)
and reject typical wrong ones with a message that says what is wrong."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from utils.checks import ExerciseError
from utils.exercise_checks import inception as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args, **kwargs):
    raise NotImplementedError("Your turn")


# --- exercise 1: the cost of a convolution --------------------------------------------------------

def output_size(size, kernel_size, stride, padding):
    return (size + 2 * padding - kernel_size) // stride + 1


def conv_cost(in_channels, out_channels, kernel_size, height, width, stride=1, padding=0):
    parameters = (kernel_size * kernel_size * in_channels + 1) * out_channels
    output_positions = output_size(height, kernel_size, stride, padding) * output_size(width, kernel_size, stride, padding)
    return parameters, output_positions * kernel_size * kernel_size * in_channels * out_channels


def conv_cost_with_pytorch(in_channels, out_channels, kernel_size, height, width, stride=1, padding=0):
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
    output = conv(torch.zeros(1, in_channels, height, width))
    return torch.tensor(sum(p.numel() for p in conv.parameters())), float(output[0].numel() * conv.weight[0].numel())


def test_check_conv_cost_passes_right_answers(capsys):
    assert checks.check_conv_cost(conv_cost) is True
    assert checks.check_conv_cost(conv_cost_with_pytorch) is True
    assert "Correct" in capsys.readouterr().out


def with_macs(macs):
    return lambda i, o, k, h, w, stride=1, padding=0: (conv_cost(i, o, k, h, w, stride, padding)[0],
                                                       macs(i, o, k, h, w, stride, padding))


def positions(h, w, k, s, p):
    return output_size(h, k, s, p) * output_size(w, k, s, p)


@pytest.mark.parametrize(
    "wrong_cost, message",
    [
        (lambda i, o, k, h, w, stride=1, padding=0: (k * k * i * o, conv_cost(i, o, k, h, w, stride, padding)[1]),
         "left out the biases"),
        (lambda i, o, k, h, w, stride=1, padding=0: ((k * i + 1) * o, conv_cost(i, o, k, h, w, stride, padding)[1]),
         "k² weights per input channel"),
        (with_macs(lambda i, o, k, h, w, s, p: h * w * k * k * i * o), r"\*output\* position"),
        (with_macs(lambda i, o, k, h, w, s, p: 2 * positions(h, w, k, s, p) * k * k * i * o), "FLOPs"),
        (with_macs(lambda i, o, k, h, w, s, p: positions(h, w, k, s, p) * (k * k * i + 1) * o), "bias additions out"),
        (with_macs(lambda i, o, k, h, w, s, p: positions(h, w, k, s, p) * k * i * o), "k² multiply-accumulates"),
        (with_macs(lambda i, o, k, h, w, s, p: positions(h, w, k, s, p) * k * k * o), "multiply by in_channels"),
        (with_macs(lambda i, o, k, h, w, s, p: output_size(h, k, s, p) ** 2 * k * k * i * o), "H' and W' can differ"),
        (with_macs(lambda i, o, k, h, w, s, p: positions(h, w, k, s, p) * k * k * i * o + 0.5), "whole number"),
        (lambda i, o, k, h, w, stride=1, padding=0: conv_cost(i, o, k, h, w, stride, padding)[1], "two numbers"),
        (lambda i, o, k, h, w, stride=1, padding=0: (12_832, 10_035_200), "should be"),  # a hard-coded answer
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_conv_cost_explains_wrong_answers(wrong_cost, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_conv_cost(wrong_cost)


# --- exercise 2: a 1x1 convolution with einsum -------------------------------------------------------

def pointwise_conv(images, weight, bias):
    return torch.einsum("oc,bchw->bohw", weight[:, :, 0, 0], images) + bias[None, :, None, None]


def pointwise_conv_by_matmul(images, weight, bias):
    batch_size, in_channels, height, width = images.shape
    flat = weight.flatten(1) @ images.flatten(2)  # [B, C_out, H*W]
    return (flat + bias[:, None]).reshape(batch_size, -1, height, width)


def pointwise_conv_channels_last(images, weight, bias):
    return (images.permute(0, 2, 3, 1) @ weight.squeeze(-1).squeeze(-1).T + bias).permute(0, 3, 1, 2)


def test_check_pointwise_conv_passes_right_answers():
    assert checks.check_pointwise_conv(pointwise_conv) is True
    assert checks.check_pointwise_conv(pointwise_conv_by_matmul) is True
    assert checks.check_pointwise_conv(pointwise_conv_channels_last) is True


def test_check_pointwise_conv_leaves_the_convolutions_working():
    with pytest.raises(ExerciseError):
        checks.check_pointwise_conv(lambda x, w, b: F.conv2d(x, w, b))
    images, weight = torch.randn(1, 2, 3, 3), torch.randn(4, 2, 1, 1)
    assert F.conv2d(images, weight).shape == (1, 4, 3, 3) and torch.conv2d(images, weight).shape == (1, 4, 3, 3)


def with_module(x, w, b):
    conv = nn.Conv2d(w.shape[1], w.shape[0], 1)
    conv.weight.data, conv.bias.data = w, b
    return conv(x)


@pytest.mark.parametrize(
    "wrong_pointwise, message",
    [
        (lambda x, w, b: F.conv2d(x, w, b), "called a convolution"),
        (with_module, "called a convolution"),
        (lambda x, w, b: torch.einsum("oc,bchw->bohw", w[:, :, 0, 0], x), "bias is missing"),
        (lambda x, w, b: torch.einsum("oc,bchw->bohw", w[:, :, 0, 0], x) - b[None, :, None, None], "not subtracted"),
        (lambda x, w, b: torch.einsum("oc,bchw->bhwo", w[:, :, 0, 0], x) + b, "channels last"),
        (lambda x, w, b: torch.einsum("co,bchw->bohw", w[:, :, 0, 0], x), r"raised RuntimeError.*weight\[:, :, 0, 0\]"),
        (lambda x, w, b: torch.einsum("oc,bchw->bohw", w[:, :, 0, 0], x).sum(1), "should return shape"),
        (lambda x, w, b: torch.einsum("oc,bchw->bohw", w[:, :, 0, 0].abs(), x) + b[None, :, None, None], "something else"),
        (lambda x, w, b: torch.einsum("oc,bchw->bohw", w[:, :, 0, 0], x).tolist(), "return a tensor"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_pointwise_conv_explains_wrong_answers(wrong_pointwise, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_pointwise_conv(wrong_pointwise)


# --- exercise 3: the inception block --------------------------------------------------------------------

def conv_relu(in_channels, out_channels, kernel_size, padding=None, relu=True, bias=True):
    padding = kernel_size // 2 if padding is None else padding
    layers = [nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=bias)]
    return nn.Sequential(*layers, nn.ReLU()) if relu else layers[0]


class InceptionBlock(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj, *, mistake=None):
        super().__init__()
        self.mistake = mistake
        relu = mistake != "no relu"
        reduce_relu = mistake != "no relu after reduce"
        bias = mistake != "no bias"
        self.branch1 = conv_relu(in_channels, ch1x1, 1, relu=relu, bias=bias)
        if mistake == "no 3x3 reduction":
            self.branch2 = nn.Sequential(nn.Conv2d(in_channels, ch3x3_reduce, 1), conv_relu(in_channels, ch3x3, 3))
        else:
            self.branch2 = nn.Sequential(conv_relu(in_channels, ch3x3_reduce, 1, relu=reduce_relu, bias=bias),
                                         conv_relu(ch3x3_reduce, ch3x3, 3, relu=relu, bias=bias))
        large = 3 if mistake == "3x3 for 5x5" else 5
        padding = 0 if mistake == "no padding" else None
        self.branch3 = nn.Sequential(conv_relu(in_channels, ch5x5_reduce, 1, relu=reduce_relu, bias=bias),
                                     conv_relu(ch5x5_reduce, ch5x5, large, padding=padding, relu=relu, bias=bias))
        pool = nn.Identity() if mistake == "no pool" else nn.MaxPool2d(3, stride=1, padding=1)
        if mistake == "avg pool":
            pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.branch4 = nn.Sequential(pool, conv_relu(in_channels, pool_proj, 1, relu=relu, bias=bias))
        if mistake == "extra layer":
            self.extra = nn.Linear(3, 3)

    def forward(self, x):
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        if self.mistake == "order":
            branches = branches[::-1]
        return torch.cat(branches, dim=1)


class FunctionalInception(nn.Module):
    # an alternative right answer: plain Conv2d layers in a ModuleDict, ReLUs and pooling in forward
    def __init__(self, in_channels, ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj):
        super().__init__()
        self.convs = nn.ModuleDict({
            "one": nn.Conv2d(in_channels, ch1x1, 1),
            "three_reduce": nn.Conv2d(in_channels, ch3x3_reduce, 1),
            "three": nn.Conv2d(ch3x3_reduce, ch3x3, 3, padding=1),
            "five_reduce": nn.Conv2d(in_channels, ch5x5_reduce, 1),
            "five": nn.Conv2d(ch5x5_reduce, ch5x5, 5, padding=2),
            "pool": nn.Conv2d(in_channels, pool_proj, 1),
        })

    def forward(self, x):
        c = self.convs
        return torch.cat([
            F.relu(c["one"](x)),
            F.relu(c["three"](F.relu(c["three_reduce"](x)))),
            F.relu(c["five"](F.relu(c["five_reduce"](x)))),
            F.relu(c["pool"](F.max_pool2d(x, 3, 1, 1))),
        ], dim=1)


def with_mistake(mistake):
    return lambda *widths: InceptionBlock(*widths, mistake=mistake)


def test_check_inception_block_passes_right_answers():
    assert checks.check_inception_block(InceptionBlock) is True
    assert checks.check_inception_block(FunctionalInception) is True


@pytest.mark.parametrize(
    "mistake, message",
    [
        ("no 3x3 reduction", "3×3 convolution reads the block's"),
        ("3x3 for 5x5", "should be 5×5"),
        ("no bias", "should have a bias"),
        ("no relu", "negative values"),
        ("no relu after reduce", "ReLU after the 1×1 reductions"),
        ("order", "another order"),
        ("no pool", "starts with a 3×3 max-pool"),
        ("avg pool", r"the pool → 1×1 branch"),
        ("no padding", "keep the height and width"),
        ("extra layer", "parameters"),
    ],
)
def test_check_inception_block_explains_wrong_answers(mistake, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_inception_block(with_mistake(mistake))


def test_check_inception_block_explains_other_wrong_answers():
    with pytest.raises(ExerciseError, match="NotImplementedError"):
        checks.check_inception_block(not_implemented)
    with pytest.raises(ExerciseError, match="should create an nn.Module"):
        checks.check_inception_block(lambda *widths: "a block")
    with pytest.raises(ExerciseError, match="six convolutions"):
        checks.check_inception_block(lambda in_channels, *widths: nn.Conv2d(in_channels, sum(widths), 1))


# --- exercise 4: the savings factor and the break-even width -----------------------------------------------

def savings_factor(in_channels, reduce_channels, out_channels, kernel_size):
    without = kernel_size**2 * in_channels * out_channels
    return without / (in_channels * reduce_channels + kernel_size**2 * reduce_channels * out_channels)


def test_check_savings_factor_passes_right_answers():
    assert checks.check_savings_factor(savings_factor) is True
    assert checks.check_savings_factor(lambda i, r, o, k: torch.tensor(k * k * i * o / (r * (i + k * k * o)))) is True


@pytest.mark.parametrize(
    "wrong_factor, message",
    [
        (lambda i, r, o, k: 1 / savings_factor(i, r, o, k), "upside down"),
        (lambda i, r, o, k: i / r, "not free"),
        (lambda i, r, o, k: (k * k * i + 1) * o / ((i + 1) * r + (k * k * r + 1) * o), "without the biases"),
        (lambda i, r, o, k: k * i * o / (i * r + k * r * o), "k² weights"),
        (lambda i, r, o, k: 9.68, "should be"),  # a hard-coded answer
        (lambda i, r, o, k: "9.7", "should be a number"),
    ],
)
def test_check_savings_factor_explains_wrong_answers(wrong_factor, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_savings_factor(wrong_factor)


def break_even_width(in_channels, out_channels, kernel_size):
    bound = kernel_size**2 * in_channels * out_channels / (in_channels + kernel_size**2 * out_channels)
    return math.ceil(bound) - 1


def break_even_by_search(in_channels, out_channels, kernel_size):
    r = 1
    while savings_factor(in_channels, r + 1, out_channels, kernel_size) > 1:
        r += 1
    return r


def test_check_break_even_width_passes_right_answers():
    assert checks.check_break_even_width(break_even_width) is True
    assert checks.check_break_even_width(break_even_by_search) is True


def bound(i, o, k):
    return k * k * i * o / (i + k * k * o)


@pytest.mark.parametrize(
    "wrong_width, message",
    [
        (lambda i, o, k: math.floor(bound(i, o, k)), r"exactly 1.*strictly"),
        (lambda i, o, k: math.ceil(bound(i, o, k)), "costs more than it saves"),
        (lambda i, o, k: bound(i, o, k), "whole number"),
        (lambda i, o, k: math.ceil(bound(i, o, k)) - 2, "a wider reduction still saves"),
        (lambda i, o, k: 154, "should be"),  # a hard-coded answer
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_break_even_width_explains_wrong_answers(wrong_width, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_break_even_width(wrong_width)
