"""The checks of the transfer-learning exercises pass right answers (including alternative right
answers) and reject typical wrong ones with a message that says what is wrong."""

import pytest
import torch
from torch import nn

from utils.checks import ExerciseError
from utils.exercise_checks import transfer as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args):
    raise NotImplementedError("Your turn")


# --- exercise 1: top-k labels -------------------------------------------------------------------

def top_k_labels(logits, class_names, k=5):
    probabilities, classes = logits.softmax(dim=1).topk(k, dim=1)
    return [[(class_names[c], p) for p, c in zip(row_p.tolist(), row_c.tolist())]
            for row_p, row_c in zip(probabilities, classes)]


def top_k_labels_by_sorting(logits, class_names, k=5):  # another right answer: sort, tensors as probabilities
    probabilities = torch.softmax(logits, 1)
    order = probabilities.argsort(dim=1, descending=True)[:, :k]
    return [[(class_names[int(c)], probabilities[row, c]) for c in order[row]] for row in range(len(logits))]


def test_check_top_k_labels_passes_right_answers(capsys):
    assert checks.check_top_k_labels(top_k_labels) is True
    assert checks.check_top_k_labels(top_k_labels_by_sorting) is True
    assert "Correct" in capsys.readouterr().out


def _pairs(values, classes, names):
    return [[(names[c], p) for p, c in zip(row_p.tolist(), row_c.tolist())] for row_p, row_c in zip(values, classes)]


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda z, names, k: _pairs(*z.topk(k, dim=1), names), "logits, not probabilities"),
        (lambda z, names, k: _pairs(*z.softmax(dim=0).topk(k, dim=1), names), "wrong dimension"),
        (lambda z, names, k: _pairs(*z.softmax(dim=1).topk(k, dim=1, largest=False), names), "least"),
        (lambda z, names, k: [row[::-1] for row in top_k_labels(z, names, k)], "wrong order"),
        (lambda z, names, k: [[(name, 100 * p) for name, p in row] for row in top_k_labels(z, names, k)],
         "between 0 and 1"),
        (lambda z, names, k: [[(names.index(n), p) for n, p in row] for row in top_k_labels(z, names, k)],
         "class index"),
        (lambda z, names, k: top_k_labels(z, names, 5 if k != 5 else 4), "pairs"),
        (lambda z, names, k: top_k_labels(z, names, k)[0], "one per"),
        (lambda z, names, k: [[("cat", 0.9)] * k] * len(z), "not one of class_names"),  # a hard-coded answer
        (lambda z, names, k: z.softmax(dim=1).topk(k, dim=1), "one per|should return a list|pairs"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_top_k_labels_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_top_k_labels(wrong)


# --- exercise 2: replace the classifier ---------------------------------------------------------

def replace_classifier(model, num_classes):
    model.classifier[-1] = nn.Linear(model.classifier[-1].in_features, num_classes)
    return model


def test_check_replace_classifier_passes_right_answers():
    assert checks.check_replace_classifier(replace_classifier) is True

    def by_index(model, num_classes):  # classifier[1] is the same layer
        old = model.classifier[1]
        model.classifier[1] = nn.Linear(old.in_features, num_classes, bias=True)
        return model

    assert checks.check_replace_classifier(by_index) is True


def _replace_whole_classifier(model, num_classes):
    model.classifier = nn.Linear(model.classifier[-1].in_features, num_classes)
    return model


def _resize_in_place(model, num_classes):
    head = model.classifier[-1]
    head.out_features = num_classes
    return model


def _no_return(model, num_classes):
    replace_classifier(model, num_classes)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_no_return, "returned None"),
        (_replace_whole_classifier, "no longer an nn.Sequential"),
        (lambda m, n: replace_classifier(m, n + 1), "one output per class"),
        (lambda m, n: (setattr(m.classifier, "1", nn.Linear(1280, n)), m)[1], "backbone's .* features|raised"),
        (lambda m, n: (m.classifier.append(nn.Linear(m.classifier[-1].out_features, n)), m)[1], "keep the classifier's dropout"),
        (_resize_in_place, "same object"),
        (lambda m, n: (setattr(m.classifier, "1", nn.Linear(m.classifier[1].in_features, n, bias=False)), m)[1], "bias"),
        (lambda m, n: (m.features[0].weight.data.zero_(), replace_classifier(m, n))[1], "backbone .* changed"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_replace_classifier_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_replace_classifier(wrong)


# --- exercise 3: freeze all but the head ---------------------------------------------------------

def freeze_all_but_head(model):
    model.requires_grad_(False)
    model.classifier.requires_grad_(True)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_check_freeze_all_but_head_passes_right_answers():
    assert checks.check_freeze_all_but_head(freeze_all_but_head) is True

    def by_name(model):  # another right answer: by parameter name, returning a tensor
        for name, parameter in model.named_parameters():
            parameter.requires_grad = name.startswith("classifier")
        return torch.tensor(sum(p.numel() for p in model.classifier.parameters()))

    assert checks.check_freeze_all_but_head(by_name) is True


def _freeze_backbone_only(model):
    model.features.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _unfreeze_head_only(model):
    model.classifier.requires_grad_(True)
    return sum(p.numel() for p in model.classifier.parameters())


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda m: (m.requires_grad_(False), 0)[1], "every parameter is frozen"),
        (_freeze_backbone_only, "every parameter is frozen"),  # fails on a model that was frozen before
        (_unfreeze_head_only, "still trainable"),
        (lambda m: (freeze_all_but_head(m), sum(p.numel() for p in m.parameters()))[1], "all parameters"),
        (lambda m: (freeze_all_but_head(m), len(list(m.classifier.parameters())))[1], "numel"),
        (lambda m: (freeze_all_but_head(m), m.classifier[1].weight.numel())[1], "weight and bias"),
        (lambda m: (freeze_all_but_head(m), m.classifier[1].bias.requires_grad_(False), 0)[2], "classifier.1.bias|1.bias"),
        (lambda m: freeze_all_but_head(m) and None, "returned None"),
        (lambda m: (freeze_all_but_head(m), nn.init.zeros_(m.classifier[1].bias), 1)[2], "not change any weight"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_freeze_all_but_head_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_freeze_all_but_head(wrong)


# --- exercise 4: precompute features ----------------------------------------------------------

def extract_features(backbone, images, batch_size):
    backbone.eval()
    with torch.no_grad():
        return torch.cat([backbone(images[i:i + batch_size]).mean(dim=(2, 3)) for i in range(0, len(images), batch_size)])


def test_check_extract_features_passes_right_answers():
    assert checks.check_extract_features(extract_features) is True

    @torch.no_grad()
    def with_a_loader(backbone, images, batch_size):  # another right answer: a DataLoader, flatten after pooling
        backbone.eval()
        loader = torch.utils.data.DataLoader(images, batch_size=batch_size)
        return torch.cat([nn.functional.adaptive_avg_pool2d(backbone(batch), 1).flatten(1) for batch in loader])

    assert checks.check_extract_features(with_a_loader) is True


def _train_mode(backbone, images, batch_size):
    with torch.no_grad():
        return torch.cat([backbone(images[i:i + batch_size]).mean(dim=(2, 3)) for i in range(0, len(images), batch_size)])


def _all_at_once(backbone, images, batch_size):
    backbone.eval()
    with torch.no_grad():
        return backbone(images).mean(dim=(2, 3))


def _with_gradients(backbone, images, batch_size):
    backbone.eval()
    return torch.cat([backbone(images[i:i + batch_size]).mean(dim=(2, 3)) for i in range(0, len(images), batch_size)])


def _drops_the_last_batch(backbone, images, batch_size):
    backbone.eval()
    with torch.no_grad():
        full = len(images) // batch_size * batch_size
        return torch.cat([backbone(images[i:i + batch_size]).mean(dim=(2, 3)) for i in range(0, full, batch_size)])


def _maps(backbone, images, batch_size):
    backbone.eval()
    with torch.no_grad():
        return torch.cat([backbone(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


def _max_pooled(backbone, images, batch_size):
    backbone.eval()
    with torch.no_grad():
        return torch.cat([backbone(images[i:i + batch_size]).amax(dim=(2, 3)) for i in range(0, len(images), batch_size)])


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_train_mode, "running statistics changed"),
        (_all_at_once, "at once"),
        (_with_gradients, "require gradients"),
        (_drops_the_last_batch, r"should be \[|last, smaller batch"),
        (_maps, "average them"),
        (_max_pooled, "differ"),
        (lambda backbone, images, batch_size: torch.zeros(len(images), 3), "should be"),  # a hard-coded answer
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_extract_features_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_extract_features(wrong)


# --- exercise 5: parameter groups ------------------------------------------------------------

def make_optimizer(model, backbone_lr, head_lr):
    return torch.optim.Adam([
        {"params": model.features.parameters(), "lr": backbone_lr},
        {"params": model.classifier.parameters(), "lr": head_lr},
    ])


def test_check_param_groups_passes_right_answers(capsys):
    assert checks.check_param_groups(make_optimizer) is True

    def head_first_with_default(model, backbone_lr, head_lr):  # another right answer: default lr, other order
        return torch.optim.Adam([{"params": list(model.classifier.parameters())},
                                 {"params": list(model.features.parameters()), "lr": backbone_lr}], lr=head_lr)

    assert checks.check_param_groups(head_first_with_default) is True
    assert "times faster" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda m, b, h: torch.optim.Adam(m.parameters(), lr=h), "two parameter groups"),
        (lambda m, b, h: make_optimizer(m, h, b), "swapped"),
        (lambda m, b, h: torch.optim.SGD([{"params": m.features.parameters(), "lr": b},
                                          {"params": m.classifier.parameters(), "lr": h}]), "Adam"),
        (lambda m, b, h: torch.optim.Adam([{"params": m.features.parameters(), "lr": b},
                                           {"params": m.features[0].parameters(), "lr": h}]), "raised|head's parameters"),
        (lambda m, b, h: torch.optim.Adam([{"params": m.features[:3].parameters(), "lr": b},
                                           {"params": m.classifier.parameters(), "lr": h}]), "in no group"),
        (lambda m, b, h: torch.optim.Adam([{"params": list(m.features.parameters())[:-1], "lr": b},
                                           {"params": list(m.classifier.parameters()) + list(m.features.parameters())[-1:],
                                            "lr": h}]), "mixes"),
        (lambda m, b, h: make_optimizer(m, 1e-4, h), "backbone_lr"),  # a hard-coded learning rate
        (lambda m, b, h: make_optimizer(m, b, 1e-2), "head_lr"),
        (lambda m, b, h: [{"params": m.features.parameters(), "lr": b}], "return an optimizer"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_param_groups_explains_wrong_answers(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_param_groups(wrong)


def test_tiny_classifier_is_shaped_like_mobilenet():
    model = checks.TinyClassifier(channels=9, num_classes=4)
    assert isinstance(model.classifier[0], nn.Dropout) and model.classifier[1].in_features == 9
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 4)
