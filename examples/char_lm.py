"""A character-level LSTM language model with gradtrace watching its gradients.

The model follows PyTorch's word_language_model example at character level: embedding ->
2-layer LSTM -> linear, truncated backpropagation through 35 characters with the hidden state
carried across windows, SGD with gradient-norm clipping at 0.25. The corpus is generated from a
small grammar, so the example needs no download. The monitor is attached in three lines, marked
``# gradtrace (n/3)``.

    python examples/char_lm.py              # healthy: default init, clip 0.25, lr 2
    python examples/char_lm.py --bad        # N(0,1) recurrent weights, no clipping, lr 20
    python examples/char_lm.py --dry-run    # 40 steps, for CI (add --bad for the bad run)
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import sys
import time

import torch
from torch import nn

from gradtrace.init import normal_
from gradtrace.monitor import Monitor, RichSummary  # gradtrace (1/3)

# the grammar's words; make_corpus draws "the|a [adjective] noun verb the|a [adjective] noun."
WORDS = {
    "noun": "cat dog bird fox owl horse river tree stone wind lamp road ship bell",
    "verb": "sees finds follows hears watches carries crosses meets leaves wakes",
    "adjective": "old small quiet red tall grey swift cold bright lost",
}


def make_corpus(n_chars: int, *, seed: int = 0) -> str:
    """Sentences from a tiny grammar ("the old fox follows a bell."), about ``n_chars`` long."""
    rng = random.Random(seed)
    nouns, verbs, adjectives = (WORDS[k].split() for k in ("noun", "verb", "adjective"))

    def phrase() -> str:
        adjective = f"{rng.choice(adjectives)} " if rng.random() < 0.5 else ""
        return f"{rng.choice(['the', 'a'])} {adjective}{rng.choice(nouns)}"

    sentences: list[str] = []
    size = 0
    while size < n_chars:
        sentences.append(f"{phrase()} {rng.choice(verbs)} {phrase()}.")
        size += len(sentences[-1]) + 1
    return " ".join(sentences)


class CharLM(nn.Module):
    """Embedding -> LSTM -> linear; returns logits (B, T, V) and the final LSTM state."""

    def __init__(self, vocab: int, *, embed: int = 32, hidden: int = 128, layers: int = 2):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, tokens: torch.Tensor, state=None):
        out, state = self.lstm(self.embed(tokens), state)  # (B, T, H)
        return self.decoder(out), state  # (B, T, V)


def batchify(text: str, vocab: dict[str, int], batch_size: int) -> torch.Tensor:
    """The text as ``batch_size`` parallel streams of character ids (B, N)."""
    ids = torch.tensor([vocab[c] for c in text], dtype=torch.long)
    length = ids.numel() // batch_size
    return ids[: length * batch_size].view(batch_size, length)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; every flag has help."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bad", action="store_true", help="N(0,1) init, no clipping, lr 20")
    p.add_argument("--dry-run", action="store_true", help="40 quick steps (CI)")
    p.add_argument("--steps", type=int, default=600, help="optimizer steps (default 600)")
    p.add_argument("--lr", type=float, default=None, help="SGD learning rate (2, or 20 with --bad)")
    p.add_argument("--clip", type=float, default=0.25, help="max gradient norm (default 0.25)")
    p.add_argument("--bptt", type=int, default=35, help="characters per window (default 35)")
    p.add_argument("--batch-size", type=int, default=32, help="parallel streams (default 32)")
    p.add_argument("--hidden", type=int, default=128, help="LSTM hidden size (default 128)")
    p.add_argument("--profile-every", type=int, default=100, help="steps between profiles")
    p.add_argument("--jsonl", default=None, help="also write the monitor's records here")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (1 with --dry-run)")
    args = p.parse_args(argv)
    for name in ("steps", "bptt", "batch_size", "hidden"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')}: {getattr(args, name)} is not allowed; use >= 1")
    if args.clip <= 0:
        p.error(f"--clip: {args.clip} is not allowed; use a number > 0")
    if args.dry_run:
        args.steps = min(args.steps, 40)
        args.threads = args.threads or 1
    if args.lr is None:
        args.lr = 20.0 if args.bad else 2.0
    return args


def train(args: argparse.Namespace) -> Monitor:
    """Train the model as ``args`` say, printing the loss now and then; returns the monitor."""
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    text = make_corpus(40_000 if args.dry_run else 400_000, seed=args.seed)
    vocab = {c: i for i, c in enumerate(sorted(set(text)))}
    data = batchify(text, vocab, args.batch_size)  # (B, N)
    model = CharLM(len(vocab), hidden=args.hidden)
    if args.bad:
        normal_(model, std=1.0)  # N(0,1) recurrent weights: saturated gates, huge gradients
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    sinks = [RichSummary()] + ([args.jsonl] if args.jsonl else [])
    # gradtrace (2/3): watch every optimizer step (a step pre-hook); the monitor also clips
    monitor = Monitor(
        model,
        optimizer,
        clip=None if args.bad else "norm",
        clip_value=args.clip,
        profile_every=args.profile_every,
        sinks=sinks,
        warn=False,  # alerts go to logging only (configured in main)
    )
    state, position = None, 0
    for step in range(args.steps):
        if position + args.bptt + 1 > data.size(1):
            state, position = None, 0
        chunk = data[:, position : position + args.bptt + 1]  # (B, bptt + 1)
        position += args.bptt
        if state is not None:
            state = tuple(s.detach() for s in state)  # truncate backpropagation here
        logits, state = model(chunk[:, :-1], state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), chunk[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == args.steps - 1:
            bpc = loss.item() / math.log(2)
            print(f"step {step:4d}  loss {loss.item():.3f}  bits/char {bpc:.2f}", flush=True)
    monitor.close()  # gradtrace (3/3): flush, close the sinks, print the summary table
    return monitor


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, train, and say how long it took and how many alerts were raised."""
    args = parse_args(argv)
    logging.basicConfig(format="%(name)s: %(message)s", level=logging.WARNING)
    started = time.perf_counter()
    monitor = train(args)
    elapsed = time.perf_counter() - started
    print(f"{args.steps} steps in {elapsed:.1f} s; {len(monitor.alerts)} alert(s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
