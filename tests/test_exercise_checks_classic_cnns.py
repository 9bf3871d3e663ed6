"""The checks of the LeNet / AlexNet / VGG exercises pass right answers (including alternative right
answers) and reject typical wrong ones with a message that says what is wrong."""

import math

import pytest
import torch
from torch import nn

from utils.checks import ExerciseError
from utils.exercise_checks import classic_cnns as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args, **kwargs):
    raise NotImplementedError("Your turn")


# --- right answers, written the way a learner would ----------------------------------------------

def conv_parameter_count(in_channels, out_channels, kernel_size, bias=True):
    return (kernel_size * kernel_size * in_channels + int(bias)) * out_channels


def conv_output_size(size, kernel_size, stride=1, padding=0):
    return (size + 2 * padding - kernel_size) // stride + 1


def lenet_feature_sizes(image_size):
    sizes, size = [], image_size
    for kernel_size, stride, padding in [(5, 1, 2), (2, 2, 0), (5, 1, 0), (2, 2, 0)]:
        size = conv_output_size(size, kernel_size, stride, padding)
        sizes.append(size)
    return sizes


class LeNet5(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes),
        )

    def forward(self, images):
        return self.classifier(self.features(images))


def vgg_block(num_convs, in_channels, out_channels):
    layers = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    return nn.Sequential(*layers, nn.MaxPool2d(2, 2))


def receptive_field(kernel_sizes):
    return 1 + sum(k - 1 for k in kernel_sizes)


# --- exercise 1: parameters of a convolution -------------------------------------------------------

def test_check_conv_parameter_count_passes_right_answers(capsys):
    assert checks.check_conv_parameter_count(conv_parameter_count) is True
    by_pytorch = lambda i, o, k, bias=True: sum(p.numel() for p in nn.Conv2d(i, o, k, bias=bias).parameters())  # noqa: E731
    assert checks.check_conv_parameter_count(by_pytorch) is True
    as_tensor = lambda i, o, k, bias=True: torch.tensor(float(conv_parameter_count(i, o, k, bias)))  # noqa: E731
    assert checks.check_conv_parameter_count(as_tensor) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda i, o, k, bias=True: k * k * i * o, "left out the biases"),
        (lambda i, o, k, bias=True: (k * k * i + 1) * o, "bias=False there are no biases"),
        (lambda i, o, k, bias=True: (k * i + bias) * o, "k² weights"),
        (lambda i, o, k, bias=True: (k * k + bias) * o, "multiply by in_channels"),
        (lambda i, o, k, bias=True: (k * k * i + bias) * i, "out_channels"),
        (lambda i, o, k, bias=True: k * k * i * o * (1 + bias), "one bias per output channel"),
        (lambda i, o, k, bias=True: 156, "should be"),  # a hard-coded answer
        (lambda i, o, k, bias=True: "156", "should be a number, got str"),
        (not_implemented, "NotImplementedError"),
        (42, "pass the function itself"),
    ],
)
def test_check_conv_parameter_count_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_conv_parameter_count(wrong)


# --- exercise 2: the output-size formula ---------------------------------------------------------

def test_check_conv_output_size_passes_right_answers():
    assert checks.check_conv_output_size(conv_output_size) is True
    with_floor = lambda n, k, stride=1, padding=0: math.floor((n + 2 * padding - k) / stride) + 1  # noqa: E731
    assert checks.check_conv_output_size(with_floor) is True
    as_float = lambda n, k, stride=1, padding=0: float(conv_output_size(n, k, stride, padding))  # noqa: E731
    assert checks.check_conv_output_size(as_float) is True


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda n, k, stride=1, padding=0: (n + 2 * padding - k) // stride, r"forgot the \+ 1"),
        (lambda n, k, stride=1, padding=0: (n + padding - k) // stride + 1, "both"),
        (lambda n, k, stride=1, padding=0: n + 2 * padding - k + 1, "divide by the stride"),
        (lambda n, k, stride=1, padding=0: math.ceil((n + 2 * padding - k) / stride) + 1, "rounded up"),
        (lambda n, k, stride=1, padding=0: (n + 2 * padding - k) / stride + 1, "integer division"),
        (lambda n, k, stride=1, padding=0: 55, "should be"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_conv_output_size_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_conv_output_size(wrong)


# --- exercise 3: feature-map sizes through LeNet-5 -----------------------------------------------------

def test_check_lenet_feature_sizes_passes_right_answers():
    assert checks.check_lenet_feature_sizes(lenet_feature_sizes) is True

    def by_running_the_layers(image_size):  # also right: ask PyTorch
        layers = [nn.Conv2d(1, 6, 5, padding=2), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.MaxPool2d(2)]
        images, sizes = torch.zeros(1, 1, image_size, image_size), []
        for layer in layers:
            images = layer(images)
            sizes.append(images.shape[-1])
        return tuple(sizes)

    assert checks.check_lenet_feature_sizes(by_running_the_layers) is True


def sizes_with(layers):
    def lenet_sizes(image_size):
        sizes, size = [], image_size
        for kernel_size, stride, padding in layers:
            size = conv_output_size(size, kernel_size, stride, padding)
            sizes.append(size)
        return sizes
    return lenet_sizes


@pytest.mark.parametrize(
    "wrong, message",
    [
        (sizes_with([(5, 1, 0), (2, 2, 0), (5, 1, 0), (2, 2, 0)]), "C1 .*padding 2"),
        (sizes_with([(5, 1, 2), (2, 1, 0), (5, 1, 0), (2, 2, 0)]), "S2 .*halves"),
        (sizes_with([(5, 1, 2), (2, 2, 0), (5, 1, 2), (2, 2, 0)]), "C3 .*no padding"),
        (lambda image_size: [28, 14, 10, 5], r"lenet_feature_sizes\(\d+\) should be"),  # hard-coded
        (lambda image_size: [28, 14, 10], "list of 4"),
        (lambda image_size: 5, "list of 4"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_lenet_feature_sizes_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_lenet_feature_sizes(wrong)


# --- exercise 4: LeNet-5 ------------------------------------------------------------------------------

def test_check_lenet5_passes_right_answers(capsys):
    assert checks.check_lenet5(LeNet5) is True
    assert "61,706" in capsys.readouterr().out

    class FunctionalLeNet5(nn.Module):  # also right: layers as attributes, the rest in forward
        def __init__(self, num_classes=10):
            super().__init__()
            self.c1, self.c3 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
            self.c5, self.f6, self.out = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, num_classes)

        def forward(self, x):
            x = nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
            x = nn.functional.max_pool2d(torch.relu(self.c3(x)), 2)
            x = torch.relu(self.c5(x.flatten(1)))
            return self.out(torch.relu(self.f6(x)))

    assert checks.check_lenet5(FunctionalLeNet5) is True
    assert sum(p.numel() for p in LeNet5().parameters()) == 61_706


def lenet_variant(activation=nn.ReLU, pool=nn.MaxPool2d, c1_padding=2, last=None, classes_fixed=False,
                  flatten=True):
    class Variant(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            num_classes = 10 if classes_fixed else num_classes
            self.features = nn.Sequential(
                nn.Conv2d(1, 6, 5, padding=c1_padding), activation(), pool(2),
                nn.Conv2d(6, 16, 5), activation(), pool(2),
            )
            tail = [last] if last is not None else []
            self.classifier = nn.Sequential(
                *([nn.Flatten()] if flatten else []), nn.Linear(400, 120), activation(), nn.Linear(120, 84), activation(),
                nn.Linear(84, num_classes), *tail,
            )

        def forward(self, images):
            return self.classifier(self.features(images))
    return Variant


class PlainListLeNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.layers = [nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)]  # invisible to the module

    def forward(self, images):
        return images


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lenet_variant(activation=nn.Tanh), "tanh"),
        (lenet_variant(pool=nn.AvgPool2d), "average pooling"),
        (lenet_variant(last=nn.Softmax(dim=1)), "softmax"),
        (lenet_variant(last=nn.ReLU()), "ReLU"),
        (lenet_variant(c1_padding=0), "padding=2"),
        (lenet_variant(classes_fixed=True), "num_classes"),
        (lenet_variant(flatten=False), "Flatten"),
        (PlainListLeNet, "2 convolutions and 3 fully connected"),
        (LeNet5(), "pass the class itself"),
        (lambda num_classes=10: "LeNet", "nn.Module"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_lenet5_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_lenet5(wrong)


# --- exercise 5: a VGG block ---------------------------------------------------------------------------

def test_check_vgg_block_passes_right_answers():
    assert checks.check_vgg_block(vgg_block) is True

    class VGGBlock(nn.Module):  # also right: a module of its own
        def __init__(self, num_convs, in_channels, out_channels):
            super().__init__()
            self.convs = nn.ModuleList(nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1)
                                       for i in range(num_convs))

        def forward(self, x):
            for conv in self.convs:
                x = torch.relu(conv(x))
            return nn.functional.max_pool2d(x, 2)

    assert checks.check_vgg_block(VGGBlock) is True


def block_variant(padding=1, relu=True, pool=True, same_in=False, pool_each=False, kernel_size=3):
    def block(num_convs, in_channels, out_channels):
        layers, channels = [], in_channels
        for _ in range(num_convs):
            layers.append(nn.Conv2d(in_channels if same_in else channels, out_channels, kernel_size, padding=padding))
            if relu:
                layers.append(nn.ReLU())
            if pool_each:
                layers.append(nn.MaxPool2d(2))
            channels = out_channels
        if pool and not pool_each:
            layers.append(nn.MaxPool2d(2))
        return nn.Sequential(*layers)
    return block


@pytest.mark.parametrize(
    "wrong, message",
    [
        (block_variant(padding=0), "padding=1"),
        (block_variant(relu=False), "no ReLUs"),
        (block_variant(pool=False), "keeps the size"),
        (block_variant(same_in=True), "first takes in_channels"),
        (block_variant(pool_each=True), "One 2×2 max-pool"),
        (block_variant(kernel_size=5, padding=2), "3×3"),
        (lambda n, i, o: [nn.Conv2d(i, o, 3, padding=1)], "nn.Module"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_vgg_block_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_vgg_block(wrong)


# --- exercise 6: the receptive field ---------------------------------------------------------------------

def test_check_receptive_field_passes_right_answers():
    assert checks.check_receptive_field(receptive_field) is True
    assert checks.check_receptive_field(lambda ks: sum(ks) - len(ks) + 1) is True


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda ks: sum(ks), "overlap"),
        (lambda ks: max(ks), "every layer widens"),
        (lambda ks: 5, "should be"),
        (lambda ks: 1 + 2 * len(ks), "should be"),  # right only for 3x3 stacks
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_receptive_field_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_receptive_field(wrong)
