"""Run settings: every setting reachable from a flag or an environment variable, flag > env > default."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from bulkgc.config import RunSettings, add_arguments, from_sources
from bulkgc.errors import ConfigError

# The one setting without a flag: the key's text belongs in a CI secret store, never on a command line
# (where `ps` would show it to every user of the build machine).
ENV_ONLY = {"private_key"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p


def test_every_setting_has_an_environment_variable_and_all_but_the_key_text_a_flag() -> None:
    """Unattended runs need each setting settable without a flag, and each (but the secret) settable by one."""
    actions = {a.dest for a in parser()._actions}
    for f in dataclasses.fields(RunSettings):
        assert f.metadata.get("env"), f"{f.name} has no environment variable"
        if f.name in ENV_ONLY:
            assert f.name not in actions
        else:
            assert f.name in actions, f"{f.name} has no flag"


def test_flag_beats_environment_beats_default(tmp_path: Path) -> None:
    """With both a flag and its variable set the flag wins; the variable alone wins over the default."""
    env = {"BULKGC_API_CONCURRENCY": "4", "BULKGC_POLL_INTERVAL": "3s", "BULKGC_DEADLINE": "1h30m",
           "BULKGC_RATE_WINDOW": "10s", "ASC_KEY_ID": "ENVKEY0001"}
    args = parser().parse_args(["--api-concurrency", "7", "--key-id", "FLAGKEY001", str(tmp_path / "m.toml")])
    s = from_sources(RunSettings, args, env)
    assert s.api_concurrency == 7 and s.key_id == "FLAGKEY001"  # flag over env
    assert s.poll_interval == 3.0 and s.deadline == 5400.0 and s.rate_window == 10.0  # env over default
    assert s.images_in_flight == RunSettings().images_in_flight  # neither: the default
    assert s.manifest == tmp_path / "m.toml"


def test_bad_values_name_their_source() -> None:
    """A bad flag value and a bad variable are both reported, each naming where it came from."""
    args = parser().parse_args(["--images-in-flight", "0"])
    with pytest.raises(ConfigError) as err:
        from_sources(RunSettings, args, {"BULKGC_DEADLINE": "soon", "BULKGC_API": "v3"})
    text = str(err.value)
    assert "--images-in-flight" in text and "environment variable BULKGC_DEADLINE" in text
    assert "environment variable BULKGC_API" in text


def test_default_journal_lives_next_to_the_manifest(tmp_path: Path) -> None:
    """Without --journal the journal is .bulkgc/journal.sqlite beside the manifest, wherever the run starts."""
    s = from_sources(RunSettings, None, {}, manifest=tmp_path / "game" / "m.toml")
    assert s.journal_path == (tmp_path / "game").resolve() / ".bulkgc" / "journal.sqlite"
    assert from_sources(RunSettings, None, {"BULKGC_JOURNAL": "/x/j.sqlite"}).journal_path == Path("/x/j.sqlite")
