"""Checks for the exercises of ``module3_rnns/solutions/04_lstm.ipynb``.

Every check builds fresh random inputs, computes the right answer itself and
compares, so a hard-coded answer does not pass; a wrong answer gets an
explanation of what went wrong and a hint (``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from utils.checks import answer_as_int, call_answer, expect, fresh_generator, passed

__all__ = [
    "check_lstm_cell_step",
    "check_lstm_unroll",
    "check_lstm_parameter_count",
    "check_forget_bias_for_memory",
    "check_set_forget_bias",
]

GATE_NAMES = "ifgo"  # PyTorch's order of the four blocks in weight_ih, weight_hh, bias_ih and bias_hh


# --- reference answers and random inputs ------------------------------------------------------

def _cell(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, *, order="ifgo", candidate=torch.tanh,
          squash_memory=True, use_bias_hh=True, use_input_gate=True):
    """PyTorch's LSTM step, returning (h_t, c_t); the keywords make the typical mistakes, for the hints.
    ``order`` names the gate that each of the four stacked blocks is read as."""
    pre_activations = x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + (bias_hh if use_bias_hh else 0)
    blocks = dict(zip(order, pre_activations.chunk(4, dim=-1)))
    i, f, o = torch.sigmoid(blocks["i"]), torch.sigmoid(blocks["f"]), torch.sigmoid(blocks["o"])
    g = candidate(blocks["g"])
    c_t = f * c_prev + (i * g if use_input_gate else g)
    h_t = o * (torch.tanh(c_t) if squash_memory else c_t)
    return h_t, c_t


def _unroll(inputs, h_0, c_0, weight_ih, weight_hh, bias_ih, bias_hh, *, carry=True):
    h, c, outputs, memories = h_0, c_0, [], []
    for t in range(inputs.shape[1]):
        h, c = _cell(inputs[:, t], h if carry else h_0, c if carry else c_0, weight_ih, weight_hh, bias_ih, bias_hh)
        outputs.append(h)
        memories.append(c)
    return torch.stack(outputs, dim=1), h, c, torch.stack(memories, dim=1)


def _random_lstm(generator, batch, steps, input_size, hidden_size):
    """float64 inputs [B, T, I], h_0 and c_0 [B, H], and stacked weights (i, f, g, o) on a scale a little larger
    than nn.LSTM's, so that every gate matters."""
    bound = 2.0 / math.sqrt(hidden_size)

    def uniform(*shape):
        return (torch.rand(*shape, generator=generator, dtype=torch.float64) * 2 - 1) * bound

    inputs = torch.randn(batch, steps, input_size, generator=generator, dtype=torch.float64)
    h_0 = torch.randn(batch, hidden_size, generator=generator, dtype=torch.float64) * 0.5
    c_0 = torch.randn(batch, hidden_size, generator=generator, dtype=torch.float64)
    weights = (uniform(4 * hidden_size, input_size), uniform(4 * hidden_size, hidden_size),
               uniform(4 * hidden_size), uniform(4 * hidden_size))
    return inputs, h_0, c_0, weights


def _as_float64(value, what: str) -> torch.Tensor:
    expect(isinstance(value, torch.Tensor), f"{what} should be a tensor, got {type(value).__name__}.")
    return value.detach().to("cpu", torch.float64)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-5)  # float32 answers pass too


def _pair(result, what: str, first: str, second: str):
    expect(isinstance(result, (tuple, list)) and len(result) == 2,
           f"{what} should return two things, `return {first}, {second}`; got "
           f"{type(result).__name__ if not isinstance(result, (tuple, list)) else f'{len(result)} things'}.")
    return result


# --- exercise 1: one step of the LSTM cell ----------------------------------------------------

def check_lstm_cell_step(lstm_cell_step) -> bool:
    """``lstm_cell_step(x_t [B, I], h_prev [B, H], c_prev [B, H], weight_ih [4H, I], weight_hh [4H, H],
    bias_ih [4H], bias_hh [4H])`` returns ``(h_t, c_t)``, each ``[B, H]``: PyTorch's LSTM step, with the gates
    stacked in the order i, f, g, o."""
    generator = fresh_generator()
    batch, input_size, hidden_size = 5, 3, 4  # all different, so a mixed-up shape shows
    inputs, h_prev, c_prev, (weight_ih, weight_hh, bias_ih, bias_hh) = _random_lstm(
        generator, batch, 1, input_size, hidden_size)
    args = (inputs[:, 0], h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh)
    result = call_answer(lstm_cell_step, *(a.clone() for a in args), what="lstm_cell_step", explain_crashes=True,
                         hint="rows are examples, so W x becomes x_t @ weight_ih.T ([B, I] @ [I, 4H] = [B, 4H]); "
                              "then .chunk(4, dim=-1) splits the four gates.")
    h_t, c_t = _pair(result, "lstm_cell_step", "h_t", "c_t")
    h_t, c_t = _as_float64(h_t, "h_t"), _as_float64(c_t, "c_t")
    for name, value in (("h_t", h_t), ("c_t", c_t)):
        expect(tuple(value.shape) == (batch, hidden_size),
               f"for {batch} examples and {hidden_size} hidden units {name} should have shape ({batch}, {hidden_size}), "
               f"got {tuple(value.shape)}. Each gate is one of the four [B, H] chunks of the pre-activations.")
    expected_h, expected_c = _cell(*args)
    if _close(h_t, expected_h) and _close(c_t, expected_c):
        return passed("i, f, o from sigmoids, g from tanh; c_t = f * c_prev + i * g and h_t = o * tanh(c_t).")
    expect(not (_close(h_t, expected_c) and _close(c_t, expected_h)),
           "h_t and c_t are swapped: return h_t first, then c_t, as nn.LSTMCell does.")
    for order in ("".join(p) for p in itertools.permutations(GATE_NAMES)):
        if order != GATE_NAMES:
            wrong_h, wrong_c = _cell(*args, order=order)
            expect(not (_close(h_t, wrong_h) and _close(c_t, wrong_c)),
                   f"you read the four blocks as {', '.join(order)}; PyTorch stacks them as i, f, g, o: rows 0 to H-1 "
                   "are the input gate, H to 2H-1 the forget gate, 2H to 3H-1 the candidate, 3H to 4H-1 the output gate.")
    mistakes = {
        "h_t = o * tanh(c_t): the memory is squashed by tanh before the output gate scales it.": dict(squash_memory=False),
        "the candidate g uses tanh, not the sigmoid: it is the new content, between -1 and 1; only i, f and o are "
        "gates (sigmoids).": dict(candidate=torch.sigmoid),
        "bias_hh is missing: the pre-activations are x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh.":
            dict(use_bias_hh=False),
        "the input gate is missing from the memory update: c_t = f * c_prev + i * g.": dict(use_input_gate=False),
    }
    for hint, keywords in mistakes.items():
        wrong_h, wrong_c = _cell(*args, **keywords)
        expect(not (_close(h_t, wrong_h) and _close(c_t, wrong_c)), hint)
    expect(not _close(c_t, expected_c), "c_t is right, but h_t is not: h_t = o * tanh(c_t), where o is the sigmoid of "
                                        "the fourth block.")
    expect(False, "c_t is wrong. Split x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh into four chunks "
                  "(i, f, g, o); sigmoid for i, f, o and tanh for g; then c_t = f * c_prev + i * g.")
    raise AssertionError("unreachable")


# --- exercise 2: unroll over a sequence -------------------------------------------------------

def check_lstm_unroll(lstm_unroll) -> bool:
    """``lstm_unroll(inputs [B, T, I], h_0 [B, H], c_0 [B, H], weight_ih, weight_hh, bias_ih, bias_hh)`` returns
    ``(outputs, (h_T, c_T))``: every hidden state ``h_1 ... h_T`` as ``[B, T, H]`` and the last hidden and cell
    states, each ``[B, H]``. It must agree with ``nn.LSTM(batch_first=True)``."""
    generator = fresh_generator()
    batch, steps, input_size, hidden_size = 3, 6, 2, 5
    inputs, h_0, c_0, weights = _random_lstm(generator, batch, steps, input_size, hidden_size)
    result = call_answer(lstm_unroll, inputs.clone(), h_0.clone(), c_0.clone(), *(w.clone() for w in weights),
                         what="lstm_unroll", explain_crashes=True,
                         hint="inputs has shape [B, T, I]: the inputs at step t are inputs[:, t], not inputs[t].")
    outputs, state = _pair(result, "lstm_unroll", "outputs", "(h_T, c_T)")
    outputs = _as_float64(outputs, "outputs")
    h_last, c_last = _pair(state, "the second thing lstm_unroll returns", "h_T", "c_T")
    h_last, c_last = _as_float64(h_last, "h_T"), _as_float64(c_last, "c_T")
    expect(tuple(outputs.shape) != (steps, batch, hidden_size),
           f"the time and batch dimensions of outputs are swapped: stack along dim=1 to get "
           f"({batch}, {steps}, {hidden_size}), batch first.")
    expect(tuple(outputs.shape) != (batch, steps + 1, hidden_size),
           f"outputs has {steps + 1} states per sequence: h_0 is the starting point, not an output. "
           f"Return h_1 ... h_T, shape ({batch}, {steps}, {hidden_size}), as nn.LSTM does.")
    expect(tuple(outputs.shape) == (batch, steps, hidden_size),
           f"outputs should have shape ({batch}, {steps}, {hidden_size}) (batch, time, hidden), got {tuple(outputs.shape)}.")
    for name, value in (("h_T", h_last), ("c_T", c_last)):
        expect(tuple(value.shape) == (batch, hidden_size),
               f"{name} should have shape ({batch}, {hidden_size}): the last step's state of each sequence; "
               f"got {tuple(value.shape)}.")
    expected_outputs, expected_h, expected_c, expected_memories = _unroll(inputs, h_0, c_0, *weights)
    if not _close(outputs, expected_outputs):
        expect(not _close(outputs, expected_memories),
               "outputs holds the cell states c_t; an LSTM's outputs are its hidden states h_t (nn.LSTM's output).")
        carried_nothing = _unroll(inputs, h_0, c_0, *weights, carry=False)[0]
        expect(not _close(outputs, carried_nothing),
               "every step starts again from h_0 and c_0: carry both states along, feeding each new (h_t, c_t) "
               "into the next step.")
        zero = torch.zeros_like(h_0)
        expect(not _close(outputs, _unroll(inputs, zero, zero, *weights)[0]),
               "you started from zeros: start from the h_0 and c_0 you were given.")
        expect(_close(outputs[:, 0], expected_outputs[:, 0]),
               "already the first output h_1 is wrong: it is the h of lstm_cell_step(inputs[:, 0], h_0, c_0, ...). "
               "Does your lstm_cell_step pass its check?")
        expect(False, "the first output is right but later ones are not: step t reads inputs[:, t] and the states "
                      "(h, c) from step t - 1.")
    expect(not (_close(h_last, expected_c) and _close(c_last, expected_h)),
           "h_T and c_T are swapped: return (h_T, c_T), in that order, as nn.LSTM returns (h_n, c_n).")
    expect(_close(h_last, expected_h), "h_T should be the last hidden state, the same as outputs[:, -1].")
    expect(_close(c_last, expected_c), "c_T should be the cell state after the last step.")
    torch_lstm = nn.LSTM(input_size, hidden_size, batch_first=True).double()
    with torch.no_grad():
        for parameter, value in zip(torch_lstm.parameters(), weights):
            parameter.copy_(value)
        torch_outputs, (torch_h, torch_c) = torch_lstm(inputs, (h_0.unsqueeze(0), c_0.unsqueeze(0)))
    expect(_close(outputs, torch_outputs) and _close(h_last, torch_h[0]) and _close(c_last, torch_c[0]),
           "your outputs differ from nn.LSTM's with the same weights.")
    return passed("every hidden state h_1 ... h_T, and (h_T, c_T): the same as nn.LSTM's output and (h_n, c_n).")


# --- exercise 3: count the parameters of nn.LSTM ----------------------------------------------

def _parameter_count(input_size, hidden_size, num_layers=1, bidirectional=False, gates=4, biases=2):
    directions = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * hidden_size
        total += directions * gates * hidden_size * (layer_input + hidden_size + biases)
    return total


def check_lstm_parameter_count(lstm_parameter_count) -> bool:
    """``lstm_parameter_count(input_size, hidden_size, num_layers=1, bidirectional=False)`` returns the number
    of parameters of ``nn.LSTM`` with those settings."""
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
        input_size, hidden_size = draw(2, 40), draw(2, 40)
        while hidden_size == input_size:
            hidden_size = draw(2, 40)
        answer = answer_as_int(call_answer(lstm_parameter_count, input_size, hidden_size, what="lstm_parameter_count",
                                           **settings), "lstm_parameter_count")
        expected = _parameter_count(input_size, hidden_size, **settings)
        if answer == expected:
            continue
        torch_count = sum(p.numel() for p in nn.LSTM(input_size, hidden_size, **settings).parameters())
        where = f"for {case} (input_size={input_size}, hidden_size={hidden_size}, {settings})"
        num_layers, bidirectional = settings["num_layers"], settings["bidirectional"]
        for gates, name in ((1, "a plain RNN's"), (3, "a GRU's: it has three blocks")):
            expect(answer != _parameter_count(input_size, hidden_size, num_layers, bidirectional, gates=gates),
                   f"{where}: that is {name}. An LSTM has four blocks, i, f, g and o, stacked in weight_ih "
                   "([4H, I]) and weight_hh ([4H, H]).")
        expect(answer != _parameter_count(input_size, hidden_size, num_layers, bidirectional, biases=1),
               f"{where}: each layer has two bias vectors, bias_ih and bias_hh, of 4H numbers each.")
        expect(answer != _parameter_count(input_size, hidden_size, num_layers, bidirectional, biases=0),
               f"{where}: the biases are missing: bias_ih and bias_hh, 4H numbers each, per layer and direction.")
        all_from_input = (2 if bidirectional else 1) * num_layers * 4 * hidden_size * (input_size + hidden_size + 2)
        expect(not (num_layers > 1 and answer == all_from_input),
               f"{where}: only the first layer reads the input; every later layer reads the hidden states of the "
               "layer below, so its weight_ih has shape [4H, H] (or [4H, 2H] when bidirectional).")
        expect(not (bidirectional and answer == _parameter_count(input_size, hidden_size, num_layers, False)),
               f"{where}: bidirectional doubles every layer: one set of weights reads forward, another backward.")
        upper_reads_h = sum(2 * 4 * hidden_size * ((input_size if layer == 0 else hidden_size) + hidden_size + 2)
                            for layer in range(num_layers))
        expect(not (bidirectional and num_layers > 1 and answer == upper_reads_h),
               f"{where}: a bidirectional layer outputs both directions side by side, 2H numbers per step, "
               "so the layers above it have weight_ih of shape [4H, 2H].")
        expect(False, f"{where}: nn.LSTM has {torch_count} parameters; you counted {answer}. "
                      "Per layer and direction: 4H * (input of that layer + H + 2).")
    return passed("per layer and direction, 4H(I' + H + 2), where I' is what the layer reads: "
                  "the input, then H states (2H when bidirectional). Four times a plain RNN.")


# --- exercise 4: the forget bias for a memory of tau steps ------------------------------------

def check_forget_bias_for_memory(forget_bias_for_memory) -> bool:
    """``forget_bias_for_memory(tau)`` returns the forget-gate bias b for which a memory lasts tau steps,
    1 / (1 - sigmoid(b)) = tau, that is b = log(tau - 1)."""
    generator = fresh_generator()
    taus = [2.0, float(torch.randint(3, 20, (), generator=generator)),
            float(torch.empty((), dtype=torch.float64).uniform_(20, 500, generator=generator))]
    for tau in taus:
        value = call_answer(forget_bias_for_memory, tau, what="forget_bias_for_memory", explain_crashes=True,
                            hint="math.log works on a Python number: math.log(tau - 1).")
        if isinstance(value, torch.Tensor):
            expect(value.numel() == 1, f"forget_bias_for_memory should return one number, got shape {tuple(value.shape)}.")
            value = value.item()
        expect(isinstance(value, (int, float)) and not isinstance(value, bool),
               f"forget_bias_for_memory should return a number, got {type(value).__name__}.")
        expected = math.log(tau - 1)
        if math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9):
            continue
        where = f"for tau = {tau:g}"
        expect(not math.isclose(value, 1 - 1 / tau, rel_tol=1e-9),
               f"{where}: you returned the forget gate's value f = 1 - 1/tau. Return its bias b, the number whose "
               "sigmoid is f: b = log(f / (1 - f)).")
        expect(not math.isclose(value, math.log(tau), rel_tol=1e-9),
               f"{where}: with b = log(tau), f = sigmoid(b) = tau / (1 + tau) and the memory lasts 1 / (1 - f) = "
               "1 + tau steps, one too many. Solve 1 / (1 - sigmoid(b)) = tau for b.")
        expect(not math.isclose(value, -expected, rel_tol=1e-9, abs_tol=1e-9),
               f"{where}: the sign is flipped: a long memory needs f close to 1, so a large positive bias.")
        memory = 1 / (1 - 1 / (1 + math.exp(-value)))
        expect(False, f"{where}: sigmoid({value:.4g}) = {1 / (1 + math.exp(-value)):.4g}, a memory of {memory:.4g} "
                      f"steps, not {tau:g}. Solve 1 / (1 - sigmoid(b)) = tau for b; sigmoid(b) = 1 / (1 + exp(-b)).")
    return passed("b = log(tau - 1): then f = sigmoid(b) = 1 - 1/tau, and a memory lasts 1 / (1 - f) = tau steps.")


# --- exercise 5: set the forget gate's bias of an nn.LSTM -------------------------------------

def check_set_forget_bias(set_forget_bias_) -> bool:
    """``set_forget_bias_(lstm, value)`` changes an ``nn.LSTM`` in place so that the forget gate's bias,
    bias_ih + bias_hh in rows H to 2H - 1, is ``value`` in every layer; nothing else changes."""
    generator = fresh_generator()
    input_size, hidden_size, num_layers = 3, 5, 2
    value = float(torch.empty((), dtype=torch.float64).uniform_(0.5, 5, generator=generator))
    lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers, batch_first=True)
    with torch.no_grad():
        for parameter in lstm.parameters():  # fresh random values, from the check's own generator
            parameter.copy_((torch.rand(parameter.shape, generator=generator) * 2 - 1) / math.sqrt(hidden_size))
    before = {name: parameter.detach().clone() for name, parameter in lstm.named_parameters()}
    objects = {name: parameter for name, parameter in lstm.named_parameters()}
    call_answer(set_forget_bias_, lstm, value, what="set_forget_bias_", explain_crashes=True,
                hint="the biases are parameters that require gradients: change them inside `with torch.no_grad():`.")
    after = dict(lstm.named_parameters())
    expect(set(after) == set(before), "set_forget_bias_ should not add or remove parameters of the LSTM.")
    expect(all(after[name] is objects[name] for name in objects),
           "change the bias values in place (e.g. `bias[H:2 * H] = value` inside torch.no_grad()), do not replace the "
           "parameters: an optimiser built before would still hold, and train, the old ones.")
    expect(any(not torch.equal(after[name].detach(), before[name]) for name in before),
           "nothing changed: change the biases in place, inside torch.no_grad(), e.g. "
           "`lstm.bias_hh_l0[H:2 * H] = value` (and return nothing, or the LSTM).")
    rows = {"input": slice(0, hidden_size), "forget": slice(hidden_size, 2 * hidden_size),
            "candidate": slice(2 * hidden_size, 3 * hidden_size), "output": slice(3 * hidden_size, 4 * hidden_size)}
    for name in before:
        if name.startswith("weight"):
            expect(torch.equal(after[name].detach(), before[name]),
                   f"{name} changed: only the forget gate's biases should change.")
    for layer in range(num_layers):
        total = (after[f"bias_ih_l{layer}"] + after[f"bias_hh_l{layer}"]).detach()
        old_total = before[f"bias_ih_l{layer}"] + before[f"bias_hh_l{layer}"]
        forget_total = total[rows["forget"]]
        if layer > 0 and torch.equal(total, old_total):
            expect(False, f"layer {layer} is unchanged: set the forget bias in every layer, bias_ih_l0 and bias_hh_l0, "
                          "then bias_ih_l1 and bias_hh_l1, ... (lstm.num_layers of them; getattr(lstm, name)).")
        changed_gates = [gate for gate, rows_of_gate in rows.items()
                         if not torch.equal(after[f"bias_ih_l{layer}"].detach()[rows_of_gate], before[f"bias_ih_l{layer}"][rows_of_gate])
                         or not torch.equal(after[f"bias_hh_l{layer}"].detach()[rows_of_gate], before[f"bias_hh_l{layer}"][rows_of_gate])]
        wrong_gates = [gate for gate in changed_gates if gate != "forget"]
        expect(not wrong_gates,
               f"you changed the {' and '.join(wrong_gates)} gate's rows of the biases in layer {layer}. PyTorch's order "
               "is i, f, g, o, so the forget gate is the second block: rows H to 2H - 1, `[H:2 * H]`.")
        expect(not torch.allclose(forget_total, torch.full_like(forget_total, 2 * value)),
               f"in layer {layer} the forget gate sees bias_ih + bias_hh = 2 x value: PyTorch adds the two biases. "
               "Set one of them to value and the other's forget rows to 0.")
        expect(torch.allclose(forget_total, torch.full_like(forget_total, value), atol=1e-6),
               f"in layer {layer} the forget gate's bias, bias_ih + bias_hh in rows H to 2H - 1, should be {value:.4g}; "
               f"it is {[round(v, 3) for v in forget_total.tolist()]}. PyTorch adds the two biases, so set one "
               "to value and the other's forget rows to 0.")
    return passed(f"every layer's forget gate now starts at sigmoid({value:.3g}) = {1 / (1 + math.exp(-value)):.3f}; "
                  "nothing else changed.")
