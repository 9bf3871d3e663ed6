"""The checks of the residual-connection exercises pass right answers (including alternative right answers)
and reject typical wrong ones with a message that says what is wrong."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from utils.checks import ExerciseError
from utils.exercise_checks import residual as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


# --- right answers, written the way a learner would ----------------------------------------------

def make_shortcut(in_channels, out_channels, stride):
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = make_shortcut(in_channels, out_channels, stride)

    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))) + self.shortcut(x))


class Bottleneck(nn.Module):
    def __init__(self, in_channels, width, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, 4 * width, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * width)
        self.shortcut = make_shortcut(in_channels, 4 * width, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return F.relu(self.bn3(self.conv3(out)) + self.shortcut(x))


def basic_block_parameters(channels):
    return 2 * 9 * channels**2 + 4 * channels


def bottleneck_parameters(channels):
    width = channels // 4
    return 2 * channels * width + 9 * width**2 + 4 * width + 2 * channels


def weight_gradient_norms(model, images, labels):
    model.zero_grad()
    F.cross_entropy(model(images), labels).backward()
    return [m.weight.grad.norm().item() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def make_resnet34(num_classes=1000, block=BasicBlock, stem_stride=2, pool=True, first_stride=1, blocks=(3, 4, 6, 3)):
    layers = [nn.Conv2d(3, 64, 7, stride=stem_stride, padding=3, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool2d(3, stride=2, padding=1))
    in_channels = 64
    for stage, (width, count) in enumerate(zip((64, 128, 256, 512), blocks)):
        for i in range(count):
            stride = (2 if stage > 0 else first_stride) if i == 0 else 1
            layers.append(block(in_channels, width, stride))
            in_channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)]
    return nn.Sequential(*layers)


def not_implemented(*args):
    raise NotImplementedError("Your turn")


# --- exercise 1: the shortcut ----------------------------------------------------------------------

def test_check_shortcut_passes_right_answers(capsys):
    assert checks.check_shortcut(make_shortcut) is True
    assert "Correct" in capsys.readouterr().out

    def with_ordered_dict(in_channels, out_channels, stride):  # another way to write it
        if (in_channels, stride) == (out_channels, 1):
            return nn.Sequential()  # an empty Sequential is the identity too
        from collections import OrderedDict
        return nn.Sequential(OrderedDict(conv=nn.Conv2d(in_channels, out_channels, (1, 1), (stride, stride), bias=False),
                                         bn=nn.BatchNorm2d(out_channels)))

    assert checks.check_shortcut(with_ordered_dict) is True


def _shortcut(conv_kwargs=None, relu=False, batch_norm=True, identity_always=False, projection_always=False):
    def make(in_channels, out_channels, stride):
        if identity_always or (not projection_always and stride == 1 and in_channels == out_channels):
            return nn.Identity()
        kwargs = dict(kernel_size=1, stride=stride, bias=False) | (conv_kwargs or {})
        layers = [nn.Conv2d(in_channels, out_channels, **kwargs)]
        layers += [nn.BatchNorm2d(out_channels)] if batch_norm else []
        layers += [nn.ReLU()] if relu else []
        return nn.Sequential(*layers)
    return make


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_shortcut(projection_always=True), "should be the identity"),
        (_shortcut(identity_always=True), "needs a projection"),
        (_shortcut(conv_kwargs={"bias": True}), "bias=False"),
        (_shortcut(conv_kwargs={"kernel_size": 3, "padding": 1}), "1×1 convolution"),
        (_shortcut(conv_kwargs={"stride": 1}), "stride 2"),
        (_shortcut(batch_norm=False), "BatchNorm2d"),
        (_shortcut(relu=True), "no ReLU"),
        (_shortcut(conv_kwargs={"padding": 1}), "no padding"),
        (lambda i, o, s: "identity", "nn.Module"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_shortcut_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_shortcut(wrong)


# --- exercise 2: the basic block -------------------------------------------------------------------

def test_check_basic_block_passes_right_answers():
    assert checks.check_basic_block(BasicBlock) is True

    class InPlaceBlock(BasicBlock):  # torchvision's style: nn.ReLU modules, an in-place addition
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):
            identity = self.shortcut(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += identity
            return self.relu(out)

    assert checks.check_basic_block(InPlaceBlock) is True


class NoFinalReLU(BasicBlock):
    def forward(self, x):
        return self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))) + self.shortcut(x)


class ReLUBeforeAdding(BasicBlock):
    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))) + self.shortcut(x)


class NoShortcut(BasicBlock):
    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class NoInnerReLU(BasicBlock):
    def forward(self, x):
        return F.relu(self.bn2(self.conv2(self.bn1(self.conv1(x)))) + self.shortcut(x))


class StrideOnSecondConv(BasicBlock):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1, bias=False)


class WithBias(BasicBlock):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)


class IdentityShortcutAlways(BasicBlock):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.shortcut = nn.Identity()


class OtherNames(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.branch = nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False))
        self.downsample = make_shortcut(in_channels, out_channels, stride)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (NoFinalReLU, "negative outputs"),
        (ReLUBeforeAdding, "ReLU comes after the addition"),
        (NoShortcut, "returned zeros|Did you add the shortcut"),
        (NoInnerReLU, "differs from torchvision's BasicBlock"),
        (StrideOnSecondConv, "stride goes on the first convolution"),
        (WithBias, "bias=False"),
        (IdentityShortcutAlways, "needs a projection"),
        (OtherNames, "no layer called conv1"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_basic_block_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_basic_block(wrong)


# --- exercise 3: the bottleneck block --------------------------------------------------------------

def test_check_bottleneck_passes_a_right_answer():
    assert checks.check_bottleneck(Bottleneck) is True


class StrideOnFirstConv(Bottleneck):  # the original ResNet v1 place for the stride; torchvision's differs
    def __init__(self, in_channels, width, stride=1):
        super().__init__(in_channels, width, stride)
        self.conv1 = nn.Conv2d(in_channels, width, 1, stride=stride, bias=False)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)


class NoExpansion(Bottleneck):
    def __init__(self, in_channels, width, stride=1):
        super().__init__(in_channels, width, stride)
        self.conv3 = nn.Conv2d(width, width, 1, bias=False)


class MissingMiddleReLU(Bottleneck):
    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(self.bn3(self.conv3(out)) + self.shortcut(x))


class BottleneckNoShortcut(Bottleneck):
    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return F.relu(self.bn3(self.conv3(out)))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (StrideOnFirstConv, "stride goes on the 3×3 convolution"),
        (NoExpansion, "expands to 4 × width"),
        (MissingMiddleReLU, "differs from torchvision's Bottleneck"),
        (BottleneckNoShortcut, "should return ReLU\\(shortcut\\(x\\)\\)"),
        (BasicBlock, "no layer called conv3"),
    ],
)
def test_check_bottleneck_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_bottleneck(wrong)


def test_reference_counts_are_torchvisions():
    from torchvision.models.resnet import BasicBlock as TorchvisionBasicBlock
    from torchvision.models.resnet import Bottleneck as TorchvisionBottleneck

    for channels in (8, 64, 256):
        assert checks._basic_block_parameters(channels) == sum(
            p.numel() for p in TorchvisionBasicBlock(channels, channels).parameters())
        assert checks._bottleneck_parameters(channels) == sum(
            p.numel() for p in TorchvisionBottleneck(channels, channels // 4).parameters())


# --- exercise 4: parameter counts ------------------------------------------------------------------

def test_check_block_parameter_counts_passes_right_answers():
    assert checks.check_block_parameter_counts(basic_block_parameters, bottleneck_parameters) is True

    def by_building_it(channels):  # counting a real module is also right
        return sum(p.numel() for p in BasicBlock(channels, channels).parameters())

    assert checks.check_block_parameter_counts(by_building_it, lambda c: torch.tensor(bottleneck_parameters(c))) is True


@pytest.mark.parametrize(
    "basic, bottleneck, message",
    [
        (lambda c: 18 * c * c, bottleneck_parameters, "add the two batch norms"),
        (lambda c: 18 * c * c + 8 * c, bottleneck_parameters, "buffers, not parameters"),
        (lambda c: 18 * c * c + 6 * c, bottleneck_parameters, "no bias"),
        (lambda c: 2 * c * c + 4 * c, bottleneck_parameters, "multiply by 9"),
        (lambda c: 1_180_672, bottleneck_parameters, "expected"),  # a hard-coded answer
        (basic_block_parameters, lambda c: c * c // 2 + 9 * (c // 4) ** 2, "add the three batch norms"),
        (basic_block_parameters, lambda c: 2 * c * (c // 4) + 9 * (c // 4) ** 2 + 6 * (c // 4), "channels, not"),
        (basic_block_parameters, basic_block_parameters, "basic block's count"),
        (basic_block_parameters, lambda c: bottleneck_parameters(c) + 0.5, "whole number"),
        (lambda c: str(c), bottleneck_parameters, "should be a number"),
    ],
)
def test_check_block_parameter_counts_explains_wrong_answers(basic, bottleneck, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_block_parameter_counts(basic, bottleneck)


# --- exercise 5: gradient norms --------------------------------------------------------------------

def test_check_weight_gradient_norms_passes_right_answers():
    assert checks.check_weight_gradient_norms(weight_gradient_norms) is True

    def with_optimizer_style_zeroing(model, images, labels):  # zeroing each parameter's grad, returning tensors
        for parameter in model.parameters():
            parameter.grad = None
        loss = nn.CrossEntropyLoss()(model(images), labels)
        loss.backward()
        return [torch.linalg.vector_norm(m.weight.grad) for m in model.modules() if type(m) in (nn.Conv2d, nn.Linear)]

    assert checks.check_weight_gradient_norms(with_optimizer_style_zeroing) is True


def _norms_without_zeroing(model, images, labels):
    F.cross_entropy(model(images), labels).backward()
    return [m.weight.grad.norm().item() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _norms_with(measure, *, include_biases=False, include_batch_norm=False, reverse=False):
    def norms(model, images, labels):
        model.zero_grad()
        F.cross_entropy(model(images), labels).backward()
        kinds = (nn.Conv2d, nn.Linear, nn.BatchNorm2d) if include_batch_norm else (nn.Conv2d, nn.Linear)
        result = []
        for m in model.modules():
            if isinstance(m, kinds):
                result.append(measure(m.weight))
                if include_biases:
                    result.append(measure(m.bias))
        return result[::-1] if reverse else result
    return norms


def _stale_norms(model, images, labels):
    return [m.weight.grad.norm().item() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_norms_without_zeroing, "model.zero_grad"),
        (_stale_norms, "old gradients"),
        (_norms_with(lambda w: w.grad.abs().mean().item()), "mean \\|grad\\|"),
        (_norms_with(lambda w: (w.grad**2).sum().item()), "squared norm"),
        (_norms_with(lambda w: w.detach().norm().item()), "norm of the weights themselves"),
        (_norms_with(lambda w: w.grad.norm().item(), include_biases=True), "without biases"),
        (_norms_with(lambda w: w.grad.norm().item(), include_batch_norm=True), "batch norm"),
        (_norms_with(lambda w: w.grad.norm().item(), reverse=True), "reverse order"),
        (_norms_with(lambda w: w.grad.norm()[None].repeat(2)), "one number"),
        (lambda model, images, labels: 1.0, "list of numbers"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_weight_gradient_norms_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_weight_gradient_norms(wrong)


# --- exercise 6: ResNet-34 -------------------------------------------------------------------------

def test_check_resnet34_passes_a_right_answer(capsys):
    assert checks.check_resnet34(make_resnet34, BasicBlock) is True
    assert "21,797,672" in capsys.readouterr().out


def test_torchvision_resnet34_count_is_the_famous_one():
    assert sum(p.numel() for p in torchvision.models.resnet34(weights=None).parameters()) == 21_797_672


class BiasedStemResNet(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.net = make_resnet34(num_classes)
        self.net[0] = nn.Conv2d(3, 64, 7, stride=2, padding=3)

    def forward(self, x):
        return self.net(x)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda n: make_resnet34(n, blocks=(2, 2, 2, 2)), "16 basic blocks"),
        (lambda n: make_resnet34(n, pool=False), "should output 16×16 pixels"),
        (lambda n: make_resnet34(n, first_stride=2), "stage 1 keeps the size"),
        (lambda n: nn.Sequential(*list(make_resnet34(n))[:-1], nn.Linear(512, 1000)), r"shape \(2, \d+\)"),
        (BiasedStemResNet, "without bias"),
        (lambda n: make_resnet34(n, block=lambda i, o, s: nn.Sequential(nn.Conv2d(i, o, 3, s, 1))), "basic blocks"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_resnet34_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_resnet34(wrong, BasicBlock)
