"""The library's tables (SQLAlchemy 2 typed ORM).

The conversation table holds a small summary row per conversation for fast listing; the
canonical record, compressed, lives in ``conversation_documents``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Text compares and sorts by its bytes on both back ends: SQLite's BINARY collation, and
# "C" on PostgreSQL, whose default follows the server's locale (case-blind, accents
# ignored first, differing between servers). Names sort, and unique names clash, the same
# way in a team library as in a library folder.
TEXT = String().with_variant(String(collation="C"), "postgresql")
# Numbers that may pass 2**31: unsigned 32-bit sentence hashes, byte sizes of large files.
# SQLite's INTEGER is 64-bit already (and an INTEGER PRIMARY KEY is its fast rowid).
BIG = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {str: TEXT}  # noqa: RUF012 (SQLAlchemy reads a plain dict)


class Batch(Base):
    __tablename__ = "batches"

    batch_id: Mapped[str] = mapped_column(TEXT, primary_key=True)
    created_at: Mapped[str]


class Profile(Base):
    """Consultant profiles, stored once per distinct content."""

    __tablename__ = "profiles"

    profile_hash: Mapped[str] = mapped_column(TEXT, primary_key=True)
    document: Mapped[bytes] = mapped_column(LargeBinary)


class Conversation(Base):
    __tablename__ = "conversations"

    pk: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(unique=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.batch_id", onupdate="CASCADE"))
    persona_name: Mapped[str | None]
    persona_archetype: Mapped[str | None]
    emotional_arc: Mapped[str | None]
    emotional_arc_key: Mapped[str | None]
    training_topic: Mapped[str | None]
    training_topic_key: Mapped[str | None]
    turns: Mapped[int]
    trainable_replies: Mapped[int]
    quality_score: Mapped[float | None]
    quality_tier: Mapped[str | None]
    warning_codes: Mapped[str] = mapped_column(default="")
    warnings_text: Mapped[str] = mapped_column(default="")
    created: Mapped[str | None]
    imported_at: Mapped[str]
    source_file: Mapped[str]
    content_sha256: Mapped[str] = mapped_column(unique=True)
    profile_hash: Mapped[str] = mapped_column(ForeignKey("profiles.profile_hash"))
    estimated_tokens: Mapped[int] = mapped_column(default=0)
    digest: Mapped[bytes] = mapped_column(LargeBinary)
    # v4: exact tokens of the rendered chat, normalised-dialogue fingerprint, review mark.
    token_count: Mapped[int] = mapped_column(default=0)
    dialogue_sha256: Mapped[str | None]
    reviewed_by: Mapped[str | None]
    reviewed_at: Mapped[str | None]
    # v5: the dialogue's sentence sketch, for near-duplicates (app.similar).
    dialogue_sketch: Mapped[bytes | None] = mapped_column(LargeBinary)
    # 0002: the counting basis ``token_count`` was made with (``LibraryTokenizer.basis``):
    # a count made with another tokenizer or template is no count ("" = made before).
    token_basis: Mapped[str] = mapped_column(TEXT, default="", server_default="")
    # 0004: the replies the default cut-off policy trains (``ConversationSummary``).
    replies_trained: Mapped[int] = mapped_column(default=0, server_default="0")

    __table_args__ = (
        Index("ix_conversations_batch", "batch_id"),
        Index("ix_conversations_dialogue", "dialogue_sha256"),
    )


class LibraryTokenizer(Base):
    """The tokenizer and chat template the library counts with: one row, shared by every
    member of a team library (``app.tokenizer_choice``). No row: the library was made
    before the choice lived in it (it is carried over when it is next opened for writing).
    """

    __tablename__ = "library_tokenizer"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # always 1
    tokenizer: Mapped[str]  # "bundled", or "custom": the tokenizer.json below
    tokenizer_name: Mapped[str]
    tokenizer_sha256: Mapped[str]
    tokenizer_json: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    template: Mapped[str]  # a bundled template's key, or "custom": the source below
    template_name: Mapped[str]
    template_source: Mapped[str | None]
    bos_token: Mapped[str]
    eos_token: Mapped[str]
    basis: Mapped[str]  # what counts made with this choice carry (``TokenCounter.basis``)
    changed_at: Mapped[str]


class DialogueKey(Base):
    """One of the smallest sentence hashes of a dialogue, and the first conversation stored
    with it: where an import looks for near-duplicates (see ``app.similar``)."""

    __tablename__ = "dialogue_keys"

    key: Mapped[int] = mapped_column(BIG, primary_key=True, autoincrement=False)
    conversation_pk: Mapped[int] = mapped_column(
        ForeignKey("conversations.pk", ondelete="CASCADE"), index=True
    )


class ConversationDocument(Base):
    """The compressed canonical record, apart from the summary row.

    Kept in its own table so that listing 100,000 summary rows reads a few megabytes
    instead of walking past every document.
    """

    __tablename__ = "conversation_documents"

    pk: Mapped[int] = mapped_column(
        ForeignKey("conversations.pk", ondelete="CASCADE"), primary_key=True
    )
    document: Mapped[bytes] = mapped_column(LargeBinary)


class TrainingFile(Base):
    __tablename__ = "training_files"

    file_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)
    slug: Mapped[str] = mapped_column(unique=True)
    created_at: Mapped[str]
    updated_at: Mapped[str]
    revision: Mapped[int] = mapped_column(default=0)
    json_file: Mapped[str | None]
    jsonl_file: Mapped[str | None]
    conversations: Mapped[int] = mapped_column(default=0)
    trainable_replies: Mapped[int] = mapped_column(default=0)
    estimated_tokens: Mapped[int] = mapped_column(default=0)
    json_bytes: Mapped[int] = mapped_column(BIG, default=0)
    jsonl_bytes: Mapped[int] = mapped_column(BIG, default=0)
    header: Mapped[bytes | None] = mapped_column(LargeBinary)
    # v6: the full JSON's bytes before its first conversation (header and shared profile);
    # with the members' fragments it is the whole stored build (``app.stored_builds``).
    # None with ``json_file`` set: a build from before v6, still in files on disk.
    head: Mapped[bytes | None] = mapped_column(LargeBinary)
    # v7: the header's totals with what they were made for (``app.file_totals``), so a
    # change updates them by what it adds and removes. None: made again at the next build.
    totals: Mapped[bytes | None] = mapped_column(LargeBinary)
    # 0003: a rebuild owed (``app.stored_builds``). ``changes`` counts the changes to the
    # file's conversations (or to the tokenizer) its bytes must follow; ``changes_built`` is
    # the count its current build read before reading its members. Owed while the first is
    # larger: a change made while a build runs stays owed after that build's switch.
    changes: Mapped[int] = mapped_column(default=0, server_default="0")
    changes_built: Mapped[int] = mapped_column(default=0, server_default="0")
    # v4: the trainer's maximum sequence length and what happens to cut-off replies.
    max_seq_len: Mapped[int] = mapped_column(default=4096)
    cut_off_policy: Mapped[str] = mapped_column(default="trim")
    # 0005: what happens to a line over max_seq_len (``app.budget_fit``); the files that
    # existed before it keep their lines whole
    over_budget: Mapped[str] = mapped_column(default="fit", server_default="keep")
    # 0007: the sha256 of the current build's full JSON and JSONL (``app.stored_builds``),
    # so a saved copy is checked without reading the build. None: not needed yet (no saved
    # copy of its size), or built before 0007 (made off the window's thread when needed).
    json_sha256: Mapped[str | None]
    jsonl_sha256: Mapped[str | None]

    members: Mapped[list[Member]] = relationship(
        back_populates="training_file", cascade="all, delete-orphan", order_by="Member.position"
    )


class Member(Base):
    """A conversation's place in a training file."""

    __tablename__ = "training_file_members"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("training_files.file_id", ondelete="CASCADE"), primary_key=True
    )
    conversation_pk: Mapped[int] = mapped_column(
        ForeignKey("conversations.pk", ondelete="RESTRICT"), primary_key=True
    )
    position: Mapped[int]
    # v6: the rendering of this conversation in this file's build (None: not built yet)
    fragment_key: Mapped[str | None] = mapped_column(ForeignKey("build_fragments.key"))

    training_file: Mapped[TrainingFile] = relationship(back_populates="members")

    # ix_members_order: a build is read in file order without sorting its fragments (v6)
    __table_args__ = (Index("ix_members_conversation", "conversation_pk"),
                      Index("ix_members_fragment", "fragment_key"),
                      Index("ix_members_order", "file_id", "position", "fragment_key"))


class BuildFragment(Base):
    """One conversation rendered for one training file: its full-JSON fragment and its
    JSONL line(s), under a key naming everything the bytes depend on (``app.fragments``).

    The small columns come first: SQLite then reads sizes and token counts without
    walking the large values' overflow pages (and the JSONL without the full JSON's).
    """

    __tablename__ = "build_fragments"

    key: Mapped[str] = mapped_column(TEXT, primary_key=True)
    sha256: Mapped[bytes] = mapped_column(LargeBinary)  # of json, then of jsonl: checked on reading
    tokens: Mapped[bytes] = mapped_column(LargeBinary)  # each JSONL line's tokens (JSON)
    json_size: Mapped[int]
    jsonl_size: Mapped[int]
    jsonl: Mapped[bytes] = mapped_column(LargeBinary)  # first: trainers' copies read only it
    json: Mapped[bytes] = mapped_column(LargeBinary)


class SavedCopy(Base):
    """A copy of a training file saved out of the library (``app.saved_copies``): where,
    in what format, and which build it was made from, so the files page can say when the
    file has since been rebuilt with other content. One row per file written, the latest
    save to a path replacing the one before."""

    __tablename__ = "saved_copies"

    path: Mapped[str] = mapped_column(TEXT, primary_key=True)
    file_id: Mapped[int] = mapped_column(
        ForeignKey("training_files.file_id", ondelete="CASCADE"), index=True
    )
    export_format: Mapped[str]  # ``app.export.ExportFormat``
    revision: Mapped[int]  # the training file's revision the copy was made from
    # Size and sha256 of the stored JSON (a JSON copy) or JSONL (any other) it was made from
    source_bytes: Mapped[int] = mapped_column(BIG)
    source_sha256: Mapped[str]
    # What was written, to tell a copy the person has since moved or changed (cheap first)
    bytes: Mapped[int] = mapped_column(BIG)
    mtime_ns: Mapped[int] = mapped_column(BIG)
    sha256: Mapped[str]
    saved_at: Mapped[str]
