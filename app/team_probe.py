"""Try a team library's server before opening it: one sentence that says what was found.

The window's "Test connection" button runs this off the GUI thread. It only connects and
looks; it never creates or changes anything (opening the library does that).
"""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import URL, make_url

from app.failures import known_failure
from app.wording import plural

CONNECT_TIMEOUT = 8  # seconds: a server that does not answer by then is reported as such


def without_password(url: str | URL) -> str:
    """The URL as remembered and shown: its password left out (not masked: absent)."""
    parsed = make_url(url) if isinstance(url, str) else url
    # (``URL.set(password=None)`` would keep the password: ``set`` skips None values.)
    return URL.create(parsed.drivername, parsed.username, None, parsed.host, parsed.port,
                      parsed.database, parsed.query).render_as_string(hide_password=False)


def connect_arguments(url: str | URL) -> dict[str, object]:
    """libpq's keywords for ``url`` (so a password with any character in it passes as is)."""
    parsed = make_url(url) if isinstance(url, str) else url
    arguments: dict[str, object] = {
        "host": parsed.host or None, "port": parsed.port or None,
        "dbname": parsed.database or None, "user": parsed.username or None,
        "password": parsed.password or None, "connect_timeout": CONNECT_TIMEOUT,
    }
    arguments.update({key: value for key, value in parsed.query.items()
                      if isinstance(value, str)})
    return {key: value for key, value in arguments.items() if value is not None}


def _problem(exc: psycopg.Error, shown: str) -> str:
    """The failure as one sentence naming the (password-less) URL and what to do."""
    known = known_failure(exc, shown)
    if known is not None:
        return known[:1].upper() + known[1:]
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return (f"Cannot connect to {shown}: {first}. Check the host, port, database, user "
            "and password, and that the server is running.")


def probe(url: str | URL) -> tuple[bool, str]:
    """Connect to ``url`` and look: (it works, one sentence for a person)."""
    shown = without_password(url)
    try:
        with psycopg.connect(**connect_arguments(url)) as connection:  # type: ignore[arg-type]
            version = connection.info.server_version
            row = connection.execute(
                "SELECT to_regclass('conversations') IS NOT NULL").fetchone()
            has_library = bool(row and row[0])
            count = 0
            if has_library:
                counted = connection.execute("SELECT count(*) FROM conversations").fetchone()
                count = int(counted[0]) if counted else 0
    except psycopg.Error as exc:
        return False, _problem(exc, shown)
    server = f"PostgreSQL {version // 10000}.{version % 10000}"
    if has_library:
        return True, (f"Connected to {shown} ({server}): it holds a LoRA Studio library of "
                      f"{plural(count, 'conversation')}.")
    return True, (f"Connected to {shown} ({server}): it holds no LoRA Studio library yet; "
                  "opening it makes one there.")
