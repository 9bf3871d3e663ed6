"""Checks for the exercises of ``module2_cnns/solutions/07_image_classification_practice.ipynb``.

Every check builds fresh random inputs, computes the right answer itself (or measures the answer's
behaviour against the specification) and compares, so a hard-coded answer does not pass; a wrong
answer gets an explanation of what went wrong and a hint (``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import math

import torch

from utils.checks import answer_as_number, call_answer, expect, fresh_generator, passed

__all__ = [
    "check_stratified_indices",
    "check_augmentation",
    "check_most_confident_mistakes",
    "check_warmup_cosine_lr",
]

#: The augmentation specification of exercise 2 (the limits the check enforces, with some slack).
MAX_ROTATION_DEGREES = 10
MAX_SHIFT_FRACTION = 0.1
SCALE_RANGE = (0.9, 1.1)
IMAGE_SIZE = 28


# --- helpers -----------------------------------------------------------------------------------

def _randint(generator: torch.Generator, low: int, high: int) -> int:
    """A random int in [low, high]."""
    return int(torch.randint(low, high + 1, (), generator=generator).item())


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def _as_indices(value, what: str) -> torch.Tensor:
    """A 1-D int64 CPU tensor from the learner's tensor or list of indices."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
    else:
        expect(isinstance(value, (list, tuple)), f"{what} should return a tensor of indices, got a {type(value).__name__}.")
        try:
            tensor = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError):
            expect(False, f"{what} should return a tensor of indices (whole numbers), got {value!r}.")
    expect(tensor.dtype != torch.bool, f"{what} returned a True/False mask; return the indices themselves "
                                       "(for a mask `m`, `m.nonzero().squeeze(1)`).")
    expect(not tensor.is_floating_point(), f"{what} returned floats ({tensor.dtype}); indices are whole numbers "
                                           "(int64, as `nonzero`, `argsort` and `randperm` give them).")
    expect(tensor.dim() == 1 or tensor.numel() == 0,
           f"{what} should return a 1-D tensor of indices, got shape {tuple(tensor.shape)} "
           "(`.squeeze(1)` after `.nonzero()` turns [N, 1] into [N]).")
    return tensor.reshape(-1).long()


# --- exercise 1: a stratified subset ------------------------------------------------------------

def check_stratified_indices(stratified_indices) -> bool:
    """``stratified_indices(labels, per_class, generator)`` returns ``per_class`` random indices of
    every class in ``labels``, without repeats, drawn with ``generator``; a class with fewer than
    ``per_class`` examples raises ``ValueError``."""
    generator = fresh_generator()
    num_classes, per_class = _randint(generator, 3, 6), _randint(generator, 2, 6)
    sizes = [_randint(generator, per_class + 4, 3 * per_class + 10) for _ in range(num_classes)]
    labels = torch.cat([torch.full((size,), label, dtype=torch.long) for label, size in enumerate(sizes)])
    labels = labels[torch.randperm(len(labels), generator=generator)]
    original = labels.clone()
    seed, other_seed = _randint(generator, 0, 10**6), _randint(generator, 10**6 + 1, 2 * 10**6)

    def draw(seed_value, some_labels=labels, count=per_class):
        result = call_answer(stratified_indices, some_labels.clone(), count, torch.Generator().manual_seed(seed_value),
                             what="stratified_indices")
        return _as_indices(result, "stratified_indices")

    index = draw(seed)
    expected_length = num_classes * per_class
    expect(len(index) == expected_length,
           f"with {num_classes} classes and per_class={per_class} there should be {expected_length} indices, "
           f"got {len(index)}. Hint: per_class indices from each class in labels.unique().")
    expect(bool(((index >= 0) & (index < len(labels))).all()),
           f"the indices should be positions in labels, 0 to {len(labels) - 1}; yours range from "
           f"{index.min().item()} to {index.max().item()}.")
    expect(len(index.unique()) == len(index),
           "some index appears twice: draw without replacement, e.g. shuffle a class's indices with "
           "torch.randperm and keep the first per_class (torch.randint can repeat).")
    counts = torch.bincount(labels[index], minlength=num_classes)
    expect(bool((counts == per_class).all()),
           f"every class should get exactly {per_class} indices; per class yours have {counts.tolist()}. "
           "Hint: (labels == c).nonzero() lists the indices of class c.")
    expect(torch.equal(labels, original), "stratified_indices changed the labels it was given; leave its input as it is.")

    again = draw(seed)
    expect(torch.equal(torch.sort(again).values, torch.sort(index).values),
           "two calls with generators seeded the same gave different subsets: draw every random number from the "
           "`generator` argument (torch.randperm(n, generator=generator)), not from the global generator, so the "
           "subset depends only on its seed.")
    first_of_each = torch.cat([(labels == label).nonzero().squeeze(1)[:per_class] for label in range(num_classes)])
    other = draw(other_seed)
    same_set = torch.equal(torch.sort(other).values, torch.sort(index).values)
    is_first = torch.equal(torch.sort(index).values, torch.sort(first_of_each).values)
    expect(not (same_set and is_first), "you take the first per_class examples of each class; pick them at random "
                                        "within the class instead (the first ones may not be typical).")
    expect(not same_set, "generators with different seeds gave the same subset: the choice within each class "
                         "should be random, drawn with the generator you are given.")

    too_few = torch.cat([torch.full((per_class,), 0), torch.full((per_class - 1,), 1), torch.full((per_class + 2,), 2)])
    too_few = too_few[torch.randperm(len(too_few), generator=generator)]
    try:
        result = stratified_indices(too_few.clone(), per_class, torch.Generator().manual_seed(seed))
    except ValueError:
        pass
    except Exception as error:  # any other error: explained to the learner
        expect(False, f"when a class has fewer than per_class examples, raise a ValueError that says so; yours raised "
                      f"{type(error).__name__}: {error}")
    else:
        got = len(result) if hasattr(result, "__len__") else result
        expect(False, f"class 1 has only {per_class - 1} examples but per_class={per_class}: raise a ValueError "
                      f"that says so, instead of returning ({got} indices) a subset that is silently unbalanced.")
    return passed(f"{per_class} random examples of each of {num_classes} classes, reproducible from the generator.")


# --- exercise 2: an augmentation pipeline -------------------------------------------------------

def _moments(image: torch.Tensor) -> tuple[float, float, float, float, float]:
    """Total ink, centre of mass (row, column), principal-axis angle in degrees and the standard
    deviation along that axis, of a [H, W] float image."""
    weights = image.to(torch.float64)
    total = float(weights.sum())
    rows = torch.arange(weights.shape[0], dtype=torch.float64)[:, None]
    cols = torch.arange(weights.shape[1], dtype=torch.float64)[None, :]
    mean_row, mean_col = float((weights * rows).sum()) / total, float((weights * cols).sum()) / total
    var_row = float((weights * (rows - mean_row) ** 2).sum()) / total
    var_col = float((weights * (cols - mean_col) ** 2).sum()) / total
    cov = float((weights * (rows - mean_row) * (cols - mean_col)).sum()) / total
    angle = 0.5 * math.degrees(math.atan2(2 * cov, var_col - var_row))
    major = 0.5 * (var_row + var_col) + math.sqrt(0.25 * (var_col - var_row) ** 2 + cov**2)
    return total, mean_row, mean_col, angle, math.sqrt(major)


def _bar_image(generator: torch.Generator) -> tuple[torch.Tensor, int]:
    """A uint8 [1, 28, 28] image: a bright bar (horizontal or vertical) near the centre, on black."""
    image = torch.zeros(1, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8)
    brightness = _randint(generator, 200, 255)
    length, thickness = _randint(generator, 14, 16), 3
    start = (IMAGE_SIZE - length) // 2 + _randint(generator, -1, 1)
    across = (IMAGE_SIZE - thickness) // 2 + _randint(generator, -1, 1)
    if _randint(generator, 0, 1):
        image[0, across:across + thickness, start:start + length] = brightness
    else:
        image[0, start:start + length, across:across + thickness] = brightness
    return image, brightness


def _angle_difference(a: float, b: float) -> float:
    """The difference of two axis angles in degrees, in [-90, 90) (an axis has no direction)."""
    return (a - b + 90) % 180 - 90


def check_augmentation(augmentation) -> bool:
    """``augmentation(image)`` takes a uint8 image ``[1, 28, 28]`` (raw bytes) and returns a float32
    image ``[1, 28, 28]`` in [0, 1] (255 -> 1.0), randomly rotated by at most 10 degrees, shifted by
    at most 10% of the image size and scaled by 0.9 to 1.1, with bilinear interpolation and a black
    background. The check measures the outputs' moments on a random bar image."""
    generator = fresh_generator()
    image, brightness = _bar_image(generator)
    original = image.clone()
    expect(callable(augmentation), "pass the pipeline itself, e.g. `check_augmentation(augmentation)`, where "
                                   "`augmentation = v2.Compose([...])`; got a " + type(augmentation).__name__)
    output = call_answer(augmentation, image, what="augmentation")
    expect(torch.equal(image, original), "your pipeline changed the input image in place; it should return a new image.")
    expect(isinstance(output, torch.Tensor), f"the pipeline should return a tensor, got a {type(output).__name__}.")
    output = output.as_subclass(torch.Tensor) if type(output) is not torch.Tensor else output
    expect(tuple(output.shape) != (IMAGE_SIZE, IMAGE_SIZE),
           "the output has lost its channel dimension: keep the shape (1, 28, 28) that came in.")
    expect(tuple(output.shape) == (1, IMAGE_SIZE, IMAGE_SIZE),
           f"the output should have the input's shape (1, 28, 28), got {tuple(output.shape)}.")
    expect(output.dtype != torch.uint8, "the output is still uint8 (bytes 0-255): convert it to float32 in [0, 1] "
                                        "with v2.ToDtype(torch.float32, scale=True).")
    expect(output.dtype == torch.float32, f"the output should be float32, got {output.dtype}.")
    expect(float(output.max()) < 20,
           f"the output's values reach {float(output.max()):.0f}: they are still on the 0-255 scale. Use "
           "v2.ToDtype(torch.float32, scale=True); scale=True divides by 255.")
    expect(float(output.min()) >= -1e-5 and float(output.max()) <= 1.0 + 1e-5,
           f"the output's values should lie in [0, 1], yours range from {float(output.min()):.3g} to "
           f"{float(output.max()):.3g}. (Normalising to mean 0 is not part of this specification.)")
    expect(float(output.max()) >= 0.5 * brightness / 255,
           f"the bar has brightness {brightness} of 255, so the output should reach about {brightness / 255:.2f}; "
           f"yours peaks at {float(output.max()):.3f}. Convert with scale=True exactly once.")

    outputs = [output] + [call_answer(augmentation, image.clone(), what="augmentation").as_subclass(torch.Tensor)
                          for _ in range(39)]
    stacked = torch.stack(outputs).to(torch.float32)
    distinct = len({tuple(out.flatten().tolist()) for out in outputs})
    expect(distinct > 1, "the pipeline returned the same image 40 times: augmentation must be random, a new draw on "
                         "every call (v2.RandomAffine draws new parameters each time).")
    expect(distinct >= 30, f"only {distinct} of 40 outputs were different: most calls should give a new image.")
    border = torch.cat([stacked[:, 0, 0, :], stacked[:, 0, -1, :], stacked[:, 0, :, 0], stacked[:, 0, :, -1]], dim=1)
    expect(float(border.mean(dim=1).max()) < 0.15, "the image's border turned bright: fill the area uncovered by the shift and "
                                      "rotation with black, fill=0 (the default of v2.RandomAffine).")

    level = brightness / 255
    in_between = ((stacked > 0.02) & (stacked < level - 0.02)).float().mean().item()
    expect(in_between >= 0.005, "the outputs have hard, jagged edges: every pixel is either black or the bar's "
                                "brightness. That is nearest-neighbour interpolation (v2.RandomAffine's default); ask "
                                "for interpolation=v2.InterpolationMode.BILINEAR.")

    ink, row, col, angle, spread = _moments(original[0].to(torch.float64) / 255)
    shifts, turns, scales, inks = [], [], [], []
    for out in stacked:
        out_ink, out_row, out_col, out_angle, out_spread = _moments(out[0])
        expect(out_ink > 0, "an output image is completely black: the digit was moved out of the picture.")
        inks.append(out_ink / ink)
        shifts.append(max(abs(out_row - row), abs(out_col - col)))
        turns.append(abs(_angle_difference(out_angle, angle)))
        scales.append(out_spread / spread)
    max_shift_px = MAX_SHIFT_FRACTION * IMAGE_SIZE
    expect(max(shifts) <= max_shift_px + 1.7,
           f"the image moved by up to {max(shifts):.1f} pixels; the specification allows shifts of up to 10% of the "
           f"image size ({max_shift_px:.1f} pixels). translate=(0.1, 0.1) is a fraction of the size, not pixels.")
    expect(max(shifts) >= 1.0, "the image never moved: add random shifts of up to 10% of the size, "
                               "translate=(0.1, 0.1).")
    expect(max(turns) <= MAX_ROTATION_DEGREES + 3,
           f"the image turned by up to {max(turns):.0f} degrees; the specification allows "
           f"{MAX_ROTATION_DEGREES} (degrees={MAX_ROTATION_DEGREES}). Turned much further, a 6 becomes a 9.")
    expect(max(turns) >= 4, f"the image never turned by more than {max(turns):.1f} degrees: add random rotations "
                            f"of up to {MAX_ROTATION_DEGREES} degrees, degrees={MAX_ROTATION_DEGREES}.")
    low, high = SCALE_RANGE
    expect(low - 0.04 <= min(scales) and max(scales) <= high + 0.04,
           f"the image was scaled by {min(scales):.2f} to {max(scales):.2f}; the specification allows {low} to {high} "
           f"(scale={SCALE_RANGE}).")
    expect(max(scales) - min(scales) >= 0.07, "the image's size never changed: add random scaling between "
                                              f"{low} and {high}, scale={SCALE_RANGE}.")
    expect(0.7 <= min(inks) and max(inks) <= 1.4,
           f"the total brightness changed by a factor of {min(inks):.2f} to {max(inks):.2f}; a rotation, shift and "
           "scaling by at most 10% should change it by at most about a fifth. Is something else in your pipeline?")
    return passed(f"float32 (1, 28, 28) in [0, 1]; over 40 draws: shifts up to {max(shifts):.1f} px, rotations up to "
                  f"{max(turns):.0f}°, scales {min(scales):.2f} to {max(scales):.2f}.")


# --- exercise 3: the most confident mistakes ---------------------------------------------------------

def _most_confident_mistakes(logits: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    confidence, predictions = logits.softmax(dim=1).max(dim=1)
    wrong = (predictions != labels).nonzero().squeeze(1)
    return wrong[confidence[wrong].argsort(descending=True)[:k]]


def _mistake_problem(generator: torch.Generator):
    """Logits [N, C] whose per-row offsets make 'largest logit' and 'largest probability' rank
    differently, labels with many mistakes, and k; confidences of mistakes well separated."""
    while True:
        num_examples, num_classes = _randint(generator, 40, 80), _randint(generator, 3, 7)
        scales = 0.5 + 2 * torch.rand(num_examples, 1, generator=generator)
        offsets = 10 * torch.rand(num_examples, 1, generator=generator) - 5
        logits = torch.randn(num_examples, num_classes, generator=generator) * scales + offsets
        predictions = logits.argmax(dim=1)
        wrong_class = (predictions + torch.randint(1, num_classes, (num_examples,), generator=generator)) % num_classes
        make_wrong = torch.rand(num_examples, generator=generator) < 0.4
        labels = torch.where(make_wrong, wrong_class, predictions)
        k = _randint(generator, 3, 8)
        wrong = (predictions != labels).nonzero().squeeze(1)
        confidence = logits.softmax(dim=1).max(dim=1).values[wrong]
        gaps = confidence.sort().values.diff()
        by_logit = wrong[logits.max(dim=1).values[wrong].argsort(descending=True)[:k]]
        if len(wrong) >= k + 3 and (gaps.numel() == 0 or gaps.min() > 1e-5) and \
                not torch.equal(by_logit, _most_confident_mistakes(logits, labels, k)):
            return logits, labels, k


def check_most_confident_mistakes(most_confident_mistakes) -> bool:
    """``most_confident_mistakes(logits, labels, k)`` returns the indices of the (at most) ``k``
    wrong predictions with the highest confidence (softmax probability of the predicted class),
    most confident first."""
    generator = fresh_generator()
    logits, labels, k = _mistake_problem(generator)
    original_logits, original_labels = logits.clone(), labels.clone()
    expected = _most_confident_mistakes(logits, labels, k)
    result = call_answer(most_confident_mistakes, logits, labels, k, what="most_confident_mistakes")
    expect(torch.equal(logits, original_logits) and torch.equal(labels, original_labels),
           "most_confident_mistakes changed its inputs; leave the logits and labels as they are.")
    index = _as_indices(result, "most_confident_mistakes")
    predictions = logits.argmax(dim=1)
    expect(len(index) == len(expected), f"with k={k} (and more mistakes than that) there should be {k} indices, "
                                        f"got {len(index)}.")
    expect(bool(((index >= 0) & (index < len(labels))).all()),
           f"indices should be positions 0 to {len(labels) - 1} of the examples, got {index.tolist()}.")
    expect(bool((predictions[index] != labels[index]).all()),
           "some of your indices are correct predictions: keep only the mistakes (prediction != label) before "
           "ranking them by confidence.")
    expect(len(index.unique()) == len(index), f"an index appears twice in {index.tolist()}.")
    if not torch.equal(index, expected):
        expect(set(index.tolist()) != set(expected.tolist()),
               f"the right mistakes in the wrong order: put the most confident first "
               f"(argsort(descending=True)); expected {expected.tolist()}, got {index.tolist()}.")
        wrong = (predictions != labels).nonzero().squeeze(1)
        by_logit = wrong[logits.max(dim=1).values[wrong].argsort(descending=True)[:k]]
        expect(not torch.equal(index, by_logit),
               "you ranked the mistakes by their largest logit. The confidence is the softmax probability of the "
               "predicted class, logits.softmax(dim=1).max(dim=1).values: adding a constant to a row's logits "
               "changes its largest logit but not its probabilities.")
        least = wrong[logits.softmax(dim=1).max(dim=1).values[wrong].argsort()[:k]]
        expect(not torch.equal(index, least), "you returned the *least* confident mistakes: sort in descending order.")
        expect(False, f"expected the indices {expected.tolist()} (the {k} mistakes with the highest softmax "
                      f"probability for the predicted class, most confident first), got {index.tolist()}.")

    num_wrong = int((predictions != labels).sum())
    large_k = num_wrong + _randint(generator, 1, 5)
    result = call_answer(most_confident_mistakes, logits.clone(), labels.clone(), large_k, what="most_confident_mistakes",
                         explain_crashes=True, hint="with k larger than the number of mistakes, return them all "
                         "(slicing [:k] does that; topk(k) needs k <= the number of mistakes).")
    all_of_them = _as_indices(result, "most_confident_mistakes")
    expect(torch.equal(all_of_them, _most_confident_mistakes(logits, labels, large_k)),
           f"with k={large_k} but only {num_wrong} mistakes, return all {num_wrong} mistakes, most confident first; "
           f"got {len(all_of_them)} indices.")
    return passed(f"the {k} most confident of {num_wrong} mistakes, in order; all of them when k is larger.")


# --- exercise 4: warmup + cosine ------------------------------------------------------------------

def _torch_schedule(peak_lr: float, warmup_epochs: int, total_epochs: int, start_factor: float) -> list[float]:
    """The learning rate of every epoch from SequentialLR(LinearLR, CosineAnnealingLR), stepped once per epoch."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=peak_lr)
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=start_factor, total_iters=warmup_epochs)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_epochs - warmup_epochs)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, decay], milestones=[warmup_epochs])
    rates = []
    for _ in range(total_epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def check_warmup_cosine_lr(warmup_cosine_lr) -> bool:
    """``warmup_cosine_lr(epoch, peak_lr, warmup_epochs, total_epochs, start_factor)`` is the learning
    rate of epoch ``epoch`` (from 0): a linear warmup from ``start_factor * peak_lr`` to ``peak_lr``
    over ``warmup_epochs`` epochs, then a cosine decay towards zero, exactly as PyTorch's
    ``SequentialLR(LinearLR, CosineAnnealingLR)`` stepped once per epoch."""
    generator = fresh_generator()
    for _ in range(2):
        peak_lr = 10 ** _uniform(generator, -4, -1)
        warmup_epochs = _randint(generator, 1, 4)
        total_epochs = warmup_epochs + _randint(generator, 4, 25)
        start_factor = round(_uniform(generator, 0.01, 0.5), 3)
        expected = _torch_schedule(peak_lr, warmup_epochs, total_epochs, start_factor)
        setting = (f"peak_lr={peak_lr:.3g}, warmup_epochs={warmup_epochs}, total_epochs={total_epochs}, "
                   f"start_factor={start_factor}")
        got = [answer_as_number(call_answer(warmup_cosine_lr, epoch, peak_lr, warmup_epochs, total_epochs, start_factor,
                                      what="warmup_cosine_lr"), f"warmup_cosine_lr({epoch}, ...)")
               for epoch in range(total_epochs)]
        wrong = [epoch for epoch in range(total_epochs)
                 if not math.isclose(got[epoch], expected[epoch], rel_tol=1e-5, abs_tol=1e-12)]
        if not wrong:
            continue
        epoch = wrong[0]
        where = (f"with {setting}, epoch {epoch} should have learning rate {expected[epoch]:.6g}, yours gives "
                 f"{got[epoch]:.6g}")
        expect(epoch != 0, f"{where}. At epoch 0 the rate is start_factor * peak_lr; the warmup then adds "
                          "(1 - start_factor) * peak_lr / warmup_epochs every epoch.")
        if epoch < warmup_epochs:
            expect(False, f"{where}. During the warmup (epoch < warmup_epochs) the rate grows linearly: "
                          "peak_lr * (start_factor + (1 - start_factor) * epoch / warmup_epochs), reaching peak_lr "
                          "at epoch warmup_epochs.")
        expect(epoch != warmup_epochs, f"{where}. The cosine part starts at the peak: at epoch warmup_epochs the "
                                       "rate is peak_lr (cos 0 = 1).")
        expect(False, f"{where}. After the warmup the rate is peak_lr / 2 * (1 + cos(pi * (epoch - warmup_epochs) / "
                      "(total_epochs - warmup_epochs))): the cosine runs over the epochs left after the warmup.")
    return passed("your schedule matches SequentialLR(LinearLR, CosineAnnealingLR) at every epoch, for two settings.")
