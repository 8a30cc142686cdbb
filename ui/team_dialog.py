"""File ▸ Open team library…: where a team's PostgreSQL library is, and who you are there.

The dialog asks for host, port, database, user and password (a pasted
``postgresql://user@host:port/db`` URL fills the fields), offers to remember the password
in the system keyring (``app.keychain``; never in the settings file), and can test the
connection off the GUI thread. "Open" does not close the dialog: whoever opens the library
(``ui.library_switch``) reports back with ``opened()`` or ``failed(sentence)``, so a wrong
password is corrected where it was typed.
"""

from __future__ import annotations

import getpass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from app.team_probe import probe, without_password
from ui.button_order import tab_as_shown
from ui.tasks import Task, start

DEFAULT_PORT = 5432
SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name known for this process
        return ""


class TeamLibraryDialog(QDialog):
    """Ask where the team library is; ``open_requested(url, remember)`` carries the URL with
    its password (in memory only) and whether to keep the password in the keyring."""

    open_requested = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None, url: str | None = None,
                 password: str | None = None, keyring_problem: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open team library")
        self._testing: Task | None = None
        self._busy = False
        intro = QLabel("A team library lives in a PostgreSQL database that every member's "
                       "LoRA Studio opens. Ask whoever runs the server for these details; "
                       "you can also paste a postgresql:// address into Host.")
        intro.setWordWrap(True)
        self.host = QLineEdit("localhost")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(DEFAULT_PORT)
        self.database = QLineEdit()
        self.database.setPlaceholderText("the team's database, e.g. lora_team")
        self.user = QLineEdit(_default_user())
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("leave empty to use .pgpass or PGPASSWORD")
        self.remember = QCheckBox("Remember the password in the system keyring")
        self.keyring_note = QLabel(keyring_problem or "")
        self.keyring_note.setWordWrap(True)
        self.keyring_note.setVisible(bool(keyring_problem))
        if keyring_problem:
            self.remember.setChecked(False)
            self.remember.setEnabled(False)
        form = QFormLayout()
        form.addRow("Host:", self.host)
        form.addRow("Port:", self.port)
        form.addRow("Database:", self.database)
        form.addRow("User:", self.user)
        form.addRow("Password:", self.password)
        form.addRow("", self.remember)
        form.addRow("", self.keyring_note)
        self.address = QLabel()
        self.address.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.address.setTextFormat(Qt.TextFormat.PlainText)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        self.outcome.setTextFormat(Qt.TextFormat.PlainText)  # it quotes what the server said
        self.outcome.setMinimumHeight(self.fontMetrics().lineSpacing() * 3)
        self.outcome.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.address, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.open_button = self.buttons.addButton("Open", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._ask_to_open)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(test_row)
        layout.addWidget(self.outcome)
        layout.addWidget(self.buttons)
        # Default only once it is in the dialog (before, the dialog never learnt it: Enter
        # after the password did nothing).
        self.open_button.setDefault(True)
        tab_as_shown(self.buttons)
        self.setMinimumWidth(560)
        for field in (self.host, self.database, self.user, self.password):
            field.textChanged.connect(self._changed)
        self.port.valueChanged.connect(self._changed)
        if url:
            self.fill_from(url)
        if password:
            self.password.setText(password)
            self.remember.setChecked(self.remember.isEnabled())
        self._changed()
        (self.password if url else self.database).setFocus()

    # --- the address -------------------------------------------------------------------

    def fill_from(self, text: str) -> bool:
        """Fill the fields from a ``postgresql://`` address (False when it is not one)."""
        try:
            url = make_url(text.strip())
        except ArgumentError:
            return False
        if not url.drivername.startswith(("postgresql", "postgres")) or not url.database:
            return False  # not an address, or one still being typed
        self.host.setText(url.host or "localhost")
        self.port.setValue(url.port or DEFAULT_PORT)
        self.database.setText(url.database or "")
        self.user.setText(url.username or "")
        if url.password:
            self.password.setText(str(url.password))
        return True

    def url(self) -> URL:
        """The team library's address as typed, password included (never stored as is)."""
        return URL.create("postgresql", username=self.user.text().strip() or None,
                          password=self.password.text() or None,
                          host=self.host.text().strip() or None, port=self.port.value(),
                          database=self.database.text().strip() or None)

    def url_text(self) -> str:
        return self.url().render_as_string(hide_password=False)

    def shown_url(self) -> str:
        """The address without its password: what the settings, titles and messages show."""
        return without_password(self.url())

    def complete(self) -> bool:
        return bool(self.host.text().strip() and self.database.text().strip()
                    and self.user.text().strip())

    def _changed(self) -> None:
        host = self.host.text().strip()
        if host.startswith(SCHEMES):  # a pasted address: spread it over the fields
            self.fill_from(host)
            return
        self.address.setText(self.shown_url() if self.complete() else "")
        self._update_buttons()

    def _update_buttons(self) -> None:
        ready = self.complete() and not self._busy
        self.open_button.setEnabled(ready)
        self.test_button.setEnabled(ready and self._testing is None)

    # --- test, open --------------------------------------------------------------------

    def test_connection(self) -> None:
        """Connect in the background and say in one sentence what was found."""
        if not self.complete() or self._testing is not None:
            return
        url = self.url()
        self.outcome.setText(f"Connecting to {without_password(url)}…")
        task = Task(lambda _progress, _cancelled: probe(url))
        task.signals.succeeded.connect(self._tested)
        task.signals.failed.connect(self._test_failed)
        self._testing = task
        self._update_buttons()
        start(task)

    def _tested(self, outcome: tuple[bool, str]) -> None:
        self._testing = None
        self.outcome.setText(outcome[1])
        self._update_buttons()

    def _test_failed(self, message: str) -> None:
        self._testing = None
        self.outcome.setText(message)
        self._update_buttons()

    @property
    def testing(self) -> bool:
        return self._testing is not None

    def _ask_to_open(self) -> None:
        if not self.complete() or self._busy:
            return
        self._busy = True
        self.outcome.setText(f"Opening {self.shown_url()}…")
        self._update_buttons()
        self.open_requested.emit(self.url_text(), self.remember.isChecked())

    def failed(self, message: str) -> None:
        """The library did not open: say why here, and let the person try again."""
        self._busy = False
        self.outcome.setText(message[:1].upper() + message[1:])
        self._update_buttons()
        self.password.setFocus()

    def opened(self) -> None:
        self._busy = False
        self.accept()
