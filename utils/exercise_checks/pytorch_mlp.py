"""Checks for the exercises of ``module1_foundations/solutions/05_mlp_in_pytorch.ipynb``.

Every check builds fresh random inputs (sizes, data, weights), computes the right answer itself and
compares, so a hard-coded answer does not pass; a wrong answer gets an explanation of what went
wrong and a hint (``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from utils.checks import answer_as_number, call_answer, expect, fresh_generator, passed
from utils.env import get_device

__all__ = [
    "check_mlp",
    "check_dataset",
    "check_training_step",
    "check_accuracy_over",
    "check_trained_mlp",
]

#: The validation accuracy the put-it-together exercise must reach (the recipe reaches about 96%).
TRAINED_MLP_TARGET = 0.93


# --- helpers -----------------------------------------------------------------------------------

def _randint(generator: torch.Generator, low: int, high: int) -> int:
    """A random int in [low, high]."""
    return int(torch.randint(low, high + 1, (), generator=generator).item())


def _linear_layers(model: nn.Module) -> list[nn.Linear]:
    return [module for module in model.modules() if isinstance(module, nn.Linear)]


def _chain(linears: list[nn.Linear], input_size: int) -> list[nn.Linear] | None:
    """The Linear layers in the order the data flows through them (sizes are all different)."""
    ordered, size, remaining = [], input_size, list(linears)
    while remaining:
        following = [layer for layer in remaining if layer.in_features == size]
        if len(following) != 1:
            return None
        ordered.append(following[0])
        remaining.remove(following[0])
        size = following[0].out_features
    return ordered


# --- exercise 1: an MLP as an nn.Module -----------------------------------------------------------

def check_mlp(mlp_class) -> bool:
    """``mlp_class(input_size, hidden_sizes, num_classes)`` is an ``nn.Module`` that flattens images
    ``[B, 1, H, W]`` (H·W = input_size) and applies Linear + ReLU per hidden size, then a Linear
    layer to ``num_classes`` logits."""
    generator = fresh_generator()
    height, width = _randint(generator, 3, 6), _randint(generator, 3, 6)
    input_size = height * width
    num_hidden = _randint(generator, 1, 3)
    # distinct sizes, none equal to the input or output size, so the layer order is unambiguous
    candidates = [size for size in torch.randperm(40, generator=generator).add(5).tolist() if size != input_size]
    hidden_sizes = candidates[:num_hidden]
    num_classes = _randint(generator, 2, 4)
    sizes = [input_size, *hidden_sizes, num_classes]
    described = f"MLP({input_size}, {hidden_sizes}, {num_classes})"

    expect(not isinstance(mlp_class, nn.Module), "pass the class itself, `check_mlp(MLP)`, not a model made from it: "
                                                 "the check builds its own models with other sizes.")
    model = call_answer(mlp_class, input_size, list(hidden_sizes), num_classes, what="MLP")
    expect(isinstance(model, nn.Module), f"{described} should be an nn.Module, got a {type(model).__name__}. "
                                         "Hint: `class MLP(nn.Module):` and call `super().__init__()` first.")
    model = model.cpu()
    count = sum(parameter.numel() for parameter in model.parameters())
    expected_count = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))
    expect(count > 0, f"{described} has no parameters that PyTorch can see. Layers kept in a plain Python list "
                      "are invisible to the module: put them in nn.Sequential(*layers) or nn.ModuleList(layers), "
                      "or assign each one as an attribute (self.hidden = nn.Linear(...)).")
    linears = _linear_layers(model)
    expect(len(linears) == len(sizes) - 1,
           f"{described} should have {len(sizes) - 1} nn.Linear layers (one per hidden size, plus the output layer), "
           f"found {len(linears)}. (Layers kept in a plain Python list are invisible to the module: use "
           "nn.Sequential(*layers) or nn.ModuleList(layers).)")
    chain = _chain(linears, input_size)
    shapes = " → ".join(str(size) for size in sizes)
    expect(chain is not None, f"the Linear layers should connect the sizes {shapes}; yours have (in, out) = "
                              f"{[(layer.in_features, layer.out_features) for layer in linears]}.")
    expect(all(layer.bias is not None for layer in chain), "keep the biases: nn.Linear(in, out) with the default bias=True.")
    expect(count == expected_count, f"{described} should have {expected_count} parameters, yours has {count}. "
                                    f"Layers: {shapes}.")

    batch_size = _randint(generator, 3, 9)
    images = torch.rand(batch_size, 1, height, width, generator=generator)
    try:
        logits = model(images)
    except RuntimeError as error:
        expect(False, f"the forward pass failed on images of shape {tuple(images.shape)}: {str(error).splitlines()[0]}. "
                      "Hint: flatten the images first, nn.Flatten() or images.flatten(1), so each is one row of "
                      f"{input_size} numbers.")
        raise AssertionError("unreachable") from error
    expect(isinstance(logits, torch.Tensor) and tuple(logits.shape) == (batch_size, num_classes),
           f"for {batch_size} images the output should have shape ({batch_size}, {num_classes}): one row of logits "
           f"per image, got {tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__}.")
    with torch.no_grad():
        hidden = images.flatten(1)
        for layer in chain[:-1]:
            hidden = torch.relu(layer(hidden))
        expected = chain[-1](hidden)
        logits = logits.detach()
        if torch.allclose(logits, expected, atol=1e-5):
            return passed(f"{described}: {count} parameters, logits of shape ({batch_size}, {num_classes}).")
        expect(not torch.allclose(logits.sum(1), torch.ones(batch_size), atol=1e-4) or logits.min() < 0,
               "the outputs sum to 1 per row: you applied a softmax. Return the raw logits; "
               "nn.CrossEntropyLoss applies the softmax itself.")
        expect(not torch.allclose(logits, torch.relu(expected), atol=1e-5),
               "the output went through a ReLU; the last Linear layer's outputs are the logits: leave them as they are.")
        affine = chain[0](images.flatten(1))
        for layer in chain[1:]:
            affine = layer(affine)
        expect(not torch.allclose(logits, affine, atol=1e-5),
               "your network is linear: put a ReLU after every hidden Linear layer (not after the last one).")
    expect(False, f"{described} computes something else: it should be Flatten, then Linear + ReLU for each hidden "
                  "size, then a last Linear layer with no activation.")
    raise AssertionError("unreachable")


# --- exercise 2: a Dataset -------------------------------------------------------------------------

def check_dataset(dataset_class) -> bool:
    """``dataset_class(pixels uint8 [N, H, W], labels int64 [N])``: ``len`` is N, and item i is
    ``(image float32 [1, H, W] in [0, 1], label)`` with image = pixels[i] / 255."""
    generator = fresh_generator()
    num_examples, height, width = _randint(generator, 20, 40), _randint(generator, 4, 8), _randint(generator, 4, 8)
    while height == num_examples or width == num_examples:
        num_examples += 1
    pixels = torch.randint(0, 256, (num_examples, height, width), generator=generator, dtype=torch.uint8)
    labels = torch.randint(0, 10, (num_examples,), generator=generator)
    dataset = call_answer(dataset_class, pixels.clone(), labels.clone(), what="DigitImages")

    try:
        length = len(dataset)
    except NotImplementedError:
        length = None
    expect(length is not None, "__len__ still raises NotImplementedError: replace that line with your code first.")
    expect(length == num_examples, f"len(dataset) should be the number of examples, {num_examples}, got {length}. "
                                   "Hint: `return len(self.labels)`.")

    for index in sorted({0, num_examples - 1, _randint(generator, 1, num_examples - 2)}):
        try:
            item = dataset[index]
        except NotImplementedError:
            item = None
        expect(item is not None, "__getitem__ still raises NotImplementedError: replace that line with your code first.")
        expect(isinstance(item, (tuple, list)) and len(item) == 2,
               f"dataset[{index}] should be a pair (image, label), got {type(item).__name__}"
               + (f" of length {len(item)}" if isinstance(item, (tuple, list)) else "") + ".")
        image, label = item
        expect(isinstance(image, torch.Tensor), f"the image should be a tensor, got {type(image).__name__}.")
        expect(image.is_floating_point(), f"the image should hold floats, got dtype {image.dtype}: convert with `.float()` "
                                          "(a network computes with float32, and bytes cannot be divided by 255).")
        expect(image.dtype == torch.float32, f"the image should be float32 (`.float()`), got {image.dtype}.")
        expect(tuple(image.shape) != (height, width), f"dataset[{index}]'s image has shape {tuple(image.shape)}: add the "
                                                      f"channel dimension to get (1, {height}, {width}), e.g. `.unsqueeze(0)`.")
        expect(tuple(image.shape) == (1, height, width),
               f"dataset[{index}]'s image should have shape (1, {height}, {width}), got {tuple(image.shape)}.")
        expected_image = pixels[index].float().div(255).unsqueeze(0)
        if not torch.allclose(image, expected_image, atol=1e-6):
            expect(not torch.allclose(image, pixels[index].float().unsqueeze(0)),
                   "the pixel values are still 0 to 255: divide by 255 to scale them to [0, 1].")
            expect(image.max() <= 1.0 + 1e-6, f"the pixel values should be in [0, 1], yours reach {image.max().item():.3g}.")
            expect(False, f"dataset[{index}] returned the wrong image: it should be pixels[{index}] / 255 "
                          "(use the index you are given).")
        value = answer_as_number(label, f"dataset[{index}]'s label", "Return labels[index].")
        expect(value == labels[index].item(), f"dataset[{index}]'s label should be {labels[index].item()}, got {value:g}. "
                                              "Return self.labels[index].")

    batch_size = _randint(generator, 4, 8)
    images, batch_labels = next(iter(DataLoader(dataset, batch_size=batch_size, num_workers=0)))
    expect(tuple(images.shape) == (batch_size, 1, height, width) and tuple(batch_labels.shape) == (batch_size,),
           f"a DataLoader over your dataset should give batches of images ({batch_size}, 1, {height}, {width}) and labels "
           f"({batch_size},), got {tuple(images.shape)} and {tuple(batch_labels.shape)}.")
    return passed(f"{num_examples} examples; each one an image (1, {height}, {width}) in [0, 1] and its label.")


# --- exercise 3: one training step -------------------------------------------------------------------

def _small_model(generator: torch.Generator, num_features: int, num_classes: int) -> nn.Module:
    model = nn.Sequential(nn.Linear(num_features, 8), nn.ReLU(), nn.Linear(8, num_classes))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    return model


def _parameters(model: nn.Module) -> list[torch.Tensor]:
    return [parameter.detach().clone() for parameter in model.parameters()]


def _same(first: list[torch.Tensor], second: list[torch.Tensor]) -> bool:
    return all(torch.allclose(a, b, atol=1e-6) for a, b in zip(first, second))


def check_training_step(training_step) -> bool:
    """``training_step(model, images, labels, loss_fn, optimizer)`` puts the model in training
    mode, zeroes the gradients, runs forward, loss and backward, steps the optimiser, and returns
    the batch's loss as a Python number."""
    generator = fresh_generator()
    num_features, num_classes, batch_size = _randint(generator, 4, 7), _randint(generator, 3, 5), _randint(generator, 6, 12)
    model = _small_model(generator, num_features, num_classes)
    images = torch.randn(batch_size, num_features, generator=generator)
    labels = torch.randint(0, num_classes, (batch_size,), generator=generator)
    leftover_gradients = [torch.randn(parameter.shape, generator=generator) for parameter in model.parameters()]
    learning_rate, loss_fn = 0.1, nn.CrossEntropyLoss()
    before = _parameters(model)

    def fresh_copy():
        # the model as it would be after an evaluation: in eval mode, with gradients left over
        # from an earlier batch (deepcopy does not copy .grad, so they are set here)
        twin = copy.deepcopy(model).eval()
        for parameter, gradient in zip(twin.parameters(), leftover_gradients):
            parameter.grad = gradient.clone()
        return twin, torch.optim.SGD(twin.parameters(), lr=learning_rate)

    def run(zero_grad: bool):
        twin, optimizer = fresh_copy()
        if zero_grad:
            optimizer.zero_grad()
        loss = loss_fn(twin(images), labels)
        loss.backward()
        optimizer.step()
        return twin, loss.item()

    reference, reference_loss = run(zero_grad=True)
    stale, _ = run(zero_grad=False)
    with torch.no_grad():
        loss_after_step = loss_fn(reference(images), labels).item()

    student, optimizer = fresh_copy()
    returned = call_answer(training_step, student, images.clone(), labels.clone(), loss_fn, optimizer, what="training_step")
    after = _parameters(student)

    expect(student.training, "the model is still in evaluation mode: start with `model.train()` (after an evaluation "
                             "it would be in eval mode, and dropout would stay off while training).")
    expect(not _same(after, before), "the parameters did not change. The order is optimizer.zero_grad(), forward, "
                                     "loss, loss.backward(), optimizer.step(): zero_grad between backward and step "
                                     "throws the gradients away, and without step nothing is updated.")
    expect(not _same(after, _parameters(stale)), "you forgot optimizer.zero_grad(): loss.backward() added this batch's "
                                                 "gradients to the ones left over from the previous batch.")
    expect(_same(after, _parameters(reference)), "the parameters after your step are not those of one SGD step on this "
                                                 "batch's loss: compute the loss with loss_fn(model(images), labels), "
                                                 "call loss.backward() once and optimizer.step() once.")
    expect(not isinstance(returned, torch.Tensor) or not returned.requires_grad,
           "return the loss as a number, `loss.item()`, not the tensor: a tensor keeps the whole computation graph alive.")
    value = answer_as_number(returned, "the returned loss", "Return `loss.item()`.")
    expect(not math.isclose(value, loss_after_step, rel_tol=1e-6) or math.isclose(value, reference_loss, rel_tol=1e-6),
           "you returned the loss after the update; return the loss of the forward pass you backpropagated.")
    expect(math.isclose(value, reference_loss, rel_tol=1e-5),
           f"the returned loss should be this batch's loss before the update, {reference_loss:.5f}; got {value:.5f}.")
    return passed("train mode, zero_grad, forward, loss, backward, step, and the loss as a number.")


# --- exercise 4: accuracy over a DataLoader -----------------------------------------------------------

class _Probe(nn.Module):
    """A fixed linear classifier that remembers the mode and grad setting of each forward call."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.linear = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        with torch.no_grad():
            self.linear.weight.copy_(weight)
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, inputs):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return self.linear(inputs)


def check_accuracy_over(accuracy_over) -> bool:
    """``accuracy_over(model, loader)`` returns the fraction of all examples in ``loader`` whose
    arg-max logit is the label (in evaluation mode, without gradients), as a number in [0, 1]."""
    generator = fresh_generator()
    device = get_device()
    num_features, num_classes, batch_size = 5, 4, 10
    for _ in range(100):  # draw until the last (short) batch's accuracy differs from the overall one
        num_examples = _randint(generator, 61, 97)
        if num_examples % batch_size == 0:
            continue
        inputs = torch.randn(num_examples, num_features, generator=generator)
        labels = torch.randint(0, num_classes, (num_examples,), generator=generator)
        weight = torch.randn(num_classes, num_features, generator=generator)
        correct = ((inputs @ weight.T).argmax(1) == labels).float()
        batch_means = torch.stack([chunk.mean() for chunk in correct.split(batch_size)])
        if 0.3 < correct.mean() < 0.7 and abs(batch_means.mean() - correct.mean()) > 1e-3 \
                and abs(batch_means[0] - correct.mean()) > 1e-3 and abs(batch_means[-1] - correct.mean()) > 1e-3:
            break
    expected = correct.mean().item()
    probe = _Probe(weight).to(device)
    probe.train()  # as it would be after training
    loader = DataLoader(TensorDataset(inputs, labels), batch_size=batch_size, num_workers=0)
    try:
        returned = call_answer(accuracy_over, probe, loader, what="accuracy_over")
    except RuntimeError as error:
        expect("device" not in str(error), f"the model is on {device} but a batch is not: move each batch there first, "
                                           "`images.to(device)`, `labels.to(device)`.")
        raise
    value = answer_as_number(returned, "accuracy_over's result", "Return the fraction correct, e.g. `correct / total`.")

    expect(probe.calls, "the model was never called: loop over the loader and compute `model(images)` for each batch.")
    expect(not any(training for training, _ in probe.calls),
           "the model was in training mode: call `model.eval()` first (dropout must be off when measuring).")
    expect(not any(grad for _, grad in probe.calls),
           "gradients were being recorded: wrap the loop in `with torch.no_grad():` (or decorate the function with "
           "@torch.no_grad()); evaluation never calls backward.")
    expect(not math.isclose(value, 100 * expected, rel_tol=1e-6),
           f"you returned a percentage ({value:g}); return a fraction between 0 and 1.")
    expect(not math.isclose(value, batch_means.mean().item(), abs_tol=1e-6),
           f"you averaged the batches' accuracies, but the last batch holds only {num_examples % batch_size} of the "
           f"{num_examples} examples: count the correct examples over all batches and divide by the number of examples.")
    expect(not math.isclose(value, batch_means[0].item(), abs_tol=1e-6) and not math.isclose(value, batch_means[-1].item(), abs_tol=1e-6),
           "that is the accuracy of one batch only: add up over every batch of the loader.")
    expect(len(probe.calls) == math.ceil(num_examples / batch_size),
           f"the model should see each of the {math.ceil(num_examples / batch_size)} batches once, it was called "
           f"{len(probe.calls)} times.")
    expect(math.isclose(value, expected, abs_tol=1e-6),
           f"the accuracy should be {expected:.4f} ({int(correct.sum())} of {num_examples} right), got {value:.4f}. "
           "A prediction is the index of the largest logit: `logits.argmax(dim=1)`.")
    return passed(f"{int(correct.sum())} of {num_examples} right over {len(probe.calls)} batches: {expected:.4f}.")


# --- exercise 5: put it together ------------------------------------------------------------------------

def check_trained_mlp(model, val_accuracy) -> bool:
    """``model`` (an MLP for MNIST images ``[B, 1, 28, 28]``) reads at least
    :data:`TRAINED_MLP_TARGET` of the 10 000 validation images correctly, and ``val_accuracy``
    is what it measured there."""
    from utils.data import load_mnist

    expect(isinstance(model, nn.Module), f"pass the trained model, an nn.Module, not a {type(model).__name__}.")
    reported = answer_as_number(val_accuracy, "val_accuracy", "Use `accuracy_over(model, val_loader)`.")
    images, labels = load_mnist("val")
    model_device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(labels), 1000):
            logits = model(images[start:start + 1000].to(model_device))
            correct += (logits.argmax(dim=1).cpu() == labels[start:start + 1000]).sum().item()
    model.train(was_training)
    measured = correct / len(labels)
    expect(measured >= TRAINED_MLP_TARGET,
           f"your model reads {measured:.2%} of the validation images correctly; it should reach {TRAINED_MLP_TARGET:.0%}. "
           "Hints: are the training images scaled to [0, 1] (your DigitImages)? Does each epoch call training_step on "
           "every batch? Adam with lr=1e-3 for 2 epochs is enough.")
    expect(math.isclose(reported, measured, abs_tol=1e-3),
           f"you reported a validation accuracy of {reported:.4f}, but the model reads {measured:.4f} of the 10 000 "
           "validation images correctly: measure it with accuracy_over(model, val_loader) on all of them.")
    return passed(f"your own pieces trained an MLP to {measured:.2%} on the validation images.")
