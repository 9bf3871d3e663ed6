"""The checks of the image-classification-practice exercises pass right answers (including
alternative right answers) and reject typical wrong ones with a message that says what is wrong."""

import math

import pytest
import torch
from torchvision.transforms import v2

from utils.checks import ExerciseError
from utils.exercise_checks import classification_practice as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args):
    raise NotImplementedError("Your turn")


# --- exercise 1: a stratified subset -----------------------------------------------------------------

def stratified_indices(labels, per_class, generator):
    chosen = []
    for label in labels.unique():
        members = (labels == label).nonzero().squeeze(1)
        if len(members) < per_class:
            raise ValueError(f"class {label.item()} has only {len(members)} examples")
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(chosen)


def stratified_indices_as_list(labels, per_class, generator):  # also right: a list, drawn with multinomial
    chosen = []
    for label in sorted(set(labels.tolist())):
        members = [i for i, value in enumerate(labels.tolist()) if value == label]
        if len(members) < per_class:
            raise ValueError("too few examples")
        picks = torch.multinomial(torch.ones(len(members)), per_class, replacement=False, generator=generator)
        chosen += [members[i] for i in picks.tolist()]
    return chosen


def first_of_each_class(labels, per_class, generator):
    members = [(labels == label).nonzero().squeeze(1) for label in labels.unique()]
    if min(len(m) for m in members) < per_class:
        raise ValueError("too few")
    return torch.cat([m[:per_class] for m in members])


def with_replacement(labels, per_class, generator):
    chosen = []
    for label in labels.unique():
        members = (labels == label).nonzero().squeeze(1)
        if len(members) < per_class:
            raise ValueError("too few")
        chosen.append(members[torch.randint(len(members), (per_class,), generator=generator)])
    return torch.cat(chosen)


def global_generator(labels, per_class, generator):
    chosen = []
    for label in labels.unique():
        members = (labels == label).nonzero().squeeze(1)
        if len(members) < per_class:
            raise ValueError("too few")
        chosen.append(members[torch.randperm(len(members))[:per_class]])
    return torch.cat(chosen)


def silently_short(labels, per_class, generator):
    return torch.cat([(labels == label).nonzero().squeeze(1)[torch.randperm(int((labels == label).sum()),
                                                                           generator=generator)[:per_class]]
                      for label in labels.unique()])


def random_overall(labels, per_class, generator):
    num_classes = len(labels.unique())
    return torch.randperm(len(labels), generator=generator)[:per_class * num_classes]


def as_mask(labels, per_class, generator):
    mask = torch.zeros(len(labels), dtype=torch.bool)
    mask[stratified_indices(labels, per_class, generator)] = True
    return mask


def test_check_stratified_indices_passes_right_answers(capsys):
    assert checks.check_stratified_indices(stratified_indices) is True
    assert checks.check_stratified_indices(stratified_indices_as_list) is True
    assert "Correct" in capsys.readouterr().out


def test_check_stratified_indices_passes_on_many_random_inputs():
    for _ in range(30):
        assert checks.check_stratified_indices(stratified_indices) is True


@pytest.mark.parametrize("answer, message", [
    (first_of_each_class, "at random"),
    (with_replacement, "twice"),
    (global_generator, "generator"),
    (silently_short, "ValueError"),
    (random_overall, "exactly"),
    (as_mask, "mask"),
    (not_implemented, "NotImplementedError"),
])
def test_check_stratified_indices_rejects_wrong_answers(answer, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_stratified_indices(answer)


# --- exercise 2: an augmentation pipeline ------------------------------------------------------------

def pipeline(*, to_float=True, scale_values=True, float_first=True, degrees=10, translate=0.1, scale=(0.9, 1.1),
             bilinear=True, fill=0, extra=None):
    affine = v2.RandomAffine(degrees=degrees, translate=None if translate is None else (translate, translate),
                             scale=scale, fill=fill,
                             interpolation=v2.InterpolationMode.BILINEAR if bilinear else v2.InterpolationMode.NEAREST)
    steps = [affine]
    if to_float:
        convert = v2.ToDtype(torch.float32, scale=scale_values)
        steps = [convert, affine] if float_first else [affine, convert]
    return v2.Compose(steps + ([extra] if extra is not None else []))


def test_check_augmentation_passes_right_answers(capsys):
    assert checks.check_augmentation(pipeline()) is True
    assert checks.check_augmentation(pipeline(float_first=False)) is True  # affine on the bytes, then convert
    with_image = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
                             v2.RandomAffine(degrees=(-10, 10), translate=(0.1, 0.1), scale=(0.9, 1.1),
                                             interpolation=v2.InterpolationMode.BILINEAR)])
    assert checks.check_augmentation(with_image) is True  # a tv_tensors.Image is a tensor too

    def by_hand(image):  # also right: a plain function
        return pipeline()(image)

    assert checks.check_augmentation(by_hand) is True
    assert "Correct" in capsys.readouterr().out


def test_check_augmentation_passes_on_many_random_inputs():
    for _ in range(25):
        assert checks.check_augmentation(pipeline()) is True


@pytest.mark.parametrize("answer, message", [
    (pipeline(to_float=False), "still uint8"),
    (pipeline(scale_values=False), "0-255"),
    (pipeline(translate=0.3), "fraction of the size"),
    (pipeline(translate=None), "never moved"),
    (pipeline(degrees=40), "6 becomes a 9"),
    (pipeline(degrees=0), "never turned"),
    (pipeline(scale=(0.6, 1.5)), "scaled by"),
    (pipeline(scale=None), "size never changed"),
    (pipeline(bilinear=False), "BILINEAR"),
    (pipeline(fill=1.0), "fill=0"),
    (pipeline(extra=v2.Normalize(mean=[0.13], std=[0.31])), r"\[0, 1\]"),
    (v2.ToDtype(torch.float32, scale=True), "same image 40 times"),
    (lambda image: pipeline()(image)[0], "channel dimension"),
    (lambda image: pipeline()(image).double(), "float32"),
    (lambda image: pipeline()(image).tolist(), "tensor"),
    (not_implemented, "NotImplementedError"),
])
def test_check_augmentation_rejects_wrong_answers(answer, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_augmentation(answer)


def test_check_augmentation_rejects_an_in_place_change():
    def in_place(image):
        image.zero_()
        return pipeline()(image)

    with pytest.raises(ExerciseError, match="in place"):
        checks.check_augmentation(in_place)


def test_check_augmentation_rejects_a_model_instead_of_a_pipeline():
    with pytest.raises(ExerciseError, match="pipeline itself"):
        checks.check_augmentation(pipeline()(torch.zeros(1, 28, 28, dtype=torch.uint8)))


# --- exercise 3: the most confident mistakes -----------------------------------------------------------

def most_confident_mistakes(logits, labels, k):
    confidence, predictions = logits.softmax(dim=1).max(dim=1)
    wrong = (predictions != labels).nonzero().squeeze(1)
    return wrong[confidence[wrong].argsort(descending=True)[:k]]


def most_confident_mistakes_as_list(logits, labels, k):  # also right: plain Python, with a sort
    probabilities = torch.softmax(logits, dim=1)
    rows = [(probabilities[i].max().item(), i) for i in range(len(labels))
            if probabilities[i].argmax().item() != labels[i].item()]
    return [i for _, i in sorted(rows, reverse=True)[:k]]


def most_confident_mistakes_masked(logits, labels, k):  # also right: confidence 0 for the correct ones
    confidence, predictions = torch.softmax(logits, 1).max(1)
    wrong = predictions != labels
    order = torch.where(wrong, confidence, torch.full_like(confidence, -1.0)).argsort(descending=True)
    return order[:min(k, int(wrong.sum()))]


def including_correct(logits, labels, k):
    return logits.softmax(dim=1).max(dim=1).values.argsort(descending=True)[:k]


def ascending(logits, labels, k):
    confidence, predictions = logits.softmax(dim=1).max(dim=1)
    wrong = (predictions != labels).nonzero().squeeze(1)
    return wrong[confidence[wrong].argsort()][-k:]


def least_confident(logits, labels, k):
    confidence, predictions = logits.softmax(dim=1).max(dim=1)
    wrong = (predictions != labels).nonzero().squeeze(1)
    return wrong[confidence[wrong].argsort()[:k]]


def by_largest_logit(logits, labels, k):
    top_logit, predictions = logits.max(dim=1)
    wrong = (predictions != labels).nonzero().squeeze(1)
    return wrong[top_logit[wrong].argsort(descending=True)[:k]]


def with_topk(logits, labels, k):
    confidence, predictions = logits.softmax(dim=1).max(dim=1)
    wrong = (predictions != labels).nonzero().squeeze(1)
    return wrong[confidence[wrong].topk(k).indices]


def as_mask_of_mistakes(logits, labels, k):
    return logits.argmax(dim=1) != labels


def test_check_most_confident_mistakes_passes_right_answers(capsys):
    assert checks.check_most_confident_mistakes(most_confident_mistakes) is True
    assert checks.check_most_confident_mistakes(most_confident_mistakes_as_list) is True
    assert checks.check_most_confident_mistakes(most_confident_mistakes_masked) is True
    assert "Correct" in capsys.readouterr().out


def test_check_most_confident_mistakes_passes_on_many_random_inputs():
    for _ in range(30):
        assert checks.check_most_confident_mistakes(most_confident_mistakes) is True


@pytest.mark.parametrize("answer, message", [
    (including_correct, "correct predictions"),
    (ascending, "wrong order"),
    (least_confident, "least"),
    (by_largest_logit, "largest logit"),
    (with_topk, "return them all"),
    (as_mask_of_mistakes, "mask"),
    (not_implemented, "NotImplementedError"),
])
def test_check_most_confident_mistakes_rejects_wrong_answers(answer, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_most_confident_mistakes(answer)


# --- exercise 4: warmup + cosine --------------------------------------------------------------------

def warmup_cosine_lr(epoch, peak_lr, warmup_epochs, total_epochs, start_factor):
    if epoch < warmup_epochs:
        return peak_lr * (start_factor + (1 - start_factor) * epoch / warmup_epochs)
    progress = (epoch - warmup_epochs) / (total_epochs - warmup_epochs)
    return peak_lr / 2 * (1 + math.cos(math.pi * progress))


def warmup_cosine_lr_tensor(epoch, peak_lr, warmup_epochs, total_epochs, start_factor):  # also right: a 0-d tensor
    epoch = torch.tensor(float(epoch), dtype=torch.float64)
    warm = peak_lr * (start_factor + (1 - start_factor) * epoch / warmup_epochs)
    cosine = peak_lr / 2 * (1 + torch.cos(torch.pi * (epoch - warmup_epochs) / (total_epochs - warmup_epochs)))
    return torch.where(epoch < warmup_epochs, warm, cosine)


def warmup_off_by_one(epoch, peak_lr, warmup_epochs, total_epochs, start_factor):
    if epoch < warmup_epochs:
        return peak_lr * (start_factor + (1 - start_factor) * (epoch + 1) / warmup_epochs)
    return warmup_cosine_lr(epoch, peak_lr, warmup_epochs, total_epochs, start_factor)


def cosine_over_all_epochs(epoch, peak_lr, warmup_epochs, total_epochs, start_factor):
    if epoch < warmup_epochs:
        return warmup_cosine_lr(epoch, peak_lr, warmup_epochs, total_epochs, start_factor)
    return peak_lr / 2 * (1 + math.cos(math.pi * epoch / total_epochs))


def cosine_from_the_wrong_epoch(epoch, peak_lr, warmup_epochs, total_epochs, start_factor):
    if epoch < warmup_epochs:
        return warmup_cosine_lr(epoch, peak_lr, warmup_epochs, total_epochs, start_factor)
    return peak_lr / 2 * (1 + math.cos(math.pi * (epoch - warmup_epochs + 1) / (total_epochs - warmup_epochs)))


def no_start_factor(epoch, peak_lr, warmup_epochs, total_epochs, start_factor):
    if epoch < warmup_epochs:
        return peak_lr * epoch / warmup_epochs
    return warmup_cosine_lr(epoch, peak_lr, warmup_epochs, total_epochs, start_factor)


def hard_coded(epoch, peak_lr, warmup_epochs, total_epochs, start_factor):
    return warmup_cosine_lr(epoch, 3e-3, 2, 20, 0.1)


def test_check_warmup_cosine_lr_passes_right_answers(capsys):
    assert checks.check_warmup_cosine_lr(warmup_cosine_lr) is True
    assert checks.check_warmup_cosine_lr(warmup_cosine_lr_tensor) is True
    assert "Correct" in capsys.readouterr().out


def test_check_warmup_cosine_lr_passes_on_many_random_inputs():
    for _ in range(30):
        assert checks.check_warmup_cosine_lr(warmup_cosine_lr) is True


@pytest.mark.parametrize("answer, message", [
    (warmup_off_by_one, "At epoch 0"),
    (cosine_over_all_epochs, "starts at the peak"),
    (cosine_from_the_wrong_epoch, "starts at the peak"),
    (no_start_factor, "start_factor"),
    (hard_coded, "should have learning rate"),
    (lambda *args: [warmup_cosine_lr(*args)], "should be a number"),
    (not_implemented, "NotImplementedError"),
])
def test_check_warmup_cosine_lr_rejects_wrong_answers(answer, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_warmup_cosine_lr(answer)
