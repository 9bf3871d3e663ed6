"""Tests of utils.text: tokenizers, Vocab, padding and collation."""

import json
from functools import partial

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils.data import DataLoader

from utils.text import (
    Vocab,
    char_tokenize,
    collate_padded,
    pad_sequences,
    padding_mask,
    word_tokenize,
)

CORPUS = [
    "The cat sat on the mat.",
    "The dog didn't sit; it ran!",
    "A cat and a dog: 3.14 friends?",
]


# --- tokenizers -----------------------------------------------------------------------------

def test_char_tokenize_keeps_every_character():
    assert char_tokenize("hi, you\n") == ["h", "i", ",", " ", "y", "o", "u", "\n"]
    assert char_tokenize("") == []


def test_word_tokenize_words_apostrophes_numbers_punctuation():
    assert word_tokenize("The dog DIDN'T sit; it ran!") == ["the", "dog", "didn't", "sit", ";", "it", "ran", "!"]
    assert word_tokenize("Pi is 3.14, not 3!") == ["pi", "is", "3.14", ",", "not", "3", "!"]
    assert word_tokenize("Wow!!  (ok)") == ["wow", "!", "!", "(", "ok", ")"]
    assert word_tokenize("rock'n'roll 2nd") == ["rock'n'roll", "2nd"]


def test_word_tokenize_lower_flag():
    assert word_tokenize("Hello World", lower=False) == ["Hello", "World"]
    assert word_tokenize("Hello World") == ["hello", "world"]


@pytest.mark.parametrize("tokenize", [char_tokenize, word_tokenize])
def test_tokenizers_reject_non_text(tokenize):
    with pytest.raises(TypeError, match="str"):
        tokenize(["a", "b"])


# --- Vocab ----------------------------------------------------------------------------------

def test_vocab_order_specials_then_frequency_then_alphabetical():
    vocab = Vocab.build([["b", "a", "c", "a"], ["b", "d", "a"]])
    # a:3, b:2, then c and d tie at 1 -> alphabetical
    assert vocab.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c", "d"]
    assert vocab.stoi == {t: i for i, t in enumerate(vocab.itos)}
    assert (vocab.pad_index, vocab.unk_index, vocab.bos_index, vocab.eos_index) == (0, 1, 2, 3)
    assert len(vocab) == 8


def test_vocab_is_deterministic_whatever_the_input_order():
    tokens = [word_tokenize(t) for t in CORPUS]
    a = Vocab.build(tokens)
    b = Vocab.build(list(reversed([list(reversed(t)) for t in tokens])))
    assert a.itos == b.itos


def test_vocab_accepts_a_flat_token_list():
    assert Vocab.build(list("abca"), specials=()).itos == ["a", "b", "c"]


def test_vocab_min_freq_and_max_size():
    tokens = ["x"] * 5 + ["y"] * 3 + ["z"] * 2 + ["w"]
    assert Vocab.build(tokens, min_freq=2).itos[4:] == ["x", "y", "z"]
    assert Vocab.build(tokens, min_freq=3).itos[4:] == ["x", "y"]
    capped = Vocab.build(tokens, max_size=6)
    assert len(capped) == 6 and capped.itos[4:] == ["x", "y"]
    assert len(Vocab.build(tokens, max_size=4)) == 4  # specials only


def test_specials_in_the_data_are_not_duplicated():
    vocab = Vocab.build(["<unk>", "a", "<pad>"])
    assert vocab.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "a"]


def test_vocab_lookup_and_contains():
    vocab = Vocab.build(["cat", "dog"])
    assert vocab["cat"] == vocab.stoi["cat"]
    assert vocab["zebra"] == vocab.unk_index
    assert "cat" in vocab and "zebra" not in vocab
    assert vocab.lookup_tokens([vocab["dog"], vocab["cat"]]) == ["dog", "cat"]
    assert vocab.lookup_tokens(torch.tensor([vocab["dog"]])) == ["dog"]
    assert vocab.lookup_indices(["dog", "cat"]) == [vocab["dog"], vocab["cat"]]


def test_word_round_trip_with_unknowns_and_bos_eos():
    vocab = Vocab.build([word_tokenize(t) for t in CORPUS])
    tokens = word_tokenize("The cat didn't fly!")
    ids = vocab.encode(tokens, add_bos=True, add_eos=True)
    assert ids[0] == vocab.bos_index and ids[-1] == vocab.eos_index
    assert len(ids) == len(tokens) + 2
    assert vocab.decode(ids) == ["the", "cat", "didn't", "<unk>", "!"]
    assert vocab.decode(ids, skip_specials=False) == ["<bos>", "the", "cat", "didn't", "<unk>", "!", "<eos>"]
    assert vocab.decode(torch.tensor(ids + [vocab.pad_index] * 3)) == ["the", "cat", "didn't", "<unk>", "!"]


def test_char_round_trip():
    text = "hello world"
    vocab = Vocab.build(char_tokenize(text))
    ids = vocab.encode(char_tokenize(text))
    assert "".join(vocab.decode(ids)) == text
    assert vocab.decode(vocab.encode(char_tokenize("hez"))) == ["h", "e", "<unk>"]


def test_vocab_without_unk_raises_key_error_naming_the_token():
    vocab = Vocab.build(list("abc"), specials=("<pad>",))
    with pytest.raises(KeyError, match="'z'"):
        vocab["z"]
    with pytest.raises(KeyError, match="<bos>"):
        vocab.encode(["a"], add_bos=True)
    with pytest.raises(KeyError, match="<unk>"):
        vocab.unk_index


def test_vocab_state_dict_round_trip_through_json():
    vocab = Vocab.build([word_tokenize(t) for t in CORPUS], min_freq=1)
    state = json.loads(json.dumps(vocab.state_dict()))
    again = Vocab.from_state_dict(state)
    assert again == vocab
    assert again.itos == vocab.itos and again.stoi == vocab.stoi and again.specials == vocab.specials
    assert again.encode(["cat", "unseen"]) == vocab.encode(["cat", "unseen"])


def test_from_state_dict_rejects_bad_state():
    with pytest.raises(KeyError, match="itos"):
        Vocab.from_state_dict({"specials": []})
    with pytest.raises(ValueError, match="duplicate"):
        Vocab.from_state_dict({"itos": ["a", "a"], "specials": []})
    with pytest.raises(ValueError, match="start with the specials"):
        Vocab.from_state_dict({"itos": ["a", "<pad>"], "specials": ["<pad>"]})
    with pytest.raises(TypeError):
        Vocab.from_state_dict(["a"])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"min_freq": 0}, ValueError, "min_freq"),
        ({"min_freq": 1.5}, ValueError, "min_freq"),
        ({"max_size": 3}, ValueError, "max_size"),
        ({"specials": ("<pad>", "<pad>")}, ValueError, "unique"),
        ({"specials": "<pad>"}, TypeError, "specials"),
    ],
)
def test_vocab_build_validates_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        Vocab.build(["a", "b"], **kwargs)


def test_vocab_build_rejects_raw_text_and_non_string_tokens():
    with pytest.raises(TypeError, match="tokenize"):
        Vocab.build("some raw text")
    with pytest.raises(TypeError, match="str"):
        Vocab.build([["a", 1]])


def test_vocab_lookup_errors():
    vocab = Vocab.build(["a"])
    with pytest.raises(TypeError, match="str"):
        vocab[0]
    with pytest.raises(IndexError, match="out of range"):
        vocab.lookup_tokens([len(vocab)])
    with pytest.raises(IndexError, match="out of range"):
        vocab.decode([-1])
    with pytest.raises(ValueError, match="1-D integer"):
        vocab.decode(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="tokenize"):
        vocab.encode("abc")


# --- padding --------------------------------------------------------------------------------

def test_pad_sequences_shapes_values_and_lengths():
    padded, lengths = pad_sequences([[1, 2, 3], torch.tensor([4]), [5, 6]], pad_value=9)
    assert padded.dtype == torch.long and lengths.dtype == torch.long
    assert padded.tolist() == [[1, 2, 3], [4, 9, 9], [5, 6, 9]]
    assert lengths.tolist() == [3, 1, 2]
    time_major, _ = pad_sequences([[1, 2, 3], [4]], batch_first=False)
    assert time_major.shape == (3, 2)
    assert time_major[:, 1].tolist() == [4, 0, 0]


def test_pad_sequences_keeps_feature_dims_and_dtype():
    padded, lengths = pad_sequences([torch.ones(4, 3), torch.ones(2, 3)])
    assert padded.shape == (2, 4, 3) and padded.dtype == torch.float32
    assert padded[1, 2:].abs().sum() == 0
    assert lengths.tolist() == [4, 2]


@pytest.mark.parametrize(
    "sequences, error, message",
    [
        ([[1, 2], []], ValueError, "empty"),
        ([], ValueError, "empty"),
        ([torch.tensor(3)], ValueError, "scalar"),
        ([torch.ones(2, 3), torch.ones(2, 4)], ValueError, "step shape"),
        (["abc"], TypeError, "encode"),
        (torch.ones(2, 3), TypeError, "list"),
    ],
)
def test_pad_sequences_bad_input(sequences, error, message):
    with pytest.raises(error, match=message):
        pad_sequences(sequences)


def test_padding_mask_marks_real_tokens():
    mask = padding_mask(torch.tensor([3, 1, 2]))
    assert mask.dtype == torch.bool
    assert mask.tolist() == [[True, True, True], [True, False, False], [True, True, False]]
    assert padding_mask([1, 2], max_len=4).tolist() == [[True, False, False, False], [True, True, False, False]]


def test_padding_mask_bad_input():
    with pytest.raises(ValueError, match="max_len"):
        padding_mask([3, 1], max_len=2)
    with pytest.raises(ValueError, match="1-D integer"):
        padding_mask(torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=">= 0"):
        padding_mask([2, -1])


def test_collate_padded_in_a_dataloader():
    items = [(torch.tensor([5, 6, 7]), 1), (torch.tensor([8]), 0), (torch.tensor([9, 10]), 1)]
    loader = DataLoader(items, batch_size=3, collate_fn=partial(collate_padded, pad_value=0))
    padded, lengths, labels = next(iter(loader))
    assert padded.shape == (3, 3)
    assert lengths.tolist() == [3, 1, 2]
    assert labels.tolist() == [1, 0, 1] and labels.dtype == torch.long
    assert (padded[~padding_mask(lengths)] == 0).all()
    float_labels = collate_padded([([1], 0.5), ([2, 3], 1.0)])[2]
    assert float_labels.dtype == torch.float32
    tensor_labels = collate_padded([([1], torch.tensor([1, 2])), ([2], torch.tensor([3, 4]))])[2]
    assert tensor_labels.shape == (2, 2)


def test_collate_padded_bad_items():
    with pytest.raises(ValueError, match=r"\(sequence, label\)"):
        collate_padded([torch.tensor([1, 2])])
    with pytest.raises(ValueError, match="empty"):
        collate_padded([])


def test_packing_round_trip_recovers_padding_and_last_states():
    torch.manual_seed(0)
    sequences = [torch.randint(1, 20, (n,)) for n in (5, 2, 4)]  # not sorted by length
    padded, lengths = pad_sequences(sequences)
    packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
    unpacked, unpacked_lengths = pad_packed_sequence(packed, batch_first=True)
    assert torch.equal(unpacked, padded)
    assert torch.equal(unpacked_lengths, lengths)

    # an RNN over the packed batch ends at each sequence's last *real* step
    embedding, rnn = torch.nn.Embedding(20, 4, padding_idx=0), torch.nn.GRU(4, 3, batch_first=True)
    packed_emb = pack_padded_sequence(embedding(padded), lengths, batch_first=True, enforce_sorted=False)
    _, h_n = rnn(packed_emb)
    for i, seq in enumerate(sequences):
        _, h_alone = rnn(embedding(seq).unsqueeze(0))
        torch.testing.assert_close(h_n[0, i], h_alone[0, 0])
