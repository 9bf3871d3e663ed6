"""Unit tests of projects/chatbot/data.py and metrics.py: tokenising, filtering, splitting, batching,
and the perplexities."""

import math

import pytest
import torch

from projects.chatbot.data import (
    build_vocab,
    collate_pairs,
    count_unknowns,
    drop_unknown_heavy,
    encode_pairs,
    make_loader,
    split_pairs,
    tokenize_pairs,
)
from projects.chatbot.metrics import model_perplexity, unigram_log_probs, unigram_perplexity
from projects.chatbot.model import Seq2Seq

PAIRS = [("Hi there!", "Hello."), ("How are you?", "Fine, thanks, and you?"),
         ("This message is far too long to keep here", "ok"), ("", "empty"), ("Good.", "Good!")]


def test_tokenize_pairs_lowercases_and_filters_by_length():
    kept = tokenize_pairs(PAIRS, max_tokens=6)
    assert kept == [(["hi", "there", "!"], ["hello", "."]), (["good", "."], ["good", "!"])]
    assert (["hi", "there", "!"], ["hello", "."]) in kept
    assert all(1 <= len(m) <= 6 and 1 <= len(r) <= 6 for m, r in kept)       # the 7-token reply is out
    assert all(m for m, _ in kept)                                               # the empty message is out
    assert len(tokenize_pairs(PAIRS, max_tokens=10)) == 4


def test_tokenize_pairs_rejects_bad_input():
    with pytest.raises(ValueError, match="max_tokens"):
        tokenize_pairs(PAIRS, max_tokens=0)
    with pytest.raises(TypeError, match="pair 0"):
        tokenize_pairs([("only one",)])
    with pytest.raises(TypeError, match="list of"):
        tokenize_pairs("hello")


def test_split_pairs_holds_out_the_tail_in_order():
    train, held_out = split_pairs(list(range(100)), held_out=0.1)
    assert train == list(range(90)) and held_out == list(range(90, 100))
    with pytest.raises(ValueError, match="fraction"):
        split_pairs(list(range(10)), held_out=1.5)
    with pytest.raises(ValueError, match="empty"):
        split_pairs([1, 2], held_out=0.1)


def test_vocab_unknowns_and_encoding():
    pairs = [(["a", "b"], ["a", "c"]), (["a", "d"], ["b"]), (["e"], ["zzz", "a"])]
    vocab = build_vocab(pairs, max_size=7)                  # 4 specials + a, b, c
    assert vocab.itos[:5] == ["<pad>", "<unk>", "<bos>", "<eos>", "a"] and len(vocab) == 7
    assert count_unknowns(["a", "zzz", "d"], vocab) == 2
    kept = drop_unknown_heavy(pairs, vocab, max_unk_message=1, max_unk_reply=0)
    assert kept == pairs[:2]
    (src, tgt), _ = encode_pairs(kept, vocab)
    assert src.tolist() == [vocab["a"], vocab["b"]]
    assert tgt.tolist() == [vocab.bos_index, vocab["a"], vocab["c"], vocab.eos_index]
    with pytest.raises(ValueError, match="max_unk_reply"):
        drop_unknown_heavy(pairs, vocab, max_unk_reply=-1)
    with pytest.raises(TypeError, match="tokenise"):
        encode_pairs([("a b", "c")], vocab)
    with pytest.raises(ValueError, match="empty"):
        build_vocab([])


def test_collate_shifts_the_reply_and_pads():
    batch = [(torch.tensor([5, 6, 7]), torch.tensor([2, 8, 3])),
             (torch.tensor([5]), torch.tensor([2, 8, 9, 10, 3]))]
    (src, lengths, tgt_in), tgt_out = collate_pairs(batch, pad_index=0)
    assert src.tolist() == [[5, 6, 7], [5, 0, 0]] and lengths.tolist() == [3, 1]
    assert tgt_in.tolist() == [[2, 8, 0, 0], [2, 8, 9, 10]]
    assert tgt_out.tolist() == [[8, 3, 0, 0], [8, 9, 10, 3]]
    with pytest.raises(ValueError, match="empty"):
        collate_pairs([])


def test_make_loader_is_deterministic():
    encoded = [(torch.tensor([i + 4]), torch.tensor([2, i + 4, 3])) for i in range(20)]
    first = [b[0][0].tolist() for b in make_loader(encoded, batch_size=4, shuffle=True, seed=1)]
    again = [b[0][0].tolist() for b in make_loader(encoded, batch_size=4, shuffle=True, seed=1)]
    assert first == again and len(first) == 5
    with pytest.raises(ValueError, match="batch_size"):
        make_loader(encoded, batch_size=0)


def test_unigram_baseline_is_a_smoothed_distribution():
    pairs = [(["a"], ["a", "a", "b"]), (["b"], ["c"])]
    vocab = build_vocab(pairs, max_size=10)
    encoded = encode_pairs(pairs, vocab)
    log_probs = unigram_log_probs(encoded, vocab, alpha=1.0)
    assert log_probs[vocab.pad_index] == -math.inf and log_probs[vocab.bos_index] == -math.inf
    assert math.isclose(float(log_probs.exp().sum()), 1.0, rel_tol=1e-12)
    # counts on replies: a 2, b 1, c 1, <eos> 2, <unk> 0; +1 each over 5 reply tokens -> total 11
    assert math.isclose(float(log_probs[vocab["a"]].exp()), 3 / 11)
    loader = make_loader(encoded, batch_size=2)
    uniform = torch.full((len(vocab),), -math.log(len(vocab)))
    assert math.isclose(unigram_perplexity(uniform, loader), len(vocab), rel_tol=1e-6)
    with pytest.raises(ValueError, match="alpha"):
        unigram_log_probs(encoded, vocab, alpha=0)


def test_model_perplexity_of_an_untrained_model_is_near_the_vocabulary_size():
    torch.manual_seed(0)
    vocab_size = 30
    encoded = [(torch.randint(4, vocab_size, (3,)), torch.cat([torch.tensor([2]),
                torch.randint(4, vocab_size, (4,)), torch.tensor([3])])) for _ in range(16)]
    model = Seq2Seq(vocab_size, embedding_dim=8, hidden_size=8)
    ppl = model_perplexity(model, make_loader(encoded, batch_size=8))
    assert 0.5 * vocab_size < ppl < 2 * vocab_size
