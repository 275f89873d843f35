"""Network failures say what happened (refused, TLS handshake, timed out, name not resolved), where
(host:port) and what to check, and end resumable (exit 4) in bounded time; loopback only, no DNS."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bulkgc.asc.client import describe_transport_failure

REPO = Path(__file__).resolve().parent.parent
BOUND = 150.0  # seconds: the retries of one request (plus one --request-timeout each) end well within this
#: `python -m bulkgc`, with the client's back-off between attempts compressed from 0.5 s doubling (30 s cap)
#: to 0.05 s doubling (1 s cap) as tests/faults does in-process (RunSettings has no knob for it): the same
#: six attempts per request, each with its --request-timeout, the same messages and exit code, without ~16 s
#: of waiting between attempts. A push that hung or retried without end would still overrun BOUND.
QUICK_BACKOFF_CLI = (
    "import dataclasses, bulkgc.pipeline as p; real = p.client_config; "
    "p.client_config = lambda s: dataclasses.replace(real(s), backoff_base=0.05, backoff_max=1.0); "
    "from bulkgc.cli import main; raise SystemExit(main())"
)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def plain_http_port() -> Iterator[int]:
    """A loopback port that answers plain HTTP (so a TLS handshake to it fails)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(srv.getsockname()[1])
    stop.set()
    thread.join(5)
    srv.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    yield int(srv.getsockname()[1])
    srv.close()


def workspace(tmp: Path) -> tuple[Path, Path]:
    shutil.copytree(REPO / "assets", tmp / "assets")
    shutil.copytree(REPO / "manifests", tmp / "manifests")
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key_path = tmp / "AuthKey_ABCDEFGHIJ.p8"
    key_path.write_bytes(key)
    return tmp / "manifests" / "example.toml", key_path


def start_push(tmp: Path, base_url: str, *extra: str) -> subprocess.Popen[str]:
    manifest, key = workspace(tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASC_", "BULKGC_"))}
    return subprocess.Popen(
        [sys.executable, "-c", QUICK_BACKOFF_CLI, "push", str(manifest), "--base-url", base_url,
         "--key-id", "ABCDEFGHIJ", "--issuer-id", "57246542-96fe-1a63-e053-0824d011072a",
         "--private-key-path", str(key),
         "--log-format", "plain", *extra],
        cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_refused_tls_to_plain_port_and_timeout_each_exit_4_naming_host_port_and_what_to_check(
    tmp_path: Path, plain_http_port: int, silent_port: int,
) -> None:
    """Refused, https to a plain-http port, a silent server: each named with host:port and a fix, exit 4."""
    refused = closed_port()
    cases = {
        "refused": (f"http://127.0.0.1:{refused}", (), [f"connection refused by 127.0.0.1:{refused}",
                                                         "check the host and port in --base-url"]),
        "tls": (f"https://127.0.0.1:{plain_http_port}", (),
                [f"TLS handshake with 127.0.0.1:{plain_http_port} failed", "https to a plain-http port"]),
        "timeout": (f"http://127.0.0.1:{silent_port}", ("--request-timeout", "1s"),
                    [f"timed out: no answer from 127.0.0.1:{silent_port} within --request-timeout 1s",
                     "check the network or proxy"]),
    }
    procs = {}
    for name, (url, extra, _) in cases.items():
        (tmp_path / name).mkdir()
        procs[name] = start_push(tmp_path / name, url, *extra)
    for name, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=BOUND)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"{name}: push did not end within {BOUND:.0f}s")
        last = err.strip().splitlines()[-1]
        assert proc.returncode == 4, (name, err[-1500:])
        assert last.startswith("bulkgc: App Store Connect could not be reached:"), (name, last)
        for words in cases[name][2]:
            assert words in last, (name, last)
        assert "run the same command again to resume" in last
        assert "Traceback" not in err and "retried automatically" not in err


def test_name_not_resolved_is_said_with_the_host_and_what_to_check() -> None:
    """A failed name lookup (a socket.gaierror; no lookup is made here) says so and names the host."""
    err = OSError("Cannot connect to host bulkgc-test.invalid:443")
    err.__cause__ = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    what, check = describe_transport_failure(err, "bulkgc-test.invalid:443", "bulkgc-test.invalid", 60.0)
    assert what == "name not resolved: bulkgc-test.invalid could not be looked up"
    assert "check the host name in --base-url" in check and "DNS" in check


def test_refused_before_any_answer_is_tried_three_times_not_backed_off_for_a_minute(tmp_path: Path) -> None:
    """A base URL that refuses every connection from the start is a wrong URL far more often than an outage:
    the client tries three connections in all (two retries logged), then exits 4 naming it, instead of the
    full back-off of one request (six sends, about 16 s)."""
    from bulkgc.asc.client import UNREACHED_TRIES

    refused = closed_port()
    proc = start_push(tmp_path, f"http://127.0.0.1:{refused}", "--outage-patience", "10m")
    out, err = proc.communicate(timeout=BOUND)
    assert proc.returncode == 4, err[-1500:]
    retries = [line for line in err.splitlines() if "retrying" in line]
    assert len(retries) == UNREACHED_TRIES - 1 == 2, err[-3000:]
    assert f"connection refused by 127.0.0.1:{refused}" in err.strip().splitlines()[-1]
