"""The main window: two pages, toolbar, menus, status bar, drag and drop."""

from __future__ import annotations

import functools
import html
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer, QUrl, Signal
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
from app.db import UpgradeCancelled
from app.errors import LibraryError
from app.export import ExportFormat
from app.importer import ImportReport
from app.job_process import end_spare, keep_spare
from app.library import Library
from app.location import parse_location
from app.recovery import finish_for_a_window, needs_recovery
from app.tokenizer_choice import load_choice
from app.trainingfiles import list_training_files
from ui.add_review import conversation_names
from ui.add_undo_flow import AdditionUndoController
from ui.as_trained_preview import AsTrainedWindow
from ui.batch_flow import BatchController
from ui.changes import LibraryChanges
from ui.check_actions import (
    CHECK_ALL_SHOWN,
    INVERT_CHECKS,
    UNCHECK_ALL,
    check_all_shown_tip,
    describe,
    invert_checks_tip,
    uncheck_all_tip,
)
from ui.check_keeper import CheckKeeper
from ui.close_guard import CloseGuard, finish_app
from ui.conversations_model import Column
from ui.conversations_page import ConversationsPage
from ui.conversations_table import column_key
from ui.create_flow import (
    CREATE_TIP,
    NOTHING_CHECKED_TIP,
    CreateController,
    CreateTrainingFilesButton,
    added_of_checked,
    after_the_add,
)
from ui.dialogs import Dialogs, QtDialogs
from ui.file_rename_undo_flow import FileRenameUndoController
from ui.file_undo_flow import FileDeletionUndoController
from ui.greyed_keys import (
    no_batch_chosen,
    no_file_selected,
    nothing_checked,
    nothing_read,
    say_why_greyed,
)
from ui.home_folder import home_as_tilde
from ui.import_flow import ImportController, paths_from_mime
from ui.library_choice import label, recent, settings_form, settings_strings
from ui.member_undo_flow import RemovalUndoController
from ui.quit_signals import QuitOnSignals, quit_without_asking
from ui.rebuild_flow import rebuild_in_background
from ui.remove_flow import install_removal
from ui.review_flow import ReviewController
from ui.review_undo_flow import ReviewUndoController
from ui.saved_copies import with_out_of_date
from ui.settings_undo_flow import SettingsUndoController
from ui.status_line import StatusLine, while_unchanged
from ui.stopped_saves import tidy_stopped_saves
from ui.tasks import JOB_MODULES, JOB_WARM_UP, in_child, wait_behind_progress
from ui.team_watch import TeamWatch
from ui.token_count_flow import TokenCountFlow
from ui.tokenizer_settings import TokenizerDialog
from ui.training_files_page import TrainingFilesPage
from ui.undo_slot import UndoSlot
from ui.welcome import WelcomePanel
from ui.wording import agreeing, plural
from ui.writable_saves import WritableSaves

SETTINGS_ORG = "LoRA Studio"
FILES_PAGE_TITLE = "LoRA Training JSON Files"  # the user's own name for the page
# The page the window was left on, as the settings name it (restored at the next start).
FILES_PAGE, CONVERSATIONS_PAGE = "training_files", "conversations"
JSON_FILTER = "Conversation files (*.json);;All files (*)"
# The spare child for jobs starts this long after the window shows (a small library), or
# once the first read is in (a large one), at the latest after the backstop.
SPARE_AFTER_MS = 500
SPARE_BACKSTOP_MS = 20_000
JSONL_TIP = "Save a copy of the selected training file's JSONL for the trainer"
COUNTS_TIP = ("Conversations shown by the filters · checked (what Create training files "
              "adds) · in the library")


class MainWindow(QMainWindow):
    # File ▸ Open or create library folder…, Open team library…, Open local library, Recent
    # libraries: whoever owns the window (``ui.library_switch``) opens the library and puts
    # a new window on it.
    open_folder_requested = Signal()
    open_team_requested = Signal()
    open_local_requested = Signal()
    open_location_requested = Signal(str)  # a recent library, as the settings keep it

    def __init__(self, library: Library, dialogs: Dialogs | None = None,
                 settings: QSettings | None = None,
                 checks_folder: Path | None = None) -> None:
        """``checks_folder``: where the checks are kept for the next run (default: the
        user's own folder, ``app.kept_checks.checks_folder``)."""
        super().__init__()
        self.library = library
        # A save place that cannot be written is asked for again (ui.writable_saves).
        self.dialogs: Dialogs = WritableSaves(dialogs or QtDialogs())
        self.settings = settings or QSettings(SETTINGS_ORG, "LoRA Studio")
        self.setWindowTitle(window_title(library))
        icon_path = resources_dir() / "icon.png"
        if icon_path.exists():
            self.setWindowIcon(QIcon(str(icon_path)))
        self.setAcceptDrops(True)
        self.as_trained_window: AsTrainedWindow | None = None
        self.close_guard = CloseGuard(self, self.dialogs)  # asks while a job runs

        # Whoever changes the library says so here; every view reloads what it shows.
        self.changes = LibraryChanges(self)
        self.team_watch = TeamWatch(library, self.changes, self)  # others' changes (a team)
        self.conversations = ConversationsPage(library, self.changes)
        self.welcome = WelcomePanel()
        self.conversations_stack = QStackedWidget()
        self.conversations_stack.addWidget(self.welcome)
        self.conversations_stack.addWidget(self.conversations)
        self.training_files = TrainingFilesPage(library, self.dialogs, self.changes)
        self.pages = QTabWidget()
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.conversations_stack, "Conversations")
        self.pages.addTab(self.training_files, FILES_PAGE_TITLE)
        # The shown / checked / total counts are about the Conversations page only.
        self.pages.currentChanged.connect(lambda index: self.counts.setVisible(index == 0))
        self.pages.currentChanged.connect(lambda _index: self._update_actions())
        self.setCentralWidget(self.pages)

        page = self.conversations
        self.importer = ImportController(self, library, self.dialogs, self.changes)
        self.creator = CreateController(self, library, self.dialogs, self.changes,
                                        page.checked_ids,
                                        page.model.hidden_checked_ids,
                                        conversation_names(page.model))
        self.create_button = CreateTrainingFilesButton(library)
        # Edit ▸ Undo: the last batch rename or move, or removal from a training file or
        # (``install_removal``) from the library.
        self.undo = UndoSlot(self)
        self.batches = BatchController(self, library, self.dialogs, self.changes,
                                       page.current_batch, page.checked_ids, self.undo,
                                       page.batch_ids)
        self.removal_undo = RemovalUndoController(self, library, self.dialogs, self.changes,
                                                  self.undo)
        self.addition_undo = AdditionUndoController(self, library, self.dialogs, self.changes,
                                                    self.undo)
        self.settings_undo = SettingsUndoController(self, library, self.dialogs, self.changes,
                                                    self.undo)
        self.deletion_undo = FileDeletionUndoController(self, library, self.dialogs,
                                                        self.changes, self.undo)
        self.rename_undo = FileRenameUndoController(self, library, self.dialogs,
                                                    self.changes, self.undo)
        self.review_undo = ReviewUndoController(self, library, self.dialogs, self.changes,
                                                self.undo)
        self.reviews = ReviewController(self, library, self.dialogs, self.changes,
                                        self.settings, self.review_undo)
        self._build_actions()
        self._build_menus_and_toolbar()
        self.remover = install_removal(self)  # Edit ▸ Remove…, the samples banner
        for action, does in (
                (self.new_file_action,
                 "makes a new training file from the checked conversations"),
                (self.move_action, "moves the checked conversations to another batch"),
                (self.mark_reviewed_action, "marks the checked conversations reviewed")):
            say_why_greyed(self, action, functools.partial(self._nothing_checked, action, does),
                           self.show_message)
        self._say_why_other_keys_are_greyed()
        self.counts: QLabel = QLabel()
        self.where = QLabel(library_name(library))  # which library: local, or the team's
        self.where.setToolTip(where_tip(library))
        self.where.setContentsMargins(0, 0, 12, 0)
        self.statusBar().addPermanentWidget(self.where)
        self.statusBar().addPermanentWidget(self.counts)
        self.status_line = StatusLine(self.statusBar())
        # Token counts fill in behind the window: at start, after imports, after a
        # tokenizer change (whoever changes it calls ``token_counts.start()``).
        self.token_counts = TokenCountFlow(self, library, self.changes)
        self.token_counts.status.connect(self.show_message)
        self.token_counts.finished.connect(lambda _n: page.row_loading.tokens_complete())
        self.changes.conversations_changed.connect(self.token_counts.start)
        self.changes.tokenizer_changed.connect(self._tokenizer_changed_elsewhere)

        page.model.checks_changed.connect(self._update_counts)
        page.model.shown_changed.connect(self._update_counts)
        page.reloaded.connect(self._show_table_or_welcome)
        page.table.selectionModel().currentRowChanged.connect(self._update_actions)
        self.training_files.selection_changed.connect(self._update_actions)
        page.status.connect(self.show_message)
        # A filter's notice says how many rows show: dropped once that changes.
        page.notice.connect(lambda text: self.status_line.notice(text, while_unchanged(
            lambda: (page.model.current_filter, page.model.shown_count))))
        page.model.shown_changed.connect(self.status_line.recheck)
        page.model.checks_changed.connect(self.status_line.recheck)
        self.training_files.status.connect(self.show_message)
        self.training_files.removal_starts.connect(self.removal_undo.starting)
        self.training_files.removal_not_made.connect(self.removal_undo.not_made)
        self.training_files.members_removed.connect(self.removal_undo.record)
        self.removal_undo.status.connect(self.show_message)
        self.creator.add_starts.connect(self.addition_undo.starting)
        self.creator.add_not_made.connect(self.addition_undo.not_made)
        self.creator.added.connect(self.addition_undo.record)
        self.addition_undo.status.connect(self.show_message)
        self.training_files.settings_starts.connect(self.settings_undo.starting)
        self.training_files.settings_changed.connect(self.settings_undo.record)
        self.training_files.settings_not_changed.connect(self.settings_undo.not_changed)
        self.settings_undo.status.connect(self.show_message)
        self.training_files.file_deleted.connect(self.deletion_undo.record)
        self.deletion_undo.status.connect(self.show_message)
        self.training_files.rename_starts.connect(self.rename_undo.starting)
        self.training_files.rename_not_made.connect(self.rename_undo.not_made)
        self.training_files.file_renamed.connect(self.rename_undo.record)
        self.rename_undo.status.connect(self.show_message)
        self.rename_undo.expect_rename = page.row_loading.expect_file_rename
        self.review_undo.status.connect(self.show_message)
        self.changes.training_files_changed.connect(self.create_button.rebuild_menu)
        self.create_button.chosen.connect(self.creator.add_checked)
        self.creator.built.connect(self._show_built_file)
        self.creator.status.connect(self.show_message)
        self.creator.show_in_table.connect(self.show_only)
        self.batches.status.connect(self.show_message)
        self.batches.renaming.connect(page.row_loading.expect_batch_rename)
        self.training_files.renaming.connect(page.row_loading.expect_file_rename)
        self.importer.replacer.status.connect(self.show_message)
        self.importer.status.connect(self.show_message)
        self.importer.finished.connect(self._report_import)
        self.importer.show_batch.connect(self.show_batch)
        self.welcome.import_files.connect(self.import_files)
        self.welcome.import_folder.connect(self.import_folder)
        self.welcome.load_samples.connect(self.load_samples)
        self.welcome.show_place(place_line(library), library.is_team)
        self.welcome.choose_folder.connect(self.open_folder_action.trigger)
        reader = self.conversations.reader
        reader.review_requested.connect(self.reviews.review_one)
        reader.as_trained_requested.connect(self.show_as_trained)
        self.reviews.status.connect(self.show_message)
        self.changes.conversations_marked.connect(self._after_review_marks)
        self.training_files.open_conversation.connect(self.open_conversation)

        page.open_rows()  # a small library now, a large one in the background
        # The checks of the last run come back once the rows are in, and are kept.
        self.check_keeper = CheckKeeper(page, library.location, self.dialogs, self,
                                        checks_folder)
        self.check_keeper.notice.connect(self.status_line.notice)
        self.check_keeper.checks_back.connect(lambda text: self.status_line.notice(
            text, while_unchanged(lambda: page.model.checks_revision)))
        self.check_keeper.start()
        self._show_table_or_welcome()
        self._restore_settings()
        self._focus_where_work_starts()
        self.token_counts.start()
        # What saves stopped midway left in the folders of recent saves (ui.stopped_saves)
        last = self.training_files.export_folder
        self.stopped_saves = tidy_stopped_saves(library, [last] if last else [],
                                                self.status_line.notice)
        if library.tokenizer_notice:  # said once: the tokenizer choice moved into the library
            QTimer.singleShot(0, lambda: self.dialogs.inform(
                self, "Tokenizer and chat template", library.tokenizer_notice))

    # --- construction --------------------------------------------------------------

    def _action(self, text: str, slot: object,
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(tool_tip(text, tip, action.shortcut()))
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
        self.open_folder_action = self._action(
            "Open or create library folder…", self.open_folder_requested.emit, None,
            "Choose the folder the library is kept in: one holding a library opens it, an "
            "empty one becomes a new library")
        self.open_team_action = self._action(
            "Open team library…", self.open_team_requested.emit, None,
            "Open a library that a team shares in a PostgreSQL database")
        self.open_local_action = self._action(
            "Open local library", self.open_local_requested.emit, None,
            "Go back to the library on this computer")
        self.find_action = self._action(
            "Find…", self.focus_search, QKeySequence.StandardKey.Find,
            "Search the conversations (the table's visible text and the codes behind it)")
        self.clear_filters_action = self._action(
            "Clear filters", self.conversations.clear_filters, "Ctrl+Shift+L",
            "Show every conversation again")
        # They check and uncheck (never select rows): named so; their tips say how many
        # conversations they change (``_describe_check_actions``).
        self.select_all_action = self._action(
            CHECK_ALL_SHOWN, model.check_all_shown, QKeySequence.StandardKey.SelectAll)
        self.select_none_action = self._action(UNCHECK_ALL, model.check_none, "Ctrl+Shift+A")
        self.invert_action = self._action(INVERT_CHECKS, model.invert_shown, "Ctrl+I")
        for action in (self.select_all_action, self.select_none_action, self.invert_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.move_action = self._action(
            "Move checked to batch…", self.batches.move_checked, "Ctrl+M",
            "Give the checked conversations another batch ID")
        self.rename_batch_action = self._action(
            "Rename batch…", self.batches.rename_current, "F2",
            "Rename the batch chosen in the filter (or of the selected conversation)")
        self.new_file_action = self._action(
            "New training file from checked…", lambda: self.creator.add_checked(None),
            QKeySequence.StandardKey.New,
            "Build a new training file (full JSON + JSONL) from the checked conversations")
        self.download_jsonl_action = self._action(
            "Download JSONL…", lambda: self._download(ExportFormat.JSONL),
            QKeySequence.StandardKey.Save,
            JSONL_TIP)
        self.download_json_action = self._action(
            "Download full JSON…", lambda: self._download(ExportFormat.JSON), "Ctrl+Shift+S",
            "Save a copy of the selected training file's full JSON")
        self.show_conversations_action = self._action(
            "Conversations", lambda: self.pages.setCurrentIndex(0), "Ctrl+1")
        self.show_files_action = self._action(
            FILES_PAGE_TITLE, lambda: self.pages.setCurrentIndex(1), "Ctrl+2")
        self.toggle_reader_action = self.conversations.toggle_reader_action
        self.as_trained_action = self._action(
            "As trained…", self.show_selected_as_trained, "Ctrl+T",
            "Show exactly what the trainer reads for the selected conversation: the rendered "
            "chat template, the trained tokens and the length limit")
        self.mark_reviewed_action = self._action(
            "Mark checked reviewed", lambda: self.reviews.review(model.checked_ids(), True),
            "Ctrl+Shift+R",
            "Record that you reviewed the checked conversations (kept in the library)")
        self.unmark_reviewed_action = self._action(
            "Take review mark from checked",
            lambda: self.reviews.review(model.checked_ids(), False), None,
            "Remove your review mark from the checked conversations")
        self.reviewer_action = self._action(
            "Reviewer name…", self.reviews.change_reviewer, None,
            "The name review marks record")
        self.tokenizer_action = self._action(
            "Tokenizer and chat template…", self.choose_tokenizer, None,
            "Choose the tokenizer and chat template that token counts and the as-trained "
            "view use (the bundled Mistral 7B v0.3, or your base model's)")
        self.tokenizer_action.setEnabled(not self.library.read_only)
        self.about_action = self._action("About LoRA Studio", self.show_about)
        # A library folder can be shown in the file manager; a team library is no folder
        # (the one on this computer holds only caches): its address can be copied instead.
        self.open_library_action = self._action("Open library folder", self.open_library_folder)
        self.open_library_action.setVisible(not self.library.is_team)
        self.copy_address_action = self._action(
            "Copy team library address", self.copy_library_address, None,
            "Copy the team library's address (without password) to give to a teammate")
        self.copy_address_action.setVisible(self.library.is_team)
        self.formats_action = self._action("Formats document", self.open_formats_document)

    def _build_menus_and_toolbar(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.import_files_action, self.import_folder_action])
        file_menu.addSeparator()
        file_menu.addAction(self.open_folder_action)
        file_menu.addAction(self.open_team_action)
        self.recent_menu = file_menu.addMenu("Recent libraries")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.open_local_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.file_menu = file_menu
        edit_menu = menu.addMenu("&Edit")
        # A greyed-out Undo says why on hover (nothing to undo, or not exactly any more).
        edit_menu.setToolTipsVisible(True)
        edit_menu.addAction(self.undo.action)
        # Read again as the menu opens: a team member's change is announced only later.
        edit_menu.aboutToShow.connect(self.removal_undo.check)
        edit_menu.aboutToShow.connect(self.addition_undo.check)
        edit_menu.addSeparator()
        edit_menu.addActions([self.find_action, self.clear_filters_action])
        edit_menu.addSeparator()
        edit_menu.addActions([self.select_all_action, self.select_none_action,
                              self.invert_action])
        edit_menu.addSeparator()
        edit_menu.addActions([self.move_action, self.rename_batch_action])
        edit_menu.addSeparator()
        edit_menu.addActions([self.mark_reviewed_action, self.unmark_reviewed_action,
                              self.reviewer_action])
        self.edit_menu = edit_menu
        table = self.conversations.table
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        separator = QAction(self)
        separator.setSeparator(True)
        review_separator = QAction(self)
        review_separator.setSeparator(True)
        trained_separator = QAction(self)
        trained_separator.setSeparator(True)
        table.addActions([self.select_all_action, self.select_none_action, self.invert_action,
                          separator, self.move_action, self.rename_batch_action,
                          review_separator, self.mark_reviewed_action,
                          self.unmark_reviewed_action, trained_separator,
                          self.as_trained_action])
        training_menu = menu.addMenu("&Training files")
        training_menu.addAction(self.new_file_action)
        self.add_to_menu = training_menu.addMenu("Add checked to")
        self.add_to_menu.aboutToShow.connect(self._fill_add_to_menu)
        training_menu.addSeparator()
        training_menu.addActions([self.download_jsonl_action, self.download_json_action])
        self.training_menu = training_menu
        view_menu = menu.addMenu("&View")
        view_menu.addActions([self.show_conversations_action, self.show_files_action])
        view_menu.addSeparator()
        view_menu.addAction(self.toggle_reader_action)
        view_menu.addAction(self.as_trained_action)
        self.columns_menu = view_menu.addMenu("Columns")
        self.columns_menu.aboutToShow.connect(self._fill_columns_menu)
        self.view_menu = view_menu
        settings_menu = menu.addMenu("&Settings")
        settings_menu.addAction(self.tokenizer_action)
        self.settings_menu = settings_menu
        help_menu = menu.addMenu("&Help")
        help_menu.addActions([self.open_library_action, self.copy_address_action,
                              self.formats_action])
        help_menu.addSeparator()
        help_menu.addAction(self.about_action)
        self.help_menu = help_menu

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

    def _fill_add_to_menu(self) -> None:
        """The same entries as the toolbar's Create button: each file, then New…"""
        self.add_to_menu.clear()
        self.create_button.rebuild_menu()
        self.add_to_menu.addActions(self.create_button.entries())

    def _fill_columns_menu(self) -> None:
        self.conversations.fill_column_menu(self.columns_menu)

    def _fill_recent_menu(self) -> None:
        """The libraries opened before, newest first (the open one greyed out)."""
        self.recent_menu.clear()
        here = library_key(self.library)
        for text in recent(self.settings):
            action = self.recent_menu.addAction(label(text))
            action.setEnabled(text != here)
            action.triggered.connect(
                lambda _checked=False, text=text: self.open_location_requested.emit(text))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("No other library opened yet").setEnabled(False)

    # --- state -----------------------------------------------------------------------

    def _show_table_or_welcome(self) -> None:
        page = self.conversations
        before = self.conversations_stack.currentWidget()
        focus = QApplication.focusWidget()  # (read first: hiding a page moves the focus)
        self.conversations_stack.setCurrentWidget(
            page if page.model.total or page.opening else self.welcome)
        self._update_counts()
        if self.conversations_stack.currentWidget() is not before and (
                focus is None or (before is not None and before.isAncestorOf(focus))):
            self._focus_where_work_starts()  # (the first import, the last removal)

    def _focus_where_work_starts(self) -> None:
        """The keyboard where a person starts, not on the tab bar: the table (arrows choose
        a row to read, Space checks it, Ctrl+F searches), or in an empty library "Import
        files…" on the welcome panel (there is no table or search field to use yet)."""
        page = self.conversations
        if self.pages.currentWidget() is self.training_files:  # left there last time
            self.training_files.table.setFocus(Qt.FocusReason.OtherFocusReason)
        elif self.conversations_stack.currentWidget() is self.welcome:
            self.welcome.files_button.setFocus(Qt.FocusReason.OtherFocusReason)
        elif page.opening:  # the table shows when a large library's first read is in
            page.reloaded.connect(self._focus_table_after_first_read,
                                  Qt.ConnectionType.SingleShotConnection)
        else:
            page.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _focus_table_after_first_read(self) -> None:
        """Unless the person put the keyboard somewhere meanwhile (not where Qt put it,
        the tab bar, while the table was hidden)."""
        focus = QApplication.focusWidget()
        if focus is None or focus is self.pages.tabBar():
            self.conversations.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _update_counts(self) -> None:
        model = self.conversations.model
        if self.conversations.opening:
            self.counts.setText("Reading the library…")
            self.counts.setToolTip(COUNTS_TIP)
            self._update_actions()
            return
        hidden = model.hidden_checked_count
        checked = f"Checked {model.checked_count:,}"
        if hidden:
            checked += f" ({hidden:,} hidden by the filter)"
        self.counts.setText(f"Shown {model.shown_count:,} · {checked} · Total {model.total:,}")
        # Never empty: the label would show the status bar's tooltip (the passing message).
        self.counts.setToolTip(
            f"{plural(hidden, 'checked conversation')} "
            f"{agreeing(hidden, 'is', 'are')} not shown by the current filter; adding "
            "to a training file includes them." if hidden else COUNTS_TIP)
        self._describe_check_actions(hidden)
        self._update_actions()

    def _describe_check_actions(self, hidden: int) -> None:
        """Their tips say how many conversations each would change (``hidden``: the
        checked ones the filter hides, just counted: 100,000 checks take a while)."""
        model = self.conversations.model
        describe(self.select_all_action, check_all_shown_tip(model.shown_count, hidden))
        describe(self.select_none_action, uncheck_all_tip(model.checked_count, hidden))
        describe(self.invert_action, invert_checks_tip(model.shown_count))

    def _update_actions(self) -> None:
        """Actions that cannot apply are greyed out rather than refused after the click."""
        model = self.conversations.model
        has_rows, shown, checked = model.total > 0, model.shown_count > 0, model.checked_count > 0
        # Checking and unchecking act on the Conversations page: on the files page they would
        # change checks out of sight, and Ctrl+A there selects the rows of the list in focus.
        here = self.pages.currentIndex() == 0
        for action in (self.select_all_action, self.invert_action):
            action.setEnabled(shown and here)
        self.select_none_action.setEnabled(checked and here)
        self.move_action.setEnabled(checked)
        self.mark_reviewed_action.setEnabled(checked)
        self.unmark_reviewed_action.setEnabled(checked)
        self.new_file_action.setEnabled(checked)
        self.add_to_menu.setEnabled(checked)
        self.create_button.setEnabled(checked)
        self.create_button.setToolTip(CREATE_TIP if checked else NOTHING_CHECKED_TIP)
        self.rename_batch_action.setEnabled(has_rows and
                                            self.conversations.current_batch() is not None)
        self.find_action.setEnabled(has_rows)
        self.clear_filters_action.setEnabled(not model.current_filter.is_empty)
        self.as_trained_action.setEnabled(self.conversations.reader.record is not None)
        selected = self.training_files.selected_file() is not None
        why = self.training_files.why_no_lines()  # an empty JSONL is never saved
        self.download_jsonl_action.setEnabled(selected and why is None)
        jsonl = self.download_jsonl_action
        jsonl.setToolTip(tool_tip(jsonl.text(), why or JSONL_TIP, jsonl.shortcut()))
        jsonl.setStatusTip(why or JSONL_TIP)
        self.download_json_action.setEnabled(selected)

    def _say_why_other_keys_are_greyed(self) -> None:
        """Ctrl+S, Ctrl+Shift+S, Ctrl+T and F2 said nothing while greyed (an empty library):
        like Ctrl+N, each now says why and what to do."""
        files = self.training_files

        def why_not_saved(action: QAction, does: str, needs_lines: bool) -> Callable[[], str]:
            return lambda: no_file_selected(action, does, files.model.rowCount(),
                                            files.why_no_lines() if needs_lines else None)

        for action, does, needs_lines in (
                (self.download_jsonl_action, "saves the selected training file's JSONL", True),
                (self.download_json_action, "saves the selected training file's full JSON",
                 False)):
            say_why_greyed(self, action, why_not_saved(action, does, needs_lines),
                           self.show_message)
        say_why_greyed(self, self.as_trained_action,
                       functools.partial(nothing_read, self.as_trained_action), self.show_message)
        say_why_greyed(self, self.rename_batch_action, lambda: no_batch_chosen(
            self.rename_batch_action, self.conversations.model.total > 0), self.show_message)

    def _nothing_checked(self, action: QAction, does: str) -> str:
        return nothing_checked(action, does, elsewhere=self.pages.currentIndex() != 0)

    def show_message(self, text: str) -> None:
        self.status_line.say(text)

    def say_what_was_finished(self, done: list[str], when: str = "At start") -> None:
        """What opening the library (``when``) finished or rolled back for an earlier run
        or an older version (one sentence each), in the status bar for longer than a
        passing message, and whole in a message: the bar cuts it to the room its counts
        leave (a few words beside a count in progress), and what an upgrade changed in
        the person's data (texts mended, files rebuilt, conversations flagged) must be
        read."""
        if done:
            text = f"{when}, LoRA Studio " + "; ".join(done) + "."
            self.statusBar().showMessage(text, 30000)
            self.dialogs.inform(self, "Finished on opening the library",
                                f"{when}, LoRA Studio:\n\n" + "\n".join(
                                    f"• {sentence[:1].upper()}{sentence[1:]}."
                                    for sentence in done))

    def _report_import(self, report: ImportReport) -> None:
        self.show_message(f"Import: {report.summary()}")

    def show_batch(self, batch_id: str) -> None:
        """Only this batch on the Conversations page, every other filter cleared (they would
        hide some of it), the keyboard on the table: the import summary's "Show batch".
        Rows still being read again after the import may not hold the batch yet: it is
        shown once they do."""
        self.pages.setCurrentIndex(0)
        page = self.conversations
        if not page.filter_bar.knows_batch(batch_id):
            if page.loading or page.opening:
                page.reloaded.connect(lambda: self.show_batch(batch_id),
                                      Qt.ConnectionType.SingleShotConnection)
            else:
                self.show_message(f"Batch '{batch_id}' has no conversations any more.")
            return
        page.clear_filters()
        page.set_batch_filter(batch_id)
        page.table.setFocus(Qt.FocusReason.OtherFocusReason)
        if page.model.rowCount() and not page.table.currentIndex().isValid():
            page.table.selectRow(0)  # (the reader shows its first conversation)

    def show_only(self, ids: Iterable[str], what: str) -> None:
        """Only these conversations on the Conversations page (the add review's "Show in
        the table"); the filter bar says which they are and has the way back."""
        self.pages.setCurrentIndex(0)
        self.conversations.show_only(ids, what)

    def focus_search(self) -> None:
        self.pages.setCurrentIndex(0)
        self.conversations.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.conversations.search.selectAll()

    def _download(self, fmt: ExportFormat) -> None:
        """Save a copy of the file selected on the files page (which comes to the front)."""
        self.pages.setCurrentWidget(self.training_files)
        self.training_files.download(fmt)

    def _show_built_file(self, name: str) -> None:
        """After a build the user wants to see the file: the files page shows it."""
        self.training_files.select_file(name)
        self.pages.setCurrentWidget(self.training_files)
        plan = self.creator.last_plan
        added, skipped = (added_of_checked(plan, self.creator.last_added) if plan is not None
                          else (plural(self.creator.last_added, "conversation"), ""))
        more = after_the_add(plan) if plan is not None else ""
        self.show_message(
            f"Training file '{name}' created with {added}"
            f"{f' ({skipped})' if skipped else ''}: its full JSON and JSONL are "
            f"ready to download{more}" if self.creator.last_created else with_out_of_date(
                f"Added {added} to training file '{name}' (now "
                f"{self.creator.last_total:,}{f'; {skipped}' if skipped else ''}): its full "
                f"JSON and JSONL were built again{more}", self.library, [name]))

    # --- reading and reviewing ---------------------------------------------------------

    def _after_review_marks(self, ids: list[str]) -> None:
        """The table patches the marked rows itself (and re-reads the conversation it
        shows); a conversation opened in the reader alone is re-read here."""
        page = self.conversations
        shown = page.reader.conversation_id()
        if shown in ids and shown != page.reader_conversation_id():
            self.open_conversation(shown, switch=False)

    def open_conversation(self, conversation_id: str, switch: bool = True) -> None:
        """Show a conversation in the reader: selected in the table when the filter shows it,
        else in the reader alone."""
        if switch:
            self.pages.setCurrentIndex(0)
        page = self.conversations
        if page.select_conversation(conversation_id):
            return
        try:
            page.reader.show_record(self.library.record(conversation_id))
        except LibraryError as exc:
            self.show_message(str(exc))

    def show_as_trained(self, conversation_id: str) -> None:
        """Open (or bring forward) the as-trained window on a conversation. Opened, it
        applies the settings of the first training file holding the conversation (the
        defaults when none does): 'Default (4,096, trim)' over a conversation of a weight-0
        file showed a line its file does not write. Open, it keeps the person's choice."""
        reader = self.conversations.reader
        if reader.conversation_id() == conversation_id and reader.record is not None:
            record = reader.record
        else:
            try:
                record = self.library.record(conversation_id)
            except LibraryError as exc:
                self.show_message(str(exc))
                return
        window = self._as_trained()
        if not window.isVisible():  # opened: the settings of a file that holds it
            row = self.conversations.model.row_of_id(conversation_id)
            files = self.conversations.model.row_at(row).training_files if row is not None \
                else ()
            window.select_training_file(files[0] if files else None)
        window.show_record(record)
        window.show()
        window.raise_()
        window.activateWindow()

    def show_selected_as_trained(self) -> None:
        conversation_id = self.conversations.reader.conversation_id()
        if conversation_id is None:
            self.show_message("Select a conversation to see it as the trainer reads it.")
            return
        self.show_as_trained(conversation_id)

    def _as_trained(self) -> AsTrainedWindow:
        """The one as-trained window; while open it follows the reader's conversation."""
        if self.as_trained_window is None:
            window = AsTrainedWindow(self.library, self)
            self.conversations.reader.record_shown.connect(
                lambda record: window.show_record(record) if window.isVisible() else None)
            self.changes.training_files_changed.connect(window.reload_settings)
            self.as_trained_window = window
        return self.as_trained_window

    def choose_tokenizer(self) -> None:
        """Settings ▸ Tokenizer and chat template; after a change every count is made again
        in the background and the as-trained view renders with the new choice."""
        dialog = TokenizerDialog(self.library, self.dialogs, self)
        if dialog.exec() != TokenizerDialog.DialogCode.Accepted or dialog.saved is None:
            return
        self.after_tokenizer_change()

    def _tokenizer_changed_elsewhere(self) -> None:
        """Another member changed the team library's tokenizer: the counts shown are no
        counts of it any more; they are made again (that member rebuilds the files)."""
        choice = load_choice(self.library)
        self.changes.tokens_changed.emit()
        self.token_counts.start()
        if self.as_trained_window is not None:
            self.as_trained_window.reload_settings()
        self.show_message(f"Another member changed the library's tokenizer: it counts with "
                          f"{choice.describe()} now; token counts are being made again.")

    def after_tokenizer_change(self) -> None:
        """Counts are made again in the background, and every training file is rebuilt so
        its lines' ``token_count`` and its header name the tokenizer now in use (a cancelled
        rebuild leaves a file as it was: its header still names the old tokenizer)."""
        self.token_counts.start()
        if self.as_trained_window is not None:
            self.as_trained_window.reload_settings()
        names = [info.name for info in list_training_files(self.library)]
        saved = "Tokenizer and chat template saved; token counts are being made again"
        if not names:
            self.show_message(f"{saved} in the background.")
            return

        rebuild_in_background(
            self, self.library, self.changes, self.dialogs, names,
            title="Rebuilding training files with the new tokenizer",
            on_done=lambda rebuilt: self.show_message(
                f"{saved}; {len(rebuilt):,} of {plural(len(names), 'training file')} rebuilt "
                "with it."),
            failure_title="Training files not rebuilt",
            failure_consequence=(
                "The new tokenizer is saved; a training file that was not rebuilt keeps the "
                "token counts of the old one until LoRA Studio rebuilds it the next time it "
                "opens this library."))

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
            # After the drop has returned: the program the files were dragged from waits
            # for it, and the import first looks through the dropped folders and asks.
            QTimer.singleShot(0, functools.partial(self.importer.start, paths))

    # --- help ------------------------------------------------------------------------

    def show_about(self) -> None:
        QMessageBox.about(self, "About LoRA Studio", self.about_text())

    def about_text(self) -> str:
        return (f"<b>LoRA Studio {__version__}</b><br>Training-file formats v{FORMAT_VERSION}"
                f"<br><br>{self._where_text()}")

    def _where_text(self) -> str:
        if self.library.is_team:
            return (f"Team library (PostgreSQL):<br>{html.escape(library_key(self.library))}"
                    "<br><br>This computer keeps only its own caches for it (such as token "
                    f"counts) in:<br>{html.escape(str(self.library.root))}")
        return f"Library folder:<br>{html.escape(str(self.library.root))}"

    def open_library_folder(self) -> None:
        """Help ▸ Open library folder (a library folder only: see ``_build_actions``)."""
        if self.library.is_team:
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.library.root)))

    def copy_library_address(self) -> None:
        """Help ▸ Copy team library address: the URL without password."""
        address = library_key(self.library)
        QApplication.clipboard().setText(address)
        self.show_message(f"Copied {address} (without password).")

    def open_formats_document(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(project_root() / "docs" /
                                                        "FORMATS.md")))

    # --- settings --------------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(first_window_size(self.screen().availableGeometry().size()))
        self._fit_on_screen()
        page = self.conversations
        header_state = self.settings.value("conversations/header")
        page.table.restore_widths(
            header_state if isinstance(header_state, QByteArray) else None,
            settings_strings(self.settings.value("conversations/column_widths")))
        if header_state is not None:
            header = page.table.horizontalHeader()
            # The header remembers the sort indicator; the rows must follow it.
            page.table.sortByColumn(header.sortIndicatorSection(), header.sortIndicatorOrder())
        page.restore_columns(settings_strings(self.settings.value("conversations/visible_columns")),
                             settings_strings(self.settings.value("conversations/hidden_columns")))
        self._restore_reader()
        page.restore_filter(remembered_filter(self.settings))
        folder = self.settings.value("training_files/export_folder")
        if isinstance(folder, str) and folder and Path(folder).is_dir():
            self.training_files.export_folder = Path(folder)
        self.training_files.recipes_action.setChecked(
            self.settings.value("training_files/recipes") in (True, "true"))
        list_width = self.settings.value("training_files/list_width")  # dragged, or fitted
        if isinstance(list_width, (int, str)) and str(list_width).isdigit():
            self.training_files.splitter.chosen_width = int(list_width) or None
            self.training_files.splitter.fit()
        self._restore_place()

    def _restore_place(self) -> None:
        """The training file that was selected, and the page the window was left on (the
        LoRA Training JSON Files page only while the library has training files)."""
        name = self.settings.value("training_files/selected")
        if isinstance(name, str) and name:
            self.training_files.select_file(name)
        if (self.settings.value("window/page") == FILES_PAGE
                and self.training_files.selected_file() is not None):
            self.pages.setCurrentWidget(self.training_files)

    def _restore_reader(self) -> None:
        """The reader's width if the person dragged it (else it is fitted beside the
        table), and whether it shows. The old "conversations/splitter" state saved every
        split, chosen or not (a 40 % reader hid the table's columns on a laptop): only
        its hidden reader is still honoured."""
        page = self.conversations
        width = self.settings.value("conversations/reader_width")
        if isinstance(width, (int, str)) and str(width).isdigit() and int(width) > 0:
            page.splitter.chosen_width = int(width)
        shown = self.settings.value("conversations/reader_shown")
        if shown is None:
            old = self.settings.value("conversations/splitter")
            if isinstance(old, QByteArray) and page.splitter.restoreState(old):
                shown = page.splitter.sizes()[1] > 0 or not page.splitter.sizes()[0]
        page.set_reader_visible(shown in (None, True, "true"))

    def _fit_on_screen(self) -> None:
        """A window remembered from a bigger screen shrinks to this one and comes back
        into view."""
        available = self.screen().availableGeometry()
        size = self.size().boundedTo(available.size())
        if size != self.size():
            self.resize(size)
        frame = self.frameGeometry()
        if not available.contains(frame.topLeft()) or not available.contains(
                frame.bottomRight()):
            frame.moveCenter(available.center())
            self.move(max(frame.left(), available.left()), max(frame.top(), available.top()))

    def save_settings(self) -> None:
        page = self.conversations
        self.check_keeper.keep_now()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("conversations/header",
                               page.table.horizontalHeader().saveState())
        self.settings.setValue("conversations/column_widths", page.table.chosen_widths())
        visible = page.visible_columns()
        self.settings.setValue("conversations/visible_columns", visible)
        self.settings.setValue("conversations/hidden_columns",
                               [column_key(c) for c in Column if column_key(c) not in visible])
        self.settings.setValue("conversations/reader_shown", page.reader_visible())
        if page.splitter.chosen_width:
            self.settings.setValue("conversations/reader_width", page.splitter.chosen_width)
        else:
            self.settings.remove("conversations/reader_width")
        self.settings.remove("conversations/splitter")  # (read once, for its hidden reader)
        self.settings.setValue("conversations/filter",
                               json.dumps(page.filter_bar.state(), ensure_ascii=False))
        self.settings.remove("conversations/batch")  # (read once, by remembered_filter)
        if self.training_files.export_folder is not None:
            self.settings.setValue("training_files/export_folder",
                                   str(self.training_files.export_folder))
        self.settings.setValue("training_files/recipes",
                               self.training_files.recipes_action.isChecked())
        selected = self.training_files.selected_file()
        if selected is not None:
            self.settings.setValue("training_files/selected", selected.name)
        else:
            self.settings.remove("training_files/selected")
        self.settings.setValue("window/page", FILES_PAGE if self.pages.currentWidget()
                               is self.training_files else CONVERSATIONS_PAGE)
        if self.training_files.splitter.chosen_width:
            self.settings.setValue("training_files/list_width",
                                   self.training_files.splitter.chosen_width)
        else:
            self.settings.remove("training_files/list_width")
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.close_guard.may_close():
            event.ignore()
            return
        self.save_settings()
        self.release()
        super().closeEvent(event)

    def release(self) -> None:
        """Stop what reads the library in the background (token counts, a re-read, the
        as-trained view): the library is closed after the window."""
        self.token_counts.stop()  # waits for the pass to end
        self.team_watch.stop()
        self.conversations.stop_reading()
        if self.as_trained_window is not None:
            self.as_trained_window.close()

    @property
    def reading(self) -> bool:
        """A background read of the library is still running."""
        return self.conversations.loading


def remembered_filter(settings: QSettings) -> dict[str, object]:
    """The filter the last run closed with; a setting from before the whole filter was
    remembered holds its batch alone."""
    text = settings.value("conversations/filter")
    if isinstance(text, str) and text:
        try:
            saved = json.loads(text)
        except ValueError:
            saved = None
        if isinstance(saved, dict):
            return saved
    batch = settings.value("conversations/batch")
    return {"batch_id": str(batch)} if batch else {}


def tool_tip(text: str, tip: str, shortcut: QKeySequence) -> str:
    """A toolbar button's tooltip: what the action does (not its label again) and its
    key, so a mouse user learns the shortcut where the button is."""
    said = tip or text.rstrip("…")
    keys = shortcut.toString(QKeySequence.SequenceFormat.NativeText)
    return f"{said} ({keys})" if keys else said


def library_key(library: Library) -> str:
    """The library as the settings remember it (a folder's path, a team URL without
    password)."""
    if library.location.url is not None:
        return settings_form(library.location.url)
    return str(library.root.resolve())


def library_name(library: Library) -> str:
    """Which library the window shows, for the status bar (never with a password)."""
    return f"Team library {library_key(library)}" if library.is_team else "Local library"


def where_tip(library: Library) -> str:
    """The status bar's word on where the library is (a team's: never as a folder)."""
    if library.is_team:
        return (f"A team library in a PostgreSQL database: {library_key(library)}. This "
                f"computer keeps only its own caches for it in {library.root}.")
    return (f"Library folder: {library.root}. File ▸ Open or create library folder… opens "
            "another or makes a new one.")


def place_line(library: Library) -> str:
    """Where the library is kept, in one short line (the welcome panel's)."""
    if library.is_team:
        return f"Team library {library_key(library)}"
    return f"Library folder: {home_as_tilde(library.root)}"


def window_title(library: Library) -> str:
    """The window names its library: a team's URL (without password), or the folder (the
    home folder as ~)."""
    if library.is_team:
        return f"{library_name(library)} — LoRA Studio"
    return f"Local library {home_as_tilde(library.root)} — LoRA Studio"


def first_window_size(available: QSize) -> QSize:
    """Roomy on a big screen, and never larger than the screen's free area (a 1366×768
    laptop at 125 % leaves 1093×614); the title bar and frame need a few pixels."""
    preferred = QSize(1400, 860)
    return preferred.boundedTo(available - QSize(16, 40)).expandedTo(QSize(640, 400))


def open_library_or_explain(data_dir: str | None, dialogs: Dialogs,
                            parent: QWidget | None = None,
                            quitting: Callable[[], bool] = lambda: False) -> Library | None:
    """Open the library off the GUI thread (``open_behind_progress``); when it is damaged,
    foreign, newer or in use, or its upgrade was cancelled, say why (never a traceback)
    and offer to start a library in another folder. An upgrade cancelled by a quit signal
    (``quitting``: one came) asks nothing: nobody may be there to answer."""
    where: str | Path | None = data_dir  # a folder or a team library's URL
    while True:
        opened = open_behind_progress(where, parent)
        if isinstance(opened, Library):
            return opened
        if isinstance(opened, UpgradeCancelled) and quitting():
            return None
        if isinstance(opened, UpgradeCancelled):
            title, question = "Library not upgraded", (
                f"{opened}\n\nStart or open a library in another folder?")
        else:
            title, question = "Cannot open the library", (
                f"{opened}\n\nStart or open a library in another folder? "
                "Nothing in the current folder is changed.")
        if not dialogs.confirm(parent, title, question, yes="Use another folder…",
                               no="Quit"):
            return None
        chosen = dialogs.folder(parent, "Choose a folder for the library")
        if chosen is None:
            return None
        where = chosen


def open_behind_progress(where: str | Path | None, parent: QWidget | None = None,
                         ) -> Library | UpgradeCancelled | str:
    """Open the library at ``where`` off the GUI thread, behind a progress dialog with
    Cancel: upgrading an older version's library (a backup first) takes seconds, and the
    person saw nothing meanwhile and may have started the app again. The library, or the
    cancel (the library was left as it was), or the sentence saying why it did not open.
    A Cancel that comes when nothing is left to stop (no upgrade, or one committed) lets
    the library open all the same."""
    def work(progress: Callable[[int, int, str], None],
             cancelled: Callable[[], bool]) -> Library | UpgradeCancelled | str:
        try:
            return Library.open(where, progress=progress, cancelled=cancelled)
        except UpgradeCancelled as stopped:  # results: a cancelled task's failure is unsaid
            return stopped
        except LibraryError as exc:
            return str(exc)

    title = opening_title(where)
    opened, failure, _cancelled = wait_behind_progress(title, work, parent)
    if opened is not None:
        return opened
    return failure or f"{title[:1].lower()}{title[1:]} did not end"


def opening_title(where: str | Path | None) -> str:
    """The progress dialog's first line while a library opens."""
    try:
        location = parse_location(where)
    except LibraryError:
        return "Opening the library"
    if location.is_team:
        return f"Opening the team library {location.display}"
    return f"Opening the library in {home_as_tilde(location.folder)}"


# How long a Cancel at start waits for the step under way (a move or a rebuild of a large
# file takes minutes) before its child is ended: the step is not cut short by a timer.
FINISH_GRACE_S = 3600.0
STOPPED_FINISHING = ("stopped finishing the work an earlier run or version left; the rest "
                     "is finished at the next start")


def finish_interrupted_work_or_explain(
        library: Library, dialogs: Dialogs, parent: QWidget | None = None,
        job: Callable[..., tuple[list[str], bool]] = finish_for_a_window) -> list[str]:
    """Complete or roll back what a killed run or an older version left, before the window
    opens: in a child process (``job``, ``app.recovery.finish_for_a_window``), behind a
    progress dialog with Cancel (moving an older version's builds into the database can
    take minutes, and in a thread of this process it stalled the dialog). Returns what
    was done, one sentence each. If it fails (a full disk) or is cancelled, say so and open
    the library as it is: nothing stored is lost by waiting, and the next start goes on
    from there."""
    if not needs_recovery(library):
        return []
    outcome, failure, cancelled = wait_behind_progress(
        "Finishing work left by an earlier run or version",
        in_child(job, library, grace=FINISH_GRACE_S), parent)
    if outcome is not None:
        said, stopped = outcome
        return [*said, STOPPED_FINISHING] if stopped else list(said)
    if cancelled:
        return [STOPPED_FINISHING]
    dialogs.warn(parent, "Interrupted work not finished",  # type: ignore[arg-type]
                 f"{failure}\n\nThe library opens as it is; LoRA Studio tries again at "
                 "the next start.")
    return []


def keep_spare_once_settled(window: MainWindow, after_ms: int = SPARE_AFTER_MS) -> None:
    """Start keeping a spare child for the jobs (``app.job_process.keep_spare``) once the
    window has painted and, in a large library, its first read is in: the spare's start-up
    (a second or two of a core) then takes nothing from either. (A first read that fails
    starts it ``SPARE_BACKSTOP_MS`` later all the same.)"""
    def keep() -> None:
        keep_spare(JOB_MODULES, JOB_WARM_UP)

    if window.conversations.opening:
        window.conversations.reloaded.connect(keep, Qt.ConnectionType.SingleShotConnection)
        QTimer.singleShot(SPARE_BACKSTOP_MS, keep)
    else:
        QTimer.singleShot(after_ms, keep)


def run_gui(location: str | None = None) -> int:
    """Start the desktop app (the ``lora-studio`` command without a sub-command) on
    ``location`` (a folder or a team library's URL), else on the library open last."""
    from ui.library_switch import start_app

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("LoRA Studio")
    app.setOrganizationName(SETTINGS_ORG)
    quit_signals = QuitOnSignals(quit_without_asking)
    quit_signals.install()  # before the library opens: a Ctrl+C there cancels its opening
    try:
        switcher = start_app(location, QtDialogs(), QSettings(SETTINGS_ORG, "LoRA Studio"),
                             quitting=lambda: quit_signals.received is not None)
        if switcher is None:
            return 1
        keep_spare_once_settled(switcher.window)
        if quit_signals.received is not None:  # came while the library opened
            QTimer.singleShot(0, quit_without_asking)
        status = 1
        try:
            status = app.exec()
        finally:
            end_spare()  # (it holds no library: nothing to wait for)
            finish_app(status, switcher.close)
        return status
    finally:
        quit_signals.uninstall()
