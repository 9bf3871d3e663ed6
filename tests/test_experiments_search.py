"""The experiments' models and search trial: shapes, parameter counts, determinism, the
per-epoch callback (what Optuna's pruning uses), and clear errors on bad settings."""

import pytest
import torch

from projects.experiments.models import (
    ResidualCNN,
    SmallCNN,
    build_model,
    count_parameters,
    make_mlp,
)
from projects.experiments.search import (
    Splits,
    accuracy_on,
    check_config,
    make_optimizer,
    mnist_subsets,
    train_trial,
)

CONFIG = {"lr": 3e-3, "batch_size": 32, "optimizer": "adam", "width": 32, "depth": 1, "dropout": 0.0}


@pytest.fixture(scope="module")
def data():
    return mnist_subsets(train_size=300, val_size=200, seed=0)


def test_models_map_images_to_ten_logits():
    images = torch.rand(4, 1, 28, 28)
    for name in ("mlp", "cnn", "resnet"):
        assert build_model(name).eval()(images).shape == (4, 10)
    assert count_parameters(make_mlp(128, 1)) == 784 * 128 + 128 + 128 * 10 + 10
    assert count_parameters(make_mlp(64, 0)) == 784 * 10 + 10  # no hidden layer: logistic regression
    assert count_parameters(make_mlp(64, 3, dropout=0.5)) == (784 * 64 + 64) + 2 * (64 * 64 + 64) + 64 * 10 + 10
    assert sum(isinstance(m, torch.nn.Dropout) for m in make_mlp(64, 3, dropout=0.5)) == 3
    assert isinstance(build_model("cnn"), SmallCNN) and isinstance(build_model("resnet"), ResidualCNN)


def test_models_refuse_bad_settings():
    with pytest.raises(ValueError, match="width must be a positive int"):
        make_mlp(0)
    with pytest.raises(ValueError, match="depth must be an int >= 0"):
        make_mlp(16, -1)
    with pytest.raises(ValueError, match="dropout must be a probability"):
        make_mlp(16, 1, dropout=1.0)
    with pytest.raises(ValueError, match="dropout must be a probability"):
        SmallCNN(dropout=-0.1)
    with pytest.raises(ValueError, match="unknown architecture 'vit'"):
        build_model("vit")


def test_subsets_are_seeded_and_sized(data):
    assert data.train_images.shape == (300, 1, 28, 28) and data.val_labels.shape == (200,)
    again = mnist_subsets(train_size=300, val_size=200, seed=0)
    assert torch.equal(again.train_labels, data.train_labels)
    other = mnist_subsets(train_size=300, val_size=200, seed=1)
    assert not torch.equal(other.train_labels, data.train_labels)
    with pytest.raises(ValueError, match="train_size must be an int from 1 to 50,000"):
        mnist_subsets(train_size=0)
    with pytest.raises(ValueError, match="val_size"):
        mnist_subsets(val_size=20_000)


def test_a_trial_learns_and_is_deterministic(data):
    first = train_trial(CONFIG, data, epochs=2, seed=0)
    again = train_trial(CONFIG, data, epochs=2, seed=0)
    other_seed = train_trial(CONFIG, data, epochs=2, seed=1)
    assert len(first.val_curve) == 2 and len(first.train_loss) == 2
    assert first.val_curve == again.val_curve and first.train_loss == again.train_loss
    assert other_seed.train_loss != first.train_loss
    assert first.val_accuracy > 0.5  # far above chance (0.1) after 2 epochs on 300 images
    assert first.train_loss[1] < first.train_loss[0]
    assert first.val_accuracy == pytest.approx(accuracy_on(first.model, data.val_images, data.val_labels))
    assert first.config["architecture"] == "mlp" and first.seconds > 0


def test_the_callback_sees_every_epoch_and_can_stop_the_trial(data):
    seen = []
    train_trial(CONFIG, data, epochs=3, on_epoch_end=lambda epoch, acc: seen.append((epoch, acc)))
    assert [epoch for epoch, _ in seen] == [1, 2, 3] and all(0 <= acc <= 1 for _, acc in seen)

    class Pruned(Exception):
        pass

    def prune_after_first(epoch, accuracy):
        if epoch == 1:
            raise Pruned

    with pytest.raises(Pruned):
        train_trial(CONFIG, data, epochs=3, on_epoch_end=prune_after_first)


def test_a_diverging_trial_stops_without_crashing(data):
    result = train_trial({**CONFIG, "lr": 1e30, "optimizer": "sgd"}, data, epochs=3)
    assert len(result.val_curve) < 3 and result.val_accuracy < 0.5


def test_cnns_train_through_the_same_function(data):
    for name in ("cnn", "resnet"):
        result = train_trial({**CONFIG, "architecture": name, "channels": 8}, data, epochs=1)
        assert 0 <= result.val_accuracy <= 1


def test_bad_configurations_say_what_is_wrong(data):
    with pytest.raises(ValueError, match=r"lacks \['lr'\]"):
        check_config({"batch_size": 32, "optimizer": "adam"})
    with pytest.raises(ValueError, match="unknown settings \\['momentum'\\]"):
        check_config({**CONFIG, "momentum": 0.9})
    with pytest.raises(ValueError, match="lr must be a positive number"):
        check_config({**CONFIG, "lr": -1})
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        check_config({**CONFIG, "batch_size": 0})
    with pytest.raises(ValueError, match="optimizer must be one of"):
        check_config({**CONFIG, "optimizer": "lbfgs"})
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer("rmsprop", [torch.nn.Parameter(torch.zeros(1))], 0.1)
    with pytest.raises(TypeError, match="a dict of settings"):
        check_config([("lr", 1)])
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        train_trial(CONFIG, data, epochs=0)
    with pytest.raises(TypeError, match="Splits"):
        train_trial(CONFIG, (data.train_images, data.train_labels))
    assert isinstance(data, Splits)
