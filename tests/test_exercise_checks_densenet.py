"""The checks of the DenseNet exercises pass right answers (including alternative right answers)
and reject typical wrong ones with a message that says what is wrong."""

import math

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from utils.checks import ExerciseError
from utils.exercise_checks import densenet as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args, **kwargs):
    raise NotImplementedError("Your turn")


# --- right answers, written the way a learner would ----------------------------------------------

def dense_block_out_channels(in_channels, num_layers, growth_rate):
    return in_channels + num_layers * growth_rate


def transition_out_channels(in_channels, compression=0.5):
    return int(compression * in_channels)


class DenseLayer(nn.Module):
    def __init__(self, in_channels, growth_rate, bn_size=4):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, padding=1, bias=False)

    def forward(self, x):
        new = self.conv2(F.relu(self.norm2(self.conv1(F.relu(self.norm1(x))))))
        return torch.cat([x, new], dim=1)


class Transition(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)

    def forward(self, x):
        return self.pool(self.conv(F.relu(self.norm(x))))


def dense_block_parameters(in_channels, num_layers, growth_rate, bn_size=4):
    total = 0
    for i in range(num_layers):
        c, width = in_channels + i * growth_rate, bn_size * growth_rate
        total += 2 * c + c * width + 2 * width + 9 * width * growth_rate
    return total


def make_densenet(block_config, growth_rate, num_init_features, num_classes=1000):
    layers = [nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3, bias=False),
              nn.BatchNorm2d(num_init_features), nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2, padding=1)]
    channels = num_init_features
    for i, num_layers in enumerate(block_config):
        layers += [DenseLayer(channels + j * growth_rate, growth_rate) for j in range(num_layers)]
        channels = dense_block_out_channels(channels, num_layers, growth_rate)
        if i < len(block_config) - 1:
            layers.append(Transition(channels, transition_out_channels(channels)))
            channels = transition_out_channels(channels)
    layers += [nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


# --- the reference formula ----------------------------------------------------------------------

@pytest.mark.parametrize("name, blocks, growth_rate, init", [
    ("densenet121", (6, 12, 24, 16), 32, 64),
    ("densenet169", (6, 12, 32, 32), 32, 64),
    ("densenet201", (6, 12, 48, 32), 32, 64),
    ("densenet161", (6, 12, 36, 24), 48, 96),
])
def test_densenet_parameters_matches_torchvision(name, blocks, growth_rate, init):
    expected = sum(p.numel() for p in getattr(torchvision.models, name)(weights=None).parameters())
    assert checks.densenet_parameters(blocks, growth_rate, init) == expected


def test_densenet_parameters_matches_a_small_torchvision_densenet():
    model = torchvision.models.DenseNet(growth_rate=6, block_config=(2, 3, 1), num_init_features=10, num_classes=7)
    assert checks.densenet_parameters((2, 3, 1), 6, 10, 7) == sum(p.numel() for p in model.parameters())


def test_the_right_answers_build_densenet_121():
    model = make_densenet((6, 12, 24, 16), 32, 64)
    assert sum(p.numel() for p in model.parameters()) == 7_978_856


# --- exercise 1 ---------------------------------------------------------------------------------

def test_check_dense_block_channels_passes_right_answers(capsys):
    assert checks.check_dense_block_channels(dense_block_out_channels) is True
    assert checks.check_dense_block_channels(lambda c, n, k: torch.tensor(c + sum([k] * n))) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda c, n, k: n * k, "only the new channels"),
    (lambda c, n, k: c + (n - 1) * k, "the last one included"),
    (lambda c, n, k: c + k, "not only the first"),
    (lambda c, n, k: (c + k) * n, "adds"),
    (lambda c, n, k: c + n * k + 0.5, "whole number"),
    (lambda c, n, k: 256, "should be"),  # a hard-coded answer
    (lambda c, n, k: str(c + n * k), "should be a number"),
    (not_implemented, "NotImplementedError"),
])
def test_check_dense_block_channels_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_dense_block_channels(wrong)


def test_check_transition_channels_passes_right_answers():
    assert checks.check_transition_channels(transition_out_channels) is True
    assert checks.check_transition_channels(lambda m, theta=0.5: math.floor(theta * m)) is True
    assert checks.check_transition_channels(lambda m, theta=0.5: float(math.floor(theta * m))) is True


@pytest.mark.parametrize("wrong, message", [
    (lambda m, theta: theta * m, "whole number"),
    (lambda m, theta: math.ceil(theta * m), "round \\*down\\*"),
    (lambda m, theta: round(theta * m), "round\\(\\)"),
    (lambda m, theta: m // 2, "not a fixed half"),
    (lambda m, theta: m - int(theta * m), "kept"),
    (lambda m, theta: int(0.5 * m), "not a fixed half"),
    (lambda m, theta: 128, "should be"),
])
def test_check_transition_channels_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_transition_channels(wrong)


# --- exercise 2 ---------------------------------------------------------------------------------

class DenseLayerWithReLUModules(DenseLayer):
    # also right: ReLU modules (no parameters) and torch.cat with a tuple
    def __init__(self, in_channels, growth_rate, bn_size=4):
        super().__init__(in_channels, growth_rate, bn_size)
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()

    def forward(self, x):
        return torch.cat((x, self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))), 1)


def test_check_dense_layer_passes_right_answers(capsys):
    assert checks.check_dense_layer(DenseLayer) is True
    assert checks.check_dense_layer(DenseLayerWithReLUModules) is True
    assert "Correct" in capsys.readouterr().out


class OnlyNew(DenseLayer):
    def forward(self, x):
        return self.conv2(F.relu(self.norm2(self.conv1(F.relu(self.norm1(x))))))


class NewFirst(DenseLayer):
    def forward(self, x):
        return torch.cat([super().forward(x)[:, x.shape[1]:], x], dim=1)


class NoReLU(DenseLayer):
    def forward(self, x):
        return torch.cat([x, self.conv2(self.norm2(self.conv1(self.norm1(x))))], dim=1)


class PostActivation(DenseLayer):
    def forward(self, x):  # conv - BN - ReLU: the ResNet order, not DenseNet's
        hidden = F.relu(self.norm2(self.conv1(x)))
        return torch.cat([x, F.relu(self.conv2(hidden))], dim=1)


class InPlaceReLU(DenseLayer):
    def forward(self, x):
        new = self.conv2(F.relu(self.norm2(self.conv1(F.relu(self.norm1(x))))))
        return torch.cat([x.relu_(), new], dim=1)


class WithBias(DenseLayer):
    def __init__(self, in_channels, growth_rate, bn_size=4):
        super().__init__(in_channels, growth_rate, bn_size)
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, kernel_size=1)


class NoPadding(DenseLayer):
    def __init__(self, in_channels, growth_rate, bn_size=4):
        super().__init__(in_channels, growth_rate, bn_size)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, bias=False)


class FixedWidth(DenseLayer):
    def __init__(self, in_channels, growth_rate, bn_size=4):
        super().__init__(in_channels, growth_rate, 4)  # ignores bn_size


class OtherNames(nn.Module):
    def __init__(self, in_channels, growth_rate, bn_size=4):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, kernel_size=1, bias=False)


class ExtraLayer(DenseLayer):
    def __init__(self, in_channels, growth_rate, bn_size=4):
        super().__init__(in_channels, growth_rate, bn_size)
        self.extra = nn.Conv2d(growth_rate, growth_rate, kernel_size=1, bias=False)


@pytest.mark.parametrize("wrong, message", [
    (OnlyNew, "only the .* new channels"),
    (NewFirst, "new channels first"),
    (NoReLU, "ReLUs are missing"),
    (PostActivation, "differ from torchvision"),
    (InPlaceReLU, "in place"),
    (WithBias, "has a bias"),
    (NoPadding, "padding=1"),
    (FixedWidth, "should map"),
    (OtherNames, "no layer called norm1"),
    (ExtraLayer, "parameters"),
    (not_implemented, "NotImplementedError"),
    ("DenseLayer", "pass the function itself"),
])
def test_check_dense_layer_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_dense_layer(wrong)


# --- exercise 3 ---------------------------------------------------------------------------------

class PoolBeforeConv(Transition):
    def forward(self, x):  # also right: a 1x1 convolution and average pooling commute
        return self.conv(self.pool(F.relu(self.norm(x))))


def test_check_transition_passes_right_answers(capsys):
    assert checks.check_transition(Transition) is True
    assert checks.check_transition(PoolBeforeConv) is True
    assert "Correct" in capsys.readouterr().out


class MaxPooling(Transition):
    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels)
        self.pool = nn.MaxPool2d(2)


class NoPooling(Transition):
    def forward(self, x):
        return self.conv(F.relu(self.norm(x)))


class TransitionNoReLU(Transition):
    def forward(self, x):
        return self.pool(self.conv(self.norm(x)))


class PoolFirst(Transition):
    def forward(self, x):
        return self.conv(F.relu(self.norm(self.pool(x))))


class BigPool(Transition):
    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels)
        self.pool = nn.AvgPool2d(kernel_size=3, stride=2)


class ThreeByThree(Transition):
    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)


@pytest.mark.parametrize("wrong, message", [
    (MaxPooling, "average"),
    (NoPooling, "Did you apply the pooling"),
    (TransitionNoReLU, "ReLU is missing"),
    (PoolFirst, "pools before"),
    (BigPool, "kernel_size=2"),
    (ThreeByThree, "1×1"),
    (not_implemented, "NotImplementedError"),
])
def test_check_transition_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_transition(wrong)


# --- exercise 4 ---------------------------------------------------------------------------------

def test_check_dense_block_parameters_passes_right_answers():
    assert checks.check_dense_block_parameters(dense_block_parameters) is True

    def closed_form(c0, n, k, b=4):  # sum over i of c_i = n c0 + k n(n-1)/2
        channel_sum = n * c0 + k * n * (n - 1) // 2
        return (2 + b * k) * channel_sum + n * (2 * b * k + 9 * b * k * k)

    assert checks.check_dense_block_parameters(closed_form) is True


def _block(layer_parameters):
    return lambda c0, n, k, b=4: sum(layer_parameters(c0 + i * k, k, b) for i in range(n))


@pytest.mark.parametrize("wrong, message", [
    (_block(lambda c, k, b: c * b * k + 9 * b * k * k), "batch norms are missing"),
    (_block(lambda c, k, b: 4 * c + c * b * k + 4 * b * k + 9 * b * k * k), "buffers"),
    (lambda c0, n, k, b=4: n * (2 * c0 + c0 * b * k + 2 * b * k + 9 * b * k * k), "whole stack"),
    (_block(lambda c, k, b: 2 * (c + k) + (c + k) * b * k + 2 * b * k + 9 * b * k * k), "first layer reads"),
    (_block(lambda c, k, b: 2 * c + 9 * c * k), "bottleneck layers"),
    (_block(lambda c, k, b: 2 * c + c * b * k + b * k + 2 * b * k + 9 * b * k * k + k), "no bias"),
    (_block(lambda c, k, b: 2 * c + c * b * k + 2 * b * k + 9 * b * k * b * k), "maps bn_size·k channels to k"),
    (lambda c0, n, k, b=4: 42_400, "should be"),  # a hard-coded answer
    (not_implemented, "NotImplementedError"),
])
def test_check_dense_block_parameters_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_dense_block_parameters(wrong)


# --- exercise 5 ---------------------------------------------------------------------------------

class DenseNetClass(nn.Module):
    # also right: a class with a ModuleList and its own forward
    def __init__(self, block_config, growth_rate, num_init_features, num_classes=1000):
        super().__init__()
        sequential = make_densenet(block_config, growth_rate, num_init_features, num_classes)
        self.body = nn.ModuleList(list(sequential)[:-3])
        self.classifier = sequential[-1]

    def forward(self, x):
        for module in self.body:
            x = module(x)
        return self.classifier(x.mean(dim=(2, 3)))


def test_check_densenet_passes_right_answers(capsys):
    assert checks.check_densenet(make_densenet) is True
    assert checks.check_densenet(DenseNetClass) is True
    assert "14,149,480" in capsys.readouterr().out


def _variant(last_transition=False, final_norm=True, stem_norm=True, compress=True):
    def build(block_config, growth_rate, num_init_features, num_classes=1000):
        layers = [nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3, bias=False)]
        layers += [nn.BatchNorm2d(num_init_features)] if stem_norm else []
        layers += [nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2, padding=1)]
        channels = num_init_features
        for i, num_layers in enumerate(block_config):
            layers += [DenseLayer(channels + j * growth_rate, growth_rate) for j in range(num_layers)]
            channels += num_layers * growth_rate
            if i < len(block_config) - 1 or last_transition:
                out = transition_out_channels(channels) if compress else channels
                layers.append(Transition(channels, out))
                channels = out
        layers += [nn.BatchNorm2d(channels)] if final_norm else []
        layers += [nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
        return nn.Sequential(*layers)
    return build


@pytest.mark.parametrize("wrong, message", [
    (_variant(last_transition=True), "[Tt]ransition after the last dense block"),
    (_variant(final_norm=False), "[Tt]he final batch norm"),
    (_variant(stem_norm=False), "stem's batch norm"),
    (_variant(compress=False), "do not compress"),
    (lambda *args: make_densenet((6, 12, 32, 32), 32, 64), "parameters"),  # a hard-coded DenseNet-169
    (lambda *args: "densenet", "should give an nn.Module"),
    (not_implemented, "NotImplementedError"),
])
def test_check_densenet_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_densenet(wrong)


def test_check_densenet_explains_a_missing_pooling():
    def no_pooling(block_config, growth_rate, num_init_features, num_classes=1000):
        model = make_densenet(block_config, growth_rate, num_init_features, num_classes)
        model[-3] = nn.Identity()  # no global average pooling: Flatten gives channels x H x W features
        return model

    with pytest.raises(ExerciseError, match="global average pooling|follow the channels"):
        checks.check_densenet(no_pooling)
