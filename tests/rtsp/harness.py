"""Cameras for the reader tests: a real RTSP server (GStreamer, in a subprocess) and raw TCP servers that misbehave.

The RTSP server runs under Debian's /usr/bin/python3, which has the GStreamer bindings (`gi`); the venv has not.
It can be killed and started again on the same port, as a camera that reboots.
"""

from __future__ import annotations

import contextlib
import os
import random
import selectors
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

GST_PYTHON = os.environ.get("FRONTAGE_GST_PYTHON", "/usr/bin/python3")
SERVER_SCRIPT = Path(__file__).with_name("gst_server.py")
APT_PACKAGES = (
    "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-base gstreamer1.0-plugins-good "
    "gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools"
)

_checked: list[str | None] = []


def gstreamer_missing() -> str | None:
    """Why the RTSP server cannot run here, or None when it can (checked once per test session)."""
    if not _checked:
        reason = None
        if not Path(GST_PYTHON).is_file():
            reason = f"{GST_PYTHON} not found"
        else:
            try:
                res = subprocess.run([GST_PYTHON, str(SERVER_SCRIPT), "--check"], capture_output=True, text=True,
                                     timeout=30)  # fmt: skip
                lines = (res.stdout + res.stderr).strip().splitlines()
                if res.returncode != 0:
                    reason = lines[-1] if lines else "gst_server.py --check failed"
            except (OSError, subprocess.TimeoutExpired) as exc:
                reason = f"cannot run {GST_PYTHON}: {exc}"
        _checked.append(reason)
    return _checked[0]


def require_gstreamer() -> None:
    """Skip when GStreamer's RTSP server is not installed; in CI (FRONTAGE_REQUIRE_SERVICES=1) fail instead."""
    reason = gstreamer_missing()
    if reason is None:
        return
    msg = f"GStreamer RTSP server unavailable ({reason}); apt-get install -y --no-install-recommends {APT_PACKAGES}"
    if os.environ.get("FRONTAGE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {msg}")
    pytest.skip(msg)


def stable_port() -> int:
    """A free port on 127.0.0.1 below the kernel's ephemeral range, for a server that is killed and started again.

    A port the kernel picked (`port=0`) comes from the ephemeral range, and while the server is down any outgoing
    connection on the box may be given it, so the restart could not bind it; a port below the range is never
    handed out that way. Falls back to 0 (the kernel picks) when none is found."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(50):
        port = rng.randrange(max(1024, low - 12000), low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    return 0


class RtspServer:
    """GStreamer's RTSP server on 127.0.0.1 serving `mounts` ({"/cam": file}); `.264` files loop forever."""

    def __init__(self, mounts: dict[str, str | Path], port: int = 0, fps: int = 25):
        self.mounts = {m: str(p) for m, p in mounts.items()}
        self.port = port
        self.fps = fps
        self.proc: subprocess.Popen[str] | None = None
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - the server's stderr, kept while it lives

    def url(self, mount: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}{mount}"

    def start(self, timeout: float = 20.0) -> RtspServer:
        """Start and wait for the bound port. Restarting on the same port retries while the old socket lingers."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._spawn(deadline)
            if line.startswith("PORT "):
                self.port = int(line.split()[1])
                return self
            self.kill()
            if time.monotonic() > deadline or self.port == 0:
                self._log.seek(0)
                raise RuntimeError(f"RTSP server did not start: {line!r}; stderr: {self._log.read()[-2000:]}")
            time.sleep(0.2)

    def _spawn(self, deadline: float) -> str:
        args = [GST_PYTHON, str(SERVER_SCRIPT), "--port", str(self.port), "--fps", str(self.fps)]
        args += [f"{m}={p}" for m, p in self.mounts.items()]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._log, text=True)
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(max(0.1, deadline - time.monotonic())):
                return "(no answer)"
            return self.proc.stdout.readline().strip()
        finally:
            sel.close()

    def pause(self) -> None:
        """SIGSTOP: the camera hangs with its connections open (no data, no close)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: the camera vanishes without closing its sessions."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # a stopped process dies on SIGKILL too
            self.proc.wait(timeout=10)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()
        self._log.close()


class TcpServer:
    """A raw TCP listener on 127.0.0.1: with `reply=None` it accepts and never answers (a hung camera);
    with bytes it sends them to each client and hangs up (a camera that speaks garbage)."""

    def __init__(self, reply: bytes | None = None):
        self.reply = reply
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tcp-double", daemon=True)

    def url(self, path: str = "/cam") -> str:
        return f"rtsp://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self.reply is None:
                self._held.append(conn)
                continue
            with contextlib.suppress(OSError):
                conn.sendall(self.reply)
            conn.close()

    def __enter__(self) -> TcpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self.sock.close()
