"""The PostgreSQL 16 tools bundled in the `pgserver` wheel, run for a throwaway test server:
as the current user, or as root through `setpriv` as an existing unprivileged account (`initdb`
and `postgres` refuse to run as root), from a copy that account can reach when needed.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

# Accounts that exist on common Linux images and own nothing worth protecting.
UNPRIVILEGED_ACCOUNTS = ("nobody", "daemon")


class PostgresUnavailable(RuntimeError):
    """Neither `POSTGRES_*` nor the pgserver binaries can provide a server; the reason says why."""


def pgserver_bin_dir() -> Path | None:
    """The `bin` directory of the binaries bundled in the pgserver wheel, if installed."""
    # Located, not imported: importing pgserver has side effects (platformdirs warnings).
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
        return bin_dir
    return None


def free_port() -> int:
    # Another process can take the port before postgres binds it; `_start_local` retries.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unprivileged_account() -> pwd.struct_passwd:
    for name in UNPRIVILEGED_ACCOUNTS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresUnavailable(f"running as root and none of {UNPRIVILEGED_ACCOUNTS} exists")


def _traversable_by_others(path: Path) -> bool:
    """Whether every directory from / down to `path` lets another user pass through."""
    for directory in [path, *path.parents]:
        if not os.stat(directory).st_mode & 0o001:
            return False
    return True


def _reachable_copy(install_dir: Path, account_name: str) -> Path:
    """A copy of the bundled installation (bin, lib, share) others can execute; removed when
    the test process exits.

    The binaries find their libraries through RPATH `$ORIGIN/../../../pgserver.libs`, so the
    copy keeps the wheel's layout: `<root>/pgserver/pginstall` next to `<root>/pgserver.libs`.
    """
    root = Path(tempfile.mkdtemp(prefix="agentplane-pginstall-", dir=base_temp_dir(account_name)))
    os.chmod(root, 0o755)
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    copy = root / "pgserver" / "pginstall"
    shutil.copytree(install_dir, copy, symlinks=True)
    libs = install_dir.parent.parent / "pgserver.libs"
    if libs.is_dir():
        shutil.copytree(libs, root / "pgserver.libs", symlinks=True)
    for directory in (root / "pgserver", copy):
        os.chmod(directory, 0o755)
    return copy


class ToolRunner:
    """Runs the PostgreSQL tools as the current user, or as an unprivileged one when root."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.account: pwd.struct_passwd | None = None
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                raise PostgresUnavailable("running as root and `setpriv` is not installed")
            self.account = _unprivileged_account()
            self.prefix = [
                setpriv,
                f"--reuid={self.account.pw_uid}",
                f"--regid={self.account.pw_gid}",
                "--clear-groups",
            ]
            if not _traversable_by_others(bin_dir):
                # The venv sits somewhere private (e.g. a clone in `mktemp -d`): run a copy of
                # the bundled installation from a directory the unprivileged user can reach.
                self.bin_dir = _reachable_copy(bin_dir.parent, self.account.pw_name) / "bin"

    def own(self, path: Path) -> None:
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        # Output goes to a temporary file, not a pipe: `pg_ctl start` leaves the server holding
        # its stdout, and reading a pipe to its end would then wait for the server to exit.
        with tempfile.TemporaryFile("w+") as out:
            done = subprocess.run(
                [*self.prefix, str(self.bin_dir / tool), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                check=False,
            )
            out.seek(0)
            return subprocess.CompletedProcess(done.args, done.returncode, out.read(), "")


def base_temp_dir(account_name: str | None) -> Path:
    base = Path(tempfile.gettempdir())
    if account_name is None or _traversable_by_others(base):
        return base
    # TMPDIR points somewhere private to root; /tmp is world-traversable on every Linux.
    if _traversable_by_others(Path("/tmp")):
        return Path("/tmp")
    raise PostgresUnavailable(f"no temporary directory that {account_name} can reach")
