"""Text from Huma or Entra made safe to show to a person: on a terminal, in an email, in a sheet.

A name or a remote error may carry characters a terminal or a mail reader acts on instead of
showing: ESC and the C1 controls start colour changes, cursor moves, screen clears and terminal
hyperlinks (OSC 8); CR and LF forge lines; the bidirectional embeddings, overrides and isolates
show text in another order than it is stored ("Trojan Source"). `printable` turns each run of
them into one space and leaves every other character alone, so names in any script read as
they are. The report's templates, its attachment and the console script all show outside text
through it (SPEC §12).
"""

from __future__ import annotations

import re
from typing import Final

_BEYOND_C0: Final = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
#: Every character `printable` replaces (a regular expression class): C0 controls, DEL, C1
#: controls, the line and paragraph separators, and the bidirectional embeddings and overrides
#: (U+202A-E) and isolates (U+2066-9).
CONTROL_CHARACTERS: Final = "\x00-\x1f" + _BEYOND_C0
_CONTROLS: Final = re.compile(f"[{CONTROL_CHARACTERS}]+")
#: The same but the line feed, for text whose lines are its layout (a CSV cell, a message).
_CONTROLS_BUT_LINES: Final = re.compile(f"[\x00-\x09\x0b-\x1f{_BEYOND_C0}]+")


def printable(text: str, *, keep_lines: bool = False) -> str:
    """`text` with every run of control characters turned into one space.

    Args:
        text: Text from outside (a name, a value, a remote error).
        keep_lines: Keep line feeds (CR is still replaced): for text whose lines are meant.

    Returns:
        The text, safe to print to a terminal or to put into a plain-text email.
    """
    return (_CONTROLS_BUT_LINES if keep_lines else _CONTROLS).sub(" ", text)


def one_line(text: str) -> str:
    """`text` as one clean line: `printable`, with the spaces at both ends removed."""
    return printable(text).strip()
