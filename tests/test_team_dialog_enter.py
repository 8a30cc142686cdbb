"""Enter in the team library dialog opens it: the form's last field is the password, and a
person types it and presses Enter. "Open" was made default before it was in the dialog, so
the dialog had no default button and Enter did nothing."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ui.team_dialog import TeamLibraryDialog


def test_enter_in_the_password_field_asks_to_open(qtbot) -> None:
    dialog = TeamLibraryDialog(None)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.host.setText("db.example.org")
    dialog.database.setText("curation")
    dialog.user.setText("ana")
    dialog.password.setText("secret")
    assert dialog.open_button.isDefault()
    with qtbot.waitSignal(dialog.open_requested, timeout=5000) as asked:
        QTest.keyClick(dialog.password, Qt.Key.Key_Return)
    assert "db.example.org" in asked.args[0] and "curation" in asked.args[0]
