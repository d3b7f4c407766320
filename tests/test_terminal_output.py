"""What the console writes to a terminal takes the smallest style steps and draws the very same
cells (tui/terminal_output.py), compared on a VT100 screen (pyte)."""

from __future__ import annotations

import random

import pyte

from tui.terminal_output import StyleSteps

STYLES = ["1", "38;5;214", "48;5;17", "1;38;5;214;48;5;17", "38;5;253;48;5;17", "7", "4;38;2;10;20;30", "22",
          "39", "0;7", "3;31;102", "49", "27;24", "53", "9;29"]


def cells(output: str, columns: int = 30, lines: int = 4) -> list:
    screen = pyte.Screen(columns, lines)
    pyte.Stream(screen).feed(output)
    return [[screen.buffer[y][x] for x in range(columns)] for y in range(lines)] + [screen.cursor.attrs]


def test_a_row_of_one_style_in_pieces_is_written_once():
    restyle = StyleSteps()
    restyle("\x1b[0m")  # from here on the terminal's style is known
    row = "\x1b[2;1H\x1b[48;5;17m \x1b[0m\x1b[48;5;17m  \x1b[0m\x1b[48;5;17mx\x1b[0m"
    assert restyle(row) == "\x1b[2;1H\x1b[48;5;17m   x\x1b[0m"
    # From one colour to another only the colour changes; an empty style is never written.
    assert restyle("\x1b[38;5;1mA\x1b[0m\x1b[7m\x1b[0m\x1b[38;5;2mB\x1b[0m") == "\x1b[38;5;1mA\x1b[38;5;2mB\x1b[0m"


def test_the_first_write_starts_from_a_reset_and_unknown_parameters_pass_as_they_are():
    restyle = StyleSteps()
    assert restyle("\x1b[1mA") == "\x1b[1mA"  # the terminal's style is unknown before the first reset
    # Overline (53) is not followed: it and what comes after pass as they came, until a reset,
    # after which a style is written whole.
    assert restyle("\x1b[0m\x1b[1mA\x1b[53mB\x1b[1mC\x1b[0m\x1b[1mD") == "\x1b[0;1mA\x1b[53mB\x1b[1mC\x1b[0;1mD"


def test_an_extended_colour_s_index_is_never_taken_for_a_reset():
    # Colour 0 after an unknown start: "38;5;0" is a colour, so the terminal's style stays unknown
    # and the next style is written whole, not stepped from a "clean" state that is not there.
    restyle = StyleSteps()
    writes = ["\x1b[38;5;0mA\x1b[1mB", "\x1b[0m\x1b[48;5;0mC\x1b[0m"]
    rewritten = "".join(restyle(write) for write in writes)
    assert cells(rewritten) == cells("".join(writes))
    assert rewritten.startswith("\x1b[38;5;0mA\x1b[1mB")


def test_any_output_draws_the_same_cells():
    rng = random.Random(14)
    saved = 0
    for _ in range(800):
        output = "".join(_random_output(rng) for _ in range(rng.randint(1, 4)))
        cuts = sorted(rng.sample(range(len(output) + 1), min(len(output) + 1, rng.randint(0, 3))))
        # Written in pieces, cut anywhere, even inside an escape sequence.
        writes = [output[start:end] for start, end in zip([0, *cuts], [*cuts, len(output)])]
        restyle = StyleSteps()
        rewritten = "".join(restyle(write) for write in writes)
        assert cells(rewritten) == cells(output), repr(writes)
        saved += len(output) - len(rewritten)
    assert saved > 0


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
            pieces.append(rng.choice(["", " ", "ab", "Rp1.000", "─" * rng.randint(1, 5), "\r\n", "\x1b[K"]))
    return "".join(pieces)
