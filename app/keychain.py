"""Team-library passwords in the operating system's keyring, never in a settings file.

The ``keyring`` package speaks to the store each system has (macOS Keychain, Windows
Credential Locker, the Secret Service on Linux desktops). Where none answers (a server
without a desktop session) or only an insecure one would (a plain-text file backend has a
priority below 1 by keyring's own convention), nothing is remembered and the person is told
so: the password is asked for at each opening instead.

Entries are keyed by the library's URL without its password, so one server and user can
hold several team libraries, each with its own entry.
"""

from __future__ import annotations

import contextlib

import keyring
import keyring.backend
import keyring.errors

SERVICE = "LoRA Studio team library"
NO_KEYRING = ("No secure system keyring is available on this computer, so the password "
              "cannot be remembered: you will be asked for it each time.")


def _usable() -> keyring.backend.KeyringBackend | None:
    """The keyring to use, or None when none is there or it would keep secrets in plain text."""
    try:
        backend = keyring.get_keyring()
        priority = float(backend.priority)
    except Exception:  # a broken backend is the same as none
        return None
    return backend if priority >= 1 else None


def keyring_problem() -> str | None:
    """None when passwords can be remembered, else the sentence that says why not."""
    return None if _usable() is not None else NO_KEYRING


def remember(key: str, password: str) -> str | None:
    """Keep ``password`` for ``key`` (a URL without password); a sentence when it cannot."""
    backend = _usable()
    if backend is None:
        return NO_KEYRING
    try:
        backend.set_password(SERVICE, key, password)
    except keyring.errors.KeyringError as exc:
        return f"The system keyring did not keep the password ({exc}); you will be asked again."
    return None


def recall(key: str) -> str | None:
    """The remembered password for ``key``, or None (none kept, or no keyring)."""
    backend = _usable()
    if backend is None:
        return None
    try:
        return backend.get_password(SERVICE, key)
    except keyring.errors.KeyringError:
        return None


def forget(key: str) -> None:
    """Drop a remembered password (nothing happens when none was kept)."""
    backend = _usable()
    if backend is None:
        return
    with contextlib.suppress(keyring.errors.KeyringError):  # none kept: nothing to drop
        backend.delete_password(SERVICE, key)
