"""What the console writes to a terminal loses its needless style changes and draws the very
same cells (tui/terminal_output.py), compared on a VT100 screen (pyte)."""

from __future__ import annotations

import random

import pyte

from tui.terminal_output import Coalescer

STYLES = ["1", "38;5;214", "48;5;17", "1;38;5;214;48;5;17", "38;5;253;48;5;17", "7", "4;38;2;10;20;30", "22", "39"]


def cells(output: str, columns: int = 30, lines: int = 4) -> list:
    screen = pyte.Screen(columns, lines)
    pyte.Stream(screen).feed(output)
    return [[screen.buffer[y][x] for x in range(columns)] for y in range(lines)] + [screen.cursor.attrs]


def test_a_row_of_one_style_in_pieces_is_written_once():
    coalesce = Coalescer()
    # The first write: the terminal's style is unknown until its first reset.
    assert coalesce("\x1b[1mA\x1b[0m\x1b[1mB\x1b[0m") == "\x1b[1mA\x1b[0m\x1b[1mB\x1b[0m"
    row = "\x1b[2;1H\x1b[48;5;17m \x1b[0m\x1b[48;5;17m  \x1b[0m\x1b[48;5;17mx\x1b[0m"
    assert coalesce(row) == "\x1b[2;1H\x1b[48;5;17m   x\x1b[0m"
    assert coalesce("\x1b[1mA\x1b[0m\x1b[38;5;214m\x1b[0m\x1b[1mB\x1b[m") == "\x1b[1mAB\x1b[m"  # an empty style colours nothing


def test_a_style_set_over_another_is_never_taken_for_a_clean_one():
    # "7" on top of "1" is bold and reversed; after a reset "7" alone is not: the reset stays.
    output = "\x1b[0m\x1b[1mA\x1b[7mB\x1b[0m\x1b[7mC\x1b[0m"
    assert Coalescer()(output) == output
    # A write that ends inside a sequence: the next one finishes it ("bold"), so the terminal's
    # style is not the clean one there, and C is written bold as it should be.
    coalesce, writes = Coalescer(), ["X\x1b[0m\x1b[", "1mA\x1b[38;5;1mB\x1b[0m\x1b[38;5;1mC"]
    assert cells("".join(coalesce(write) for write in writes)) == cells("".join(writes))


def test_any_output_draws_the_same_cells():
    rng = random.Random(14)
    for _ in range(600):
        output = "".join(_random_output(rng) for _ in range(rng.randint(1, 4)))
        cuts = sorted(rng.sample(range(len(output) + 1), min(len(output) + 1, rng.randint(0, 3))))
        # Written in pieces, cut anywhere, even inside an escape sequence.
        writes = [output[start:end] for start, end in zip([0, *cuts], [*cuts, len(output)])]
        coalesce = Coalescer()
        coalesced = "".join(coalesce(write) for write in writes)
        assert cells(coalesced) == cells(output), repr(writes)
        assert len(coalesced) <= len(output)


def _random_output(rng: random.Random) -> str:
    pieces = []
    for _ in range(rng.randint(1, 30)):
        choice = rng.random()
        if choice < 0.35:
            pieces.append(f"\x1b[{rng.choice(STYLES)}m")
        elif choice < 0.6:
            pieces.append(rng.choice(["\x1b[0m", "\x1b[m"]))
        elif choice < 0.7:
            pieces.append(f"\x1b[{rng.randint(1, 4)};{rng.randint(1, 30)}H")
        else:
            pieces.append(rng.choice(["", " ", "ab", "Rp1.000", "─" * rng.randint(1, 5), "\r\n"]))
    return "".join(pieces)
