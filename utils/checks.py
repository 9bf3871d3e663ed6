"""Checks: compare numbers with a helpful message, check gradients numerically,
and the small helpers that exercise check functions are built from."""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch


def _as_tensor(value, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    try:
        return torch.as_tensor(np.asarray(value))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a tensor, array or number, got {type(value).__name__}") from exc


def assert_close(actual, expected, *, rtol: float = 1e-5, atol: float = 1e-8, name: str = "value") -> None:
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` element-wise.

    Accepts tensors, NumPy arrays and numbers. On failure the message says the
    largest absolute and relative error, where it is, and the two values there,
    so a learner can see *how* wrong a result is, not only that it is.
    """
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be >= 0, got rtol={rtol}, atol={atol}")
    a = _as_tensor(actual, "actual")
    e = _as_tensor(expected, "expected")
    if a.shape != e.shape:
        raise AssertionError(
            f"{name}: shape mismatch: got {tuple(a.shape)}, expected {tuple(e.shape)}"
        )
    if a.numel() == 0:
        return
    a64, e64 = a.to(torch.float64), e.to(torch.float64)
    nan_a, nan_e = torch.isnan(a64), torch.isnan(e64)
    if not torch.equal(nan_a, nan_e):
        where = tuple(int(i) for i in torch.nonzero(nan_a ^ nan_e)[0])
        raise AssertionError(f"{name}: NaN where the other has a number, first at index {where}")
    both_nan = nan_a & nan_e
    either_inf = torch.isinf(a64) | torch.isinf(e64)
    diff = torch.where(both_nan | (either_inf & (a64 == e64)), 0.0, (a64 - e64).abs())
    diff = torch.where(either_inf & (a64 != e64), torch.inf, diff)  # inf vs anything else: never close
    allowed = atol + rtol * torch.where(either_inf | both_nan, 0.0, e64.abs())
    bad = diff > allowed
    if not bool(bad.any()):
        return
    rel = diff / e64.abs().clamp_min(torch.finfo(torch.float64).tiny)
    flat_index = int(torch.argmax(diff).item())
    where = tuple(int(i) for i in np.unravel_index(flat_index, tuple(a.shape))) if a.dim() else ()
    raise AssertionError(
        f"{name}: {int(bad.sum())} of {a.numel()} elements differ beyond atol={atol:g}, rtol={rtol:g}; "
        f"max abs error {diff.max().item():.3e} at index {where} "
        f"(got {a64.reshape(-1)[flat_index].item():.6g}, expected {e64.reshape(-1)[flat_index].item():.6g}); "
        f"max rel error {rel.max().item():.3e}"
    )


def relative_error(a, b) -> float:
    """max |a - b| / max(max |a| + max |b|, tiny): the usual gradient-check measure."""
    a64 = _as_tensor(a, "a").to(torch.float64)
    b64 = _as_tensor(b, "b").to(torch.float64)
    if a64.shape != b64.shape:
        raise ValueError(f"shapes differ: {tuple(a64.shape)} vs {tuple(b64.shape)}")
    if a64.numel() == 0:
        return 0.0
    scale = (a64.abs().max() + b64.abs().max()).clamp_min(1e-300)
    return float((a64 - b64).abs().max() / scale)


def numerical_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Central-difference gradient of a scalar function ``f`` at ``x``.

    ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every element i. Use
    float64: in float32 the rounding error swamps the difference.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor (float64 is best), got {x.dtype}")
    if eps <= 0:
        raise ValueError(f"eps must be positive, got {eps}")
    x = x.detach().clone(memory_format=torch.contiguous_format)
    grad = torch.zeros_like(x)
    flat_x, flat_grad = x.view(-1), grad.view(-1)
    for i in range(flat_x.numel()):
        original = flat_x[i].item()
        flat_x[i] = original + eps
        f_plus = torch.as_tensor(f(x))
        flat_x[i] = original - eps
        f_minus = torch.as_tensor(f(x))
        flat_x[i] = original
        if f_plus.numel() != 1:
            raise ValueError(f"f must return a scalar, got shape {tuple(f_plus.shape)}")
        flat_grad[i] = (f_plus.item() - f_minus.item()) / (2 * eps)
    return grad


def gradient_check(
    f: Callable[..., torch.Tensor],
    inputs: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    *,
    eps: float = 1e-6,
    tolerance: float = 1e-6,
) -> list[float]:
    """Check ``grads`` (e.g. from hand-written backprop) against central differences.

    ``f(*inputs)`` must return a scalar. Returns the relative error for each
    input and raises AssertionError naming the first one above ``tolerance``.
    """
    if len(inputs) != len(grads):
        raise ValueError(f"got {len(inputs)} inputs but {len(grads)} gradients")
    inputs = [x.detach().clone() for x in inputs]
    errors = []
    for i, (x, g) in enumerate(zip(inputs, grads)):
        if tuple(g.shape) != tuple(x.shape):
            raise ValueError(f"gradient {i} has shape {tuple(g.shape)}, input has {tuple(x.shape)}")

        def f_of_one(value, i=i):
            args = list(inputs)
            args[i] = value
            return f(*args)

        numeric = numerical_gradient(f_of_one, x, eps=eps)
        errors.append(relative_error(g, numeric))
        if not errors[-1] <= tolerance:  # also catches NaN
            hint = "" if x.dtype == torch.float64 else " (use float64: float32 rounding swamps the check)"
            raise AssertionError(
                f"gradient of input {i} is off: relative error {errors[-1]:.2e} > {tolerance:g} "
                f"(analytic {g.reshape(-1)[:4].tolist()}… vs numerical {numeric.reshape(-1)[:4].tolist()}…){hint}"
            )
    return errors


# --- exercise helpers -----------------------------------------------------------------------

class ExerciseError(AssertionError):
    """Raised by an exercise check when the answer is wrong; the message explains why."""


def expect(condition: bool, explanation: str) -> None:
    """In a check function: fail with ``explanation`` (what was wrong, a hint) unless ``condition``."""
    if not condition:
        raise ExerciseError(explanation)


def fresh_generator(seed: int | None = None) -> torch.Generator:
    """In a check function: a private random generator for fresh inputs.

    Seeded from torch's global generator (or from ``seed``), so every call gets new
    inputs (a hard-coded answer cannot pass) while a seeded notebook gets the same
    inputs on every run.
    """
    seed = int(torch.randint(0, 2**31 - 1, ()).item()) if seed is None else seed
    return torch.Generator().manual_seed(seed)


def call_answer(function, *args, what: str, explain_crashes: bool = False, hint: str = "", **kwargs):
    """In a check function: call the learner's ``function(*args, **kwargs)`` and return its result.

    If ``function`` is not callable, or still raises the exercise's placeholder
    NotImplementedError ("Your turn: ..."), the learner gets one short ExerciseError saying so (``what`` names the answer),
    rather than two chained tracebacks. With ``explain_crashes=True`` any other
    exception (a shape mismatch, a typo) is also turned into an explanation, plus ``hint``.
    """
    expect(callable(function), "pass the function itself (or the class, where a model is asked for), "
                               f"e.g. `check(my_function)`, not a {type(function).__name__}")
    try:
        return function(*args, **kwargs)
    except ExerciseError:  # a check the learner's code called already explained itself
        raise
    except NotImplementedError as error:
        if "Your turn" not in str(error) and explain_crashes:  # PyTorch's own (an op it lacks), not the placeholder
            problem = f"{what} raised NotImplementedError: {error}" + (f" Hint: {hint}" if hint else "")
        elif "Your turn" not in str(error):
            raise
        else:
            problem = f"{what} still raises NotImplementedError: replace that line with your code first."
    except Exception as error:
        if not explain_crashes:
            raise
        problem = f"{what} raised {type(error).__name__}: {error}" + (f" Hint: {hint}" if hint else "")
    expect(False, problem)  # outside the except blocks, so the learner sees one short error


def answer_as_number(value, what: str, hint: str = "") -> float:
    """In a check function: the learner's number (a Python number or a one-element real tensor)
    as a float, or an ExerciseError saying what ``what`` is instead (plus ``hint``)."""
    tail = f" {hint}" if hint else ""
    if isinstance(value, torch.Tensor):
        expect(value.numel() == 1, f"{what} should be one number, got a tensor of shape {tuple(value.shape)}.{tail}")
        expect(not value.is_complex(), f"{what} should be a real number, got a complex one: take its absolute "
                                       f"value (.abs()).{tail}")
        value = value.detach().cpu().reshape(()).item()
    expect(isinstance(value, numbers.Real) and not isinstance(value, bool),
           f"{what} should be a number, got {type(value).__name__}: {value!r}.{tail}")
    return float(value)


def answer_as_int(value, what: str, hint: str = "") -> int:
    """In a check function: the learner's whole number (an int, a whole float or a one-element
    tensor) as an int, or an ExerciseError saying what ``what`` is instead (plus ``hint``)."""
    number = answer_as_number(value, what, hint)
    expect(number.is_integer(), f"{what} should be a whole number, got {value!r}." + (f" {hint}" if hint else ""))
    return int(number)


def answer_as_float64(value, what: str) -> torch.Tensor:
    """In a check function: a float64 CPU copy of the learner's tensor (or array, list,
    number), or an ExerciseError saying what ``what`` is instead."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64)
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        expect(False, f"{what} should be a tensor (or numbers), but it is a {type(value).__name__}: {value!r}")


def passed(message: str = "") -> bool:
    """In a check function: say the answer is right. Returns True."""
    print("✅ Correct!" + (f" {message}" if message else ""))
    return True


@contextlib.contextmanager
def library_refused(targets: Sequence[tuple[object, str]], explanation: str) -> Iterator[None]:
    """While active, each ``getattr(owner, name)`` of ``targets`` raises an ExerciseError(``explanation``).

    For exercises that ask for something PyTorch already has: the check runs the learner's
    answer inside this block, so calling the library instead fails with a clear message.
    Targets an owner lacks are skipped; everything is restored on exit, whatever happened.
    """

    def refuse(*args, **kwargs):
        raise ExerciseError(explanation)

    originals = [(owner, name, getattr(owner, name)) for owner, name in targets if hasattr(owner, name)]
    for owner, name, _ in originals:
        setattr(owner, name, refuse)
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
