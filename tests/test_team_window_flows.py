"""The window's flows on a team library: the window tests written for a library folder,
run again here on the test session's real PostgreSQL server.

The tests are the same functions (imported, with their fixtures); only ``backend`` says
"postgresql", so conftest's ``library`` (and ``filled_library``, ``two_batch_library``…)
open a fresh team database instead of a folder. Drag-and-drop and menu imports, batches
(move, rename, and the rebuild a rename causes), review marks, new training files and adding
to them, downloads byte for byte, and the background token count.
"""

from __future__ import annotations

import pytest

# Fixtures the imported tests ask for, by name (pytest finds them in this module).
from test_main_window import (  # noqa: F401
    test_drop_of_files_and_folders_imports_them,
    test_filter_by_batch_and_select_all_of_filter,
    test_import_folder_from_menu_uses_typed_batch,
    test_move_checked_conversations_to_another_batch,
    test_new_training_file_from_checked_rows,
    test_rename_the_filtered_batch,
    test_renaming_a_batch_rebuilds_the_training_files_that_hold_it,
    two_batch_library,
)
from test_review_window import (  # noqa: F401
    enriched_ids,
    test_mark_checked_then_filter_by_review,
    test_mark_in_the_reader_reaches_the_header_and_the_jsonl,
    window,
)
from test_token_count_flow import (  # noqa: F401
    test_an_import_in_the_window_fills_the_tokens_column,
)
from test_training_files_page import (  # noqa: F401
    demo,
    test_copies_are_byte_identical_to_the_stored_files,
    test_removing_a_member_rebuilds_the_file,
    test_rename_shows_the_new_name,
)


@pytest.fixture
def backend() -> str:
    """Every test here on a team library (conftest's ``library_location`` reads this)."""
    return "postgresql"


pytestmark = pytest.mark.usefixtures("backend")
