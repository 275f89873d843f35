"""A client that disconnects mid-request costs the simulator's log one line, never an aiohttp traceback."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bulkgc.asc.auth import Credentials, TokenProvider


def test_client_gone_mid_body_is_one_log_line(tmp_path: Path) -> None:
    """A client that closes mid-body: one log line for the API POST (an upload to an unknown URL is refused
    before its body is read, so it costs none), no traceback."""
    ready, log_path = tmp_path / "ready.json", tmp_path / "sim.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bulkgc", "sim", "--ready-file", str(ready),
                                 "--key-dir", str(tmp_path / "keys")], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.02)
        time.sleep(0.05)  # the ready file is written atomically, but give the writer a moment
        info = json.loads(ready.read_text())
        creds = Credentials.load(key_id=info["key_id"], issuer_id=info["issuer_id"],
                                 private_key_path=info["private_key_path"], env={})
        token = TokenProvider(creds).token()
        host, port = info["base_url"].removeprefix("http://").split(":")
        heads = [
            f"POST /v2/gameCenterAchievementImages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
            "PUT /upload/nothing-reserved?partNumber=1 HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            "Content-Length: 100000\r\n\r\n",
        ]
        for head in heads:
            with socket.create_connection((host, int(port))) as s:
                s.sendall(head.encode() + b"{" * 10)
                time.sleep(0.3)  # the handler is now waiting for the rest of the body
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    text = log_path.read_text()
    assert "Traceback" not in text and "Error handling request" not in text, text
    lines = [line for line in text.splitlines() if "client disconnected mid-request" in line]
    assert lines == ["client disconnected mid-request: POST /v2/gameCenterAchievementImages"], text
