"""The checks of the forecasting exercises pass right answers (including alternative right answers)
and reject typical wrong ones with a message that says what is wrong."""

import math

import numpy as np
import pytest
import torch

from utils.checks import ExerciseError
from utils.exercise_checks import forecasting as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


def not_implemented(*args, **kwargs):
    raise NotImplementedError("Your turn")


# --- right answers, written the way a learner would ----------------------------------------------

def split_and_scale(series, val_size, test_size):
    train_end = len(series) - val_size - test_size
    train, val, test = series[:train_end], series[train_end:-test_size], series[-test_size:]
    mean, std = train.mean(), train.std()
    return (train - mean) / std, (val - mean) / std, (test - mean) / std, mean, std


def seasonal_naive(history, horizon, season):
    last_season = history[-season:]
    return last_season.repeat(horizon // season + 1)[:horizon]


def trend_and_waves_forecast(t_history, y_history, t_future, degree, harmonics):
    def design(t):
        columns = [t ** power for power in range(degree + 1)]
        for k in range(1, harmonics + 1):
            columns += [torch.sin(2 * math.pi * k * t), torch.cos(2 * math.pi * k * t)]
        return torch.stack(columns, dim=1)

    coefficients = torch.linalg.lstsq(design(t_history), y_history.unsqueeze(1)).solution
    return (design(t_future) @ coefficients).squeeze(1)


def difference_windows(series, window, horizon):
    inputs, targets = [], []
    for t in range(window, len(series) - horizon + 1):
        anchor = series[t - 1]
        inputs.append(series[t - window:t] - anchor)
        targets.append(series[t:t + horizon] - anchor)
    return torch.stack(inputs), torch.stack(targets)


def recursive_forecast(step, history, horizon, window):
    recent = history[-window:]
    forecasts = []
    for _ in range(horizon):
        value = torch.as_tensor(step(recent), dtype=recent.dtype)
        forecasts.append(value)
        recent = torch.cat([recent[1:], value.reshape(1)])
    return torch.stack(forecasts)


# --- exercise 1 ---------------------------------------------------------------------------------

def test_check_split_and_scale_passes_right_answers(capsys):
    assert checks.check_split_and_scale(split_and_scale) is True

    def with_numpy(series, val_size, test_size):  # NumPy, the population std and plain floats: also right
        values = series.numpy()
        train_end, val_end = len(values) - val_size - test_size, len(values) - test_size
        mean, std = float(values[:train_end].mean()), float(values[:train_end].std())
        scaled = (values - mean) / std
        return scaled[:train_end], scaled[train_end:val_end], scaled[val_end:], mean, std

    assert checks.check_split_and_scale(with_numpy) is True
    assert "Correct" in capsys.readouterr().out


def split_with(mistake):
    def split(series, val_size, test_size):
        train_end, val_end = len(series) - val_size - test_size, len(series) - test_size
        parts = [series[:train_end], series[train_end:val_end], series[val_end:]]
        if mistake == "swapped":
            parts = [series[:train_end], series[-val_size:], series[train_end:train_end + test_size]]
        fitted = series if mistake == "whole series" else parts[0]
        mean, std = fitted.mean(), fitted.std()
        if mistake == "unscaled":
            return (*parts, mean, std)
        if mistake == "test first":
            parts = [series[test_size + val_size:], series[test_size:test_size + val_size], series[:test_size]]
        if mistake == "variance":
            std = fitted.var()
        return (*[(part - mean) / std for part in parts], mean, std)
    return split


@pytest.mark.parametrize(
    "wrong_split, message",
    [
        (split_with("whole series"), "leaks the future"),
        (split_with("unscaled"), "not scaled"),
        (split_with("swapped"), "must follow time"),
        (split_with("test first"), "must follow time"),
        (split_with("variance"), "standard deviation"),
        (lambda series, v, t: split_and_scale(series, v, t)[:3], "five things"),
        (lambda series, v, t: split_and_scale(series, t, v), "should have"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_split_and_scale_explains_wrong_answers(wrong_split, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_split_and_scale(wrong_split)


# --- exercise 2 ---------------------------------------------------------------------------------

def test_check_seasonal_naive_passes_right_answers():
    assert checks.check_seasonal_naive(seasonal_naive) is True

    def by_index(history, horizon, season):  # value k is history[len - season + k % season]: also right
        return np.array([float(history[len(history) - season + k % season]) for k in range(horizon)])

    assert checks.check_seasonal_naive(by_index) is True


@pytest.mark.parametrize(
    "wrong_naive, message",
    [
        (lambda history, horizon, season: history[-1].repeat(horizon), "last value"),
        (lambda history, horizon, season: seasonal_naive(history[:season], horizon, season), "first season"),
        (lambda history, horizon, season: seasonal_naive(history[:-1], horizon, season), "shifted by one"),
        (lambda history, horizon, season: history[-season:].repeat(horizon // season), "1-D tensor of"),
        (lambda history, horizon, season: seasonal_naive(history, horizon, season).flip(0), "should be history"),
        (lambda history, horizon, season: torch.zeros(30), "the forecast should be"),  # hard-coded, wrong length later
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_seasonal_naive_explains_wrong_answers(wrong_naive, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_seasonal_naive(wrong_naive)


# --- exercise 3 ---------------------------------------------------------------------------------

def test_check_trend_and_waves_passes_right_answers():
    assert checks.check_trend_and_waves(trend_and_waves_forecast) is True

    def with_numpy_normal_equations(t_history, y_history, t_future, degree, harmonics):  # another solver: also right
        def design(t):
            t = t.numpy()
            columns = [t ** power for power in range(degree + 1)]
            for k in range(1, harmonics + 1):
                columns += [np.cos(2 * np.pi * k * t), np.sin(2 * np.pi * k * t)]  # another column order
            return np.stack(columns, axis=1)

        X = design(t_history)
        coefficients = np.linalg.solve(X.T @ X, X.T @ y_history.numpy())
        return torch.from_numpy(design(t_future) @ coefficients)

    assert checks.check_trend_and_waves(with_numpy_normal_equations) is True


def trend_with(mistake):
    def forecast(t_history, y_history, t_future, degree, harmonics):
        def design(t):
            first = 1 if mistake == "no intercept" else 0
            last = degree + (1 if mistake == "degree too high" else 0)
            columns = [t ** power for power in range(first, last + 1)]
            for k in range(1, harmonics + 1):
                columns.append(torch.sin(2 * math.pi * k * t))
                if mistake != "no cosines":
                    columns.append(torch.cos(2 * math.pi * k * t))
            return torch.stack(columns, dim=1)

        coefficients = torch.linalg.lstsq(design(t_history), y_history.unsqueeze(1)).solution
        if mistake == "at history":
            return (design(t_history) @ coefficients).squeeze(1)
        if mistake == "wrong period":
            return trend_and_waves_forecast(t_history * 2, y_history, t_future * 2, degree, harmonics)
        return (design(t_future) @ coefficients).squeeze(1)
    return forecast


@pytest.mark.parametrize(
    "wrong_forecast, message",
    [
        (trend_with("no intercept"), "constant term is missing"),
        (trend_with("no cosines"), "cosines are missing"),
        (trend_with("degree too high"), "has degree"),
        (trend_with("at history"), "evaluate the same columns at t_future"),
        (trend_with("wrong period"), "not the least-squares fit"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_trend_and_waves_explains_wrong_answers(wrong_forecast, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_trend_and_waves(wrong_forecast)


# --- exercise 4 ---------------------------------------------------------------------------------

def test_check_difference_windows_passes_right_answers():
    assert checks.check_difference_windows(difference_windows) is True

    def with_unfold(series, window, horizon):  # Tensor.unfold and a trailing feature dimension: also right
        blocks = series.unfold(0, window + horizon, 1)  # [M, window + horizon]
        anchors = blocks[:, window - 1:window]
        return (blocks[:, :window] - anchors).unsqueeze(-1), blocks[:, window:] - anchors

    assert checks.check_difference_windows(with_unfold) is True


def windows_with(anchor="last", target_start=0, count_shift=0):
    def windows(series, window, horizon):
        inputs, targets = [], []
        for t in range(window, len(series) - horizon + 1 + count_shift):
            past = series[t - window:t]
            offset = {"last": past[-1], "first": past[0], "none": 0.0}[anchor]
            inputs.append(past - offset)
            targets.append(series[t + target_start:t + target_start + horizon] - offset)
        return torch.stack(inputs), torch.stack(targets)
    return windows


@pytest.mark.parametrize(
    "wrong_windows, message",
    [
        (windows_with(anchor="none"), "hold the values themselves"),
        (windows_with(anchor="first"), "first value"),
        (windows_with(target_start=-1), "one step early"),
        (windows_with(count_shift=-1), "there are"),
        (lambda series, window, horizon: difference_windows(series, window, horizon)[0], "two things"),
        (lambda series, window, horizon: (difference_windows(series, window, horizon)[0],
                                          difference_windows(series, window, horizon)[1] * 2), "targets are wrong"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_difference_windows_explains_wrong_answers(wrong_windows, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_difference_windows(wrong_windows)


# --- exercise 5 ---------------------------------------------------------------------------------

def test_check_recursive_forecast_passes_right_answers(capsys):
    assert checks.check_recursive_forecast(recursive_forecast) is True

    def with_a_list(step, history, horizon, window):  # a Python list as the window's store: also right
        values = history.tolist()
        for _ in range(horizon):
            values.append(float(step(torch.tensor(values[-window:], dtype=torch.float64))))
        return values[len(history):]

    assert checks.check_recursive_forecast(with_a_list) is True
    assert "compound" in capsys.readouterr().out


def no_feedback(step, history, horizon, window):
    return torch.stack([torch.as_tensor(step(history[-window:])) for _ in range(horizon)])


def growing_window(step, history, horizon, window):
    recent = history[-window:]
    forecasts = []
    for _ in range(horizon):
        forecasts.append(torch.as_tensor(step(recent), dtype=torch.float64))
        recent = torch.cat([recent, forecasts[-1].reshape(1)])  # never drops the oldest
    return torch.stack(forecasts)


def with_last_history_value(step, history, horizon, window):
    return torch.cat([history[-1:], recursive_forecast(step, history, horizon - 1, window)])


@pytest.mark.parametrize(
    "wrong_recursive, message",
    [
        (no_feedback, "same true window"),
        (growing_window, "Drop the oldest value"),
        (with_last_history_value, "shifted by one step"),
        (lambda step, history, horizon, window: recursive_forecast(step, history, horizon + 1, window), "1-D tensor"),
        (lambda step, history, horizon, window: recursive_forecast(step, history, horizon, window) + 0.1,
         "not the recursive one"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_recursive_forecast_explains_wrong_answers(wrong_recursive, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_recursive_forecast(wrong_recursive)


def test_a_hard_coded_answer_fails():
    torch.manual_seed(1)
    first = checks._random_series(checks.fresh_generator(), 40)
    second = checks._random_series(checks.fresh_generator(), 40)
    assert not torch.allclose(first, second)  # every call of a check draws a new series
