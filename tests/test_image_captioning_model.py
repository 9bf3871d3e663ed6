"""The captioner's shapes, attention, loss, decoding, data helpers and figure."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from projects.image_captioning.data import build_vocab, decode_ids, encode_captions  # noqa: E402
from projects.image_captioning.decode import beam_search, greedy_decode  # noqa: E402
from projects.image_captioning.figures import plot_attention  # noqa: E402
from projects.image_captioning.model import Captioner, SoftAttention, caption_loss  # noqa: E402
from utils.synthetic import make_shape_scenes  # noqa: E402

CAPTIONS = ["a small red circle left of a large blue square", "a large green triangle above a small yellow circle"]


@pytest.fixture
def vocab():
    return build_vocab(CAPTIONS)


def test_encode_and_decode_round_trip(vocab):
    ids = encode_captions(CAPTIONS, vocab)
    assert ids.shape == (2, 12)                       # <bos> + 10 words + <eos>
    assert ids[0, 0] == vocab.bos_index and ids[1, -1] == vocab.pad_index
    assert decode_ids(ids[:, 1:], vocab) == CAPTIONS


def test_data_bad_input(vocab):
    with pytest.raises(TypeError, match="list of strings"):
        build_vocab("a caption")
    with pytest.raises(ValueError, match="empty"):
        encode_captions(["a b", "  "], vocab)
    with pytest.raises(TypeError, match="Vocab"):
        encode_captions(CAPTIONS, {"a": 1})


def test_soft_attention_weights_are_a_distribution_and_context_their_average():
    torch.manual_seed(0)
    attention = SoftAttention(feature_dim=6, hidden_dim=5, attention_dim=4)
    annotations, hidden = torch.randn(3, 10, 6), torch.randn(3, 5)
    context, weights = attention(annotations, hidden)
    assert weights.shape == (3, 10) and context.shape == (3, 6)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(3))
    torch.testing.assert_close(context, torch.einsum("bl,bld->bd", weights, annotations))


def test_teacher_forcing_shapes_and_loss_gradients(vocab):
    torch.manual_seed(0)
    model = Captioner(len(vocab))
    images, ids = torch.rand(2, 3, 32, 32), encode_captions(CAPTIONS, vocab)
    logits, attention = model(images, ids[:, :-1])
    assert logits.shape == (2, 11, len(vocab)) and attention.shape == (2, 11, 64)
    loss = caption_loss(logits, ids[:, 1:], attention, vocab.pad_index, attention_penalty=0.1)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_padding_is_ignored_by_the_loss(vocab):
    logits = torch.randn(1, 3, len(vocab))
    targets = torch.tensor([[5, 6, vocab.pad_index]])
    full = caption_loss(logits, targets, torch.zeros(1, 3, 4), vocab.pad_index)
    torch.testing.assert_close(full, caption_loss(logits[:, :2], targets[:, :2], torch.zeros(1, 2, 4), vocab.pad_index))


def test_model_learns_to_overfit_two_captions():
    images, captions, _ = make_shape_scenes(2, generator=3)      # two different scenes
    vocab = build_vocab(captions)
    torch.manual_seed(0)
    model = Captioner(len(vocab))
    ids = encode_captions(captions, vocab)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        logits, attention = model(images, ids[:, :-1])
        loss = caption_loss(logits, ids[:, 1:], attention, vocab.pad_index)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    tokens, attention = greedy_decode(model, images, vocab.bos_index, vocab.eos_index)
    assert decode_ids(tokens, vocab) == captions
    assert attention.shape[:2] == tokens.shape and attention.shape[2] == 64
    torch.testing.assert_close(attention.sum(-1), torch.ones(tokens.shape))
    beam_tokens, beam_attention = beam_search(model, images, vocab.bos_index, vocab.eos_index, beam_size=3)
    assert decode_ids(beam_tokens, vocab) == captions
    assert beam_attention.shape[:2] == beam_tokens.shape


def sequence_log_prob(model, image, tokens, bos):
    """Sum of log-probabilities of ``tokens`` (cut after the first <eos>... the caller cuts) under teacher forcing."""
    inputs = torch.cat([torch.tensor([bos]), tokens[:-1]])[None]
    with torch.no_grad():
        logits, _ = model(image[None], inputs)
    return float(logits.log_softmax(-1)[0].gather(1, tokens[:, None]).sum())


def test_beam_search_finds_a_caption_at_least_as_likely_as_greedy(vocab):
    torch.manual_seed(1)
    model = Captioner(len(vocab)).eval()
    images = torch.rand(4, 3, 32, 32)
    greedy, _ = greedy_decode(model, images, vocab.bos_index, vocab.eos_index, max_len=6)
    beam, _ = beam_search(model, images, vocab.bos_index, vocab.eos_index, beam_size=4, max_len=6)
    one, _ = beam_search(model, images, vocab.bos_index, vocab.eos_index, beam_size=1, max_len=6)

    def cut(row):
        row = row.tolist()
        return torch.tensor(row[: row.index(vocab.eos_index) + 1] if vocab.eos_index in row else row)

    for i in range(4):
        assert cut(one[i]).tolist() == cut(greedy[i]).tolist()      # beam size 1 is greedy
        g = sequence_log_prob(model, images[i], cut(greedy[i]), vocab.bos_index)
        b = sequence_log_prob(model, images[i], cut(beam[i]), vocab.bos_index)
        assert b >= g - 1e-5


def test_decode_and_model_bad_input(vocab):
    model = Captioner(len(vocab))
    with pytest.raises(ValueError, match="images"):
        greedy_decode(model, torch.rand(2, 1, 32, 32), vocab.bos_index, vocab.eos_index)
    with pytest.raises(ValueError, match="bos_index"):
        greedy_decode(model, torch.rand(2, 3, 32, 32), 999, vocab.eos_index)
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(model, torch.rand(1, 3, 32, 32), vocab.bos_index, vocab.eos_index, beam_size=0)
    with pytest.raises(TypeError, match="Captioner"):
        greedy_decode(torch.nn.Linear(2, 2), torch.rand(1, 3, 32, 32), 2, 3)
    with pytest.raises(ValueError, match="vocab_size"):
        Captioner(2)
    with pytest.raises(ValueError, match="inputs"):
        model(torch.rand(2, 3, 32, 32), torch.rand(2, 5))


def test_plot_attention_draws_one_panel_per_word():
    fig = plot_attention(torch.rand(3, 32, 32), ["a", "red", "circle"], torch.softmax(torch.randn(5, 64), -1))
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(titled) == 3 and "'red'" in titled[1].get_title()
    with pytest.raises(ValueError, match="square grid"):
        plot_attention(torch.rand(3, 32, 32), ["a"], torch.rand(1, 10))
    with pytest.raises(ValueError, match="row per word"):
        plot_attention(torch.rand(3, 32, 32), ["a", "b"], torch.rand(1, 64))
