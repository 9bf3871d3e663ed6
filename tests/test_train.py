"""Tests of utils.train: fit, evaluate, predict, History and checkpoints."""

import json
import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from utils.env import seed_everything
from utils.train import (
    History,
    accuracy,
    evaluate,
    fit,
    load_checkpoint,
    predict,
    save_checkpoint,
)


def separable_data(n=256, seed=0, flip=False):
    """Two classes split by the line x1 + x2 = 0, with a margin of 0.3 around it."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n * 2, 2, generator=g)
    X = X[(X.sum(1)).abs() > 0.3][:n]
    y = (X.sum(1) > 0).long()
    return TensorDataset(X, 1 - y if flip else y)


def loader(dataset, shuffle=False, batch_size=32):
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)


def make_run(seed=0, lr=0.5):
    seed_everything(seed)
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    return model, optimizer


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- fit ------------------------------------------------------------------------------------

def test_fit_learns_a_separable_problem():
    model, optimizer = make_run()
    train, val = separable_data(seed=0), separable_data(seed=1)
    history = fit(model, loader(train, shuffle=True), nn.CrossEntropyLoss(), optimizer,
                  epochs=8, val_loader=loader(val), device="cpu", progress=False)
    assert isinstance(history, History)
    for name in ("train_loss", "train_metric", "val_loss", "val_metric", "lr", "epoch_seconds"):
        assert len(getattr(history, name)) == 8, name
    assert history.epochs == 8
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_metric[-1] >= 0.99
    assert evaluate(model, loader(val))["accuracy"] >= 0.99
    assert history.metric_name == "accuracy"
    assert not history.stopped_early and not history.restored_best_weights
    assert history.best_epoch == 1 + min(range(8), key=history.val_loss.__getitem__)
    assert all(s >= 0 for s in history.epoch_seconds)


def test_fit_without_validation_or_metric_leaves_those_lists_empty():
    model, optimizer = make_run()
    history = fit(model, loader(separable_data()), nn.CrossEntropyLoss(), optimizer,
                  epochs=2, metric=None, device="cpu", progress=False)
    assert len(history.train_loss) == 2
    assert history.train_metric == [] and history.val_loss == [] and history.val_metric == []
    assert history.best_epoch in (1, 2)


def test_early_stopping_stops_and_restores_the_best_weights(tmp_path):
    # The validation labels are flipped, so the better the model fits the training
    # data, the worse its validation loss: the best epoch is the first one.
    train, val = loader(separable_data(seed=0), shuffle=True), loader(separable_data(seed=1, flip=True))
    model_one, opt_one = make_run(seed=3)
    fit(model_one, train, nn.CrossEntropyLoss(), opt_one, epochs=1, device="cpu", progress=False)
    after_epoch_one = {k: v.clone() for k, v in model_one.state_dict().items()}

    model, optimizer = make_run(seed=3)
    checkpoint = tmp_path / "best.pt"
    history = fit(model, train, nn.CrossEntropyLoss(), optimizer, epochs=10, val_loader=val,
                  device="cpu", early_stopping_patience=2, checkpoint_path=checkpoint, progress=False)
    assert history.stopped_early and history.restored_best_weights
    assert history.best_epoch == 1
    assert history.val_loss[1] > history.val_loss[0] and history.val_loss[2] > history.val_loss[0]
    assert len(history.train_loss) == len(history.val_loss) == 3  # 1 best + 2 patience
    assert same_state(model.state_dict(), after_epoch_one)

    fresh = nn.Linear(2, 2)
    extra = load_checkpoint(checkpoint, fresh)
    assert extra["epoch"] == 1 and math.isclose(extra["loss"], history.val_loss[0])
    assert same_state(fresh.state_dict(), after_epoch_one)


def test_reduce_lr_on_plateau_gets_the_validation_loss():
    model, optimizer = make_run()
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.1)
    history = fit(model, loader(separable_data(seed=0)), nn.CrossEntropyLoss(), optimizer, epochs=3,
                  val_loader=loader(separable_data(seed=1, flip=True)), scheduler=scheduler,
                  device="cpu", progress=False)
    # the training loss falls every epoch, the validation loss rises: only the latter cuts the lr
    assert history.lr == pytest.approx([0.5, 0.5, 0.05])


def test_epoch_scheduler_is_stepped_once_per_epoch():
    model, optimizer = make_run(lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    history = fit(model, loader(separable_data(), batch_size=16), nn.CrossEntropyLoss(), optimizer,
                  epochs=3, scheduler=scheduler, device="cpu", progress=False)
    assert history.lr == pytest.approx([0.1, 0.05, 0.025])


def test_fit_is_reproducible_with_the_same_seed():
    def run():
        model, optimizer = make_run(seed=7)
        history = fit(model, loader(separable_data(), shuffle=True), nn.CrossEntropyLoss(), optimizer,
                      epochs=3, val_loader=loader(separable_data(seed=1)), device="cpu", progress=False)
        return history, model.state_dict()

    (h1, s1), (h2, s2) = run(), run()
    d1, d2 = h1.as_dict(), h2.as_dict()
    d1.pop("epoch_seconds"), d2.pop("epoch_seconds")
    assert d1 == d2
    assert same_state(s1, s2)


def test_grad_clip_limits_each_step():
    model, optimizer = make_run(lr=1.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train = loader(separable_data(n=64), batch_size=16)  # 4 steps
    fit(model, train, nn.CrossEntropyLoss(), optimizer, epochs=1, grad_clip=1e-6, device="cpu", progress=False)
    moved = max((model.state_dict()[k] - before[k]).abs().max().item() for k in before)
    assert 0 < moved <= 4 * 1e-6 * 1.01


def test_fit_passes_several_inputs_to_the_model():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 2)

        def forward(self, x, scale):
            return self.linear(x) * scale.unsqueeze(1)

    X = torch.randn(32, 2)
    y = (X.sum(1) > 0).long()
    flat = DataLoader(TensorDataset(X, torch.ones(32), y), batch_size=8)  # (x, scale, y)
    nested = [((X[i:i + 8], torch.ones(8)), y[i:i + 8]) for i in range(0, 32, 8)]  # ((x, scale), y)
    for data in (flat, nested):
        torch.manual_seed(0)
        model = TwoInputs()
        history = fit(model, data, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                      epochs=1, device="cpu", progress=False)
        assert len(history.train_loss) == 1


def test_fit_shows_one_progress_bar_unless_silenced(capsys):
    model, optimizer = make_run()
    fit(model, loader(separable_data(n=32)), nn.CrossEntropyLoss(), optimizer, epochs=2, device="cpu")
    err = capsys.readouterr().err
    assert "fit" in err and "2/2" in err and "loss" in err
    fit(model, loader(separable_data(n=32)), nn.CrossEntropyLoss(), optimizer, epochs=2, device="cpu",
        progress=False)
    assert capsys.readouterr().err == ""


def test_fit_with_a_custom_metric_names_it():
    def error_rate(outputs, targets):
        return (outputs.argmax(1) != targets).float().mean()

    model, optimizer = make_run()
    history = fit(model, loader(separable_data()), nn.CrossEntropyLoss(), optimizer, epochs=2,
                  metric=error_rate, device="cpu", progress=False)
    assert history.metric_name == "error_rate"
    assert len(history.train_metric) == 2 and 0 <= history.train_metric[-1] <= 1
    assert "train_error_rate" in history.to_dataframe().columns


def test_fit_raises_on_a_diverging_loss():
    X = torch.randn(16, 2)
    X[3, 0] = float("nan")
    model, optimizer = make_run()
    with pytest.raises(FloatingPointError, match="nan"):
        fit(model, loader(TensorDataset(X, torch.zeros(16, dtype=torch.long))), nn.CrossEntropyLoss(),
            optimizer, epochs=1, device="cpu", progress=False)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"epochs": 0}, ValueError, "epochs"),
        ({"epochs": 2.0}, ValueError, "epochs"),
        ({"epochs": True}, ValueError, "epochs"),
        ({"epochs": 1, "early_stopping_patience": 0}, ValueError, "patience"),
        ({"epochs": 1, "early_stopping_patience": 2}, ValueError, "val_loader"),
        ({"epochs": 1, "grad_clip": -1.0}, ValueError, "grad_clip"),
        ({"epochs": 1, "metric": "f1"}, ValueError, "metric"),
        ({"epochs": 1, "val_loader": []}, ValueError, "val_loader is empty"),
    ],
)
def test_fit_validates_arguments(kwargs, error, message):
    model, optimizer = make_run()
    with pytest.raises(error, match=message):
        fit(model, loader(separable_data(n=16)), nn.CrossEntropyLoss(), optimizer, device="cpu",
            progress=False, **kwargs)


def test_fit_rejects_empty_loaders_and_bad_batches():
    model, optimizer = make_run()
    empty = DataLoader(TensorDataset(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)), batch_size=4)
    with pytest.raises(ValueError, match="train_loader is empty"):
        fit(model, empty, nn.CrossEntropyLoss(), optimizer, epochs=1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="empty"):
        fit(model, iter([]), nn.CrossEntropyLoss(), optimizer, epochs=1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="inputs..., targets"):
        fit(model, [torch.randn(4, 2)], nn.CrossEntropyLoss(), optimizer, epochs=1, device="cpu",
            progress=False)
    with pytest.raises(TypeError, match="optimizer"):
        fit(model, loader(separable_data(n=16)), nn.CrossEntropyLoss(), "sgd", epochs=1, progress=False)


# --- History --------------------------------------------------------------------------------

def test_history_as_dict_and_dataframe():
    model, optimizer = make_run()
    history = fit(model, loader(separable_data()), nn.CrossEntropyLoss(), optimizer, epochs=3,
                  val_loader=loader(separable_data(seed=1)), device="cpu", progress=False)
    record = json.loads(json.dumps(history.as_dict()))
    assert record["train_loss"] == history.train_loss and record["best_epoch"] == history.best_epoch
    frame = history.to_dataframe()
    assert list(frame.index) == [1, 2, 3] and frame.index.name == "epoch"
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "epoch_seconds"} == set(frame.columns)
    assert frame["val_loss"].tolist() == history.val_loss


# --- evaluate / predict / accuracy ----------------------------------------------------------

def test_accuracy_for_class_logits_and_binary_logits():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.0, 1.0]])
    assert accuracy(logits, torch.tensor([0, 1, 1, 1])) == pytest.approx(0.75)
    binary = torch.tensor([2.0, -1.0, 0.5, -3.0])
    assert accuracy(binary, torch.tensor([1.0, 0.0, 0.0, 0.0])) == pytest.approx(0.75)
    assert accuracy(binary.unsqueeze(1), torch.tensor([[1.0], [0.0], [1.0], [0.0]])) == 1.0
    with pytest.raises(ValueError, match="accuracy"):
        accuracy(torch.zeros(4, 3, 5), torch.zeros(4, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="integer class targets"):
        accuracy(logits, torch.zeros(4))


def test_evaluate_matches_a_hand_computation_and_keeps_the_mode():
    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    X, y = torch.randn(50, 2), torch.randint(0, 3, (50,))
    model.train()
    result = evaluate(model, DataLoader(TensorDataset(X, y), batch_size=16), nn.CrossEntropyLoss())
    assert model.training  # mode restored
    with torch.no_grad():
        logits = model(X)
    assert result["loss"] == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-5)
    assert result["accuracy"] == pytest.approx((logits.argmax(1) == y).float().mean().item())
    assert set(evaluate(model, [(X, y)], metric=None, loss_fn=nn.CrossEntropyLoss())) == {"loss"}
    assert set(evaluate(model, [(X, y)])) == {"accuracy"}
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate(model, [(X, y)], metric=None)


def test_predict_returns_all_outputs_and_targets_on_cpu():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5))
    X, y = torch.randn(50, 2), torch.randint(0, 3, (50,))
    logits, targets = predict(model, DataLoader(TensorDataset(X, y), batch_size=16))
    assert logits.shape == (50, 3) and targets.shape == (50,)
    assert logits.device.type == "cpu" and torch.equal(targets, y)
    model.eval()
    torch.testing.assert_close(logits, model(X).detach())  # dropout was off during predict
    probs, _ = predict(model, [(X, y)], probabilities=True)
    torch.testing.assert_close(probs.sum(1), torch.ones(50))
    with pytest.raises(ValueError, match="empty"):
        predict(model, [])


# --- checkpoints ----------------------------------------------------------------------------

def trained_model_and_adam():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    fit(model, loader(separable_data(n=64)), nn.CrossEntropyLoss(), optimizer, epochs=2, device="cpu",
        progress=False)
    return model, optimizer


def test_checkpoint_round_trip(tmp_path):
    model, optimizer = trained_model_and_adam()
    path = save_checkpoint(tmp_path / "deep" / "dir" / "model.pt", model, optimizer,
                           epoch=2, note="hi", scores=[0.5, 0.7], vocab={"itos": ["a"]})
    assert path.is_file()
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.pt"]  # no temp file left

    torch.manual_seed(1)
    fresh = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=0.5)
    extra = load_checkpoint(path, fresh, fresh_opt)
    assert extra == {"epoch": 2, "note": "hi", "scores": [0.5, 0.7], "vocab": {"itos": ["a"]}}
    assert same_state(fresh.state_dict(), model.state_dict())
    saved, loaded = optimizer.state_dict(), fresh_opt.state_dict()
    assert saved["param_groups"] == loaded["param_groups"]
    for key, state in saved["state"].items():
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(loaded["state"][key][name]))


def test_save_checkpoint_overwrites_atomically_and_writes_nothing_on_failure(tmp_path, monkeypatch):
    model, _ = trained_model_and_adam()
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, epoch=1)
    before = path.read_bytes()

    with pytest.raises(TypeError, match="plain Python"):
        save_checkpoint(path, model, value=object())

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, epoch=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
    with pytest.raises(TypeError, match="plain Python"):
        save_checkpoint(tmp_path / "other.pt", model, value=object())
    assert not (tmp_path / "other.pt").exists()


def test_load_checkpoint_errors(tmp_path):
    model, _ = trained_model_and_adam()
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt", model)
    path = save_checkpoint(tmp_path / "model.pt", model)
    with pytest.raises(RuntimeError, match="model.pt does not fit this model"):
        load_checkpoint(path, nn.Linear(2, 2))
    with pytest.raises(ValueError, match="no optimizer state"):
        load_checkpoint(path, model, torch.optim.SGD(model.parameters(), lr=0.1))
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "list.pt", model)
