"""Checks for the exercises of ``module3_rnns/solutions/08_time_series_forecasting.ipynb``.

Every check builds a fresh random series, computes the right answer itself and
compares, so a hard-coded answer does not pass; a wrong answer gets an
explanation of what went wrong and a hint (``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import math

import torch

from utils.checks import (
    answer_as_float64,
    answer_as_number,
    call_answer,
    expect,
    fresh_generator,
    passed,
)

__all__ = [
    "check_split_and_scale",
    "check_seasonal_naive",
    "check_trend_and_waves",
    "check_difference_windows",
    "check_recursive_forecast",
]


# --- reference answers and random inputs ------------------------------------------------------

def _random_series(generator, length: int, season: int = 12) -> torch.Tensor:
    """float64 [length]: a rising trend, a seasonal wave and noise, at a level far from 0 (like CO2)."""
    steps = torch.arange(length, dtype=torch.float64)
    slope = 0.05 + 0.1 * torch.rand((), generator=generator, dtype=torch.float64)
    amplitude = 1 + 2 * torch.rand((), generator=generator, dtype=torch.float64)
    phase = 2 * math.pi * torch.rand((), generator=generator, dtype=torch.float64)
    noise = 0.2 * torch.randn(length, generator=generator, dtype=torch.float64)
    return 300 + slope * steps + amplitude * torch.sin(2 * math.pi * steps / season + phase) + noise


def _split_and_scale(series, val_size, test_size, *, whole_series=False, ddof=0):
    train_end, val_end = len(series) - val_size - test_size, len(series) - test_size
    fitted_on = series if whole_series else series[:train_end]
    mean, std = fitted_on.mean(), fitted_on.std(correction=ddof)
    parts = series[:train_end], series[train_end:val_end], series[val_end:]
    return tuple((part - mean) / std for part in parts), mean, std


def _seasonal_naive(history, horizon, season):
    repeats = horizon // season + 1
    return history[-season:].repeat(repeats)[:horizon]


def _design(t, degree, harmonics, *, intercept=True, cosines=True):
    columns = [t ** power for power in range(0 if intercept else 1, degree + 1)]
    for k in range(1, harmonics + 1):
        columns.append(torch.sin(2 * math.pi * k * t))
        if cosines:
            columns.append(torch.cos(2 * math.pi * k * t))
    return torch.stack(columns, dim=1)


def _trend_and_waves(t_history, y_history, t_future, degree, harmonics, **mistake):
    coefficients = torch.linalg.lstsq(_design(t_history, degree, harmonics, **mistake), y_history.unsqueeze(1)).solution
    return (_design(t_future, degree, harmonics, **mistake) @ coefficients).squeeze(1)


def _windows(series, window, horizon, *, anchor="last", gap=0):
    inputs, targets = [], []
    for t in range(window, len(series) - horizon + 1):
        past, future = series[t - window:t], series[t - gap:t - gap + horizon]
        offset = {"last": past[-1], "first": past[0], "none": 0.0}[anchor]
        inputs.append(past - offset)
        targets.append(future - offset)
    return torch.stack(inputs), torch.stack(targets)


def _recursive(step, history, horizon, window, *, feed_back=True):
    recent = history[-window:].clone()
    forecasts = []
    for _ in range(horizon):
        value = torch.as_tensor(step(recent.clone()), dtype=torch.float64).reshape(())
        forecasts.append(value)
        if feed_back:
            recent = torch.cat([recent[1:], value.reshape(1)])
    return torch.stack(forecasts)


def _close(a: torch.Tensor, b: torch.Tensor, tolerance: float = 1e-6) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=tolerance, atol=tolerance))


def _as_vector(value, what: str, length: int, hint: str) -> torch.Tensor:
    value = answer_as_float64(value, what)
    expect(value.dim() == 1 and len(value) == length,
           f"{what} should be a 1-D tensor of {length} values, got shape {tuple(value.shape)}. {hint}")
    return value


# --- exercise 1: a split in time order, scaled with the training part's statistics ------------

def check_split_and_scale(split_and_scale) -> bool:
    """``split_and_scale(series [N], val_size, test_size)`` returns ``train, val, test, mean, std``: the three
    consecutive parts (training first), each scaled as ``(x - mean) / std`` with the training part's mean and
    standard deviation."""
    generator = fresh_generator()
    val_size = int(torch.randint(15, 30, (), generator=generator))
    test_size = val_size + 7  # different sizes, so a swap shows
    series = _random_series(generator, 200)
    result = call_answer(split_and_scale, series.clone(), val_size, test_size, what="split_and_scale",
                         explain_crashes=True, hint="slice the series: series[:train_end], series[train_end:val_end], "
                                                    "series[val_end:].")
    expect(isinstance(result, (tuple, list)) and len(result) == 5,
           "split_and_scale should return five things: `return train, val, test, mean, std`.")
    train, val, test = (answer_as_float64(part, name) for part, name in zip(result[:3], ("train", "val", "test")))
    mean = answer_as_number(result[3], "mean")
    std = answer_as_number(result[4], "std")
    sizes = (len(series) - val_size - test_size, val_size, test_size)
    expect(tuple(len(part) for part in (train, val, test)) == sizes,
           f"with {len(series)} values, val_size={val_size} and test_size={test_size}, the parts should have "
           f"{sizes[0]}, {sizes[1]} and {sizes[2]} values, got {len(train)}, {len(val)} and {len(test)}.")
    for ddof in (0, 1):  # the population or the sample standard deviation: both are fine
        (exp_train, exp_val, exp_test), exp_mean, exp_std = _split_and_scale(series, val_size, test_size, ddof=ddof)
        if (_close(train, exp_train) and _close(val, exp_val) and _close(test, exp_test)
                and math.isclose(mean, exp_mean, rel_tol=1e-6) and math.isclose(std, exp_std, rel_tol=1e-6)):
            return passed("consecutive parts, training first, all scaled with the training part's mean and std.")
    (_, _, _), whole_mean, _ = _split_and_scale(series, val_size, test_size, whole_series=True)
    expect(not math.isclose(mean, whole_mean, rel_tol=1e-6),
           "your mean is the mean of the whole series: the scaler saw the validation and test values, which "
           "leaks the future. Fit the mean and std on the training part only.")
    expect(not (_close(train, series[:sizes[0]]) or _close(test, series[-test_size:])),
           "the parts are not scaled: return (part - mean) / std for each of them.")
    raw = series[:sizes[0]], series[sizes[0]:sizes[0] + val_size], series[-test_size:]
    expect(all(_close(part * std + mean, expected) for part, expected in zip((train, val, test), raw)),
           "un-scaled with your mean and std, your parts are not series[:train_end], series[train_end:val_end] "
           "and series[val_end:]: the split must follow time, with no shuffling, training first, the test last.")
    expect(math.isclose(mean, _split_and_scale(series, val_size, test_size)[1], rel_tol=1e-6),
           "your mean is not the mean of the training part.")
    expect(False, "your std is neither the population nor the sample standard deviation of the training part.")


# --- exercise 2: seasonal-naive -----------------------------------------------------------------

def check_seasonal_naive(seasonal_naive) -> bool:
    """``seasonal_naive(history [N], horizon, season)`` returns ``[horizon]``: the last ``season`` values of the
    history, repeated as often as needed and cut to ``horizon`` values."""
    generator = fresh_generator()
    for season, horizon in ((12, 30), (7, 21), (52, 208)):  # a horizon that is not a multiple of the season too
        history = _random_series(generator, 3 * season + 5, season=season)
        result = call_answer(seasonal_naive, history.clone(), horizon, season, what="seasonal_naive",
                             explain_crashes=True, hint="history[-season:] is the last season; .repeat(k) repeats "
                                                        "a 1-D tensor k times.")
        forecast = _as_vector(result, "the forecast", horizon,
                              "Repeat the last season enough times (horizon // season + 1) and keep the first horizon.")
        expected = _seasonal_naive(history, horizon, season)
        if _close(forecast, expected):
            continue
        expect(not _close(forecast, history[-1].expand(horizon)),
               "your forecast repeats the last value (the naive forecast); seasonal-naive repeats the last season, "
               "history[-season:].")
        expect(not _close(forecast, _seasonal_naive(history[:season], horizon, season)),
               "your forecast repeats the first season of the history; use the last one, history[-season:].")
        expect(not _close(forecast, _seasonal_naive(history[:-1], horizon, season)),
               "your season is shifted by one step: the last season is history[-season:], ending with the last value.")
        expect(False, f"with season={season} and horizon={horizon}, value k of the forecast should be "
                      "history[-season + k % season]; yours is not.")
    return passed("the last season, repeated; any horizon, any season.")


# --- exercise 3: a trend and yearly waves, by least squares -------------------------------------

def check_trend_and_waves(trend_and_waves_forecast) -> bool:
    """``trend_and_waves_forecast(t_history [N], y_history [N], t_future [M], degree, harmonics)`` returns ``[M]``:
    the least-squares fit of a polynomial of ``degree`` in t plus ``harmonics`` sine/cosine pairs of period 1
    (``sin 2 pi k t``, ``cos 2 pi k t``, k = 1..harmonics), evaluated at ``t_future``."""
    generator = fresh_generator()
    for degree, harmonics in ((1, 1), (2, 2), (0, 1)):
        t_history = torch.arange(120, dtype=torch.float64) / 12 + 0.3 * torch.rand((), generator=generator,
                                                                                   dtype=torch.float64)
        t_future = t_history[-1] + torch.arange(1, 25, dtype=torch.float64) / 12
        y_history = (5 + 2 * torch.randn((), generator=generator, dtype=torch.float64) * t_history
                     + 0.1 * t_history ** 2 + 3 * torch.cos(2 * math.pi * t_history + 1.0)
                     + 0.5 * torch.randn(len(t_history), generator=generator, dtype=torch.float64))
        result = call_answer(trend_and_waves_forecast, t_history.clone(), y_history.clone(), t_future.clone(), degree,
                             harmonics, what="trend_and_waves_forecast", explain_crashes=True,
                             hint="build the design matrix with torch.stack(columns, dim=1), one column per term, "
                                  "and solve with torch.linalg.lstsq(X, y.unsqueeze(1)).")
        forecast = _as_vector(result, "the forecast", len(t_future),
                              "Fit on t_history, then evaluate the same columns at t_future: one value per entry.")
        expected = _trend_and_waves(t_history, y_history, t_future, degree, harmonics)
        if _close(forecast, expected, tolerance=1e-5):
            continue
        where = f"(degree={degree}, harmonics={harmonics})"
        expect(not _close(forecast, _trend_and_waves(t_history, y_history, t_future, degree, harmonics,
                                                     intercept=False), 1e-5),
               f"{where}: the constant term is missing: the polynomial starts with t**0, a column of ones.")
        expect(not _close(forecast, _trend_and_waves(t_history, y_history, t_future, degree, harmonics,
                                                     cosines=False), 1e-5),
               f"{where}: the cosines are missing: a sine alone always crosses zero at t = 0; with a cosine beside "
               "it the wave can have any phase.")
        for wrong_degree in (degree - 1, degree + 1):
            if wrong_degree >= 0:
                expect(not _close(forecast, _trend_and_waves(t_history, y_history, t_future, wrong_degree,
                                                             harmonics), 1e-5),
                       f"{where}: your polynomial has degree {wrong_degree}: use the powers t**0 up to t**degree, "
                       "that is degree + 1 columns.")
        expect(False, f"{where}: your forecast is not the least-squares fit. The design matrix has the columns "
                      "1, t, ..., t**degree, then sin(2 pi k t), cos(2 pi k t) for k = 1..harmonics; fit on "
                      "(t_history, y_history) and evaluate the same columns at t_future.")
    return passed("a polynomial trend and sine/cosine pairs, fit by least squares and extended.")


# --- exercise 4: windows of differences ---------------------------------------------------------

def check_difference_windows(difference_windows) -> bool:
    """``difference_windows(series [N], window, horizon)`` returns ``inputs [M, window], targets [M, horizon]`` for
    every t from ``window`` to ``N - horizon``: inputs ``series[t-window:t]`` and targets ``series[t:t+horizon]``,
    both minus the window's last value ``series[t-1]``."""
    generator = fresh_generator()
    for window, horizon in ((5, 1), (8, 4)):
        series = _random_series(generator, 40)
        result = call_answer(difference_windows, series.clone(), window, horizon, what="difference_windows",
                             explain_crashes=True, hint="loop t over range(window, len(series) - horizon + 1); "
                                                        "torch.stack a list of 1-D tensors into a matrix.")
        expect(isinstance(result, (tuple, list)) and len(result) == 2,
               "difference_windows should return two things: `return inputs, targets`.")
        inputs, targets = answer_as_float64(result[0], "inputs"), answer_as_float64(result[1], "targets")
        if inputs.dim() == 3 and inputs.shape[-1] == 1:  # [M, window, 1], as the lesson's LSTM reads them: fine
            inputs = inputs.squeeze(-1)
        expected_inputs, expected_targets = _windows(series, window, horizon)
        count = len(expected_inputs)
        expect(tuple(inputs.shape) == (count, window) and tuple(targets.shape) == (count, horizon),
               f"with {len(series)} values, window={window} and horizon={horizon} there are {count} windows: inputs "
               f"should be ({count}, {window}) and targets ({count}, {horizon}); got {tuple(inputs.shape)} and "
               f"{tuple(targets.shape)}. The first window starts at 0, the last one's targets end with the last value.")
        if _close(inputs, expected_inputs) and _close(targets, expected_targets):
            continue
        wrong_inputs, wrong_targets = _windows(series, window, horizon, anchor="none")
        expect(not (_close(inputs, wrong_inputs) and _close(targets, wrong_targets)),
               "your windows hold the values themselves; subtract each window's last value series[t-1] from its "
               "inputs and its targets.")
        wrong_inputs, wrong_targets = _windows(series, window, horizon, anchor="first")
        expect(not (_close(inputs, wrong_inputs) and _close(targets, wrong_targets)),
               "you subtract the window's first value; subtract its last value, series[t-1], the most recent week: "
               "then the last input is always 0 and the targets are changes from now.")
        expect(_close(inputs, expected_inputs),
               "your inputs are wrong: window number i holds series[t-window:t] - series[t-1] with t = window + i.")
        expect(not _close(targets, _windows(series, window, horizon, gap=1)[1]),
               "your targets start one step early, at series[t-1], the last input; they start at series[t].")
        expect(False, "your targets are wrong: window number i has series[t:t+horizon] - series[t-1], t = window + i.")
    return passed("every window, inputs and targets as differences from the window's last value.")


# --- exercise 5: the recursive forecast ---------------------------------------------------------

def check_recursive_forecast(recursive_forecast) -> bool:
    """``recursive_forecast(step, history [N], horizon, window)`` returns ``[horizon]``: ``step`` is called on the
    last ``window`` values (a 1-D tensor) and returns the next one; each forecast is appended to the window (the
    oldest value dropped) before the next call."""
    generator = fresh_generator()
    window, horizon = 6, 15
    weights = torch.rand(window, generator=generator, dtype=torch.float64)
    weights = 0.98 * weights / weights.sum()  # a stable autoregression: its forecasts decay toward 0
    history = 5 * torch.randn(30, generator=generator, dtype=torch.float64)
    seen_lengths = []

    def step(recent):
        recent = torch.as_tensor(recent, dtype=torch.float64)
        seen_lengths.append(len(recent))
        expect(recent.dim() == 1 and len(recent) == window,
               f"step was called with a tensor of shape {tuple(recent.shape)}; it reads the last window = {window} "
               "values as a 1-D tensor. Drop the oldest value each time you append a forecast.")
        return float(recent @ weights) + 0.3

    result = call_answer(recursive_forecast, step, history.clone(), horizon, window, what="recursive_forecast",
                         explain_crashes=True, hint="recent = history[-window:]; then, horizon times: value = "
                                                    "step(recent); recent = torch.cat([recent[1:], ...]).")
    learner_calls = len(seen_lengths)
    forecast = _as_vector(result, "the forecast", horizon, "Return only the new values, one per step.")
    expected = _recursive(step, history, horizon, window)
    if _close(forecast, expected):
        expect(learner_calls == horizon, f"step should be called once per forecast ({horizon} times), "
                                         f"it was called {learner_calls} times.")
        return passed("each forecast fed back into the window: this is how errors compound.")
    expect(not _close(forecast, _recursive(step, history, horizon, window, feed_back=False)),
           "every forecast is the same: you call step on the same true window each time. Append each forecast to "
           "the window (and drop the oldest value), so the next step reads it.")
    expect(not _close(forecast[1:], expected[:-1]),
           "your forecast is shifted by one step: its first value should be step(history[-window:]), the first "
           "forecast, not a value of the history.")
    expect(False, "your forecast is not the recursive one: start from recent = history[-window:], and at every step "
                  "value = step(recent), then recent = torch.cat([recent[1:], value]).")
