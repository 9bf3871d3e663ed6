"""Turning the model's next-token distributions into a reply: greedy search and beam search.

Both score a reply ``y_1 ... y_n <eos>`` by its log-probability under the model,

    log p(y | x) = sum_t log p(y_t | y_<t, x),

the ``<eos>`` step included. **Greedy** takes the most likely token at every step. **Beam
search** keeps the ``beam_width`` best partial replies (hypotheses) at every step, extends each by
every token, and keeps the best ``beam_width`` of the extensions; a hypothesis that emits
``<eos>`` is finished and set aside. With ``beam_width=1`` it *is* greedy search.

Log-probabilities only go down as a reply grows, so once the best unfinished hypothesis scores
below the best finished one, nothing can overtake it and the search stops. Beam search usually
finds a reply at least as likely as greedy's, but this is not a theorem: the greedy prefix can be
pushed out of the beam by prefixes that later go wrong. An optional ``length_penalty`` ``a``
ranks finished replies by ``log p / n**a`` (``n`` tokens, ``<eos>`` counted), which favours longer
replies; ``a = 0`` (the default) ranks by the log-probability itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch


@dataclass
class Reply:
    """One decoded reply: ``tokens`` (ids, without ``<bos>``/``<eos>``), its ``log_prob`` (sum over
    the generated steps, ``<eos>`` included when ``finished``), whether ``<eos>`` was produced
    before the length limit, and the attention weights ``[steps, S]`` (one row per generated
    token, ``<eos>`` included)."""

    tokens: list[int]
    log_prob: float
    finished: bool
    attention: torch.Tensor = field(repr=False)

    def score(self, length_penalty: float = 0.0) -> float:
        """``log_prob / n**length_penalty`` with ``n`` the number of generated steps."""
        steps = len(self.tokens) + int(self.finished)
        return self.log_prob / max(steps, 1) ** length_penalty


def _prepare(model, src_ids, max_len: int, beam_width: int = 1):
    if isinstance(src_ids, torch.Tensor):
        if src_ids.dim() != 1 or src_ids.dtype != torch.long:
            raise ValueError(f"src_ids must be a 1-D LongTensor of one message's token ids, got shape "
                             f"{tuple(src_ids.shape)} and dtype {src_ids.dtype}")
    elif isinstance(src_ids, Sequence) and not isinstance(src_ids, str) \
            and all(isinstance(i, int) and not isinstance(i, bool) for i in src_ids):
        src_ids = torch.tensor(list(src_ids), dtype=torch.long)
    else:
        raise TypeError("src_ids must be one message's token ids (a list of ints or a 1-D LongTensor); "
                        "encode text with vocab.encode(word_tokenize(text)) first")
    if len(src_ids) == 0:
        raise ValueError("the message is empty: the encoder needs at least one token")
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"max_len must be an int >= 1, got {max_len!r}")
    if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width < 1:
        raise ValueError(f"beam_width must be an int >= 1, got {beam_width!r}")
    device = next(model.parameters()).device
    model.eval()
    memory, hidden = model.encode(src_ids.to(device).unsqueeze(0), torch.tensor([len(src_ids)]))
    return memory, hidden, device


def _banned_mask(log_probs: torch.Tensor, banned: Sequence[int]) -> torch.Tensor:
    if banned:
        log_probs = log_probs.clone()
        log_probs[..., list(banned)] = float("-inf")
    return log_probs


@torch.no_grad()
def greedy_decode(model, src_ids, bos_index: int, eos_index: int, max_len: int = 12,
                  banned: Sequence[int] = ()) -> Reply:
    """The most likely token at every step, until ``<eos>`` or ``max_len`` tokens.

    ``banned`` token ids (e.g. ``<pad>``, ``<bos>``) are never produced. Puts ``model`` in eval mode.
    """
    memory, hidden, device = _prepare(model, src_ids, max_len)
    token = torch.tensor([bos_index], device=device)
    tokens, rows, log_prob = [], [], 0.0
    for _ in range(max_len):
        log_probs, hidden, weights = model.decode_step(token, hidden, memory)
        log_probs = _banned_mask(log_probs, banned)
        best = int(log_probs[0].argmax())
        log_prob += float(log_probs[0, best])
        rows.append(weights[0].cpu())
        if best == eos_index:
            return Reply(tokens, log_prob, True, torch.stack(rows))
        tokens.append(best)
        token = torch.tensor([best], device=device)
    return Reply(tokens, log_prob, False, torch.stack(rows))


@torch.no_grad()
def beam_search(model, src_ids, bos_index: int, eos_index: int, beam_width: int = 5,
                max_len: int = 12, length_penalty: float = 0.0, banned: Sequence[int] = ()) -> list[Reply]:
    """Beam search; returns the finished replies (or, if none finished, the hypotheses alive at
    ``max_len``), best first by :meth:`Reply.score` with ``length_penalty``.

    ``banned`` token ids are never produced. Puts ``model`` in eval mode.
    """
    memory, hidden, device = _prepare(model, src_ids, max_len, beam_width)
    if length_penalty < 0:
        raise ValueError(f"length_penalty must be >= 0, got {length_penalty!r}")
    wide_memory = memory.select(torch.zeros(beam_width, dtype=torch.long, device=device))
    alive_tokens: list[list[int]] = [[]]                    # one hypothesis: the empty reply
    alive_rows: list[list[torch.Tensor]] = [[]]
    scores = torch.zeros(1, device=device)
    last = torch.tensor([bos_index], device=device)
    finished: list[Reply] = []

    for _ in range(max_len):
        k = len(alive_tokens)
        log_probs, hidden, weights = model.decode_step(last, hidden, wide_memory.select(torch.arange(k)))
        candidates = (scores.unsqueeze(1) + _banned_mask(log_probs, banned)).flatten()     # [k * V]
        top_scores, top_index = candidates.topk(min(2 * beam_width, candidates.numel()))
        keep, new_tokens, new_rows, new_scores = [], [], [], []
        for score, index in zip(top_scores.tolist(), top_index.tolist()):
            if score == float("-inf") or len(keep) == beam_width:
                break
            parent, token = divmod(index, log_probs.shape[1])
            rows = alive_rows[parent] + [weights[parent].cpu()]
            if token == eos_index:
                finished.append(Reply(alive_tokens[parent], score, True, torch.stack(rows)))
                continue
            keep.append(parent)
            new_tokens.append(alive_tokens[parent] + [token])
            new_rows.append(rows)
            new_scores.append(score)
        if not keep:
            alive_tokens = []
            break
        alive_tokens, alive_rows = new_tokens, new_rows
        scores = torch.tensor(new_scores, device=device)
        hidden = hidden[:, keep]
        last = torch.tensor([t[-1] for t in alive_tokens], device=device)
        if finished:
            best_finished = max(r.score(length_penalty) for r in finished)
            if length_penalty == 0 and max(new_scores) <= best_finished:
                break                                # nothing alive can overtake the best finished reply
            if length_penalty > 0 and len(finished) >= beam_width:
                break
    else:
        if not finished:
            finished = [Reply(t, s, False, torch.stack(r))
                        for t, s, r in zip(alive_tokens, scores.tolist(), alive_rows)]
    return sorted(finished, key=lambda r: r.score(length_penalty), reverse=True)
