r"""Corpus BLEU (Papineni et al., 2002), written out: clipped n-gram precisions and a brevity penalty.

For candidates $c$ with references $R(c)$, the modified precision of n-grams is

$$p_n = \frac{\sum_c \sum_{g \in \text{n-grams}(c)} \min\bigl(\text{count}_c(g),\ \max_{r \in R(c)} \text{count}_r(g)\bigr)}
             {\sum_c |\text{n-grams}(c)|},$$

each candidate n-gram counted at most as often as it occurs in one reference ("clipping", so
"the the the the" earns no credit for a reference with one "the"). With $C$ the total candidate
length and $R$ the total of each candidate's closest reference length,

$$\text{BLEU-}N = \text{BP} \cdot \exp\Bigl(\tfrac1N \sum_{n=1}^{N} \log p_n\Bigr),\qquad
  \text{BP} = \begin{cases} 1 & C > R \\ e^{1 - R/C} & C \le R \end{cases}.$$

Sums run over the whole corpus before the ratio is taken (corpus BLEU, not a mean of sentence
scores). Without smoothing, any $p_n = 0$ makes the score 0. This matches
``torchmetrics.text.BLEUScore`` (tests/test_image_captioning_bleu.py checks it).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence


def ngrams(tokens: Sequence[str], n: int) -> Counter:
    """The n-grams of ``tokens`` (tuples) with their counts."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _as_token_lists(texts, name: str) -> list[list[str]]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"{name} must be a list of strings (or of token lists), got {type(texts).__name__}")
    out = []
    for text in texts:
        if isinstance(text, str):
            out.append(text.split())
        elif isinstance(text, Sequence) and all(isinstance(t, str) for t in text):
            out.append(list(text))
        else:
            raise TypeError(f"each of {name} must be a string or a list of token strings, got {text!r:.60}")
    return out


def corpus_bleu(candidates, references, max_n: int = 4) -> float:
    """Corpus BLEU-``max_n`` (uniform weights, brevity penalty, no smoothing), in [0, 1].

    ``candidates``: N generated captions, each a string (split on whitespace) or a token list.
    ``references``: N lists of reference captions (one or more per candidate), or N strings when
    each candidate has exactly one reference.
    """
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 1:
        raise ValueError(f"max_n must be an int >= 1, got {max_n!r}")
    candidates = _as_token_lists(candidates, "candidates")
    if isinstance(references, str) or not isinstance(references, Sequence):
        raise TypeError(f"references must be a list (one entry per candidate), got {type(references).__name__}")
    if len(references) != len(candidates):
        raise ValueError(f"got {len(candidates)} candidates but {len(references)} reference lists: "
                         "give one list of references per candidate")
    if not candidates:
        raise ValueError("candidates is empty: BLEU needs at least one candidate")
    reference_lists = [_as_token_lists([refs] if isinstance(refs, str) else refs, "references") for refs in references]
    if any(len(refs) == 0 for refs in reference_lists):
        raise ValueError("every candidate needs at least one reference")

    matched, total = [0] * max_n, [0] * max_n
    candidate_length = reference_length = 0
    for candidate, refs in zip(candidates, reference_lists):
        candidate_length += len(candidate)
        # the closest reference length; on a tie, the shorter one
        reference_length += min((abs(len(r) - len(candidate)), len(r)) for r in refs)[1]
        for n in range(1, max_n + 1):
            counts = ngrams(candidate, n)
            most_in_a_reference: Counter = Counter()
            for r in refs:
                most_in_a_reference |= ngrams(r, n)        # | keeps the larger count of each n-gram
            matched[n - 1] += sum(min(count, most_in_a_reference[g]) for g, count in counts.items())
            total[n - 1] += max(len(candidate) - n + 1, 0)
    if candidate_length == 0 or min(matched) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matched, total)) / max_n
    brevity = 1.0 if candidate_length > reference_length else math.exp(1 - reference_length / candidate_length)
    return brevity * math.exp(log_precision)
