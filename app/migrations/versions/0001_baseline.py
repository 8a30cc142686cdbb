"""Baseline: the library's schema as it stood when migrations moved to Alembic.

It is schema version 7 of ``app.db``'s own chain (what a library of LoRA Studio before
Alembic upgrades to, and is then stamped with this revision), written out table by table
so that later changes to ``app/models.py`` never change what it creates.

Revision ID: 0001_baseline
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Text compares by its bytes on both back ends (collation "C" on PostgreSQL); numbers that
# may pass 2**31 are BIGINT on PostgreSQL (SQLite's INTEGER is 64-bit already).
TEXT = sa.String().with_variant(sa.String(collation="C"), "postgresql")
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('batches',
    sa.Column('batch_id', TEXT, nullable=False),
    sa.Column('created_at', TEXT, nullable=False),
    sa.PrimaryKeyConstraint('batch_id')
    )
    op.create_table('build_fragments',
    sa.Column('key', TEXT, nullable=False),
    sa.Column('sha256', sa.LargeBinary(), nullable=False),
    sa.Column('tokens', sa.LargeBinary(), nullable=False),
    sa.Column('json_size', sa.Integer(), nullable=False),
    sa.Column('jsonl_size', sa.Integer(), nullable=False),
    sa.Column('jsonl', sa.LargeBinary(), nullable=False),
    sa.Column('json', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('profiles',
    sa.Column('profile_hash', TEXT, nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('profile_hash')
    )
    op.create_table('training_files',
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('name', TEXT, nullable=False),
    sa.Column('slug', TEXT, nullable=False),
    sa.Column('created_at', TEXT, nullable=False),
    sa.Column('updated_at', TEXT, nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('json_file', TEXT, nullable=True),
    sa.Column('jsonl_file', TEXT, nullable=True),
    sa.Column('conversations', sa.Integer(), nullable=False),
    sa.Column('trainable_replies', sa.Integer(), nullable=False),
    sa.Column('estimated_tokens', sa.Integer(), nullable=False),
    sa.Column('json_bytes', BIG, nullable=False),
    sa.Column('jsonl_bytes', BIG, nullable=False),
    sa.Column('header', sa.LargeBinary(), nullable=True),
    sa.Column('head', sa.LargeBinary(), nullable=True),
    sa.Column('totals', sa.LargeBinary(), nullable=True),
    sa.Column('max_seq_len', sa.Integer(), nullable=False),
    sa.Column('cut_off_policy', TEXT, nullable=False),
    sa.PrimaryKeyConstraint('file_id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('slug')
    )
    op.create_table('conversations',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('conversation_id', TEXT, nullable=False),
    sa.Column('batch_id', TEXT, nullable=False),
    sa.Column('persona_name', TEXT, nullable=True),
    sa.Column('persona_archetype', TEXT, nullable=True),
    sa.Column('emotional_arc', TEXT, nullable=True),
    sa.Column('emotional_arc_key', TEXT, nullable=True),
    sa.Column('training_topic', TEXT, nullable=True),
    sa.Column('training_topic_key', TEXT, nullable=True),
    sa.Column('turns', sa.Integer(), nullable=False),
    sa.Column('trainable_replies', sa.Integer(), nullable=False),
    sa.Column('quality_score', sa.Double(), nullable=True),
    sa.Column('quality_tier', TEXT, nullable=True),
    sa.Column('warning_codes', TEXT, nullable=False),
    sa.Column('warnings_text', TEXT, nullable=False),
    sa.Column('created', TEXT, nullable=True),
    sa.Column('imported_at', TEXT, nullable=False),
    sa.Column('source_file', TEXT, nullable=False),
    sa.Column('content_sha256', TEXT, nullable=False),
    sa.Column('profile_hash', TEXT, nullable=False),
    sa.Column('estimated_tokens', sa.Integer(), nullable=False),
    sa.Column('digest', sa.LargeBinary(), nullable=False),
    sa.Column('token_count', sa.Integer(), nullable=False),
    sa.Column('dialogue_sha256', TEXT, nullable=True),
    sa.Column('reviewed_by', TEXT, nullable=True),
    sa.Column('reviewed_at', TEXT, nullable=True),
    sa.Column('dialogue_sketch', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.batch_id'], onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['profile_hash'], ['profiles.profile_hash'], ),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('content_sha256'),
    sa.UniqueConstraint('conversation_id')
    )
    op.create_index('ix_conversations_batch', 'conversations', ['batch_id'], unique=False)
    op.create_index('ix_conversations_dialogue', 'conversations', ['dialogue_sha256'], unique=False)
    op.create_table('conversation_documents',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['pk'], ['conversations.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk')
    )
    op.create_table('dialogue_keys',
    sa.Column('key', BIG, autoincrement=False, nullable=False),
    sa.Column('conversation_pk', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_pk'], ['conversations.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_index('ix_dialogue_keys_conversation_pk', 'dialogue_keys', ['conversation_pk'])
    op.create_table('training_file_members',
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('conversation_pk', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('fragment_key', TEXT, nullable=True),
    sa.ForeignKeyConstraint(['conversation_pk'], ['conversations.pk'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['file_id'], ['training_files.file_id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['fragment_key'], ['build_fragments.key'], ),
    sa.PrimaryKeyConstraint('file_id', 'conversation_pk')
    )
    op.create_index('ix_members_conversation', 'training_file_members', ['conversation_pk'])
    op.create_index('ix_members_fragment', 'training_file_members', ['fragment_key'], unique=False)
    op.create_index('ix_members_order', 'training_file_members',
                    ['file_id', 'position', 'fragment_key'])


def downgrade() -> None:
    raise NotImplementedError("a library is never downgraded: restore a backup instead")
