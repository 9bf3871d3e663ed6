"""Checks for the exercises of ``module3_rnns/solutions/02_rnn_from_scratch.ipynb``.

Every check builds fresh random inputs, computes the right answer itself and
compares, so a hard-coded answer does not pass; a wrong answer gets an
explanation of what went wrong and a hint (``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from utils.checks import answer_as_int, call_answer, expect, fresh_generator, passed

__all__ = [
    "check_rnn_cell_step",
    "check_rnn_unroll",
    "check_grad_weight_hh",
    "check_rnn_parameter_count",
]


# --- reference answers and random inputs ------------------------------------------------------

def _cell(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return torch.tanh(x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh)


def _unroll(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh, carry=True):
    h, states = h_0, []
    for t in range(inputs.shape[1]):
        h = _cell(inputs[:, t], h if carry else h_0, weight_ih, weight_hh, bias_ih, bias_hh)
        states.append(h)
    return torch.stack(states, dim=1)


def _random_rnn(generator, batch, steps, input_size, hidden_size):
    """float64 inputs [B, T, I], h_0 [B, H] and weights on the scale nn.RNN uses (a little larger, so that
    the state carries real information from step to step)."""
    bound = 1.5 / math.sqrt(hidden_size)

    def uniform(*shape):
        return (torch.rand(*shape, generator=generator, dtype=torch.float64) * 2 - 1) * bound

    inputs = torch.randn(batch, steps, input_size, generator=generator, dtype=torch.float64)
    h_0 = torch.randn(batch, hidden_size, generator=generator, dtype=torch.float64) * 0.5
    weights = (uniform(hidden_size, input_size), uniform(hidden_size, hidden_size), uniform(hidden_size),
               uniform(hidden_size))
    return inputs, h_0, weights


def _as_float64(value, what: str) -> torch.Tensor:
    expect(isinstance(value, torch.Tensor), f"{what} should return a tensor, got {type(value).__name__}.")
    return value.detach().to("cpu", torch.float64)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-5)  # float32 answers pass too


# --- exercise 1: one step of the cell ---------------------------------------------------------

def check_rnn_cell_step(rnn_cell_step) -> bool:
    """``rnn_cell_step(x_t [B, I], h_prev [B, H], weight_ih [H, I], weight_hh [H, H], bias_ih [H], bias_hh [H])``
    returns ``h_t = tanh(x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh)``, shape ``[B, H]``."""
    generator = fresh_generator()
    batch, input_size, hidden_size = 5, 3, 4  # all different, so a mixed-up shape shows
    inputs, h_prev, (weight_ih, weight_hh, bias_ih, bias_hh) = _random_rnn(generator, batch, 1, input_size, hidden_size)
    x_t = inputs[:, 0]
    args = (x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh)
    result = call_answer(rnn_cell_step, *(a.clone() for a in args), what="rnn_cell_step", explain_crashes=True,
                         hint="the rows of x_t and h_prev are examples, so W x becomes x_t @ weight_ih.T "
                              "(weight_ih has shape [H, I]).")
    result = _as_float64(result, "rnn_cell_step")
    expect(tuple(result.shape) == (batch, hidden_size),
           f"for {batch} examples and {hidden_size} hidden units h_t should have shape ({batch}, {hidden_size}), "
           f"got {tuple(result.shape)}.")
    expected = _cell(*args)
    if _close(result, expected):
        return passed("h_t = tanh(x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh).")
    pre_activation = x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh
    wrong_answers = {
        "you returned the sum before the activation: pass it through torch.tanh.": pre_activation,
        "use tanh, not the sigmoid, as nn.RNN does by default.": torch.sigmoid(pre_activation),
        "use tanh, not ReLU (nn.RNN's default nonlinearity is tanh).": torch.relu(pre_activation),
        "weight_hh is used without its transpose: with examples in rows, the recurrent part is h_prev @ weight_hh.T.":
            torch.tanh(x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh + bias_hh),
        "the previous state is missing: add h_prev @ weight_hh.T, the part that gives the RNN its memory.":
            torch.tanh(x_t @ weight_ih.T + bias_ih + bias_hh),
        "bias_hh is missing: PyTorch's cell adds both biases, bias_ih and bias_hh.":
            torch.tanh(x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T),
        "bias_ih is missing: PyTorch's cell adds both biases, bias_ih and bias_hh.":
            torch.tanh(x_t @ weight_ih.T + h_prev @ weight_hh.T + bias_hh),
    }
    for hint, wrong in wrong_answers.items():
        expect(not _close(result, wrong), hint)
    expect(False, "h_t is wrong for some examples. It should be tanh(x_t @ weight_ih.T + bias_ih + "
                  "h_prev @ weight_hh.T + bias_hh).")
    raise AssertionError("unreachable")


# --- exercise 2: unroll over a sequence -------------------------------------------------------

def check_rnn_unroll(rnn_unroll) -> bool:
    """``rnn_unroll(inputs [B, T, I], h_0 [B, H], weight_ih, weight_hh, bias_ih, bias_hh)`` returns every
    state ``h_1 ... h_T`` as ``[B, T, H]``; it must agree with ``nn.RNN(batch_first=True)``."""
    generator = fresh_generator()
    batch, steps, input_size, hidden_size = 3, 6, 2, 5
    inputs, h_0, weights = _random_rnn(generator, batch, steps, input_size, hidden_size)
    result = call_answer(rnn_unroll, inputs.clone(), h_0.clone(), *(w.clone() for w in weights), what="rnn_unroll",
                         explain_crashes=True,
                         hint="inputs has shape [B, T, I]: the inputs at step t are inputs[:, t], not inputs[t].")
    result = _as_float64(result, "rnn_unroll")
    expected = _unroll(inputs, h_0, *weights)
    expect(tuple(result.shape) != (batch, hidden_size),
           "you returned one state per sequence (the last one, probably); return the states of every step, "
           f"shape ({batch}, {steps}, {hidden_size}): collect them in a list and torch.stack(states, dim=1).")
    expect(tuple(result.shape) != (batch, steps + 1, hidden_size),
           f"you returned {steps + 1} states per sequence: h_0 is the starting point, not an output. "
           f"Return h_1 ... h_T, shape ({batch}, {steps}, {hidden_size}), as nn.RNN does.")
    expect(tuple(result.shape) != (steps, batch, hidden_size),
           f"the time and batch dimensions are swapped: stack along dim=1 to get ({batch}, {steps}, {hidden_size}), "
           "batch first.")
    expect(tuple(result.shape) == (batch, steps, hidden_size),
           f"the states should have shape ({batch}, {steps}, {hidden_size}) (batch, time, hidden), "
           f"got {tuple(result.shape)}.")
    if not _close(result, expected):
        expect(not _close(result, _unroll(inputs, h_0, *weights, carry=False)),
               "every step starts again from h_0: carry the state along, feeding each new h_t into the next step.")
        expect(_close(result[:, 0], expected[:, 0]),
               "already the first state h_1 is wrong: it is rnn_cell_step(inputs[:, 0], h_0, ...).")
        expect(False, "the first state is right but later ones are not: step t reads inputs[:, t] and the state "
                      "from step t - 1.")
    torch_rnn = nn.RNN(input_size, hidden_size, batch_first=True).double()
    with torch.no_grad():
        for parameter, value in zip(torch_rnn.parameters(), weights):
            parameter.copy_(value)
        torch_states, _ = torch_rnn(inputs, h_0.unsqueeze(0))
    expect(_close(result, torch_states), "your states differ from nn.RNN's with the same weights.")
    return passed("every state h_1 ... h_T, the same as nn.RNN's output.")


# --- exercise 3: backpropagation through time for W_hh ----------------------------------------

def _grad_weight_hh(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh, grad_states, *, carry=True,
                    tanh_derivative=True, state="previous"):
    """BPTT for L = sum(grad_states * states); the keywords make the typical mistakes, for the hints."""
    states = torch.cat([h_0.unsqueeze(1), _unroll(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh)], dim=1)
    grad = torch.zeros_like(weight_hh)
    grad_a_next = torch.zeros_like(h_0)
    for t in reversed(range(inputs.shape[1])):
        grad_h = grad_states[:, t] + (grad_a_next @ weight_hh if carry else 0)
        grad_a = grad_h * (1 - states[:, t + 1] ** 2) if tanh_derivative else grad_h
        grad += grad_a.T @ (states[:, t] if state == "previous" else states[:, t + 1])
        grad_a_next = grad_a
    return grad


def check_grad_weight_hh(grad_weight_hh) -> bool:
    """``grad_weight_hh(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh, grad_states [B, T, H])`` returns
    dL/dW_hh ``[H, H]`` for ``L = (grad_states * states).sum()``, where states = h_1 ... h_T."""
    generator = fresh_generator()
    batch, steps, input_size, hidden_size = 4, 5, 3, 6
    inputs, h_0, weights = _random_rnn(generator, batch, steps, input_size, hidden_size)
    grad_states = torch.randn(batch, steps, hidden_size, generator=generator, dtype=torch.float64)
    args = (inputs, h_0, *weights, grad_states)
    result = call_answer(grad_weight_hh, *(a.clone() for a in args), what="grad_weight_hh", explain_crashes=True,
                         hint="check the shapes: grad_a [B, H] and h_prev [B, H] give grad_a.T @ h_prev, [H, H].")
    result = _as_float64(result, "grad_weight_hh")
    expect(tuple(result.shape) == (hidden_size, hidden_size),
           f"dL/dW_hh has the shape of W_hh, ({hidden_size}, {hidden_size}); got {tuple(result.shape)}. "
           "Sum over the batch and over time: grad_a.T @ h_prev adds up the batch for you.")

    weight_hh = weights[1].clone().requires_grad_()
    states = _unroll(inputs, h_0, weights[0], weight_hh, weights[2], weights[3])
    (expected,) = torch.autograd.grad((grad_states * states).sum(), weight_hh)
    if _close(result, expected):
        return passed("dL/dW_hh = sum over t of dL/da_t h_{t-1}^T, with dL/dh_t = G_t + W_hh^T dL/da_{t+1}.")
    expect(not _close(result, expected.T), "your gradient is transposed: the term of step t is "
                                           "grad_a.T @ h_prev ([H, B] @ [B, H]), not h_prev.T @ grad_a.")
    expect(not _close(result, -expected), "the sign is flipped: this is the gradient itself, not the step downhill.")
    expect(not _close(result, _grad_weight_hh(*args, carry=False)),
           "the gradient does not flow back through time: dL/dh_t is grad_states[:, t] PLUS what comes from the "
           "future, dL/da_{t+1} @ weight_hh. Walk t from T - 1 down to 0 and carry it along.")
    expect(not _close(result, _grad_weight_hh(*args, tanh_derivative=False)),
           "the tanh derivative is missing: dL/da_t = dL/dh_t * (1 - h_t ** 2).")
    expect(not _close(result, _grad_weight_hh(*args, state="current")),
           "W_hh multiplies the previous state, so the term of step t is grad_a.T @ h_{t-1}, not grad_a.T @ h_t "
           "(h_{t-1} is h_0 at the first step).")
    h_before_last = _unroll(inputs, h_0, *weights)[:, -2]
    last_term_only = _grad_weight_hh(inputs[:, -1:], h_before_last, *weights, grad_states[:, -1:])
    expect(not _close(result, last_term_only), "only the last step's term is there: W_hh is shared by every step, "
                                               "so its gradient is a sum of one term per step.")
    expect(False, "dL/dW_hh is wrong. Backward from t = T - 1 to 0: grad_h = grad_states[:, t] + grad_a_next @ "
                  "weight_hh; grad_a = grad_h * (1 - h_t ** 2); grad += grad_a.T @ h_{t-1}; grad_a_next = grad_a.")
    raise AssertionError("unreachable")


# --- exercise 4: count the parameters of nn.RNN -----------------------------------------------

def _parameter_count(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * hidden_size
        total += directions * (hidden_size * layer_input + hidden_size * hidden_size + (2 * hidden_size if bias else 0))
    return total


def check_rnn_parameter_count(rnn_parameter_count) -> bool:
    """``rnn_parameter_count(input_size, hidden_size, num_layers=1, bias=True, bidirectional=False)`` returns
    the number of parameters of ``nn.RNN`` with those settings."""
    generator = fresh_generator()

    def draw(low, high):
        return int(torch.randint(low, high, (), generator=generator))

    cases = [  # in this order, so that the hint points at the first thing that goes wrong
        ("one layer", dict(num_layers=1, bias=True, bidirectional=False)),
        ("stacked layers", dict(num_layers=draw(2, 5), bias=True, bidirectional=False)),
        ("bias=False", dict(num_layers=draw(1, 4), bias=False, bidirectional=False)),
        ("bidirectional, one layer", dict(num_layers=1, bias=True, bidirectional=True)),
        ("bidirectional, stacked", dict(num_layers=draw(2, 4), bias=True, bidirectional=True)),
        ("bidirectional, stacked, bias=False", dict(num_layers=draw(2, 4), bias=False, bidirectional=True)),
    ]
    for case, settings in cases:
        input_size, hidden_size = draw(2, 40), draw(2, 40)
        while hidden_size == input_size:
            hidden_size = draw(2, 40)
        answer = answer_as_int(call_answer(rnn_parameter_count, input_size, hidden_size, what="rnn_parameter_count",
                                           **settings), "rnn_parameter_count")
        torch_count = sum(p.numel() for p in nn.RNN(input_size, hidden_size, **settings).parameters())
        expected = _parameter_count(input_size, hidden_size, **settings)
        assert expected == torch_count, (settings, expected, torch_count)  # the reference itself
        if answer == expected:
            continue
        where = f"for {case} (input_size={input_size}, hidden_size={hidden_size}, {settings})"
        num_layers, bias, bidirectional = settings["num_layers"], settings["bias"], settings["bidirectional"]
        directions = 2 if bidirectional else 1
        one_bias = _parameter_count(input_size, hidden_size, num_layers, False, bidirectional) + \
            num_layers * directions * hidden_size
        expect(not (bias and answer == one_bias),
               f"{where}: each layer has two bias vectors, bias_ih and bias_hh, of H numbers each.")
        expect(not (bias is False and answer == _parameter_count(input_size, hidden_size, num_layers, True, bidirectional)),
               f"{where}: with bias=False there are no bias vectors at all.")
        all_from_input = directions * num_layers * (hidden_size * (input_size + hidden_size) + (2 * hidden_size if bias else 0))
        expect(not (num_layers > 1 and answer == all_from_input),
               f"{where}: only the first layer reads the input; every later layer reads the states of the layer "
               "below, so its weight_ih has shape [H, H] (or [H, 2H] when bidirectional).")
        expect(not (bidirectional and answer == _parameter_count(input_size, hidden_size, num_layers, bias, False)),
               f"{where}: bidirectional doubles every layer: one set of weights reads forward, another backward.")
        upper_reads_h = sum(2 * (hidden_size * (input_size if layer == 0 else hidden_size) + hidden_size ** 2
                                 + (2 * hidden_size if bias else 0)) for layer in range(num_layers))
        expect(not (bidirectional and num_layers > 1 and answer == upper_reads_h),
               f"{where}: a bidirectional layer outputs both directions side by side, 2H numbers per step, "
               "so the layers above it have weight_ih of shape [H, 2H].")
        expect(False, f"{where}: nn.RNN has {torch_count} parameters; you counted {answer}. "
                      "Per layer and direction: H * (input of that layer) + H * H + 2H (the two biases).")
    return passed("per layer and direction, H(I' + H + 2), where I' is what the layer reads: "
                  "the input, then H states (2H when bidirectional).")
