"""The README's set-up promise: two commands, and CI runs the test one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "README must start with a sh code block holding the two set-up commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_exactly_two_commands() -> None:
    """The first code block has exactly two commands: the demo one and the test one."""
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("bulkgc demo")
    assert "pytest" in commands[1] and ".[test]" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    """.ci/run contains the README's test command unchanged, so the two cannot drift apart."""
    ci = (ROOT / ".ci" / "run").read_text()
    assert _readme_commands()[1] in ci


def test_readme_lists_every_setting_with_its_environment_variable() -> None:
    """Each setting's environment variable appears in the README's settings table."""
    from bulkgc.config import settings_table

    text = (ROOT / "README.md").read_text()
    missing = [env for _flag, env, _default, _help in settings_table() if env and f"`{env}`" not in text]
    assert missing == []
    rows = {line.split("|")[2].strip(): line for line in text.splitlines() if line.startswith("| ") and "`" in line}
    stale = [env for _flag, env, default, help_ in settings_table()
             if env and (help_ not in rows.get(f"`{env}`", "") or (default and f"`{default}`" not in rows[f"`{env}`"]))]
    assert stale == [], "README settings rows out of date with bulkgc/config.py"


def test_ci_installs_chromium_before_the_tests() -> None:
    """.ci/run installs Chromium from the OS packages when it is missing, before the README's test command."""
    ci = (ROOT / ".ci" / "run").read_text()
    install = ci.find("apt-get install -y -qq chromium")
    assert 0 < ci.find("/usr/bin/chromium") < install < ci.find(_readme_commands()[1])
