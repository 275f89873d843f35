"""Secrets and safety: no key material, no token and no upload-URL signature reaches any output of a push
(success, failures, a SIGKILL and the resume); journal and reports are private; plain http is loopback-only."""

from __future__ import annotations

import logging
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from cryptography.hazmat.primitives import serialization

from bulkgc.asc.client import ClientConfig
from bulkgc.cli import main
from bulkgc.errors import ConfigError
from bulkgc.sim import FaultRule, SimConfig, Simulator

sys.path.insert(0, str(Path(__file__).parent / "e2e"))
from workload import Workload, make_icon, make_workload, write_manifest  # noqa: E402

JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def live_sim() -> Iterator[tuple[Simulator, set[str]]]:
    """A simulator in its own thread (the CLI runs `anyio.run` here) and every token it was sent."""
    tokens: set[str] = set()
    config = SimConfig(part_size=4096, processing_delay=0.05, upload_latency=0.03, seed=21)
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(Simulator(config)) as sim:
            real_verify = sim.keys.verify

            def verify(authorization: str | None, **kwargs: Any) -> Any:
                if authorization:
                    tokens.add(authorization.partition(" ")[2].strip())
                return real_verify(authorization, **kwargs)

            sim.keys.verify = verify  # type: ignore[method-assign]
            yield sim, tokens


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("ASC_", "BULKGC_")):
            monkeypatch.delenv(name)


class Outputs:
    """Every output of the runs in one test, by name, to be scanned at the end."""

    def __init__(self) -> None:
        self.texts: dict[str, bytes] = {}

    def add(self, name: str, data: str | bytes) -> None:
        self.texts[name] = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data

    def add_files(self, name: str, *paths: Path) -> None:
        for path in paths:
            for f in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
                self.add(f"{name}:{f.name}", f.read_bytes())


def secrets_of(pem: str) -> list[bytes]:
    """The forms the key may leak in: each base64 line of the PEM, the joined body, the raw private scalar."""
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    scalar = key.private_numbers().private_value.to_bytes(32, "big")  # type: ignore[union-attr]
    return [line.encode() for line in body if len(line) >= 16] + ["".join(body).encode(), scalar]


def assert_nothing_leaked(outputs: Outputs, pem: str, tokens: set[str]) -> None:
    """No JWT, token, token signature or key material in any output; no upload signature outside the journal."""
    assert tokens, "the simulator saw no token: the scan would prove nothing"
    needles = secrets_of(pem) + [t.encode() for t in tokens] + [t.rsplit(".", 1)[-1].encode() for t in tokens]
    for name, data in outputs.texts.items():
        text = data.decode("utf-8", "replace")
        assert not JWT.search(text), (name, JWT.search(text))
        if "journal" not in name:  # the private journal keeps upload operations for resuming (see FAILURES.md)
            assert "Signature=" not in text, name
        for needle in needles:
            assert needle not in data, (name, needle[:12])


def push_argv(sim: Simulator, wl: Workload, tmp: Path, *extra: str) -> list[str]:
    key = sim.key.write_p8(tmp / "keys")
    return ["push", str(wl.manifest), "--base-url", sim.base_url, "--key-id", sim.key.key_id, "--issuer-id",
            sim.key.issuer_id, "--private-key-path", str(key), "--journal", str(tmp / "state" / "journal.sqlite"),
            "--report", str(tmp / "out" / "report.json"), "--junit", str(tmp / "out" / "junit.xml"), *extra]


def run(capsys: pytest.CaptureFixture[str], outputs: Outputs, name: str, argv: list[str]) -> int:
    code = main(argv)
    out, err = capsys.readouterr()
    outputs.add(f"{name}:stdout", out)
    outputs.add(f"{name}:stderr", err)
    assert "Traceback" not in err
    return code


def assert_private(tmp: Path) -> None:
    """Journal files and reports are readable by their owner only; the journal directory too."""
    assert stat.S_IMODE((tmp / "state").stat().st_mode) == 0o700
    files = [*sorted((tmp / "state").iterdir()), tmp / "out" / "report.json", tmp / "out" / "junit.xml"]
    assert any(f.name == "journal.sqlite" for f in files)
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_success_and_failures_leak_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
    live_sim: tuple[Simulator, set[str]],
) -> None:
    """A clean push, then one with dropped uploads, 5xx and a rejected icon: no secret in stdout, stderr, JSON log,
    debug log records, reports or journal; upload URLs are shown redacted; files are 0600."""
    sim, tokens = live_sim
    tokens.clear()
    caplog.set_level(logging.DEBUG)
    # the CLI's own handler stops `bulkgc` records at its logger (propagate=False), so listen there directly,
    # at DEBUG: every record the package makes, not only what the CLI prints, is scanned for secrets
    caplog.set_level(logging.DEBUG, logger="bulkgc")
    logging.getLogger("bulkgc").addHandler(caplog.handler)
    try:
        _success_then_failures(tmp_path, capsys, caplog, sim, tokens)
    finally:
        logging.getLogger("bulkgc").removeHandler(caplog.handler)


def _success_then_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
                           sim: Simulator, tokens: set[str]) -> None:
    outputs = Outputs()
    wl = make_workload(tmp_path / "wl", 3, ("en-US", "fr-FR"), app_id=sim.app_id)
    wl.vendors = [v.replace("e2e", "sec") for v in wl.vendors]  # not to meet other tests' achievements
    for path in sorted(wl.assets.iterdir()):
        path.rename(path.with_name(path.name.replace("e2e", "sec")))
    write_manifest(wl)

    quick = ("--poll-interval", "0.05")  # the simulator processes in 0.05 s: no 2 s (default) waits per poll
    assert run(capsys, outputs, "clean", push_argv(sim, wl, tmp_path, "--log-format", "json", *quick)) == 0
    assert_private(tmp_path)
    outputs.add_files("clean", tmp_path / "state", tmp_path / "out")

    for i, vendor in enumerate(wl.vendors):
        make_icon(wl.icon(vendor, "en-US"), 500 + i, variant=2)  # three changed icons to upload again
    sim.add_fault(FaultRule(kind="drop", route_glob="/upload/*", count=2))
    sim.add_fault(FaultRule(kind="status", status=500, method="PATCH", count=1))
    sim.add_fault(FaultRule(kind="fail_processing", method="PATCH", route_glob="*/gameCenterAchievementImages/*",
                            code="IMAGE_ASSET_CORRUPT", count=1))
    try:
        code = run(capsys, outputs, "faulty", push_argv(sim, wl, tmp_path, "--log-format", "json", *quick))
    finally:
        sim.clear_faults()
    assert code == 1
    outputs.add_files("faulty", tmp_path / "state", tmp_path / "out")
    outputs.add("log records", "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records))
    assert "IMAGE_ASSET_CORRUPT" in outputs.texts["faulty:report.json"].decode()
    # the upload retries were logged, with the URL redacted rather than left out
    assert "/upload/" in outputs.texts["log records"].decode() and "<redacted>" in outputs.texts["log records"].decode()
    assert_private(tmp_path)
    assert_nothing_leaked(outputs, sim.key.private_key_pem, tokens)


def test_sigkill_mid_run_and_resume_leak_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], live_sim: tuple[Simulator, set[str]],
) -> None:
    """A push SIGKILLed mid-upload leaves a journal without secrets; its output and the resume's leak nothing."""
    sim, tokens = live_sim
    tokens.clear()
    outputs = Outputs()
    wl = make_workload(tmp_path / "wl", 4, ("en-US", "fr-FR"), app_id=sim.app_id)
    wl.vendors = [v.replace("e2e", "kill") for v in wl.vendors]
    for path in sorted(wl.assets.iterdir()):
        path.rename(path.with_name(path.name.replace("e2e", "kill")))
    write_manifest(wl)
    argv = push_argv(sim, wl, tmp_path, "--log-format", "json")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASC_", "BULKGC_"))}
    seen = sum(1 for r in sim.requests if r.kind == "upload")
    proc = subprocess.Popen([sys.executable, "-m", "bulkgc", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while sum(1 for r in sim.requests if r.kind == "upload") < seen + 4 and proc.poll() is None:
            assert time.monotonic() < deadline, "the push never started uploading"
            time.sleep(0.01)
        assert proc.poll() is None, "the push finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    outputs.add("killed:stdout", out)
    outputs.add("killed:stderr", err)
    outputs.add_files("killed", tmp_path / "state")

    assert run(capsys, outputs, "resumed", argv) == 0
    outputs.add_files("resumed", tmp_path / "state", tmp_path / "out")
    assert_private(tmp_path)
    assert_nothing_leaked(outputs, sim.key.private_key_pem, tokens)


@pytest.mark.parametrize("url", ["http://api.appstoreconnect.apple.com", "http://10.0.0.1:8080",
                                 "http://127.0.0.1.example.com", "ftp://127.0.0.1"])
def test_plain_http_to_a_real_host_is_refused_before_anything_happens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], live_sim: tuple[Simulator, set[str]], url: str,
) -> None:
    """A base URL that is not https (or http on loopback) exits 3 with one clear line; no request, no journal."""
    sim, _ = live_sim
    wl = make_workload(tmp_path / "wl", 1, ("en-US",), app_id=sim.app_id)
    argv = push_argv(sim, wl, tmp_path)
    argv[argv.index("--base-url") + 1] = url
    before = len(sim.requests)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 3
    (line,) = err.strip().splitlines()
    assert url in line and "use https" in line.replace("use https://", "use https"), line
    assert len(sim.requests) == before
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9", "https://example.com"])
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    """https anywhere and plain http on a loopback address (the simulator) are valid base URLs."""
    assert ClientConfig(base_url=url).base_url == url


def test_non_loopback_http_is_a_config_error() -> None:
    """The client itself refuses plain http to a real host, whoever builds it."""
    with pytest.raises(ConfigError, match="plain http"):
        ClientConfig(base_url="http://192.168.1.10")


@pytest.mark.parametrize("debug", [False, True])
def test_unexpected_exception_is_one_redacted_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    live_sim: tuple[Simulator, set[str]], debug: bool,
) -> None:
    """A bug that raises with a live token and a signed URL in its text exits 1 with one redacted line saying it
    is a bug (with BULKGC_DEBUG=1 a redacted traceback too): no token, no signature, nothing of the key."""
    import bulkgc.pipeline as pipeline

    sim, tokens = live_sim
    tokens.clear()
    real_build_plan = pipeline.build_plan

    async def broken_build_plan(client: Any, *args: Any, **kwargs: Any) -> Any:
        await real_build_plan(client, *args, **kwargs)
        raise RuntimeError(f"boom Authorization: Bearer {client.tokens.token()} while sending "
                           f"{sim.base_url}/upload/x?Expires=1&Signature=c2VjcmV0c2lnbmF0dXJl")

    monkeypatch.setattr(pipeline, "build_plan", broken_build_plan)
    if debug:
        monkeypatch.setenv("BULKGC_DEBUG", "1")
    wl = make_workload(tmp_path / "wl", 1, ("en-US",), app_id=sim.app_id)
    outputs = Outputs()
    code = run(capsys, outputs, "crash", push_argv(sim, wl, tmp_path)) if not debug else main(
        push_argv(sim, wl, tmp_path))
    if debug:
        out, err = capsys.readouterr()
        outputs.add("crash:stdout", out)
        outputs.add("crash:stderr", err)
        assert "Traceback" in err and "broken_build_plan" in err
    err = outputs.texts["crash:stderr"].decode()
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("bulkgc: internal error (RuntimeError at test_secrets.py:") and "bug" in last, last
    assert "<redacted>" in last
    outputs.add_files("crash", tmp_path / "state")
    assert_nothing_leaked(outputs, sim.key.private_key_pem, tokens)
