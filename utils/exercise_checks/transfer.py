"""Checks for the exercises of ``module2_cnns/solutions/08_transfer_learning.ipynb``.

Every check builds fresh random inputs (small random networks shaped like torchvision's
classifiers: a ``features`` backbone and a ``classifier`` that ends in ``nn.Linear``), computes the
right answer itself and compares, so a hard-coded answer does not pass; a wrong answer gets an
explanation of what went wrong and a hint (``utils.checks.ExerciseError``). No check trains or runs
a real MobileNetV2: each takes well under a second.
"""

from __future__ import annotations

import numbers

import torch
from torch import nn

from utils.checks import call_answer, expect, fresh_generator, passed

__all__ = [
    "TinyClassifier",
    "check_top_k_labels",
    "check_replace_classifier",
    "check_freeze_all_but_head",
    "check_extract_features",
    "check_param_groups",
]


# --- helpers -----------------------------------------------------------------------------------

def _randint(generator: torch.Generator, low: int, high: int) -> int:
    """A random int in [low, high]."""
    return int(torch.randint(low, high + 1, (), generator=generator).item())


def _uniform_log(generator: torch.Generator, low: float, high: float) -> float:
    """A random number between low and high, uniform on a log scale (for learning rates)."""
    low_log, high_log = torch.log10(torch.tensor(low)), torch.log10(torch.tensor(high))
    return float(10 ** (low_log + (high_log - low_log) * torch.rand((), generator=generator)))


class TinyClassifier(nn.Module):
    """A small network shaped like torchvision's MobileNetV2: ``features`` (convolutions with
    BatchNorm, ending in ``channels`` feature maps), an average over positions, and ``classifier``,
    ``nn.Sequential(nn.Dropout(0.2), nn.Linear(channels, num_classes))``."""

    def __init__(self, channels: int = 12, num_classes: int = 7, in_channels: int = 3):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 8, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, channels, kernel_size=3, stride=2, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
        )
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(channels, num_classes))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images).mean(dim=(2, 3)))


def _tiny_classifier(generator: torch.Generator) -> TinyClassifier:
    """A TinyClassifier of random size with random weights and non-trivial BatchNorm running statistics."""
    channels, num_classes = _randint(generator, 6, 20), _randint(generator, 5, 30)
    seed = _randint(generator, 0, 10**6)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TinyClassifier(channels, num_classes)
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):  # as if trained: stored statistics far from batch statistics
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.data.uniform_(0.5, 1.5)
                module.bias.data.uniform_(-0.2, 0.2)
    return model


def _as_probability(value, what: str) -> float:
    if isinstance(value, torch.Tensor):
        expect(value.numel() == 1, f"{what} should be one number, got a tensor of shape {tuple(value.shape)}.")
        return float(value.detach().cpu().reshape(()))
    expect(isinstance(value, numbers.Real) and not isinstance(value, bool),
           f"{what} should be a number (a probability), got {type(value).__name__}: {value!r}.")
    return float(value)


def _count(parameters) -> int:
    return sum(parameter.numel() for parameter in parameters)


# --- exercise 1: top-k labels -------------------------------------------------------------------

def check_top_k_labels(top_k_labels) -> bool:
    """``top_k_labels(logits [N, C], class_names, k)`` returns one list per row of ``logits``: the
    ``k`` pairs ``(class name, probability)`` with the largest softmax probabilities, most probable
    first; probabilities are fractions in [0, 1]."""
    generator = fresh_generator()
    num_rows, num_classes, k = _randint(generator, 3, 6), _randint(generator, 8, 40), _randint(generator, 2, 5)
    logits = torch.randn(num_rows, num_classes, generator=generator) * 3
    logits[0] += 4 * torch.rand(num_classes, generator=generator)  # rows on different scales
    class_names = [f"class_{_randint(generator, 100, 999)}_{i}" for i in range(num_classes)]
    original = logits.clone()
    result = call_answer(top_k_labels, logits, list(class_names), k, what="top_k_labels")
    expect(torch.equal(logits, original), "top_k_labels changed the logits it was given; leave its input as it is "
                                          "(softmax and topk return new tensors).")
    expect(isinstance(result, (list, tuple)),
           f"top_k_labels should return a list (one entry per row of logits), got a {type(result).__name__}.")
    expect(len(result) == num_rows, f"for logits of shape {tuple(logits.shape)} there should be {num_rows} lists, one per "
                                    f"row (image), got {len(result)}.")
    probabilities = logits.softmax(dim=1)
    expected_probabilities, expected_classes = probabilities.topk(k, dim=1)
    got_names, got_probabilities = [], []
    for row, pairs in enumerate(result):
        expect(isinstance(pairs, (list, tuple)) and len(pairs) == k,
               f"row {row}: expected a list of k = {k} (name, probability) pairs, got "
               f"{len(pairs) if isinstance(pairs, (list, tuple)) else type(pairs).__name__}.")
        names, values = [], []
        for pair in pairs:
            expect(isinstance(pair, (list, tuple)) and len(pair) == 2,
                   f"row {row}: each entry should be a pair (class name, probability), got {pair!r}.")
            name, value = pair
            expect(not isinstance(name, (int, torch.Tensor)),
                   f"row {row}: {name!r} is a class index; return the class's name, class_names[index].")
            expect(name in class_names, f"row {row}: {name!r} is not one of class_names.")
            names.append(name)
            values.append(_as_probability(value, f"the probability of {name!r}"))
        got_names.append(names)
        got_probabilities.append(values)
    got_probabilities = torch.tensor(got_probabilities, dtype=torch.float32)
    expected_names = [[class_names[c] for c in row] for row in expected_classes.tolist()]

    expect(not torch.allclose(got_probabilities, logits.topk(k, dim=1)[0], atol=1e-5),
           "those are the logits, not probabilities: turn the logits into probabilities with "
           "`logits.softmax(dim=1)` first.")
    expect(not torch.allclose(got_probabilities, 100 * expected_probabilities, atol=1e-3),
           "those are percentages: return probabilities as fractions between 0 and 1 (multiply by 100 only when "
           "you print them).")
    expect(float(got_probabilities.max()) <= 1 + 1e-5 and float(got_probabilities.min()) >= 0,
           f"probabilities should be fractions between 0 and 1; yours range from {float(got_probabilities.min()):.4g} "
           f"to {float(got_probabilities.max()):.4g}. Use the softmax of the logits.")
    if got_names != expected_names:
        reverse_names = [[class_names[c] for c in row] for row in probabilities.topk(k, dim=1, largest=False)[1].tolist()]
        expect(got_names != reverse_names, "you picked the k *least* probable classes: the top-k are the largest "
                                           "(`topk` does that by default, or sort with descending=True).")
        expect([sorted(row) for row in got_names] != [sorted(row) for row in expected_names],
               "the right k classes, in the wrong order: most probable first (`topk` returns them sorted).")
        by_column = logits.softmax(dim=0).topk(k, dim=1)[1].tolist()
        expect(got_names != [[class_names[c] for c in row] for row in by_column],
               "softmax over the wrong dimension: each row (image) has its own distribution over the classes, "
               "so use softmax(dim=1).")
        expect(False, f"row 0 should be {list(zip(expected_names[0], expected_probabilities[0].tolist()))}, "
                      f"got {result[0]!r}.")
    if not torch.allclose(got_probabilities, expected_probabilities, atol=1e-5):
        expect(not torch.allclose(got_probabilities, logits.softmax(dim=0).gather(1, expected_classes), atol=1e-5),
               "softmax over the wrong dimension: each row (image) sums to 1 over its classes, softmax(dim=1).")
        expect(False, f"the classes are right but the probabilities are not: row 0 should be "
                      f"{[round(p, 4) for p in expected_probabilities[0].tolist()]}, got "
                      f"{[round(p, 4) for p in got_probabilities[0].tolist()]}. Use softmax(dim=1) of the logits.")
    return passed(f"the top-{k} classes of every row, with their softmax probabilities, most probable first.")


# --- exercise 2: a new head -------------------------------------------------------------------

def check_replace_classifier(replace_classifier) -> bool:
    """``replace_classifier(model, num_classes)`` replaces the last layer of ``model.classifier`` (an
    ``nn.Linear``) by a new ``nn.Linear`` with the same number of inputs and ``num_classes``
    outputs, keeps everything else (the dropout before it, the backbone), and returns the model."""
    generator = fresh_generator()
    model = _tiny_classifier(generator)
    in_features, old_classes = model.classifier[1].in_features, model.classifier[1].out_features
    num_classes = _randint(generator, 2, 12)
    while num_classes == old_classes:
        num_classes = _randint(generator, 2, 12)
    old_head = model.classifier[1]
    features_before = {name: tensor.clone() for name, tensor in model.features.state_dict().items()}
    result = call_answer(replace_classifier, model, num_classes, what="replace_classifier",
                         explain_crashes=True, hint="model.classifier[-1] is the last layer; assign a new nn.Linear to it.")
    expect(result is not None, "replace_classifier returned None: return the model (after changing it).")
    expect(isinstance(result, nn.Module), f"replace_classifier should return the model, got a {type(result).__name__}.")
    expect(isinstance(getattr(result, "classifier", None), nn.Sequential),
           "the model's classifier is no longer an nn.Sequential (dropout, then a linear layer): replace only its "
           "last layer, `model.classifier[-1] = nn.Linear(...)`, and keep the dropout.")
    expect(len(result.classifier) == 2 and isinstance(result.classifier[0], nn.Dropout),
           "keep the classifier's dropout: replace only the last layer, `model.classifier[-1]`.")
    head = result.classifier[-1]
    expect(isinstance(head, nn.Linear), f"the last layer should be an nn.Linear, got {type(head).__name__}.")
    expect(head is not old_head, "the last layer is the same object as before: create a new nn.Linear (with new, "
                                 "random weights) and assign it.")
    expect(head.in_features == in_features,
           f"the new layer must take the backbone's {in_features} features as inputs, yours takes {head.in_features}. "
           "Read the number from the old layer (`model.classifier[-1].in_features`) instead of writing it by hand.")
    expect(head.out_features == num_classes,
           f"the new layer should have one output per class, {num_classes}, yours has {head.out_features}.")
    expect(head.bias is not None, "keep a bias in the new layer (nn.Linear's default, bias=True).")
    expect(all(torch.equal(tensor, features_before[name]) for name, tensor in result.features.state_dict().items()),
           "the backbone (model.features) changed: replace only the classifier's last layer.")
    with torch.no_grad():
        logits = result.eval()(torch.randn(3, 3, 8, 8, generator=generator))
    expect(tuple(logits.shape) == (3, num_classes),
           f"the new model should give [batch, {num_classes}] logits, got {tuple(logits.shape)}.")
    return passed(f"a new {in_features} -> {num_classes} head; the backbone and the dropout are kept.")


# --- exercise 3: freeze all but the head ---------------------------------------------------------

def check_freeze_all_but_head(freeze_all_but_head) -> bool:
    """``freeze_all_but_head(model)`` leaves exactly the parameters of ``model.classifier``
    trainable (``requires_grad=True``) and every other parameter frozen, whatever their state
    before, and returns the number of trainable parameters (numbers, not tensors)."""
    generator = fresh_generator()
    for already_frozen in (False, True):
        model = _tiny_classifier(generator)
        if already_frozen:  # e.g. a model frozen entirely before: the head must be switched back on
            model.requires_grad_(False)
            model.features[0].weight.requires_grad_(True)
        weights_before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
        result = call_answer(freeze_all_but_head, model, what="freeze_all_but_head")
        head_count, total = _count(model.classifier.parameters()), _count(model.parameters())
        frozen_head = [name for name, p in model.classifier.named_parameters() if not p.requires_grad]
        trainable_backbone = [name for name, p in model.features.named_parameters() if p.requires_grad]
        expect(len(frozen_head) != len(list(model.classifier.parameters())),
               "every parameter is frozen, the head's too: nothing is left to train. Freeze the backbone "
               "(`model.features`) and make sure the classifier's parameters have requires_grad=True.")
        expect(not frozen_head, f"the head's {', '.join(frozen_head)} is frozen: the whole classifier should stay "
                                "trainable (weight and bias).")
        first_trainable = f"features.{trainable_backbone[0]}" if trainable_backbone else ""
        expect(not trainable_backbone, f"the backbone's {first_trainable} is still trainable: freeze every parameter "
                                       "of model.features (`model.features.requires_grad_(False)`).")
        expect(all(torch.equal(tensor, weights_before[name]) for name, tensor in model.state_dict().items()),
               "freezing should not change any weight, only the requires_grad flags.")
        expect(result is not None, "freeze_all_but_head returned None: return the number of trainable parameters.")
        count = result
        if isinstance(count, torch.Tensor):
            expect(count.numel() == 1, f"return one number, got a tensor of shape {tuple(count.shape)}.")
            count = count.item()
        expect(isinstance(count, numbers.Integral) or (isinstance(count, float) and count.is_integer()),
               f"return the number of trainable parameters (a whole number), got {result!r}.")
        count = int(count)
        expect(count != total, f"you returned {count}, the number of all parameters; count only those with "
                               "requires_grad=True.")
        expect(count != len(list(model.classifier.parameters())),
               f"you returned {count}, the number of parameter *tensors*; count the numbers in them, "
               "`parameter.numel()`.")
        expect(count == head_count, f"the head has {head_count} trainable numbers (weight and bias), you returned {count}.")
    return passed(f"only the head is trainable: {head_count} of {total} parameters on the last model.")


# --- exercise 4: precompute features ----------------------------------------------------------

def check_extract_features(extract_features) -> bool:
    """``extract_features(backbone, images, batch_size)`` returns the frozen backbone's features of
    all images, averaged over positions: ``[N, channels]``, computed in eval mode (BatchNorm uses
    its stored statistics), without gradients, ``batch_size`` images at a time, in order; the
    backbone's weights and running statistics are left unchanged."""
    generator = fresh_generator()
    model = _tiny_classifier(generator)
    backbone = model.features
    backbone.train()  # as a model usually is after training: the answer must switch to eval itself
    num_images, batch_size = _randint(generator, 23, 41), _randint(generator, 4, 9)
    images = torch.randn(num_images, 3, 10, 10, generator=generator) * 2 + 0.5
    state_before = {name: tensor.clone() for name, tensor in backbone.state_dict().items()}
    calls = []
    hook = backbone.register_forward_pre_hook(lambda module, inputs: calls.append(len(inputs[0])))
    try:
        result = call_answer(extract_features, backbone, images.clone(), batch_size, what="extract_features",
                             explain_crashes=True, hint="run the backbone on images[i:i + batch_size] for i in "
                                                        "range(0, len(images), batch_size), then torch.cat.")
    finally:
        hook.remove()
    with torch.no_grad():
        backbone.eval()
        expected = backbone(images).mean(dim=(2, 3))
    expect(isinstance(result, torch.Tensor), f"extract_features should return a tensor, got {type(result).__name__}.")
    channels = expected.shape[1]
    expect(result.dim() != 4, f"you returned feature maps of shape {tuple(result.shape)}; average them over the "
                              "positions (`.mean(dim=(2, 3))`) to get one vector per image.")
    expect(tuple(result.shape) == (num_images, channels),
           f"for {num_images} images and a backbone with {channels} output channels the result should be "
           f"[{num_images}, {channels}], got {tuple(result.shape)}.")
    expect(not result.requires_grad, "the features still require gradients: compute them under torch.no_grad(), "
                                     "they are fixed numbers (and the graph would cost memory).")
    changed = [name for name, tensor in backbone.state_dict().items() if not torch.equal(tensor, state_before[name])]
    expect(not any("running" in name for name in changed),
           f"the backbone's BatchNorm running statistics changed ({changed[0] if changed else ''}): it ran in training "
           "mode. Call backbone.eval() first, so the frozen backbone uses its stored statistics.")
    expect(not changed, f"the backbone's {changed[0] if changed else ''} changed; extracting features must not touch it.")
    expect(bool(calls) and max(calls) <= batch_size,
           f"the backbone saw {max(calls) if calls else 0} images at once, but batch_size is {batch_size}: run it on "
           "batches of at most batch_size images (big batches can exhaust the memory).")
    expect(sum(calls) == num_images, f"the backbone ran on {sum(calls)} images in all, not {num_images}: each image "
                                     "once (mind the last, smaller batch).")
    result = result.detach().cpu().float()
    if not torch.allclose(result, expected, atol=1e-5, rtol=1e-4):
        with torch.no_grad():
            backbone.train()
            in_train_mode = torch.cat([backbone(images[i:i + batch_size]) for i in range(0, num_images, batch_size)])
            backbone.eval()
        expect(not torch.allclose(result, in_train_mode.mean(dim=(2, 3)), atol=1e-4),
               "those are training-mode features (BatchNorm normalised each batch with its own statistics): call "
               "backbone.eval() before running it.")
        expect(False, "the features differ from the backbone's (in eval mode, averaged over positions), "
                      "image by image in order.")
    return passed(f"{num_images} images in batches of {batch_size}, in eval mode, without gradients.")


# --- exercise 5: parameter groups ------------------------------------------------------------

def check_param_groups(make_optimizer) -> bool:
    """``make_optimizer(model, backbone_lr, head_lr)`` returns a ``torch.optim.Adam`` with two
    parameter groups: the parameters of ``model.features`` with learning rate ``backbone_lr`` and
    those of ``model.classifier`` with ``head_lr``; every parameter exactly once."""
    generator = fresh_generator()
    model = _tiny_classifier(generator)
    head_lr = _uniform_log(generator, 3e-3, 3e-2)
    backbone_lr = head_lr / _randint(generator, 3, 30)
    optimizer = call_answer(make_optimizer, model, backbone_lr, head_lr, what="make_optimizer", explain_crashes=True,
                            hint="torch.optim.Adam([{'params': ..., 'lr': ...}, {'params': ..., 'lr': ...}]); a "
                                 "parameter may be in one group only.")
    expect(isinstance(optimizer, torch.optim.Optimizer),
           f"make_optimizer should return an optimizer, got {type(optimizer).__name__}.")
    expect(isinstance(optimizer, torch.optim.Adam), f"use torch.optim.Adam, got {type(optimizer).__name__}.")
    groups = optimizer.param_groups
    expect(len(groups) == 2, f"there should be two parameter groups (backbone, head), got {len(groups)}. Pass a list "
                             "of two dicts, each with its own 'params' and 'lr'.")
    backbone_ids = {id(p) for p in model.features.parameters()}
    head_ids = {id(p) for p in model.classifier.parameters()}
    group_ids = [{id(p) for p in group["params"]} for group in groups]
    expect(all(ids <= backbone_ids | head_ids for ids in group_ids),
           "a group holds tensors that are not the model's parameters.")
    covered = group_ids[0] | group_ids[1]
    missing = (backbone_ids | head_ids) - covered
    expect(not (head_ids & missing), "the head's parameters are in no group: the new layer would never learn.")
    expect(not missing, f"{len(missing)} of the backbone's parameter tensors are in no group; put all of "
                        "model.features.parameters() in the backbone group.")
    by_kind = {}
    for ids, group in zip(group_ids, groups):
        kind = "backbone" if ids <= backbone_ids else "head" if ids <= head_ids else "mixed"
        expect(kind != "mixed", "a group mixes backbone and head parameters: one group for model.features, one for "
                                "model.classifier.")
        by_kind[kind] = group["lr"]
    expect(set(by_kind) == {"backbone", "head"}, "one group should hold the backbone's parameters, the other the head's.")
    if abs(by_kind["backbone"] - head_lr) < 1e-12 and abs(by_kind["head"] - backbone_lr) < 1e-12:
        expect(False, "the learning rates are swapped: the pretrained backbone gets the small backbone_lr, the new "
                      "head the larger head_lr.")
    expect(abs(by_kind["backbone"] - backbone_lr) <= 1e-12 * backbone_lr,
           f"the backbone group's learning rate should be backbone_lr = {backbone_lr:.3g}, got {by_kind['backbone']:.3g}.")
    expect(abs(by_kind["head"] - head_lr) <= 1e-12 * head_lr,
           f"the head group's learning rate should be head_lr = {head_lr:.3g}, got {by_kind['head']:.3g}.")
    return passed(f"backbone at lr {backbone_lr:.2g}, head at lr {head_lr:.2g}: "
                  f"{by_kind['head'] / by_kind['backbone']:.0f} times faster.")
