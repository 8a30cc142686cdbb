"""A keyring backend that keeps passwords in memory, standing in for the system's keyring.

The test machines have no desktop keyring (``keyring`` finds only its "fail" backend
there), so tests that remember a password install this one with ``keyring.set_keyring``;
it behaves as keyring's backends do (same calls, same errors), nothing more.
"""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]  # as secure as keyring's own test backends

    def __init__(self) -> None:
        super().__init__()
        self.kept: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.kept.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.kept[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.kept.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")
