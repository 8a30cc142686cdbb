"""The main window: two pages, toolbar, menus, status bar, drag and drop."""

from __future__ import annotations

import sys

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QWidget,
)

from app import FORMAT_VERSION, __version__
from app.bundle import project_root, resources_dir
from app.errors import LibraryError
from app.importer import ImportReport
from app.library import Library
from app.paths import library_dir
from app.trainingfiles import remove_orphan_files
from ui.batch_flow import BatchController
from ui.changes import LibraryChanges
from ui.conversations_page import ConversationsPage
from ui.create_flow import CreateController, CreateTrainingFilesButton
from ui.dialogs import Dialogs, QtDialogs
from ui.import_flow import ImportController, paths_from_mime
from ui.training_files_page import TrainingFilesPage
from ui.welcome import WelcomePanel

SETTINGS_ORG = "LoRA Studio"
JSON_FILTER = "Conversation files (*.json);;All files (*)"


class MainWindow(QMainWindow):
    def __init__(self, library: Library, dialogs: Dialogs | None = None,
                 settings: QSettings | None = None) -> None:
        super().__init__()
        self.library = library
        self.dialogs: Dialogs = dialogs or QtDialogs()
        self.settings = settings or QSettings(SETTINGS_ORG, "LoRA Studio")
        self.setWindowTitle("LoRA Studio")
        icon_path = resources_dir() / "icon.png"
        if icon_path.exists():
            self.setWindowIcon(QIcon(str(icon_path)))
        self.setAcceptDrops(True)

        # Whoever changes the library says so here; every view reloads what it shows.
        self.changes = LibraryChanges(self)
        self.conversations = ConversationsPage(library, self.changes)
        self.welcome = WelcomePanel()
        self.conversations_stack = QStackedWidget()
        self.conversations_stack.addWidget(self.welcome)
        self.conversations_stack.addWidget(self.conversations)
        self.training_files = TrainingFilesPage(library, self.dialogs, self.changes)
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.conversations_stack, "Conversations")
        self.pages.addTab(self.training_files, "LoRA Training Files")
        # The shown / checked / total counts are about the Conversations page only.
        self.pages.currentChanged.connect(lambda index: self.counts.setVisible(index == 0))
        self.setCentralWidget(self.pages)

        page = self.conversations
        self.importer = ImportController(self, library, self.dialogs, self.changes)
        self.creator = CreateController(self, library, self.dialogs, self.changes,
                                        page.checked_ids)
        self.create_button = CreateTrainingFilesButton(library)
        self.batches = BatchController(self, library, self.dialogs, self.changes,
                                       page.current_batch, page.checked_ids)
        self._build_actions()
        self._build_menus_and_toolbar()
        self.counts: QLabel = QLabel()
        self.statusBar().addPermanentWidget(self.counts)

        page.model.checks_changed.connect(self._update_counts)
        page.model.shown_changed.connect(self._update_counts)
        page.reloaded.connect(self._show_table_or_welcome)
        page.status.connect(self.show_message)
        self.training_files.status.connect(self.show_message)
        self.changes.training_files_changed.connect(self.create_button.rebuild_menu)
        self.create_button.chosen.connect(self.creator.add_checked)
        self.creator.built.connect(self._show_built_file)
        self.batches.status.connect(self.show_message)
        self.importer.finished.connect(self._report_import)
        self.welcome.import_files.connect(self.import_files)
        self.welcome.import_folder.connect(self.import_folder)
        self.welcome.load_samples.connect(self.load_samples)

        page.load_now()  # before the window shows: no stall a user could see
        self._restore_settings()

    # --- construction --------------------------------------------------------------

    def _action(self, text: str, slot: object,
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        model = self.conversations.model
        self.import_files_action = self._action(
            "Import files…", self.import_files, QKeySequence.StandardKey.Open,
            "Import enriched conversation files")
        self.import_folder_action = self._action(
            "Import folder…", self.import_folder, "Ctrl+Shift+O",
            "Import every .json file in a folder and its subfolders")
        self.quit_action = self._action("Quit", self.close, QKeySequence.StandardKey.Quit)
        self.select_all_action = self._action(
            "Select all", model.check_all_shown, QKeySequence.StandardKey.SelectAll,
            "Check exactly the conversations the current filter shows")
        self.select_none_action = self._action(
            "Select none", model.check_none, "Ctrl+Shift+A", "Uncheck every conversation")
        self.invert_action = self._action(
            "Invert selection", model.invert_shown, "Ctrl+I",
            "Flip the checks of the conversations shown")
        for action in (self.select_all_action, self.select_none_action, self.invert_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.move_action = self._action(
            "Move checked to batch…", self.batches.move_checked, "Ctrl+M",
            "Give the checked conversations another batch id")
        self.rename_batch_action = self._action(
            "Rename batch…", self.batches.rename_current, None,
            "Rename the batch chosen in the filter (or of the selected conversation)")
        self.show_conversations_action = self._action(
            "Conversations", lambda: self.pages.setCurrentIndex(0), "Ctrl+1")
        self.show_files_action = self._action(
            "LoRA Training Files", lambda: self.pages.setCurrentIndex(1), "Ctrl+2")
        self.about_action = self._action("About LoRA Studio", self.show_about)
        self.open_library_action = self._action("Open library folder", self.open_library_folder)
        self.formats_action = self._action("Formats document", self.open_formats_document)

    def _build_menus_and_toolbar(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.import_files_action, self.import_folder_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menu.addMenu("&Edit")
        edit_menu.addActions([self.select_all_action, self.select_none_action,
                              self.invert_action])
        edit_menu.addSeparator()
        edit_menu.addActions([self.move_action, self.rename_batch_action])
        table = self.conversations.table
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        separator = QAction(self)
        separator.setSeparator(True)
        table.addActions([self.select_all_action, self.select_none_action, self.invert_action,
                          separator, self.move_action, self.rename_batch_action])
        view_menu = menu.addMenu("&View")
        view_menu.addActions([self.show_conversations_action, self.show_files_action])
        help_menu = menu.addMenu("&Help")
        help_menu.addActions([self.open_library_action, self.formats_action])
        help_menu.addSeparator()
        help_menu.addAction(self.about_action)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addActions([self.import_files_action, self.import_folder_action])
        toolbar.addSeparator()
        toolbar.addWidget(self.create_button)
        toolbar.addSeparator()
        toolbar.addActions([self.select_all_action, self.select_none_action,
                            self.invert_action])
        self.addToolBar(toolbar)
        self.toolbar = toolbar

    # --- state -----------------------------------------------------------------------

    def _show_table_or_welcome(self) -> None:
        self.conversations_stack.setCurrentWidget(
            self.conversations if self.conversations.model.total else self.welcome)
        self._update_counts()

    def _update_counts(self) -> None:
        model = self.conversations.model
        self.counts.setText(f"Shown {model.shown_count} · Checked {model.checked_count} · "
                            f"Total {model.total}")

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _report_import(self, report: ImportReport) -> None:
        self.show_message(f"Import: {report.summary()}")

    def _show_built_file(self, name: str) -> None:
        """After a build the user wants to see the file: the files page shows it."""
        self.training_files.select_file(name)
        self.pages.setCurrentWidget(self.training_files)
        self.show_message(f"Training file '{name}' updated: JSON and JSONL rebuilt")

    # --- import ----------------------------------------------------------------------

    def import_files(self) -> None:
        paths = self.dialogs.open_files(self, "Import conversation files", JSON_FILTER)
        self.importer.start(paths)

    def import_folder(self) -> None:
        folder = self.dialogs.folder(self, "Import a folder of conversation files")
        if folder is not None:
            self.importer.start([folder])

    def load_samples(self) -> None:
        samples = resources_dir() / "samples"
        if not samples.is_dir():
            self.dialogs.warn(self, "No samples", f"The sample folder {samples} is missing.")
            return
        # Each sub-folder is its own batch, so the batch filter has something to show.
        folders = sorted(p for p in samples.iterdir() if p.is_dir()) or [samples]
        self.importer.start(folders, ask_batch=False)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if paths_from_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = paths_from_mime(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.importer.start(paths)

    # --- help ------------------------------------------------------------------------

    def show_about(self) -> None:
        QMessageBox.about(
            self, "About LoRA Studio",
            f"<b>LoRA Studio {__version__}</b><br>Training-file formats v{FORMAT_VERSION}"
            f"<br><br>Library folder:<br>{self.library.root}")

    def open_library_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.library.root)))

    def open_formats_document(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(project_root() / "docs" /
                                                        "FORMATS.md")))

    # --- settings --------------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 860)
        header_state = self.settings.value("conversations/header")
        if header_state is not None:
            header = self.conversations.table.horizontalHeader()
            header.restoreState(header_state)
            # The header remembers the sort indicator; the rows must follow it.
            self.conversations.table.sortByColumn(header.sortIndicatorSection(),
                                                  header.sortIndicatorOrder())
        splitter_state = self.settings.value("conversations/splitter")
        if splitter_state is not None:
            self.conversations.splitter.restoreState(splitter_state)
        batch = self.settings.value("conversations/batch")
        if batch:
            self.conversations.set_batch_filter(str(batch))

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("conversations/header",
                               self.conversations.table.horizontalHeader().saveState())
        self.settings.setValue("conversations/splitter", self.conversations.splitter.saveState())
        self.settings.setValue("conversations/batch",
                               self.conversations.batch_filter.value() or "")
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        super().closeEvent(event)


def open_library_or_explain(data_dir: str | None, dialogs: Dialogs,
                            parent: QWidget | None = None) -> Library | None:
    """Open the library; when it is damaged, foreign, newer or in use, say why (never a
    traceback) and offer to start a library in another folder."""
    folder = library_dir(data_dir)
    while True:
        try:
            return Library(folder)
        except LibraryError as exc:
            question = (f"{exc}\n\nStart or open a library in another folder? "
                        "Nothing in the current folder is changed.")
            if not dialogs.confirm(parent, "Cannot open the library", question):
                return None
            chosen = dialogs.folder(parent, "Choose a folder for the library")
            if chosen is None:
                return None
            folder = chosen


def run_gui(data_dir: str | None = None) -> int:
    """Start the desktop app (the ``lora-studio`` command without a sub-command)."""
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("LoRA Studio")
    app.setOrganizationName(SETTINGS_ORG)
    dialogs = QtDialogs()
    library = open_library_or_explain(data_dir, dialogs)
    if library is None:
        return 1
    remove_orphan_files(library)
    window = MainWindow(library, dialogs)
    window.show()
    try:
        return app.exec()
    finally:
        library.close()
