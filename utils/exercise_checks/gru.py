"""Checks for the exercises of ``module3_rnns/solutions/05_gru.ipynb``.

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
    "check_gru_cell",
    "check_gru_unroll",
    "check_gru_parameter_count",
    "check_rnn_from_gru",
]


# --- reference answers and random inputs ------------------------------------------------------

def _cell(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, *, order=(0, 1, 2), reset_where="after",
          convention="pytorch", interpolate=True):
    """PyTorch's GRU step; the keywords make the typical mistakes, for the hints."""
    input_parts = (x_t @ weight_ih.T + bias_ih).chunk(3, dim=-1)
    hidden_parts = (h_prev @ weight_hh.T + bias_hh).chunk(3, dim=-1)
    r, z, n = order
    reset = torch.sigmoid(input_parts[r] + hidden_parts[r])
    update = torch.sigmoid(input_parts[z] + hidden_parts[z])
    hidden_size = h_prev.shape[-1]
    weight_hn, bias_hn = weight_hh[2 * hidden_size:], bias_hh[2 * hidden_size:]
    if reset_where == "after":  # PyTorch and cuDNN: r multiplies (W_hn h + b_hn)
        reset_part = reset * hidden_parts[n]
    elif reset_where == "before":  # Cho et al. (2014): r multiplies h before the matrix
        reset_part = (reset * h_prev) @ weight_hn.T + bias_hn
    elif reset_where == "bias outside":  # r multiplies W_hn h, but b_hn is left outside
        reset_part = reset * (h_prev @ weight_hn.T) + bias_hn
    else:  # no reset gate at all
        reset_part = hidden_parts[n]
    candidate = torch.tanh(input_parts[n] + reset_part)
    if not interpolate:
        return candidate
    if convention == "pytorch":
        return (1 - update) * candidate + update * h_prev
    return update * candidate + (1 - update) * h_prev


def _unroll(inputs, h_0, weight_ih, weight_hh, bias_ih, bias_hh, carry=True):
    h, states = h_0, []
    for t in range(inputs.shape[1]):
        h = _cell(inputs[:, t], h if carry else h_0, weight_ih, weight_hh, bias_ih, bias_hh)
        states.append(h)
    return torch.stack(states, dim=1)


def _random_gru(generator, batch, steps, input_size, hidden_size):
    """float64 inputs [B, T, I], h_0 [B, H] and stacked weights (r, z, n) on a scale a little larger than
    nn.GRU's, so that every gate matters."""
    bound = 2.0 / math.sqrt(hidden_size)

    def uniform(*shape):
        return (torch.rand(*shape, generator=generator, dtype=torch.float64) * 2 - 1) * bound

    inputs = torch.randn(batch, steps, input_size, generator=generator, dtype=torch.float64)
    h_0 = torch.randn(batch, hidden_size, generator=generator, dtype=torch.float64) * 0.5
    weights = (uniform(3 * hidden_size, input_size), uniform(3 * hidden_size, hidden_size),
               uniform(3 * hidden_size), uniform(3 * hidden_size))
    return inputs, h_0, weights


def _as_float64(value, what: str) -> torch.Tensor:
    expect(isinstance(value, torch.Tensor), f"{what} should return a tensor, got {type(value).__name__}.")
    return value.detach().to("cpu", torch.float64)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-5)  # float32 answers pass too


# --- exercise 1: one step of the GRU cell -----------------------------------------------------

def check_gru_cell(gru_cell) -> bool:
    """``gru_cell(x_t [B, I], h_prev [B, H], weight_ih [3H, I], weight_hh [3H, H], bias_ih [3H], bias_hh [3H])``
    returns PyTorch's GRU step ``h_t``, shape ``[B, H]``, with the gates stacked in the order r, z, n."""
    generator = fresh_generator()
    batch, input_size, hidden_size = 5, 3, 4  # all different, so a mixed-up shape shows
    inputs, h_prev, (weight_ih, weight_hh, bias_ih, bias_hh) = _random_gru(generator, batch, 1, input_size, hidden_size)
    x_t = inputs[:, 0]
    args = (x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh)
    result = call_answer(gru_cell, *(a.clone() for a in args), what="gru_cell", explain_crashes=True,
                         hint="rows are examples, so W x becomes x_t @ weight_ih.T ([B, I] @ [I, 3H] = [B, 3H]); "
                              "then .chunk(3, dim=-1) splits the three gates.")
    result = _as_float64(result, "gru_cell")
    expect(tuple(result.shape) == (batch, hidden_size),
           f"for {batch} examples and {hidden_size} hidden units h_t should have shape ({batch}, {hidden_size}), "
           f"got {tuple(result.shape)}. Each gate is one of the three [B, H] chunks of x_t @ weight_ih.T + bias_ih.")
    expected = _cell(*args)
    if _close(result, expected):
        return passed("r and z from sigmoids, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), "
                      "h_t = (1 - z) * n + z * h_prev.")
    wrong_answers = {
        "z and 1 - z are swapped. In PyTorch's convention the update gate z says how much of the OLD state to "
        "keep: h_t = (1 - z) * n + z * h_prev.": _cell(*args, convention="swapped"),
        "you returned the candidate n; the new state mixes it with the old one: h_t = (1 - z) * n + z * h_prev.":
            _cell(*args, interpolate=False),
        "the reset and update gates are swapped: PyTorch stacks the blocks in the order r, z, n, so "
        "r is the first chunk and z the second.": _cell(*args, order=(1, 0, 2)),
        "the gate order is wrong: PyTorch stacks r, z, n (reset, update, new), in that order.":
            _cell(*args, order=(2, 1, 0)),
        "that is the GRU of Cho et al. (2014), with r applied to h before the matrix. PyTorch applies r after "
        "it: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).": _cell(*args, reset_where="before"),
        "b_hn belongs inside the reset gate's product: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).":
            _cell(*args, reset_where="bias outside"),
        "the reset gate is missing from the candidate: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).":
            _cell(*args, reset_where="nowhere"),
    }
    for hint, wrong in wrong_answers.items():
        expect(not _close(result, wrong), hint)
    expect(False, "h_t is wrong for some examples. Split x_t @ weight_ih.T + bias_ih and h_prev @ weight_hh.T + "
                  "bias_hh into (r, z, n) chunks; r = sigmoid(i_r + h_r), z = sigmoid(i_z + h_z), "
                  "n = tanh(i_n + r * h_n), h_t = (1 - z) * n + z * h_prev.")
    raise AssertionError("unreachable")


# --- exercise 2: unroll over a sequence -------------------------------------------------------

def check_gru_unroll(gru_unroll) -> bool:
    """``gru_unroll(inputs [B, T, I], h_0 [B, H], weight_ih, weight_hh, bias_ih, bias_hh)`` returns every
    state ``h_1 ... h_T`` as ``[B, T, H]``; it must agree with ``nn.GRU(batch_first=True)``."""
    generator = fresh_generator()
    batch, steps, input_size, hidden_size = 3, 6, 2, 5
    inputs, h_0, weights = _random_gru(generator, batch, steps, input_size, hidden_size)
    result = call_answer(gru_unroll, inputs.clone(), h_0.clone(), *(w.clone() for w in weights), what="gru_unroll",
                         explain_crashes=True,
                         hint="inputs has shape [B, T, I]: the inputs at step t are inputs[:, t], not inputs[t].")
    result = _as_float64(result, "gru_unroll")
    expect(tuple(result.shape) != (batch, hidden_size),
           "you returned one state per sequence (the last one, probably); return the states of every step, "
           f"shape ({batch}, {steps}, {hidden_size}): collect them in a list and torch.stack(states, dim=1).")
    expect(tuple(result.shape) != (batch, steps + 1, hidden_size),
           f"you returned {steps + 1} states per sequence: h_0 is the starting point, not an output. "
           f"Return h_1 ... h_T, shape ({batch}, {steps}, {hidden_size}), as nn.GRU does.")
    expect(tuple(result.shape) != (steps, batch, hidden_size),
           f"the time and batch dimensions are swapped: stack along dim=1 to get ({batch}, {steps}, {hidden_size}), "
           "batch first.")
    expect(tuple(result.shape) == (batch, steps, hidden_size),
           f"the states should have shape ({batch}, {steps}, {hidden_size}) (batch, time, hidden), "
           f"got {tuple(result.shape)}.")
    expected = _unroll(inputs, h_0, *weights)
    if not _close(result, expected):
        expect(not _close(result, _unroll(inputs, h_0, *weights, carry=False)),
               "every step starts again from h_0: carry the state along, feeding each new h_t into the next step.")
        expect(_close(result[:, 0], expected[:, 0]),
               "already the first state h_1 is wrong: it is gru_cell(inputs[:, 0], h_0, ...). "
               "Does your gru_cell pass its check?")
        expect(False, "the first state is right but later ones are not: step t reads inputs[:, t] and the state "
                      "from step t - 1.")
    torch_gru = nn.GRU(input_size, hidden_size, batch_first=True).double()
    with torch.no_grad():
        for parameter, value in zip(torch_gru.parameters(), weights):
            parameter.copy_(value)
        torch_states, _ = torch_gru(inputs, h_0.unsqueeze(0))
    expect(_close(result, torch_states), "your states differ from nn.GRU's with the same weights.")
    return passed("every state h_1 ... h_T, the same as nn.GRU's output.")


# --- exercise 3: count the parameters of nn.GRU -----------------------------------------------

def _parameter_count(input_size, hidden_size, num_layers=1, bidirectional=False, gates=3, biases=2):
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * hidden_size
        total += directions * gates * hidden_size * (layer_input + hidden_size + biases)
    return total


def _parameter_count_mistakes(input_size, hidden_size, num_layers, bidirectional):
    """The counts that typical mistakes give, each with its hint (only the mistakes these settings can show)."""
    directions = 2 if bidirectional else 1
    blocks = "A GRU has three blocks, r, z and n, stacked in weight_ih ([3H, I]) and weight_hh ([3H, H])."
    mistakes = {
        f"that is an LSTM's count: it has four gate blocks (i, f, g, o). {blocks}":
            _parameter_count(input_size, hidden_size, num_layers, bidirectional, gates=4),
        f"that is a plain RNN's count. {blocks}": _parameter_count(input_size, hidden_size, num_layers, bidirectional, gates=1),
        "each layer has two bias vectors, bias_ih and bias_hh, of 3H numbers each.":
            _parameter_count(input_size, hidden_size, num_layers, bidirectional, biases=1),
        "the biases are missing: bias_ih and bias_hh, 3H numbers each, per layer and direction.":
            _parameter_count(input_size, hidden_size, num_layers, bidirectional, biases=0),
    }
    if num_layers > 1:
        mistakes["only the first layer reads the input; every later layer reads the states of the layer below, so "
                 "its weight_ih has shape [3H, H] (or [3H, 2H] when bidirectional)."] = \
            directions * num_layers * 3 * hidden_size * (input_size + hidden_size + 2)
    if bidirectional:
        mistakes["bidirectional doubles every layer: one set of weights reads forward, another backward."] = \
            _parameter_count(input_size, hidden_size, num_layers, False)
    if bidirectional and num_layers > 1:
        mistakes["a bidirectional layer outputs both directions side by side, 2H numbers per step, so the layers "
                 "above it have weight_ih of shape [3H, 2H]."] = \
            sum(2 * 3 * hidden_size * ((input_size if layer == 0 else hidden_size) + hidden_size + 2)
                for layer in range(num_layers))
    return mistakes


def check_gru_parameter_count(gru_parameter_count) -> bool:
    """``gru_parameter_count(input_size, hidden_size, num_layers=1, bidirectional=False)`` returns the number
    of parameters of ``nn.GRU`` with those settings."""
    generator = fresh_generator()

    def draw(low, high):
        return int(torch.randint(low, high, (), generator=generator))

    cases = [  # in this order, so that the hint points at the first thing that goes wrong
        ("one layer", dict(num_layers=1, bidirectional=False)),
        ("stacked layers", dict(num_layers=draw(2, 5), bidirectional=False)),
        ("bidirectional, one layer", dict(num_layers=1, bidirectional=True)),
        ("bidirectional, stacked", dict(num_layers=draw(2, 4), bidirectional=True)),
    ]
    for case, settings in cases:
        num_layers, bidirectional = settings["num_layers"], settings["bidirectional"]
        while True:  # draw sizes for which every typical mistake gives its own, wrong, number
            input_size, hidden_size = draw(2, 40), draw(2, 40)
            expected = _parameter_count(input_size, hidden_size, **settings)
            mistakes = _parameter_count_mistakes(input_size, hidden_size, num_layers, bidirectional)
            if len({expected, *mistakes.values()}) == len(mistakes) + 1:
                break
        answer = answer_as_int(call_answer(gru_parameter_count, input_size, hidden_size, what="gru_parameter_count",
                                           **settings), "gru_parameter_count")
        torch_count = sum(p.numel() for p in nn.GRU(input_size, hidden_size, **settings).parameters())
        assert expected == torch_count, (settings, expected, torch_count)  # the reference itself
        if answer == expected:
            continue
        where = f"for {case} (input_size={input_size}, hidden_size={hidden_size}, {settings})"
        for hint, wrong in mistakes.items():
            expect(answer != wrong, f"{where}: {hint}")
        expect(False, f"{where}: nn.GRU has {torch_count} parameters; you counted {answer}. "
                      "Per layer and direction: 3H * (input of that layer + H + 2).")
    return passed("per layer and direction, 3H(I' + H + 2), where I' is what the layer reads: "
                  "the input, then H states (2H when bidirectional). Three quarters of an LSTM.")


# --- exercise 4: a GRU whose update gate is shut is an RNN ------------------------------------

def _gru_with_fixed_gates(generator, input_size, hidden_size, saturation=40.0):
    """A random one-layer nn.GRU (float64, batch_first) whose update gate is always 0 and reset gate always 1:
    the r and z rows of both weight matrices are zero and their biases are +-saturation."""
    gru = nn.GRU(input_size, hidden_size, batch_first=True).double()
    bound = 1.5 / math.sqrt(hidden_size)
    with torch.no_grad():
        for parameter in gru.parameters():
            parameter.copy_((torch.rand(parameter.shape, generator=generator, dtype=torch.float64) * 2 - 1) * bound)
        rows_r, rows_z = slice(0, hidden_size), slice(hidden_size, 2 * hidden_size)
        for weight in (gru.weight_ih_l0, gru.weight_hh_l0):
            weight[rows_r] = 0.0
            weight[rows_z] = 0.0
        gru.bias_ih_l0[rows_r], gru.bias_hh_l0[rows_r] = saturation, 0.0  # r = sigmoid(40) = 1
        gru.bias_ih_l0[rows_z], gru.bias_hh_l0[rows_z] = -saturation, 0.0  # z = sigmoid(-40) = 4e-18
    return gru


def check_rnn_from_gru(rnn_from_gru) -> bool:
    """``rnn_from_gru(gru)`` takes a one-layer ``nn.GRU`` (batch_first) and returns an ``nn.RNN`` (tanh,
    batch_first) that computes what the GRU computes when its update gate is 0 and its reset gate 1."""
    generator = fresh_generator()
    batch, steps, input_size, hidden_size = 3, 7, 4, 5
    gru = _gru_with_fixed_gates(generator, input_size, hidden_size)
    original = {name: value.clone() for name, value in gru.state_dict().items()}
    rnn = call_answer(rnn_from_gru, gru, what="rnn_from_gru", explain_crashes=True,
                      hint="nn.RNN(input_size, hidden_size, batch_first=True) has weight_ih_l0 [H, I], weight_hh_l0 "
                           "[H, H] and two biases [H]; copy the right rows of the GRU's weights into them "
                           "under torch.no_grad().")
    expect(isinstance(rnn, nn.RNN), f"rnn_from_gru should return an nn.RNN, got {type(rnn).__name__}.")
    expect(all(torch.equal(value, gru.state_dict()[name]) for name, value in original.items()),
           "rnn_from_gru changed the GRU's weights: copy from it, and leave it as it was.")
    expect(rnn.nonlinearity == "tanh", "the candidate uses tanh: build nn.RNN with its default nonlinearity, tanh.")
    expect(rnn.batch_first, "the GRU reads [B, T, I] (batch_first=True); give the RNN batch_first=True too.")
    expect(rnn.num_layers == 1 and not rnn.bidirectional, "one layer, one direction, like the GRU.")
    expect(rnn.weight_ih_l0.shape == (hidden_size, input_size) and rnn.weight_hh_l0.shape == (hidden_size, hidden_size),
           f"the RNN should have input_size={input_size} and hidden_size={hidden_size}, the GRU's sizes; "
           f"its weight_ih_l0 has shape {tuple(rnn.weight_ih_l0.shape)}.")
    rnn = rnn.double()
    inputs = torch.randn(batch, steps, input_size, generator=generator, dtype=torch.float64)
    h_0 = torch.randn(1, batch, hidden_size, generator=generator, dtype=torch.float64) * 0.5
    with torch.no_grad():
        gru_states, _ = gru(inputs, h_0)
        rnn_states, _ = rnn(inputs, h_0)
    if _close(rnn_states, gru_states):
        return passed("with z = 0 and r = 1, h_t = tanh(W_in x_t + b_in + W_hn h_{t-1} + b_hn): a plain RNN, "
                      "whose weights are the GRU's third block, n.")
    rows_taken = {}
    for block, name in enumerate(("r", "z", "n")):
        rows = slice(block * hidden_size, (block + 1) * hidden_size)
        rows_taken[name] = all(torch.allclose(getattr(rnn, weight).detach(), getattr(gru, weight).detach()[rows])
                               for weight in ("weight_hh_l0", "bias_ih_l0"))
    expect(not (rows_taken["r"] or rows_taken["z"]),
           "you copied the rows of the " + ("reset" if rows_taken["r"] else "update") + " gate; the candidate n "
           "is the third block, rows 2H to 3H of weight_ih_l0, weight_hh_l0 and both biases.")
    hidden = slice(2 * hidden_size, 3 * hidden_size)
    expect(torch.allclose(rnn.weight_hh_l0.detach(), gru.weight_hh_l0.detach()[hidden]),
           "weight_hh_l0 of your RNN is not the GRU's W_hn, rows 2H to 3H of gru.weight_hh_l0.")
    for name in ("weight_ih_l0", "bias_ih_l0", "bias_hh_l0"):
        expect(torch.allclose(getattr(rnn, name).detach(), getattr(gru, name).detach()[hidden]),
               f"{name} of your RNN should be rows 2H to 3H of the GRU's {name} (the candidate's block).")
    expect(False, "the RNN's states differ from the GRU's with z = 0 and r = 1.")
    raise AssertionError("unreachable")
