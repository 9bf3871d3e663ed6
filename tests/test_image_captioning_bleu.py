"""Our corpus BLEU-4 against torchmetrics.text.BLEUScore, an independent implementation."""

import math
import random

import pytest
from torchmetrics.text import BLEUScore

from projects.image_captioning.bleu import corpus_bleu, ngrams

WORDS = "a small large red green blue circle square triangle left of above".split()


def torchmetrics_bleu(candidates, references):
    return float(BLEUScore(n_gram=4)(candidates, references))


def test_perfect_match_is_one_and_disjoint_is_zero():
    refs = [["a small red circle left of a large blue square"]]
    assert corpus_bleu(["a small red circle left of a large blue square"], refs) == pytest.approx(1.0)
    assert corpus_bleu(["green green green green green"], refs) == 0.0


def test_clipping_counts_each_ngram_at_most_as_often_as_in_a_reference():
    # unigrams: "the" x7 clipped to 2 -> p1 = 2/7 (the classic example of Papineni et al.)
    assert corpus_bleu(["the the the the the the the"], [["the cat is on the mat"]], max_n=1) == pytest.approx(2 / 7)
    assert ngrams("a b a b".split(), 2)[("a", "b")] == 2


def test_brevity_penalty():
    # candidate of 4 words, all n-grams right, reference of 8 words: BP = exp(1 - 8/4)
    score = corpus_bleu(["a b c d"], [["a b c d e f g h"]])
    assert score == pytest.approx(math.exp(1 - 2))


@pytest.mark.parametrize("seed", range(5))
def test_matches_torchmetrics_on_random_corpora(seed):
    rng = random.Random(seed)
    candidates, references = [], []
    for _ in range(40):
        reference = [rng.choice(WORDS) for _ in range(rng.randint(6, 11))]
        candidate = [w if rng.random() < 0.8 else rng.choice(WORDS) for w in reference]
        if rng.random() < 0.3:
            candidate = candidate[: rng.randint(4, len(candidate))]
        extra = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 11)))] if rng.random() < 0.3 else []
        candidates.append(" ".join(candidate))
        references.append([" ".join(reference)] + extra)
    mine = corpus_bleu(candidates, references)
    assert 0 < mine < 1
    assert mine == pytest.approx(torchmetrics_bleu(candidates, references), abs=1e-6)


def test_matches_torchmetrics_on_captions_with_a_few_mistakes():
    references = [["a small red circle left of a large blue square"], ["a large yellow triangle above a small green circle"]]
    candidates = ["a small red square left of a large blue square", "a large yellow triangle above a green circle"]
    assert corpus_bleu(candidates, references) == pytest.approx(torchmetrics_bleu(candidates, references), abs=1e-6)


def test_references_may_be_plain_strings_and_tokens_lists():
    assert corpus_bleu([["a", "b", "c", "d"]], ["a b c d"]) == pytest.approx(1.0)


def test_bad_input():
    with pytest.raises(ValueError, match="reference lists"):
        corpus_bleu(["a b c d"], [["a b c d"], ["e f"]])
    with pytest.raises(ValueError, match="empty"):
        corpus_bleu([], [])
    with pytest.raises(TypeError, match="candidates"):
        corpus_bleu("a b c d", ["a b c d"])
    with pytest.raises(ValueError, match="max_n"):
        corpus_bleu(["a"], ["a"], max_n=0)
    with pytest.raises(ValueError, match="at least one reference"):
        corpus_bleu(["a b"], [[]])
