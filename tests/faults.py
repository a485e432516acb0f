"""Helpers for tests/test_faults.py: a gunicorn we can kill, a TCP proxy we can cut, the CLI."""

import csv
import http.client
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from .helpers import CSRF, ROOT, Browser


class Signer(Browser):
    """A person's browser: fetch the form once, then post it, seeing status and headers."""

    def form_token(self, url: str) -> str | None:
        """The CSRF token of the form at url, or None if the page did not come."""
        try:
            status, page = self.get(url)
        except (OSError, http.client.HTTPException):  # refused, or cut off by a kill
            return None
        match = CSRF.search(page)
        return match.group(1) if status == 200 and match else None

    def post(self, url: str, fields: dict, token: str) -> tuple[int, dict, str]:
        """POST the form with the token: (status, headers, body)."""
        data = urllib.parse.urlencode({**fields, "csrf_token": token}).encode()
        request = urllib.request.Request(url, data=data)  # noqa: S310 - our own server
        try:
            with self.opener.open(request, timeout=15) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()


def person(n: int, prefix: str = "signer") -> dict:
    """The signing form of person n, with a distinct address."""
    return {
        "full_name": f"Person {prefix} {n}",
        "email": f"{prefix}{n}@example.org",
        "city": "Calais",
        "country": "FR",
        "show_publicly": "y",
        "consent": "y",
    }


def acknowledged(status: int, headers: dict, slug: str) -> bool:
    """Whether a signing POST got the success answer: a redirect to "check your email"."""
    location = headers.get("Location", "")
    return status == 302 and urllib.parse.urlsplit(location).path == f"/p/{slug}/check-your-email"


def server_environment(database_url: str, port: int, **overrides: str) -> dict:
    """The environment of a gunicorn serving the test database, as in production."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "faults test key " + uuid.uuid4().hex,
        "SERVER_NAME": f"127.0.0.1:{port}",
        "BIND": f"127.0.0.1:{port}",
        "RATELIMIT_ENABLED": "false",
        "FLASK_MIN_FORM_SECONDS": "0",
        "WEB_CONCURRENCY": "3",
        **overrides,
    }


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py petition:create_app()` as a child process."""

    def __init__(self, environment: dict, log: Path):
        self.environment = environment
        self.log = log
        self.url = f"http://{environment['BIND']}"
        self.process: subprocess.Popen | None = None
        self._output = None

    def start(self, timeout: float = 30) -> float:
        """Start and wait until /healthz answers 200; return how long that took."""
        started = time.monotonic()
        self._output = self.log.open("a")
        self.process = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "petition:create_app()"],
            cwd=ROOT,
            env=self.environment,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        while True:
            try:
                if Browser().get(f"{self.url}/healthz")[0] == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() - started < timeout, self.log.read_text()
            time.sleep(0.1)

    def workers(self) -> list[int]:
        """The worker processes' ids (children of the master)."""
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
            parent = int(stat.rpartition(")")[2].split()[1])
            if parent == self.process.pid:
                children.append(int(entry.name))
        return children

    def kill_workers(self) -> list[int]:
        """kill -9 every worker; the master starts new ones."""
        killed = self.workers()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        return killed

    def kill_all(self) -> None:
        """kill -9 the master and its workers at once, as a crash of the machine would."""
        workers = self.workers()
        self.process.kill()
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(10)
        self._wait_gone(workers)
        self._output.close()

    def stop(self) -> None:
        """End the server after a test: SIGINT, then SIGKILL for what lingers past a second.

        The workers take seconds to finish exiting, and the master longer: a test's
        teardown need not wait for them.
        """
        if self.process is not None and self.process.poll() is None:
            workers = self.workers()
            self.process.send_signal(signal.SIGINT)
            self._wait_gone(workers, timeout=1)
            self.kill_all()
        if self._output is not None and not self._output.closed:
            self._output.close()

    @staticmethod
    def _wait_gone(pids: list[int], timeout: float = 10) -> None:
        """Wait until these processes have ended (a zombie has: it only awaits its reaping)."""
        deadline = time.monotonic() + timeout
        for pid in pids:
            while _running(pid) and time.monotonic() < deadline:
                time.sleep(0.02)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


class TCPProxy:
    """Forwards 127.0.0.1:<port> to a target; `cut()` drops the listener and every connection."""

    def __init__(self, target: tuple[str, int], port: int):
        self.target = target
        self.port = port
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen on the port (the same one again after a cut) and forward."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self._listener = listener
        self._stop.clear()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """Close the listening socket and every forwarded connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def flask_cli(database_url: str, *args: str, **environment: str) -> subprocess.CompletedProcess:
    """`flask --app petition ARGS` in a new process, as an operator would run it."""
    return subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "flask", "--app", "petition", *args],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "faults test key " + uuid.uuid4().hex,  # none written to instance/
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def export_rows(runner, slug: str) -> list[dict]:
    """Every signature of the call, all statuses, as `flask export` writes its CSV."""
    result = runner.invoke(args=["export", slug, "--all-statuses"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
