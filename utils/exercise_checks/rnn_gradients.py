"""Checks for the exercises of ``module3_rnns/solutions/03_vanishing_exploding_gradients.ipynb``.

Every check builds fresh random inputs, computes the right answer itself and
compares, so a hard-coded answer does not pass; a wrong answer gets an
explanation of what went wrong and a hint (``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from utils.checks import (
    answer_as_float64,
    answer_as_number,
    call_answer,
    expect,
    fresh_generator,
    passed,
)

__all__ = [
    "check_memory_task",
    "check_hidden_gradient_norms",
    "check_spectrum",
    "check_clip_grad_norm",
]


# --- exercise 1: the long-range memory task ---------------------------------------------------

def _memory_task_result(make_memory_task, num_sequences, length, vocab_size, seed):
    result = call_answer(make_memory_task, num_sequences, length, vocab_size, torch.Generator().manual_seed(seed),
                         what="make_memory_task", explain_crashes=True,
                         hint="torch.randint(low, high, size, generator=generator) draws integers in [low, high).")
    expect(isinstance(result, (tuple, list)) and len(result) == 2,
           "make_memory_task should return two things: `return tokens, targets`.")
    tokens, targets = result
    for name, value in (("tokens", tokens), ("targets", targets)):
        expect(isinstance(value, torch.Tensor), f"{name} should be a tensor, got {type(value).__name__}.")
    return tokens.detach().cpu(), targets.detach().cpu()


def check_memory_task(make_memory_task) -> bool:
    """``make_memory_task(num_sequences, length, vocab_size, generator)`` returns ``(tokens [N, length] int64,
    targets [N] int64)``: the first token of each row is a key in ``0 .. vocab_size // 2 - 1``, every later
    token a distractor in ``vocab_size // 2 .. vocab_size - 1``, all drawn uniformly from ``generator``,
    and the target is the first token."""
    generator = fresh_generator()
    num_sequences = 3000
    length = int(torch.randint(6, 12, (), generator=generator))
    vocab_size = 2 * int(torch.randint(3, 6, (), generator=generator))
    num_keys = vocab_size // 2
    seed = int(torch.randint(0, 2**31 - 1, (), generator=generator))
    tokens, targets = _memory_task_result(make_memory_task, num_sequences, length, vocab_size, seed)

    expect(tuple(tokens.shape) == (num_sequences, length),
           f"for {num_sequences} sequences of length {length}, tokens should have shape ({num_sequences}, {length}) "
           f"(one sequence per row), got {tuple(tokens.shape)}.")
    expect(tuple(targets.shape) == (num_sequences,),
           f"targets should have shape ({num_sequences},), one class per sequence, got {tuple(targets.shape)}.")
    expect(tokens.dtype == torch.int64 and targets.dtype == torch.int64,
           f"tokens and targets are token ids and class ids: make them int64 (torch.long), got {tokens.dtype} "
           f"and {targets.dtype}. (torch.randint gives int64.)")
    expect(not torch.equal(targets, tokens[:, -1]) or length == 1,
           "the targets are the *last* tokens; the task is to remember the *first* one: targets = tokens[:, 0].")
    expect(torch.equal(targets, tokens[:, 0]), "the target of each sequence should be its first token, tokens[:, 0].")

    keys, distractors = tokens[:, 0], tokens[:, 1:]
    expect(bool((keys >= 0).all() and (keys < num_keys).all()),
           f"with vocab_size={vocab_size} the keys (first tokens) should be the first half of the vocabulary, "
           f"0 .. {num_keys - 1}; got values from {int(keys.min())} to {int(keys.max())}.")
    expect(bool((distractors >= num_keys).all() and (distractors < vocab_size).all()),
           f"with vocab_size={vocab_size} every token after the first should be a distractor from the second half "
           f"of the vocabulary, {num_keys} .. {vocab_size - 1}; got values from {int(distractors.min())} to "
           f"{int(distractors.max())}. Distractors must never look like a key.")
    key_counts = torch.bincount(keys, minlength=num_keys).double() / num_sequences
    expect(bool((key_counts > 0).all()), f"key {int(key_counts.argmin())} never appears in {num_sequences} "
                                         "sequences. Remember torch.randint's upper bound is exclusive: "
                                         "torch.randint(0, num_keys, ...).")
    distractor_counts = torch.bincount(distractors.reshape(-1) - num_keys, minlength=num_keys).double()
    expect(bool((distractor_counts > 0).all()),
           f"distractor {num_keys + int(distractor_counts.argmin())} never appears. torch.randint's upper bound is "
           f"exclusive: torch.randint(num_keys, vocab_size, ...).")
    distractor_counts /= distractor_counts.sum()
    expect(bool((key_counts - 1 / num_keys).abs().max() < 0.5 / num_keys),
           f"the keys should be equally likely (about {1 / num_keys:.3f} each), got frequencies "
           f"{[round(f, 3) for f in key_counts.tolist()]}.")
    expect(bool((distractor_counts - 1 / num_keys).abs().max() < 0.5 / num_keys),
           f"the distractors should be equally likely, got frequencies "
           f"{[round(f, 3) for f in distractor_counts.tolist()]}.")
    if length > 2:
        expect(not torch.equal(distractors[:, 0], distractors[:, 1]),
               "every distractor should be drawn on its own: the columns after the first are identical.")

    again_tokens, again_targets = _memory_task_result(make_memory_task, num_sequences, length, vocab_size, seed)
    expect(torch.equal(tokens, again_tokens) and torch.equal(targets, again_targets),
           "two calls with generators seeded alike gave different sequences: draw every random number from the "
           "`generator` argument (torch.randint(..., generator=generator)), not from torch's global generator.")
    other_tokens, _ = _memory_task_result(make_memory_task, num_sequences, length, vocab_size, seed + 1)
    expect(not torch.equal(tokens, other_tokens), "a differently seeded generator gave the same sequences: "
                                                  "draw the tokens from the `generator` argument.")
    return passed(f"a key from the first half of the vocabulary, {length - 1} distractors from the second half, "
                  "target = first token, all from the generator.")


# --- exercise 2: the gradient norm of every hidden state ---------------------------------------

def _reference_hidden_gradient_norms(rnn, inputs, loss_fn):
    hidden = torch.zeros(rnn.num_layers, inputs.shape[0], rnn.hidden_size, dtype=inputs.dtype)
    states = []
    for t in range(inputs.shape[1]):
        _, hidden = rnn(inputs[:, t:t + 1], hidden)
        hidden.retain_grad()
        states.append(hidden)
    loss_fn(hidden[-1]).backward()
    return torch.stack([state.grad.norm() for state in states]).detach().to(torch.float64)


def check_hidden_gradient_norms(hidden_gradient_norms) -> bool:
    """``hidden_gradient_norms(rnn, inputs, loss_fn)`` returns a length-T vector: entry t is the norm of
    ∂L/∂h_t (over the whole batch of hidden states) for ``L = loss_fn(h_T)``, the loss at the last step."""
    generator = fresh_generator()
    batch, steps, input_size, hidden_size = 5, int(torch.randint(7, 11, (), generator=generator)), 3, 6
    rnn = nn.RNN(input_size, hidden_size, batch_first=True)
    with torch.no_grad():  # fresh weights from our own generator; W_hh large enough that the norms change visibly
        for name, parameter in rnn.named_parameters():
            scale = 2.0 if name == "weight_hh_l0" else 1.0
            parameter.copy_(scale * (2 * torch.rand(parameter.shape, generator=generator) - 1) / math.sqrt(hidden_size))
    inputs = torch.randn(batch, steps, input_size, generator=generator)
    readout = torch.randn(hidden_size, generator=generator)

    def loss_fn(last_hidden):
        return (last_hidden @ readout).square().mean()

    expected = _reference_hidden_gradient_norms(rnn, inputs, loss_fn)
    rnn.zero_grad()
    result = call_answer(hidden_gradient_norms, rnn, inputs.clone(), loss_fn, what="hidden_gradient_norms",
                         explain_crashes=True,
                         hint="step with `_, hidden = rnn(inputs[:, t:t + 1], hidden)`, starting from "
                              "hidden = torch.zeros(1, B, H); call hidden.retain_grad() on every step's state.")
    if isinstance(result, (list, tuple)):
        result = [float(value) for value in result]
    result = answer_as_float64(result, "the result of hidden_gradient_norms").reshape(-1)
    expect(result.numel() == steps, f"for inputs of {steps} time steps the result should hold {steps} norms, one "
                                    f"per hidden state h_1 .. h_T, got {result.numel()}.")
    expect(bool(torch.isfinite(result).all()), "some norms are nan or inf: a hidden state got no gradient? "
                                               "Call retain_grad() on each state *before* backward().")

    def close(a, b):
        return torch.allclose(a, b, rtol=1e-3, atol=1e-7)

    if close(result, expected):
        return passed(f"the norm of ∂L/∂h_t for all {steps} steps; at the first step it is "
                      f"{float(expected[0] / expected[-1]):.2g} times what it is at the last.")
    expect(not close(result, expected.flip(0)), "your norms are in reverse order: entry 0 should be the first hidden "
                                                "state h_1 (farthest from the loss), the last entry h_T.")
    expect(not (result[:-1].abs().max() < 1e-12 and result[-1] > 0),
           "only the last hidden state got a gradient. Probably you read the gradient of nn.RNN's `output` tensor "
           "from one call over the whole sequence: output[:, t] is a copy, not what step t + 1 reads, so it only "
           "gets the direct gradient. Run the RNN one step at a time and keep each step's hidden state.")
    expect(not close(result, expected.square()), "you returned squared norms: take the square root (tensor.norm()).")
    expect(False, f"the norms differ from ∂L/∂h_t: expected {[f'{v:.3g}' for v in expected.tolist()]}, got "
                  f"{[f'{v:.3g}' for v in result.tolist()]}. Start from a zero hidden state, feed each step the "
                  "previous step's hidden state, and take the gradient of the whole [B, H] state at each step.")


# --- exercise 3: the spectrum of the recurrent matrix ------------------------------------------

def _number_from(function, matrix, what, hint):
    result = call_answer(function, matrix.clone(), what=what,
                         explain_crashes=True, hint=hint)
    return answer_as_number(result, f"{what}(matrix)")


def check_spectrum(spectral_radius, largest_singular_value) -> bool:
    """``spectral_radius(matrix)`` is the largest |eigenvalue|; ``largest_singular_value(matrix)`` the
    largest singular value (the spectral norm). Tested on rotations, non-normal and random matrices."""
    generator = fresh_generator()
    size = int(torch.randint(5, 9, (), generator=generator))
    scale = 0.5 + float(torch.rand((), generator=generator))
    angle = 0.3 + float(torch.rand((), generator=generator))
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    q, _ = torch.linalg.qr(torch.randn(size, size, generator=generator, dtype=torch.float64))
    shear = 0.5 * torch.eye(size, dtype=torch.float64) + torch.triu(
        torch.rand(size, size, generator=generator, dtype=torch.float64) + 0.5, diagonal=1)
    matrices = {
        "a scaled rotation (complex eigenvalues)": scale * rotation,
        "a scaled orthogonal matrix": scale * q.float(),
        "an upper-triangular (non-normal) matrix": shear.float(),
        "a random Gaussian matrix": torch.randn(size, size, generator=generator) / math.sqrt(size),
    }
    for name, matrix in matrices.items():
        matrix64 = matrix.double()
        radius = float(torch.linalg.eigvals(matrix64).abs().max())
        sigma = float(torch.linalg.matrix_norm(matrix64, ord=2))
        got_radius = _number_from(spectral_radius, matrix, "spectral_radius",
                                  "eigenvalues are complex numbers: torch.linalg.eigvals(matrix).abs().max().")
        got_sigma = _number_from(largest_singular_value, matrix, "largest_singular_value",
                                 "torch.linalg.svdvals(matrix).max()")

        def near(a, b):
            return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)

        if not near(got_radius, radius):
            eigenvalues = torch.linalg.eigvals(matrix64)
            expect(not near(got_radius, float(eigenvalues.real.abs().max())),
                   f"on {name}, your spectral radius is the largest |real part|; eigenvalues can be complex, and the "
                   "radius is the largest *modulus*: torch.linalg.eigvals(matrix).abs().max().")
            expect(not near(got_radius, sigma), f"on {name}, you returned the largest singular value; the spectral "
                                                "radius is the largest |eigenvalue|, which can be smaller.")
            expect(not near(got_radius, float(matrix64.abs().max())), "that is the largest |entry| of the matrix, not "
                                                                       "of its eigenvalues.")
            expect(False, f"on {name}, the spectral radius should be {radius:.4f}, got {got_radius:.4f}. "
                          "It is max |λ| over the eigenvalues λ.")
        if not near(got_sigma, sigma):
            expect(not near(got_sigma, float(torch.linalg.matrix_norm(matrix64))),
                   f"on {name}, that is the Frobenius norm (the root of the sum of squared entries); the largest "
                   "singular value is the 2-norm: torch.linalg.svdvals(matrix).max() or matrix_norm(matrix, ord=2).")
            expect(not near(got_sigma, radius), f"on {name}, you returned the spectral radius; for a non-normal matrix "
                                                "the largest singular value is larger. Use torch.linalg.svdvals.")
            expect(not near(got_sigma, float(torch.linalg.svdvals(matrix64).min())),
                   "that is the *smallest* singular value: take the largest.")
            expect(False, f"on {name}, the largest singular value should be {sigma:.4f}, got {got_sigma:.4f}.")
    return passed("the spectral radius ρ ≤ the largest singular value σ_max, equal for a scaled orthogonal matrix.")


# --- exercise 4: gradient-norm clipping by hand ---------------------------------------------------

def _random_parameters(generator, scale):
    shapes = [(4, 3), (4,), (2, 4), (2,)]
    parameters = []
    for shape in shapes:
        parameter = nn.Parameter(torch.randn(shape, generator=generator))
        parameter.grad = scale * torch.randn(shape, generator=generator)
        parameters.append(parameter)
    parameters.append(nn.Parameter(torch.randn(3, generator=generator)))  # no gradient: to be skipped
    return parameters


def check_clip_grad_norm(clip_grad_norm_by_hand) -> bool:
    """``clip_grad_norm_by_hand(parameters, max_norm)`` rescales all gradients together, in place, so that
    their joint norm is at most ``max_norm`` (as ``torch.nn.utils.clip_grad_norm_``), and returns the joint
    norm from before clipping. ``parameters`` may be a generator, and some may have no gradient."""
    generator = fresh_generator()
    for scale, max_norm in ((10.0, 1.0 + float(torch.rand((), generator=generator))), (0.01, 5.0)):
        mine = _random_parameters(generator, scale)
        reference = [nn.Parameter(p.detach().clone()) for p in mine]
        for p, q in zip(mine, reference):
            q.grad = None if p.grad is None else p.grad.clone()
        original = [None if p.grad is None else p.grad.clone() for p in mine]
        expected_norm = float(torch.nn.utils.clip_grad_norm_(reference, max_norm))
        result = call_answer(clip_grad_norm_by_hand, (p for p in mine), max_norm, what="clip_grad_norm_by_hand",
                             explain_crashes=True,
                             hint="some parameters have no gradient (p.grad is None): skip them.")
        what = f"gradients of total norm {expected_norm:.3g} with max_norm={max_norm:.3g}"
        expect(result is not None, "return the total norm of the gradients (before clipping), as "
                                   "torch.nn.utils.clip_grad_norm_ does.")
        got_norm = answer_as_number(result, "the returned total norm")
        grads = [p.grad for p in mine]
        expect(grads[-1] is None, "a parameter without a gradient should keep .grad = None.")
        changed = any(not torch.equal(g, o) for g, o in zip(grads[:-1], original[:-1]))
        if expected_norm > max_norm:
            expect(changed, f"with {what} the gradients should have been scaled down, but p.grad is unchanged. "
                            "Change them in place: p.grad.mul_(scale). And note that `parameters` may be a generator "
                            "(model.parameters() is one), which is used up after one pass: start with "
                            "`parameters = [p for p in parameters if p.grad is not None]`.")
        else:
            expect(not changed, f"with {what} the norm is already below max_norm: leave the gradients as they are "
                                "(the scale factor is min(1, max_norm / total_norm)).")
        if math.isclose(got_norm, max_norm, rel_tol=1e-4) and expected_norm > max_norm:
            expect(False, "you returned the norm *after* clipping; return the norm from before, so that you can log "
                          "how large the gradient really was.")
        per_tensor_norms = [o.norm() for o in original[:-1]]
        expect(not math.isclose(got_norm, float(sum(per_tensor_norms)), rel_tol=1e-4),
               "you added up the norms of the tensors; the total norm is the norm of all the gradients as one long "
               "vector: sqrt(sum of each tensor's norm squared).")
        expect(math.isclose(got_norm, expected_norm, rel_tol=1e-4),
               f"the total norm should be {expected_norm:.5g}, got {got_norm:.5g}: the square root of the sum of "
               "the squares of every gradient entry, over all the parameters.")
        for index, (got, want, before) in enumerate(zip(grads[:-1], reference[:-1], original[:-1])):
            if torch.allclose(got, want.grad, rtol=1e-4, atol=1e-8):
                continue
            expect(not torch.allclose(got, before.clamp(-max_norm, max_norm)),
                   "you clipped each gradient *value* to [-max_norm, max_norm] (that is clip_grad_value_); scale "
                   "all the gradients by one factor, max_norm / total_norm, instead.")
            expect(not (before.norm() > max_norm and math.isclose(float(got.norm()), max_norm, rel_tol=1e-3)),
                   "you clipped each tensor to norm max_norm on its own; clip them *together*: one total norm, "
                   "one scale factor for every gradient.")
            expect(False, f"gradient {index} is not what clip_grad_norm_ gives ({what}): multiply every "
                          "gradient by min(1, max_norm / (total_norm + 1e-6)).")
    return passed("the same total norm and the same clipped gradients as torch.nn.utils.clip_grad_norm_.")
