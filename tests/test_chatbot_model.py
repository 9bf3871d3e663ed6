"""Unit tests of projects/chatbot/model.py: shapes, masking, attention, step-by-step = teacher forcing."""

import pytest
import torch

from projects.chatbot.model import LuongAttention, Memory, Seq2Seq, sequence_loss

V, E, H = 23, 8, 12


@pytest.fixture
def model():
    torch.manual_seed(0)
    return Seq2Seq(V, embedding_dim=E, hidden_size=H, dropout=0.0).eval()


def batch():
    src = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]])
    lengths = torch.tensor([4, 2])
    tgt_in = torch.tensor([[2, 11, 12], [2, 13, 0]])
    return src, lengths, tgt_in


def test_forward_shapes(model):
    src, lengths, tgt_in = batch()
    assert model(src, lengths, tgt_in).shape == (2, 3, V)
    memory, hidden = model.encode(src, lengths)
    assert memory.outputs.shape == (2, 4, 2 * H) and memory.keys.shape == (2, 4, H)
    assert memory.mask.tolist() == [[True] * 4, [True, True, False, False]]
    assert hidden.shape == (1, 2, H)


def test_attention_weights_sum_to_one_and_ignore_padding(model):
    src, lengths, tgt_in = batch()
    memory, hidden = model.encode(src, lengths)
    _, _, weights = model.decode(tgt_in, hidden, memory)
    assert weights.shape == (2, 3, 4)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3))
    assert torch.all(weights[1, :, 2:] == 0)                 # the padded steps get no weight
    assert torch.all(weights[1, :, :2] > 0)


def test_padding_does_not_change_the_output(model):
    src, lengths, tgt_in = batch()
    alone = model(src[1:, :2], lengths[1:], tgt_in[1:])      # the short message without padding
    padded = model(src, lengths, tgt_in)[1:]
    torch.testing.assert_close(alone, padded)


def test_luong_attention_by_hand():
    torch.manual_seed(1)
    attention = LuongAttention(hidden_size=3, memory_size=4)
    outputs = torch.randn(1, 2, 4)
    memory = Memory(outputs, attention.key(outputs), torch.tensor([[True, True]]))
    query = torch.randn(1, 1, 3)
    context, weights = attention(query, memory)
    scores = torch.stack([query[0, 0] @ (attention.key.weight @ outputs[0, s]) for s in range(2)])
    torch.testing.assert_close(weights[0, 0], scores.softmax(0))
    torch.testing.assert_close(context[0, 0], weights[0, 0] @ outputs[0])


def test_step_by_step_decoding_equals_teacher_forcing(model):
    src, lengths, tgt_in = batch()
    logits = model(src, lengths, tgt_in)
    memory, hidden = model.encode(src, lengths)
    for t in range(tgt_in.shape[1]):
        log_probs, hidden, _ = model.decode_step(tgt_in[:, t], hidden, memory)
        torch.testing.assert_close(log_probs, logits[:, t].log_softmax(-1))


def test_sequence_loss_ignores_padding(model):
    logits = torch.randn(2, 3, V)
    targets = torch.tensor([[4, 5, 0], [6, 0, 0]])
    expected = torch.stack([-logits[0, 0].log_softmax(-1)[4], -logits[0, 1].log_softmax(-1)[5],
                            -logits[1, 0].log_softmax(-1)[6]]).mean()
    torch.testing.assert_close(sequence_loss(logits, targets), expected)
    with pytest.raises(ValueError, match="logits"):
        sequence_loss(logits[0], targets)


def test_training_step_lowers_the_loss():
    torch.manual_seed(0)
    model = Seq2Seq(V, embedding_dim=E, hidden_size=H)
    src, lengths, tgt_in = batch()
    tgt_out = torch.tensor([[11, 12, 3], [13, 3, 0]])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = sequence_loss(model(src, lengths, tgt_in), tgt_out)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_clear_errors(model):
    src, lengths, tgt_in = batch()
    with pytest.raises(ValueError, match="src must be a LongTensor"):
        model(src.float(), lengths, tgt_in)
    with pytest.raises(ValueError, match="outside"):
        model(src + V, lengths, tgt_in)
    with pytest.raises(ValueError, match="src_lengths"):
        model(src, torch.tensor([4]), tgt_in)
    with pytest.raises(ValueError, match="src_lengths"):
        model(src, torch.tensor([5, 0]), tgt_in)
    with pytest.raises(ValueError, match="vocab_size"):
        Seq2Seq(0)
    with pytest.raises(ValueError, match="dropout"):
        Seq2Seq(V, dropout=1.0)
