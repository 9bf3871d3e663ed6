"""Unit tests of projects/chatbot/decode.py: greedy and beam search on small random models."""

import itertools

import pytest
import torch

from projects.chatbot.decode import beam_search, greedy_decode
from projects.chatbot.model import Seq2Seq

BOS, EOS, BANNED = 2, 3, (0, 2)


def tiny(seed, vocab_size=12, hidden=8):
    torch.manual_seed(seed)
    model = Seq2Seq(vocab_size, embedding_dim=6, hidden_size=hidden, dropout=0.0)
    with torch.no_grad():                     # a larger output layer: peaked distributions, ties unlikely
        model.out.weight.mul_(4)
    return model.eval()


@torch.no_grad()
def teacher_forced_log_prob(model, src, reply):
    """log p(reply) summed over its steps by one teacher-forced pass (the <eos> step included
    when the reply is finished)."""
    tokens = [BOS] + reply.tokens
    targets = reply.tokens + ([EOS] if reply.finished else [])
    logits = model(torch.tensor([src]), torch.tensor([len(src)]), torch.tensor([tokens[:len(targets)]]))
    log_probs = logits[0].log_softmax(-1)
    return float(sum(log_probs[t, y] for t, y in enumerate(targets)))


@pytest.mark.parametrize("seed", range(6))
def test_beam_width_one_is_greedy(seed):
    model = tiny(seed)
    src = torch.randint(4, 12, (5,), generator=torch.Generator().manual_seed(seed)).tolist()
    greedy = greedy_decode(model, src, BOS, EOS, max_len=8)
    beam = beam_search(model, src, BOS, EOS, beam_width=1, max_len=8)[0]
    assert beam.tokens == greedy.tokens and beam.finished == greedy.finished
    assert beam.log_prob == pytest.approx(greedy.log_prob, abs=1e-5)
    torch.testing.assert_close(beam.attention, greedy.attention)


def test_beam_finds_replies_at_least_as_likely_as_greedy():
    for seed in range(20):
        model = tiny(seed)
        src = torch.randint(4, 12, (4,), generator=torch.Generator().manual_seed(seed)).tolist()
        greedy = greedy_decode(model, src, BOS, EOS, max_len=10, banned=BANNED)
        beam = beam_search(model, src, BOS, EOS, beam_width=5, max_len=10, banned=BANNED)[0]
        if greedy.finished:
            assert beam.finished and beam.log_prob >= greedy.log_prob - 1e-6, seed


def test_log_probs_and_attention_are_the_models():
    model = tiny(3)
    src = [5, 6, 7]
    for result in (greedy_decode(model, src, BOS, EOS, max_len=6),
                   *beam_search(model, src, BOS, EOS, beam_width=3, max_len=6)):
        assert result.log_prob == pytest.approx(teacher_forced_log_prob(model, src, result), abs=1e-4)
        steps = len(result.tokens) + int(result.finished)
        assert result.attention.shape == (steps, len(src))
        torch.testing.assert_close(result.attention.sum(-1), torch.ones(steps))


@pytest.mark.parametrize("seed", range(3))
def test_a_wide_beam_is_exhaustive_search(seed):
    """Vocabulary of 7 with <pad> and <bos> banned: 4 words and <eos>. With max_len 3 there are
    4**2 = 16 two-word prefixes, so a beam of 16 keeps every hypothesis and must return the most
    likely finished reply of all 1 + 4 + 16 = 21."""
    model = tiny(seed, vocab_size=7)
    src = [4, 5, 6]
    words = [1, 4, 5, 6]                                      # <unk> counts as a word here
    best = -float("inf")
    for n in range(3):
        for reply in itertools.product(words, repeat=n):
            fake = type("R", (), {"tokens": list(reply), "finished": True})
            best = max(best, teacher_forced_log_prob(model, src, fake))
    beam = beam_search(model, src, BOS, EOS, beam_width=16, max_len=3, banned=BANNED)[0]
    assert beam.finished
    assert beam.log_prob == pytest.approx(best, abs=1e-4)


def test_banned_tokens_are_never_produced_and_limits_hold():
    model = tiny(0)
    with torch.no_grad():
        model.out.bias[0] = 100.0                             # the model loves <pad>
    greedy = greedy_decode(model, [5, 6], BOS, EOS, max_len=5, banned=BANNED)
    assert 0 not in greedy.tokens and len(greedy.tokens) <= 5
    unbanned = greedy_decode(model, [5, 6], BOS, EOS, max_len=5)
    assert unbanned.tokens == [0] * 5 and not unbanned.finished        # hit the length limit
    for reply in beam_search(model, [5, 6], BOS, EOS, beam_width=3, max_len=5, banned=BANNED):
        assert 0 not in reply.tokens and len(reply.tokens) <= 5


def test_length_penalty_ranks_by_mean_log_prob():
    model = tiny(1)
    replies = beam_search(model, [4, 5], BOS, EOS, beam_width=4, max_len=8, length_penalty=1.0)
    scores = [r.log_prob / (len(r.tokens) + int(r.finished)) for r in replies]
    assert scores == sorted(scores, reverse=True)


def test_clear_errors():
    model = tiny(0)
    with pytest.raises(ValueError, match="empty"):
        greedy_decode(model, [], BOS, EOS)
    with pytest.raises(ValueError, match="1-D LongTensor"):
        greedy_decode(model, torch.tensor([[4, 5]]), BOS, EOS)
    with pytest.raises(TypeError, match="encode text"):
        beam_search(model, "hello", BOS, EOS)
    with pytest.raises(ValueError, match="beam_width"):
        beam_search(model, [4], BOS, EOS, beam_width=0)
    with pytest.raises(ValueError, match="max_len"):
        greedy_decode(model, [4], BOS, EOS, max_len=0)
