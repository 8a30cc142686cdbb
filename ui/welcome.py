"""What an empty library shows: how to get conversations in."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

WELCOME_TEXT = (
    "<h2>Welcome to LoRA Studio</h2>"
    "<p>Bring in your enriched conversation files, pick the ones you want, and build "
    "LoRA training files: a full JSON for review and, always beside it, a JSONL for "
    "the trainer.</p>"
    "<p><b>Drag files or whole folders onto this window</b>, or use the buttons below. "
    "Every file is checked; anything that cannot be used is listed with the reason.</p>"
)


PLACE_WIDTH = 460  # the library's place, beside its button, within the text's 620 px


class WelcomePanel(QWidget):
    import_files = Signal()
    import_folder = Signal()
    load_samples = Signal()
    choose_folder = Signal()  # File ▸ Open or create library folder…

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        text = QLabel(WELCOME_TEXT)
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setFixedWidth(620)  # a fixed width lets the wrapped text get its full height
        self.files_button = QPushButton("Import files…")
        self.folder_button = QPushButton("Import folder…")
        self.samples_button = QPushButton("Load sample conversations")
        self.files_button.clicked.connect(self.import_files)
        self.folder_button.clicked.connect(self.import_folder)
        self.samples_button.clicked.connect(self.load_samples)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.files_button, self.folder_button, self.samples_button):
            button.setMinimumHeight(34)
            buttons.addWidget(button)
        buttons.addStretch(1)
        # Where the library is kept, and the way to keep it elsewhere: a first start
        # chooses no folder, so the first look at the window says which one it is.
        self.place = QLabel()
        self.place.setTextFormat(Qt.TextFormat.PlainText)
        self.place_button = QPushButton("Use another folder…")
        self.place_button.setToolTip("Open a library in another folder, or make a new one in "
                                     "an empty folder (File ▸ Open or create library folder…)")
        self.place_button.clicked.connect(self.choose_folder)
        place_row = QHBoxLayout()
        place_row.addStretch(1)
        place_row.addWidget(self.place)
        place_row.addSpacing(8)
        place_row.addWidget(self.place_button)
        place_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        centred = QHBoxLayout()  # stretches, not an alignment flag: wrapped text keeps its height
        centred.addStretch(1)
        centred.addWidget(text)
        centred.addStretch(1)
        layout.addLayout(centred)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addSpacing(36)
        layout.addLayout(place_row)
        layout.addStretch(2)

    def show_place(self, where: str, team: bool = False) -> None:
        """One short line: ``where`` the library is kept (a long path shortened in its
        middle, whole in the tooltip); beside a team library, which is no folder, the
        button opens a library folder instead of offering "another" one."""
        self.place_button.setText("Open a library folder…" if team else "Use another folder…")
        self.place.setText(self.place.fontMetrics().elidedText(
            where, Qt.TextElideMode.ElideMiddle, PLACE_WIDTH))
        self.place.setToolTip(where)
