"""Tests of utils.checks: assert_close, gradient checks and the exercise helpers.
"""

import re

import numpy as np
import pytest
import torch

from utils.checks import (
    ExerciseError,
    assert_close,
    expect,
    gradient_check,
    library_refused,
    numerical_gradient,
    passed,
    relative_error,
)

# --- assert_close ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "actual, expected",
    [
        (torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 3.0 + 1e-7])),
        (np.array([[1.0, 2.0]]), np.array([[1.0, 2.0 + 1e-9]])),
        (torch.tensor([1.0, 2.0]), np.array([1.0, 2.0])),  # tensor vs array
        (3.0, 3.0 + 1e-9),  # plain numbers
        (torch.tensor(2.0), 2.0),  # 0-d tensor vs number
        (torch.tensor([1, 2]), torch.tensor([1.0, 2.0])),  # ints vs floats
        (torch.tensor([1.0], requires_grad=True) * 2, torch.tensor([2.0])),  # needs no detach
        (torch.zeros(0), torch.zeros(0)),
    ],
)
def test_assert_close_passes_on_close_values(actual, expected):
    assert assert_close(actual, expected) is None


def test_assert_close_respects_rtol_and_atol():
    assert_close(torch.tensor([100.0]), torch.tensor([101.0]), rtol=0.02)
    assert_close(torch.tensor([0.0]), torch.tensor([0.05]), atol=0.1)
    with pytest.raises(AssertionError):
        assert_close(torch.tensor([100.0]), torch.tensor([101.0]), rtol=0.001)
    with pytest.raises(AssertionError):
        assert_close(torch.tensor([0.0]), torch.tensor([0.05]), atol=0.01)


def test_assert_close_message_names_max_error_its_index_and_values():
    expected = torch.zeros(2, 3)
    actual = expected.clone()
    actual[0, 1] = 1e-3
    actual[1, 2] = 0.25  # the largest error
    with pytest.raises(AssertionError) as info:
        assert_close(actual, expected, name="weights")
    message = str(info.value)
    assert message.startswith("weights:")
    assert "2 of 6 elements" in message
    assert f"max abs error {0.25:.3e}" in message
    assert "at index (1, 2)" in message
    assert "got 0.25" in message and "expected 0" in message


def test_assert_close_message_for_numpy_and_scalars():
    with pytest.raises(AssertionError, match=re.escape(f"max abs error {0.5:.3e} at index ()")):
        assert_close(1.5, 1.0)
    with pytest.raises(AssertionError, match=re.escape("at index (2,)")):
        assert_close(np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.0, 3.0]))


def test_assert_close_shape_mismatch_message():
    with pytest.raises(AssertionError, match=re.escape("shape mismatch: got (2, 3), expected (3, 2)")):
        assert_close(torch.zeros(2, 3), torch.zeros(3, 2))
    with pytest.raises(AssertionError, match="shape mismatch"):
        assert_close(torch.zeros(3), torch.zeros(3, 1))  # no silent broadcasting


def test_assert_close_nan_handling():
    nan = float("nan")
    assert_close(torch.tensor([1.0, nan]), torch.tensor([1.0, nan]))  # NaN in the same places: equal
    with pytest.raises(AssertionError, match=re.escape("NaN where the other has a number, first at index (1,)")):
        assert_close(torch.tensor([1.0, nan]), torch.tensor([1.0, 2.0]))
    with pytest.raises(AssertionError, match="NaN"):
        assert_close(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, nan]]))


def test_assert_close_infinities():
    inf = float("inf")
    assert_close(torch.tensor([inf, -inf]), torch.tensor([inf, -inf]))
    with pytest.raises(AssertionError):
        assert_close(torch.tensor([inf]), torch.tensor([-inf]))
    with pytest.raises(AssertionError):
        assert_close(torch.tensor([1.0]), torch.tensor([inf]))


def test_assert_close_finite_never_equals_inf():
    with pytest.raises(AssertionError):
        assert_close(torch.tensor([1.0]), torch.tensor([float("inf")]), rtol=1.0)


def test_assert_close_bad_arguments():
    with pytest.raises(ValueError, match="rtol and atol"):
        assert_close(1.0, 1.0, rtol=-1)
    with pytest.raises(TypeError, match="actual must be"):
        assert_close(object(), 1.0)


# --- relative_error -------------------------------------------------------------------------

def test_relative_error_values():
    assert relative_error(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])) == 0.0
    assert relative_error([1.0, 2.0], [1.0, 2.5]) == pytest.approx(0.5 / 4.5)
    assert relative_error(torch.zeros(3), torch.zeros(3)) == 0.0  # no division by zero
    assert relative_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(torch.zeros(2), torch.zeros(3))


def test_relative_error_of_empty_tensors_is_zero():
    assert relative_error(torch.zeros(0), torch.zeros(0)) == 0.0


# --- numerical_gradient ---------------------------------------------------------------------

def test_numerical_gradient_of_sum_of_cubes():
    x = torch.tensor([[-1.5, 0.0, 2.0], [0.5, 3.0, -2.0]], dtype=torch.float64)
    original = x.clone()
    grad = numerical_gradient(lambda t: (t ** 3).sum(), x)
    assert grad.shape == x.shape and grad.dtype == torch.float64
    torch.testing.assert_close(grad, 3 * original ** 2, rtol=1e-6, atol=1e-6)
    assert torch.equal(x, original)  # the input is left as it was


def test_numerical_gradient_matches_autograd():
    torch.manual_seed(0)
    x = torch.randn(4, 3, dtype=torch.float64)
    targets = torch.tensor([0, 2, 1, 1])

    def f(t):
        return torch.nn.functional.cross_entropy(torch.sin(t) * t, targets)

    leaf = x.clone().requires_grad_(True)
    (autograd,) = torch.autograd.grad(f(leaf), leaf)
    torch.testing.assert_close(numerical_gradient(f, x), autograd, rtol=1e-6, atol=1e-8)


def test_numerical_gradient_of_a_zero_dim_input():
    grad = numerical_gradient(lambda t: t ** 3, torch.tensor(2.0, dtype=torch.float64))
    assert grad.shape == () and grad.item() == pytest.approx(12.0, rel=1e-6)


def test_numerical_gradient_bad_input():
    with pytest.raises(TypeError, match="torch.Tensor"):
        numerical_gradient(lambda t: t.sum(), [1.0, 2.0])
    with pytest.raises(ValueError, match="eps"):
        numerical_gradient(lambda t: t.sum(), torch.ones(2, dtype=torch.float64), eps=0)
    with pytest.raises(ValueError, match="scalar"):
        numerical_gradient(lambda t: t * 2, torch.ones(2, dtype=torch.float64))


def test_numerical_gradient_of_a_transposed_input():
    x = torch.randn(3, 4, dtype=torch.float64).t()
    torch.testing.assert_close(numerical_gradient(lambda t: (t ** 2).sum(), x), 2 * x, rtol=1e-6, atol=1e-6)


def test_numerical_gradient_rejects_integer_input():
    with pytest.raises(TypeError):
        numerical_gradient(lambda t: (t ** 2).sum(), torch.arange(3))


# --- gradient_check -------------------------------------------------------------------------

def linear_loss_and_grads():
    torch.manual_seed(0)
    X = torch.randn(5, 3, dtype=torch.float64)
    W = torch.randn(3, 2, dtype=torch.float64)
    b = torch.randn(2, dtype=torch.float64)

    def f(W, b):
        return ((X @ W + b) ** 2).sum()

    # hand-written backprop of sum((XW + b)^2)
    upstream = 2 * (X @ W + b)
    return f, [W, b], [X.T @ upstream, upstream.sum(0)]


def test_gradient_check_passes_for_correct_gradients():
    f, inputs, grads = linear_loss_and_grads()
    before = [x.clone() for x in inputs]
    errors = gradient_check(f, inputs, grads)
    assert len(errors) == 2 and all(0 <= e < 1e-7 for e in errors)
    assert all(torch.equal(x, y) for x, y in zip(inputs, before))


def test_gradient_check_raises_for_a_wrong_gradient_naming_it():
    f, inputs, grads = linear_loss_and_grads()
    wrong_b = grads[1] * 1.01
    with pytest.raises(AssertionError, match="gradient of input 1 is off"):
        gradient_check(f, inputs, [grads[0], wrong_b])
    with pytest.raises(AssertionError, match="input 0"):
        gradient_check(f, inputs, [torch.ones_like(grads[0]), grads[1]])
    # a loose tolerance lets a small error through
    errors = gradient_check(f, inputs, [grads[0], wrong_b], tolerance=1e-2)
    assert errors[1] == pytest.approx(0.01 / 2.01, rel=1e-3)


def test_gradient_check_fails_for_nan_gradients():
    f, inputs, grads = linear_loss_and_grads()
    with pytest.raises(AssertionError):
        gradient_check(f, inputs, [grads[0], torch.full_like(grads[1], float("nan"))])


def test_gradient_check_bad_arguments():
    f, inputs, grads = linear_loss_and_grads()
    with pytest.raises(ValueError, match="2 inputs but 1 gradients"):
        gradient_check(f, inputs, grads[:1])
    with pytest.raises(ValueError, match="gradient 1 has shape"):
        gradient_check(f, inputs, [grads[0], grads[1][:1]])


# --- exercise helpers -----------------------------------------------------------------------

def test_expect_passes_silently_and_fails_with_the_explanation(capsys):
    expect(True, "never shown")
    assert capsys.readouterr().out == ""
    with pytest.raises(ExerciseError, match="shape should be"):
        expect(False, "shape should be (3,)")
    assert issubclass(ExerciseError, AssertionError)


def test_passed_prints_and_returns_true(capsys):
    assert passed() is True
    assert capsys.readouterr().out.strip() == "✅ Correct!"
    assert passed("Nice work.") is True
    assert capsys.readouterr().out.strip() == "✅ Correct! Nice work."


def test_fresh_generator_is_new_each_call_and_repeatable_after_seeding():
    from utils.checks import fresh_generator

    torch.manual_seed(0)
    first, second = fresh_generator(), fresh_generator()
    a, b = torch.rand(3, generator=first), torch.rand(3, generator=second)
    assert not torch.equal(a, b)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(3, generator=fresh_generator()), a)
    assert torch.equal(torch.rand(2, generator=fresh_generator(5)), torch.rand(2, generator=fresh_generator(5)))


def test_call_answer_explains_unwritten_and_non_callable_answers():
    from utils.checks import ExerciseError, call_answer

    assert call_answer(lambda x, y=1: x + y, 2, what="add", y=3) == 5

    def unwritten(x):
        raise NotImplementedError("Your turn")

    with pytest.raises(ExerciseError, match="`add` still raises NotImplementedError") as info:
        call_answer(unwritten, 1, what="`add`")
    assert info.value.__context__ is None or isinstance(info.value.__context__, NotImplementedError)
    with pytest.raises(ExerciseError, match="pass the function itself"):
        call_answer(3.0, what="add")
    with pytest.raises(ZeroDivisionError):
        call_answer(lambda: 1 / 0, what="div")
    with pytest.raises(ExerciseError, match="div raised ZeroDivisionError.*Hint: check b"):
        call_answer(lambda: 1 / 0, what="div", explain_crashes=True, hint="check b")


def test_call_answer_tells_pytorchs_not_implemented_from_the_placeholder():
    from utils.checks import ExerciseError, call_answer

    def uses_a_missing_op():
        raise NotImplementedError("max is not supported for complex tensors")

    with pytest.raises(NotImplementedError, match="complex"):  # not "still raises": it is not the placeholder
        call_answer(uses_a_missing_op, what="rho")
    with pytest.raises(ExerciseError, match="rho raised NotImplementedError: max is not supported.*Hint: use .abs"):
        call_answer(uses_a_missing_op, what="rho", explain_crashes=True, hint="use .abs()")


def test_answer_as_number_and_int_accept_numbers_and_explain_the_rest():
    from utils.checks import ExerciseError, answer_as_int, answer_as_number

    assert answer_as_number(torch.tensor([2.5]), "x") == 2.5 and answer_as_number(3, "x") == 3.0
    assert answer_as_int(torch.tensor(7), "n") == 7 and answer_as_int(8.0, "n") == 8
    with pytest.raises(ExerciseError, match="x should be one number, got a tensor of shape \\(2,\\). Hint: sum"):
        answer_as_number(torch.ones(2), "x", hint="Hint: sum")
    with pytest.raises(ExerciseError, match="real number.*abs"):
        answer_as_number(torch.tensor(1 + 2j), "rho")
    with pytest.raises(ExerciseError, match="x should be a number, got str: '3'"):
        answer_as_number("3", "x")
    with pytest.raises(ExerciseError, match="x should be a number, got bool"):
        answer_as_number(True, "x")
    with pytest.raises(ExerciseError, match="n should be a whole number, got 2.5. Hint: use //"):
        answer_as_int(2.5, "n", hint="Hint: use //")


# --- library_refused ------------------------------------------------------------------------


def test_library_refused_blocks_the_call_and_restores_it_even_after_an_error():
    import torch.nn.functional as F

    original = F.relu
    with pytest.raises(ValueError), library_refused([(F, "relu"), (F, "no_such_function")], "write ReLU yourself"):
        with pytest.raises(ExerciseError, match="write ReLU yourself"):
            F.relu(torch.ones(2))
        raise ValueError("the learner's code crashed")
    assert F.relu is original
    assert not hasattr(F, "no_such_function")
