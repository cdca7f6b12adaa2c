"""Where `make run` keeps its data: `.data/` in the checkout, or DATA_DIR.

It holds the snapshot of emulated AWS and the Twilio emulator (local/snapshot.py), the JWT secret
generated for it (unless JWT_SECRET is set: then that one, kept nowhere) and the admin password generated
when the admin was made, both readable by their owner only. One runtime at a time uses a folder (a lock
on `lock` in it, released by the system when the process ends, however it ends).

`FRESH=1 make run` empties it first; `make reset` (python -m local.data_folder reset) empties it alone.
Emptying removes the files named here and nothing else, so a DATA_DIR pointed at the wrong folder by
mistake loses nothing it did not hold.
"""
from __future__ import annotations

import fcntl
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / ".data"
SNAPSHOT = "state.snapshot"
JWT_SECRET = "jwt-secret"
ADMIN_PASSWORD = "admin-password"
LOCK = "lock"
TEMPORARY_SUFFIX = ".tmp"  # a snapshot being written: `.state.snapshot.<pid>.tmp`


class FolderInUse(RuntimeError):
    pass


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


class DataFolder:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser().resolve()
        self._lock_fd: int | None = None

    @classmethod
    def from_environment(cls) -> "DataFolder":
        return cls(os.environ.get("DATA_DIR") or DEFAULT)

    @property
    def shown(self) -> str:
        """The folder as a person would type it: relative to the current directory when inside it."""
        try:
            relative = self.path.relative_to(Path.cwd())
        except ValueError:
            return f"{self.path}/"
        return f"{relative}/" if str(relative) != "." else "./"

    @property
    def snapshot(self) -> Path:
        return self.path / SNAPSHOT

    def file(self, name: str) -> Path:
        return self.path / name

    # --- one runtime per folder --------------------------------------------------------------------

    def lock(self) -> "DataFolder":
        """Take the folder (created if missing), or FolderInUse when another runtime has it."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise FolderInUse(f"another `make run` (pid {holder}) uses {self.shown}: stop it, or set DATA_DIR "
                              "to another folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        self.remove_temporary_files()
        return self

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # the lock goes with the descriptor
            self._lock_fd = None

    # --- emptying -----------------------------------------------------------------------------------

    def remove_temporary_files(self) -> None:
        """A snapshot a killed runtime was writing: never renamed over the last complete one, useless."""
        for leftover in self.path.glob(f".{SNAPSHOT}.*{TEMPORARY_SUFFIX}"):
            leftover.unlink(missing_ok=True)

    def empty(self) -> list[str]:
        """Forget the data (the caller holds the lock); the names of the files removed."""
        removed = []
        for name in (SNAPSHOT, JWT_SECRET, ADMIN_PASSWORD):
            if (self.path / name).exists():
                (self.path / name).unlink()
                removed.append(name)
        self.remove_temporary_files()
        return removed

    # --- secrets ------------------------------------------------------------------------------------

    def jwt_secret(self) -> str:
        """The secret the runtime signs tokens with, generated once per data folder: sessions outlive a
        restart as the data does."""
        return self._secret_file(JWT_SECRET, lambda: secrets.token_urlsafe(48))

    def remember_admin_password(self, email: str, password: str) -> Path:
        path = self.path / ADMIN_PASSWORD
        path.unlink(missing_ok=True)
        _write_private(path, f"{email}\n{password}\n")
        return path

    def admin_password(self, email: str) -> str | None:
        """The generated password of this admin, if this folder's runtime made it."""
        try:
            saved_email, password = (self.path / ADMIN_PASSWORD).read_text().splitlines()[:2]
        except (OSError, ValueError):
            return None
        return password if saved_email == email else None

    def _secret_file(self, name: str, generate) -> str:
        path = self.path / name
        try:
            value = path.read_text().strip()
            if value:
                return value
        except FileNotFoundError:
            pass
        value = generate()
        path.unlink(missing_ok=True)
        _write_private(path, value + "\n")
        return value


def _write_private(path: Path, text: str) -> None:
    """A new file only its owner can read (mode 0600 from the start, not chmod-ed after)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def main(argv: list[str]) -> int:
    if argv != ["reset"]:
        print("usage: python -m local.data_folder reset   (empties DATA_DIR, default .data/)", file=sys.stderr)
        return 2
    folder = DataFolder.from_environment()
    if not folder.path.exists():
        print(f"{folder.shown} does not exist: nothing to reset")
        return 0
    try:
        folder.lock()
    except FolderInUse as error:
        print(error, file=sys.stderr)
        return 1
    try:
        removed = folder.empty()
    finally:
        folder.unlock()
    print(f"emptied {folder.shown}" + (f" ({', '.join(removed)})" if removed else " (it held no data)"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
