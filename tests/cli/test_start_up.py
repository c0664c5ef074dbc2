"""What `huma-entra-sync run` loads before it starts the job.

Pins: parsing a command's arguments imports that command's module only (the run does not load the
emulators' web server, nor the demo, login, decisions or rollback commands), and `--help` at the
top level still lists every command.
"""

from __future__ import annotations

import subprocess
import sys

from cli.main import COMMANDS, build_parser


def _loaded_after_parsing(words: list[str]) -> set[str]:
    script = (
        "import sys; from cli.main import build_parser, _command; "
        f"build_parser(_command({words!r})).parse_args({words!r}); "
        "print('\\n'.join(sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_parsing_the_run_command_loads_no_other_command() -> None:
    loaded = _loaded_after_parsing(["run", "--dry-run"])

    assert "cli.run" in loaded
    others = {module for module, _, _ in COMMANDS.values()} - {"cli.run"}
    assert not others & loaded
    assert not {"emulators.serve", "uvicorn", "emulators.launcher"} & loaded


def test_the_top_level_help_lists_every_command() -> None:
    text = build_parser().format_help()

    for name in COMMANDS:
        assert name in text
