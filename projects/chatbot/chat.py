"""Talking to the trained model: ``chat(bot, text)`` and a small interactive loop.

    bot = Chatbot(model, vocab)            # beam search, width 5, replies of at most 12 tokens
    chat(bot, "hi! how are you?")          # -> "i'm good, how are you?"
    chat_loop(bot)                         # type messages; an empty line or "quit" ends it
    save_bot(bot)                          # to DEFAULT_PATH: <repo>/artifacts/chatbot/bot.pt

and, in a terminal, after the notebook has saved the bot: ``python -m projects.chatbot.chat``.

``chat_loop`` only asks for input when :func:`person_at_keyboard` says someone can answer:
not under nbclient/nbval (the kernel refuses input requests), not when stdin is not a terminal,
and not when the environment variable ``CHATBOT_NO_CHAT`` (or ``CI``) is set.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from projects.chatbot.decode import Reply, beam_search, greedy_decode
from projects.chatbot.model import Seq2Seq
from utils.text import BOS, PAD, Vocab, word_tokenize
from utils.train import load_checkpoint, save_checkpoint

# <repo>/artifacts/chatbot/bot.pt in the course repository (git-ignored), else a cache folder.
_REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PATH = ((_REPO_ROOT / "artifacts" if (_REPO_ROOT / "pyproject.toml").is_file()
                 else Path.home() / ".cache" / "deep-learning-practice") / "chatbot" / "bot.pt")

QUIT_WORDS = {"", "quit", "exit", "bye"}


@dataclass
class Chatbot:
    """A trained :class:`~projects.chatbot.model.Seq2Seq`, its vocabulary and how to decode."""

    model: nn.Module
    vocab: Vocab
    max_len: int = 12
    beam_width: int = 5
    length_penalty: float = 0.0

    def __post_init__(self):
        if not isinstance(self.model, nn.Module):
            raise TypeError(f"model must be a trained Seq2Seq (an nn.Module), got {type(self.model).__name__}")
        if not isinstance(self.vocab, Vocab):
            raise TypeError(f"vocab must be a utils.text.Vocab, got {type(self.vocab).__name__}")


def encode_message(text: str, vocab: Vocab) -> list[int]:
    """Lower-case, word-tokenise and look up a message (unknown words become ``<unk>``)."""
    if not isinstance(text, str):
        raise TypeError(f"the message must be a str, got {type(text).__name__}")
    tokens = word_tokenize(text)
    if not tokens:
        raise ValueError(f"the message {text!r} has no words; say something")
    return vocab.encode(tokens)


def detokenize(tokens: list[str]) -> str:
    """Join tokens with spaces, without a space before punctuation: ``["hi", "!"] -> "hi!"``."""
    return re.sub(r" ([.,!?;:)])", r"\1", " ".join(tokens))


def reply(bot: Chatbot, text: str, method: str = "beam") -> Reply:
    """The decoded :class:`~projects.chatbot.decode.Reply` to ``text`` (``method``: "beam" or "greedy")."""
    ids = encode_message(text, bot.vocab)
    banned = [bot.vocab.stoi[s] for s in (PAD, BOS) if s in bot.vocab.stoi]
    bos, eos = bot.vocab.bos_index, bot.vocab.eos_index
    if method == "greedy":
        return greedy_decode(bot.model, ids, bos, eos, max_len=bot.max_len, banned=banned)
    if method == "beam":
        return beam_search(bot.model, ids, bos, eos, beam_width=bot.beam_width, max_len=bot.max_len,
                           length_penalty=bot.length_penalty, banned=banned)[0]
    raise ValueError(f"method must be 'beam' or 'greedy', got {method!r}")


def chat(bot: Chatbot, text: str, method: str = "beam") -> str:
    """The bot's reply to ``text``, as a string."""
    return detokenize(bot.vocab.decode(reply(bot, text, method).tokens))


def person_at_keyboard() -> bool:
    """True when someone can type an answer to ``input()``.

    False when ``CHATBOT_NO_CHAT`` (or ``CI``, set by CI services) is set; in a Jupyter kernel, when the front end does not accept
    input requests (nbclient, nbval and ``jupyter nbconvert --execute`` send ``allow_stdin=False``);
    elsewhere, when standard input is not a terminal (a pipe, a file, pytest's capture).
    """
    if os.environ.get("CHATBOT_NO_CHAT") or os.environ.get("CI"):
        return False
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:
        shell = None
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        return bool(getattr(kernel, "_allow_stdin", False))
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):       # stdin replaced or closed
        return False


def chat_loop(bot: Chatbot, ask: Callable[[str], str] = input, say: Callable[[str], None] = print,
              max_turns: int = 100) -> int:
    """Read a message, print the reply, repeat; an empty line, "quit", "exit" or "bye" ends it.
    Returns the number of replies given. ``ask``/``say`` default to ``input``/``print``."""
    turns = 0
    while turns < max_turns:
        try:
            text = ask("you: ")
        except (EOFError, KeyboardInterrupt, NotImplementedError):    # NotImplementedError: IPython's
            break                                                      # StdinNotImplementedError, no front end
        if text.strip().lower() in QUIT_WORDS:
            break
        try:
            say(f"bot: {chat(bot, text)}")
        except ValueError as error:            # e.g. a message with no words
            say(f"bot: (I could not read that: {error})")
            continue
        turns += 1
    return turns


def save_bot(bot: Chatbot, path: str | os.PathLike = DEFAULT_PATH) -> Path:
    """Save the model's weights, its size and the vocabulary in one checkpoint (``utils.train``)."""
    return save_checkpoint(path, bot.model, config=dict(bot.model.config), vocab=bot.vocab.state_dict(),
                           decoding={"max_len": bot.max_len, "beam_width": bot.beam_width,
                                     "length_penalty": bot.length_penalty})


def load_bot(path: str | os.PathLike = DEFAULT_PATH) -> Chatbot:
    """The :class:`Chatbot` that :func:`save_bot` saved at ``path`` (on the CPU)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved bot at {path}: run projects/chatbot/chatbot.ipynb first "
                                f"(it saves one there), or pass the path of your own")
    import torch

    extra = torch.load(path, map_location="cpu", weights_only=True)["extra"]
    model = Seq2Seq(**extra["config"])
    load_checkpoint(path, model)
    return Chatbot(model.eval(), Vocab.from_state_dict(extra["vocab"]), **extra["decoding"])


if __name__ == "__main__":
    bot = load_bot(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PATH)
    print("Chatting with the bot; an empty line, 'quit' or 'bye' ends it.")
    chat_loop(bot)
