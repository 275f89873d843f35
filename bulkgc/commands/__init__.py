"""One module per subcommand: register(subparsers) and run(args) -> int; shared --help layout."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

#: the parser options every subcommand uses, so --help keeps the Examples and exit-code layout as written
HELP_LAYOUT = {"formatter_class": argparse.RawDescriptionHelpFormatter}


def help_epilog(examples: Sequence[str], exit_codes: Mapping[int, str]) -> str:
    """The end of a subcommand's --help: its examples (one command each) and its exit codes."""
    lines = ["examples:"]
    lines += [f"  {example}" for example in examples]
    lines += ["", "exit codes:"]
    lines += [f"  {code:<3} {meaning}" for code, meaning in exit_codes.items()]
    lines.append("  141 stdout was closed by its reader (e.g. piped into head): stopped quietly")
    return "\n".join(lines)
