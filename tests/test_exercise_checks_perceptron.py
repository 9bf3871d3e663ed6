"""The checks of the perceptron exercises pass right answers (including alternative right answers)
and reject typical wrong ones with a message that says what is wrong."""

import pytest
import torch

from utils.checks import ExerciseError
from utils.exercise_checks import perceptron as checks


@pytest.fixture(autouse=True)
def seeded():
    # the checks draw their random inputs from the global torch seed: fix it so the tests are repeatable
    torch.manual_seed(0)


# --- right answers, written the way a learner would ----------------------------------------------

def step(z):
    return (z >= 0).float()


def neuron_output(inputs, weights, bias):
    return step(inputs @ weights + bias)


def perceptron_update(weights, bias, x, y, learning_rate):
    error = y - step(x @ weights + bias)
    return weights + learning_rate * error * x, bias + learning_rate * error


def train_perceptron(features, labels, learning_rate=1.0, max_epochs=100):
    weights, bias = torch.zeros(features.shape[1]), torch.zeros(())
    for _ in range(max_epochs):
        mistakes = 0
        for x, y in zip(features, labels):
            mistakes += int(step(x @ weights + bias) != y)
            weights, bias = perceptron_update(weights, bias, x, y, learning_rate)
        if mistakes == 0:
            break
    return weights, bias


def margin(weights, bias, features, labels):
    return ((2 * labels - 1) * (features @ weights + bias) / weights.norm()).min()


def add_product_feature(features):
    return torch.cat([features, (features[:, 0] * features[:, 1]).unsqueeze(1)], dim=1)


def not_implemented(*args):
    raise NotImplementedError("Your turn")


# --- exercise 1 ---------------------------------------------------------------------------------

def test_check_step_passes_a_right_answer(capsys):
    assert checks.check_step(step) is True
    assert checks.check_step(lambda z: torch.where(z >= 0, 1.0, 0.0)) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong_step, message",
    [
        (lambda z: (z > 0).float(), r"step\(0\) should be 1"),
        (lambda z: z >= 0, "True/False"),
        (lambda z: (z < 0).float(), "flipped"),
        (lambda z: torch.sigmoid(z), "only 0 and 1"),
        (lambda z: torch.sign(z), "only 0 and 1"),
        (lambda z: (z >= 0).float().tolist(), "return a tensor"),
        (lambda z: torch.ones(len(z), 1), "keep the shape"),
        (lambda z: (z >= 0).long(), "floats"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_step_explains_wrong_answers(wrong_step, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_step(wrong_step)


def test_check_neuron_output_passes_a_right_answer():
    assert checks.check_neuron_output(neuron_output) is True
    assert checks.check_neuron_output(lambda x, w, b: step((x * w).sum(dim=1) + b)) is True


@pytest.mark.parametrize(
    "wrong_neuron, message",
    [
        (lambda x, w, b: step(x @ w), "bias is missing"),
        (lambda x, w, b: x @ w + b, "through `step`"),
        (lambda x, w, b: step(x @ w - b), "added, not subtracted"),
        (lambda x, w, b: step(x @ w + b).unsqueeze(1), r"shape \(40,\)"),
        (lambda x, w, b: torch.ones(40), "wrong for some examples"),  # a hard-coded answer
        ("neuron_output", "pass the function itself"),
    ],
)
def test_check_neuron_output_explains_wrong_answers(wrong_neuron, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_neuron_output(wrong_neuron)


# --- exercise 2 ---------------------------------------------------------------------------------

def test_check_perceptron_update_passes_a_right_answer():
    assert checks.check_perceptron_update(perceptron_update) is True

    def in_place_update(weights, bias, x, y, learning_rate):  # in place, with an if: also right
        if step(x @ weights + bias) != y:
            weights += learning_rate * (y - step(x @ weights + bias)) * x
            bias = bias + learning_rate * (2 * y - 1)
        return weights, bias

    assert checks.check_perceptron_update(in_place_update) is True


@pytest.mark.parametrize(
    "wrong_update, message",
    [
        (lambda w, b, x, y, lr: (w + lr * y * x, b + lr * y), "nothing should change|did not change"),
        (lambda w, b, x, y, lr: (w, b), "did not change"),
        (lambda w, b, x, y, lr: (w - lr * (y - step(x @ w + b)) * x, b - lr * (y - step(x @ w + b))), "wrong way"),
        (lambda w, b, x, y, lr: (w + lr * (y - step(x @ w + b)) * x, b), "bias did not move"),
        (lambda w, b, x, y, lr: (w + (y - step(x @ w + b)) * x, b + (y - step(x @ w + b))), "learning_rate"),
        (lambda w, b, x, y, lr: w + lr * (y - step(x @ w + b)) * x, "two things"),
        (not_implemented, "NotImplementedError"),
    ],
)
def test_check_perceptron_update_explains_wrong_answers(wrong_update, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_perceptron_update(wrong_update)


# --- exercise 3 ---------------------------------------------------------------------------------

def test_check_training_loop_passes_a_right_answer():
    assert checks.check_training_loop(train_perceptron) is True


def test_check_training_loop_rejects_a_loop_that_drops_the_updates():
    def forgets_the_result(features, labels, learning_rate=1.0, max_epochs=100):
        weights, bias = torch.zeros(features.shape[1]), torch.zeros(())
        for _ in range(max_epochs):
            for x, y in zip(features, labels):
                perceptron_update(weights, bias, x, y, learning_rate)  # result thrown away
        return weights, bias

    with pytest.raises(ExerciseError, match="still all zero"):
        checks.check_training_loop(forgets_the_result)


def test_check_training_loop_rejects_a_loop_that_stops_too_early():
    def one_example_only(features, labels, learning_rate=1.0, max_epochs=100):
        weights, bias = torch.zeros(features.shape[1]), torch.zeros(())
        return perceptron_update(weights, bias, features[0], labels[0], learning_rate)

    with pytest.raises(ExerciseError, match="not 100%|still all zero"):
        checks.check_training_loop(one_example_only)


def test_check_training_loop_rejects_a_wrong_return_value():
    with pytest.raises(ExerciseError, match="two things"):
        checks.check_training_loop(lambda features, labels, lr, epochs: train_perceptron(features, labels)[0])


# --- exercise 4 ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "gate, weights, bias",
    [
        ("AND", [1.0, 1.0], -1.5),
        ("AND", torch.tensor([2.0, 1.0]), torch.tensor(-3.0)),  # what the perceptron learns: (1,1) on the line
        ("OR", [1.0, 1.0], -0.5),
        ("NAND", [-1.0, -1.0], 1.5),
        ("NAND", (-2.0, -3.0), 4.0),
        ("nand", torch.tensor([-0.5, -1.0]), torch.tensor([1.2])),
        ("NOR", [-1.0, -1.0], 0.5),
    ],
)
def test_check_logic_gate_accepts_any_separating_line(gate, weights, bias):
    assert checks.check_logic_gate(gate, weights, bias) is True


@pytest.mark.parametrize(
    "gate, weights, bias, message",
    [
        ("NAND", [1.0, 1.0], -1.5, "computes AND.*Flip the signs"),
        ("NAND", [-1.0, -1.0], 0.5, "computes NOR"),
        ("AND", [1.0, 1.0], -0.5, r"wrong on \(0, 1\) → 1"),
        ("XOR", [1.0, 1.0], -0.5, "no answer here"),
        ("NAND", [-1.0, -1.0, 0.0], 1.5, "2 weights"),
        ("NAND", [-1.0, -1.0], [1.5, 1.5], "one number"),
        ("NAND", "weights", 1.5, "should be a tensor"),
    ],
)
def test_check_logic_gate_explains_wrong_answers(gate, weights, bias, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_logic_gate(gate, weights, bias)


# --- exercise 5 ---------------------------------------------------------------------------------

def test_check_margin_passes_a_right_answer():
    assert checks.check_margin(margin) is True

    def margin_as_a_float(weights, bias, features, labels):
        signs = torch.where(labels == 1, 1.0, -1.0)
        return float(torch.min(signs * (features @ weights + bias)) / torch.linalg.norm(weights))

    assert checks.check_margin(margin_as_a_float) is True


@pytest.mark.parametrize(
    "wrong_margin, message",
    [
        (lambda w, b, x, y: ((2 * y - 1) * (x @ w + b)).min(), r"divide by ‖w‖"),
        (lambda w, b, x, y: ((x @ w + b).abs() / w.norm()).min(), "keep the sign"),
        (lambda w, b, x, y: (y * (x @ w + b) / w.norm()).min(), "0/1 labels"),
        (lambda w, b, x, y: ((2 * y - 1) * (x @ w + b) / torch.cat([w, b.reshape(1)]).norm()).min(), "weights only"),
        (lambda w, b, x, y: ((2 * y - 1) * (x @ w + b) / w.norm()).max(), "closest"),
        (lambda w, b, x, y: ((2 * y - 1) * (x @ w + b) / w.norm()).mean(), "smallest distance"),
        (lambda w, b, x, y: (2 * y - 1) * (x @ w + b) / w.norm(), "one number"),
        (lambda w, b, x, y: 0.5, "should be"),  # a hard-coded answer
    ],
)
def test_check_margin_explains_wrong_answers(wrong_margin, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_margin(wrong_margin)


# --- exercise 6 ---------------------------------------------------------------------------------

def test_check_product_feature_passes_a_right_answer():
    assert checks.check_product_feature(add_product_feature) is True
    assert checks.check_product_feature(lambda x: torch.stack([x[:, 0], x[:, 1], x.prod(dim=1)], dim=1)) is True


@pytest.mark.parametrize(
    "wrong_feature, message",
    [
        (lambda x: torch.cat([x, x.sum(dim=1, keepdim=True)], dim=1), "not the sum"),
        (lambda x: torch.cat([x, x[:, :1] ** 2], dim=1), "not x1²"),
        (lambda x: (x[:, 0] * x[:, 1]).unsqueeze(1), r"shape \(25, 3\)"),
        (lambda x: torch.cat([(x[:, 0] * x[:, 1]).unsqueeze(1), x], dim=1), "first two columns"),
        (lambda x: x[:, 0] * x[:, 1], r"shape \(25, 3\)"),
    ],
)
def test_check_product_feature_explains_wrong_answers(wrong_feature, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_product_feature(wrong_feature)


def test_check_xor_with_product_feature_passes_trained_and_hand_made_answers():
    gate_inputs = checks.TRUTH_TABLE_INPUTS
    trained_weights, trained_bias = train_perceptron(add_product_feature(gate_inputs), checks.GATES["XOR"])
    assert checks.check_xor_with_product_feature(add_product_feature, trained_weights, trained_bias) is True
    assert checks.check_xor_with_product_feature(add_product_feature, [1.0, 1.0, -2.0], -0.5) is True


@pytest.mark.parametrize(
    "weights, bias, message",
    [
        ([1.0, 1.0, 0.0], -0.5, r"wrong on \[\(1, 1\)\]"),  # that is OR: the product feature is not used
        ([1.0, 1.0], -0.5, "3 weights"),
    ],
)
def test_check_xor_with_product_feature_explains_wrong_answers(weights, bias, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_xor_with_product_feature(add_product_feature, weights, bias)


def test_check_xor_with_product_feature_checks_the_feature_too():
    with pytest.raises(ExerciseError, match="not the sum"):
        checks.check_xor_with_product_feature(lambda x: torch.cat([x, x.sum(1, keepdim=True)], 1), [1.0, 1.0, -2.0], -0.5)
