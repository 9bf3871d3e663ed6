"""The checks of the PyTorch MLP exercises pass right answers (including alternative right answers)
and reject typical wrong ones with a message that says what is wrong."""

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from utils.checks import ExerciseError
from utils.exercise_checks import pytorch_mlp as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args):
    raise NotImplementedError("Your turn")


# --- exercise 1: an MLP as an nn.Module ------------------------------------------------------------

class MLP(nn.Module):
    def __init__(self, input_size, hidden_sizes, num_classes):
        super().__init__()
        layers = [nn.Flatten()]
        previous = input_size
        for size in hidden_sizes:
            layers += [nn.Linear(previous, size), nn.ReLU()]
            previous = size
        layers.append(nn.Linear(previous, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, images):
        return self.layers(images)


class MLPWithModuleList(nn.Module):  # also right: a ModuleList and the functional ReLU
    def __init__(self, input_size, hidden_sizes, num_classes):
        super().__init__()
        sizes = [input_size, *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.output = nn.Linear(sizes[-1], num_classes)

    def forward(self, images):
        x = images.reshape(len(images), -1)
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.output(x)


def make_mlp_variant(*, python_list=False, no_flatten=False, no_relu=False, relu_at_end=False, softmax=False,
                     no_bias=False, skip_last=False):
    class Variant(nn.Module):
        def __init__(self, input_size, hidden_sizes, num_classes):
            super().__init__()
            sizes = [input_size, *hidden_sizes, num_classes]
            layers = [nn.Linear(a, b, bias=not no_bias) for a, b in zip(sizes[:-1], sizes[1:])]
            if skip_last:
                layers = layers[:-1]
            if python_list:
                self.layers = layers
            else:
                self.layers = nn.ModuleList(layers)

        def forward(self, images):
            x = images if no_flatten else images.flatten(1)
            for i, layer in enumerate(self.layers):
                x = layer(x)
                if (i < len(self.layers) - 1 and not no_relu) or relu_at_end:
                    x = torch.relu(x)
            return x.softmax(dim=1) if softmax else x

    return Variant


def test_check_mlp_passes_right_answers(capsys):
    assert checks.check_mlp(MLP) is True
    assert checks.check_mlp(MLPWithModuleList) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong_mlp, message",
    [
        (make_mlp_variant(python_list=True), "plain Python list"),
        (make_mlp_variant(no_flatten=True), "flatten the images"),
        (make_mlp_variant(no_relu=True), "your network is linear"),
        (make_mlp_variant(relu_at_end=True), "went through a ReLU"),
        (make_mlp_variant(softmax=True), "softmax"),
        (make_mlp_variant(no_bias=True), "keep the biases"),
        (make_mlp_variant(skip_last=True), "nn.Linear layers"),
        (lambda input_size, hidden_sizes, num_classes: nn.Linear(input_size, num_classes), "nn.Linear layers"),
        (lambda *args: "a model", "should be an nn.Module"),
        (not_implemented, "NotImplementedError"),
        (MLP(784, [128], 10), "pass the class itself"),
    ],
)
def test_check_mlp_explains_wrong_answers(wrong_mlp, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_mlp(wrong_mlp)


def test_check_mlp_rejects_a_network_with_another_activation():
    class TanhMLP(MLP):
        def __init__(self, input_size, hidden_sizes, num_classes):
            super().__init__(input_size, hidden_sizes, num_classes)
            self.layers = nn.Sequential(*[nn.Tanh() if isinstance(m, nn.ReLU) else m for m in self.layers])

    with pytest.raises(ExerciseError, match="computes something else"):
        checks.check_mlp(TanhMLP)


# --- exercise 2: a Dataset ---------------------------------------------------------------------------

class DigitImages(Dataset):
    def __init__(self, pixels, labels):
        self.pixels = pixels
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.pixels[index].float().div(255).unsqueeze(0), self.labels[index]


def make_dataset_variant(getitem, length=lambda self: len(self.labels)):
    return type("Variant", (DigitImages,), {"__getitem__": getitem, "__len__": length})


def test_check_dataset_passes_right_answers():
    assert checks.check_dataset(DigitImages) is True
    also_right = make_dataset_variant(lambda self, i: ((self.pixels[i] / 255.0)[None], int(self.labels[i])),
                                      length=lambda self: self.pixels.shape[0])
    assert checks.check_dataset(also_right) is True


@pytest.mark.parametrize(
    "wrong_dataset, message",
    [
        (make_dataset_variant(lambda self, i: (self.pixels[i].float().unsqueeze(0), self.labels[i])), "divide by 255"),
        (make_dataset_variant(lambda self, i: (self.pixels[i].float() / 255, self.labels[i])), "channel dimension"),
        (make_dataset_variant(lambda self, i: (self.pixels[i].unsqueeze(0), self.labels[i])), "floats"),
        (make_dataset_variant(lambda self, i: (self.pixels[i].double().div(255).unsqueeze(0), self.labels[i])), "float32"),
        (make_dataset_variant(lambda self, i: (self.pixels[0].float().div(255).unsqueeze(0), self.labels[i])), "wrong image"),
        (make_dataset_variant(lambda self, i: (self.pixels[i].float().div(255).unsqueeze(0), self.labels[0])), "label should be"),
        (make_dataset_variant(lambda self, i: self.pixels[i].float().div(255).unsqueeze(0)), "pair"),
        (make_dataset_variant(DigitImages.__getitem__, length=lambda self: len(self.pixels[0])), "number of examples"),
        (make_dataset_variant(not_implemented), "__getitem__ still raises"),
        (make_dataset_variant(DigitImages.__getitem__, length=not_implemented), "__len__ still raises"),
    ],
)
def test_check_dataset_explains_wrong_answers(wrong_dataset, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_dataset(wrong_dataset)


# --- exercise 3: one training step --------------------------------------------------------------------

def training_step(model, images, labels, loss_fn, optimizer):
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def training_step_keeping_tensors(model, images, labels, loss_fn, optimizer):
    # also right: gradients zeroed in place, and the loss returned as a detached tensor
    model.train()
    optimizer.zero_grad(set_to_none=False)
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.detach()


def test_check_training_step_passes_right_answers():
    assert checks.check_training_step(training_step) is True
    assert checks.check_training_step(training_step_keeping_tensors) is True


def _step(*, train=True, zero_grad="first", step=True, return_value="item"):
    def wrong(model, images, labels, loss_fn, optimizer):
        if train:
            model.train()
        if zero_grad == "first":
            optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        if zero_grad == "before step":
            optimizer.zero_grad()
        if step:
            optimizer.step()
        if return_value == "tensor":
            return loss
        if return_value == "after":
            return loss_fn(model(images), labels).item()
        return loss.item()

    return wrong


@pytest.mark.parametrize(
    "wrong_step, message",
    [
        (_step(train=False), "evaluation mode"),
        (_step(zero_grad=None), "forgot optimizer.zero_grad"),
        (_step(zero_grad="before step"), "did not change"),
        (_step(step=False), "did not change"),
        (_step(return_value="tensor"), r"loss.item\(\)"),
        (_step(return_value="after"), "after the update"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_training_step_explains_wrong_answers(wrong_step, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_training_step(wrong_step)


def test_check_training_step_rejects_two_steps():
    def twice(model, images, labels, loss_fn, optimizer):
        training_step(model, images, labels, loss_fn, optimizer)
        return training_step(model, images, labels, loss_fn, optimizer)

    with pytest.raises(ExerciseError, match="one SGD step"):
        checks.check_training_step(twice)


# --- exercise 4: accuracy over a DataLoader -------------------------------------------------------------

def accuracy_over(model, loader):
    device = next(model.parameters()).device
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            logits = model(images.to(device))
            correct += (logits.argmax(dim=1) == labels.to(device)).sum().item()
            total += len(labels)
    return correct / total


@torch.no_grad()
def accuracy_over_as_tensor(model, loader):  # also right: a decorator, and a 0-d tensor
    model.eval()
    device = next(model.parameters()).device
    hits = torch.cat([model(x.to(device)).argmax(1).cpu() == y for x, y in loader])
    return hits.float().mean()


def test_check_accuracy_over_passes_right_answers():
    assert checks.check_accuracy_over(accuracy_over) is True
    assert checks.check_accuracy_over(accuracy_over_as_tensor) is True


def _batch_accuracies(model, loader):
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        return [(model(x.to(device)).argmax(1).cpu() == y).float().mean().item() for x, y in loader]


def _accuracy_without_eval(model, loader):
    model.train()
    with torch.no_grad():
        device = next(model.parameters()).device
        hits = torch.cat([model(x.to(device)).argmax(1).cpu() == y for x, y in loader])
    return hits.float().mean().item()


def _accuracy_with_grad(model, loader):
    model.eval()
    device = next(model.parameters()).device
    hits = torch.cat([model(x.to(device)).argmax(1).cpu() == y for x, y in loader])
    return hits.float().mean().item()


@pytest.mark.parametrize(
    "wrong_accuracy, message",
    [
        (lambda model, loader: sum(_batch_accuracies(model, loader)) / len(loader), "averaged the batches"),
        (lambda model, loader: _batch_accuracies(model, loader)[0], "one batch only"),
        (lambda model, loader: 100 * accuracy_over(model, loader), "percentage"),
        (_accuracy_without_eval, "training mode"),
        (_accuracy_with_grad, "no_grad"),
        (lambda model, loader: 0.5, "never called"),
        (lambda model, loader: accuracy_over(model, loader) + 0.01, "should be"),
        (lambda model, loader: [accuracy_over(model, loader)], "should be a number"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_accuracy_over_explains_wrong_answers(wrong_accuracy, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_accuracy_over(wrong_accuracy)


# --- exercise 5: put it together --------------------------------------------------------------------------

class FixedLogits(nn.Module):
    """A 'model' that reads the validation images by looking their labels up: (nearly) perfect, or always wrong."""

    def __init__(self, wrong=False):
        super().__init__()
        from utils.data import load_mnist

        images, labels = load_mnist("val")
        self.lookup = {img.numpy().tobytes(): int(label) for img, label in zip(images, labels)}
        self.wrong = wrong
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, images):
        labels = torch.tensor([self.lookup[img.cpu().numpy().tobytes()] for img in images])
        if self.wrong:
            labels = (labels + 1) % 10
        return nn.functional.one_hot(labels, 10).float() + self.dummy


@pytest.fixture(scope="module")
def perfect_model():
    return FixedLogits()


def measured_accuracy(model):
    from utils.data import load_mnist

    images, labels = load_mnist("val")
    with torch.no_grad():
        return (model(images).argmax(1) == labels).float().mean().item()


def test_check_trained_mlp_passes_a_good_model(perfect_model):
    accuracy = measured_accuracy(perfect_model)
    assert accuracy > 0.99
    assert checks.check_trained_mlp(perfect_model, accuracy) is True
    assert checks.check_trained_mlp(perfect_model, torch.tensor(accuracy)) is True


def test_check_trained_mlp_rejects_a_weak_model():
    with pytest.raises(ExerciseError, match="should reach 93%"):
        checks.check_trained_mlp(FixedLogits(wrong=True), 0.0)


def test_check_trained_mlp_rejects_a_wrong_report(perfect_model):
    with pytest.raises(ExerciseError, match="you reported"):
        checks.check_trained_mlp(perfect_model, 0.95)
    with pytest.raises(ExerciseError, match="nn.Module"):
        checks.check_trained_mlp("model", 0.95)
