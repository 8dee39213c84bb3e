"""Reference loop vs ``model.sample`` for 300 characters on the same weights, in one run.

    python -m benchmarks.sampling [--checkpoint PATH] [--length 300] [--repeats 20]

Without a checkpoint, a reference-sized model (embed 32, hidden 128) with the default
corpus's vocabulary is initialised at random: sampling cost does not depend on training.
"""

from __future__ import annotations

import argparse

import torch

from benchmarks.reference import best_of, reference_generate
from model.checkpoint import load_checkpoint
from model.device import pick_device
from model.network import CharGenerator
from model.sample import sample
from model.text import read_corpus
from model.vocab import Vocabulary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint")
    parser.add_argument("--corpus", default="data/arabic_text.txt")
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    device = pick_device(args.device)
    if args.checkpoint:
        ckpt = load_checkpoint(args.checkpoint, device)
        model, vocab = ckpt.model, ckpt.vocab
    else:
        torch.manual_seed(0)
        vocab = Vocabulary.from_text(read_corpus(args.corpus))
        model = CharGenerator(len(vocab)).to(device).eval()
    seed = "في الصباح"
    ref_med, _ = best_of(
        lambda: reference_generate(model, vocab, seed, args.length, 0.8), args.repeats
    )
    new_med, _ = best_of(
        lambda: sample(model, vocab, seed, args.length, 0.8, rng_seed=1), args.repeats
    )
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"{'loop':<28}{'median ms':>12}{'per char us':>14}")
    for name, med in (("reference (.item per char)", ref_med), ("model.sample", new_med)):
        print(f"{name:<28}{med * 1e3:>12.2f}{med / args.length * 1e6:>14.1f}")
    print(f"speed-up (reference / model.sample, medians): {ref_med / new_med:.2f}x")


if __name__ == "__main__":
    main()
