"""Unit tests of projects/chatbot/chat.py: chat() on an untrained model, the loop, input detection."""

import pytest
import torch

from projects.chatbot.chat import (
    Chatbot,
    chat,
    chat_loop,
    detokenize,
    encode_message,
    person_at_keyboard,
    reply,
)
from projects.chatbot.model import Seq2Seq
from utils.text import Vocab

WORDS = ["hi", "hello", "how", "are", "you", "?", "!", "good", "fine", "."]


@pytest.fixture
def bot():
    torch.manual_seed(0)
    vocab = Vocab.build(WORDS)
    return Chatbot(Seq2Seq(len(vocab), embedding_dim=8, hidden_size=8), vocab, max_len=6, beam_width=3)


def test_chat_on_an_untrained_model_returns_a_string(bot):
    for method in ("beam", "greedy"):
        answer = chat(bot, "Hi, how are you?", method=method)
        assert isinstance(answer, str)
        assert "<pad>" not in answer and "<bos>" not in answer and "<eos>" not in answer
    result = reply(bot, "hello zebra", method="greedy")
    assert len(result.tokens) <= 6


def test_encode_message_and_detokenize(bot):
    assert encode_message("Hello zebra!", bot.vocab) == [bot.vocab["hello"], bot.vocab.unk_index, bot.vocab["!"]]
    assert detokenize(["hi", "!", "how", "are", "you", "?"]) == "hi! how are you?"
    with pytest.raises(ValueError, match="no words"):
        encode_message("   ", bot.vocab)
    with pytest.raises(TypeError, match="str"):
        chat(bot, 42)
    with pytest.raises(ValueError, match="method"):
        chat(bot, "hi", method="sampling")
    with pytest.raises(TypeError, match="Vocab"):
        Chatbot(bot.model, WORDS)


def test_chat_loop_answers_until_quit(bot):
    said = []
    messages = iter(["hi!", "   ", "how are you?", "quit", "never read"])
    turns = chat_loop(bot, ask=lambda prompt: next(messages), say=said.append)
    assert turns == 1 and said[0].startswith("bot: ")          # "   " is blank: ends like an empty line
    said.clear()
    messages = iter(["hi", "?!?", "hello"])

    def ask(prompt):
        try:
            return next(messages)
        except StopIteration:
            raise EOFError from None

    assert chat_loop(bot, ask=ask, say=said.append) == 3 and len(said) == 3

    def no_front_end(prompt):
        raise NotImplementedError("raw_input was called, but this frontend does not support input requests.")

    assert chat_loop(bot, ask=no_front_end, say=said.append) == 0


def test_nobody_at_the_keyboard_here(monkeypatch):
    assert person_at_keyboard() is False                       # pytest captures stdin: not a terminal
    monkeypatch.setenv("CHATBOT_NO_CHAT", "1")
    assert person_at_keyboard() is False


def test_a_terminal_counts_as_a_person(monkeypatch):
    class Terminal:
        def isatty(self):
            return True

    monkeypatch.delenv("CHATBOT_NO_CHAT", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdin", Terminal())
    assert person_at_keyboard() is True
    monkeypatch.setenv("CI", "true")
    assert person_at_keyboard() is False


def test_save_and_load_bot(bot, tmp_path):
    from projects.chatbot.chat import load_bot, save_bot

    path = save_bot(bot, tmp_path / "bot.pt")
    loaded = load_bot(path)
    assert loaded.vocab == bot.vocab and loaded.beam_width == bot.beam_width
    assert chat(loaded, "hi! how are you?") == chat(bot, "hi! how are you?")
    with pytest.raises(FileNotFoundError, match="chatbot.ipynb"):
        load_bot(tmp_path / "missing.pt")
