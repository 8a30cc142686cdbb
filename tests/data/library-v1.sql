-- The library database schema at version 1, frozen: upgrade tests start from it.
CREATE TABLE batches (
	batch_id VARCHAR NOT NULL, 
	created_at VARCHAR NOT NULL, 
	PRIMARY KEY (batch_id)
);
CREATE TABLE profiles (
	profile_hash VARCHAR NOT NULL, 
	document BLOB NOT NULL, 
	PRIMARY KEY (profile_hash)
);
CREATE TABLE training_files (
	file_id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	slug VARCHAR NOT NULL, 
	created_at VARCHAR NOT NULL, 
	updated_at VARCHAR NOT NULL, 
	revision INTEGER NOT NULL, 
	json_file VARCHAR, 
	jsonl_file VARCHAR, 
	conversations INTEGER NOT NULL, 
	trainable_replies INTEGER NOT NULL, 
	json_bytes INTEGER NOT NULL, 
	jsonl_bytes INTEGER NOT NULL, 
	header BLOB, 
	PRIMARY KEY (file_id), 
	UNIQUE (name), 
	UNIQUE (slug)
);
CREATE TABLE conversations (
	pk INTEGER NOT NULL, 
	conversation_id VARCHAR NOT NULL, 
	batch_id VARCHAR NOT NULL, 
	persona_name VARCHAR, 
	persona_archetype VARCHAR, 
	emotional_arc VARCHAR, 
	emotional_arc_key VARCHAR, 
	training_topic VARCHAR, 
	training_topic_key VARCHAR, 
	turns INTEGER NOT NULL, 
	trainable_replies INTEGER NOT NULL, 
	quality_score DOUBLE, 
	quality_tier VARCHAR, 
	warning_codes VARCHAR NOT NULL, 
	warnings_text VARCHAR NOT NULL, 
	created VARCHAR, 
	imported_at VARCHAR NOT NULL, 
	source_file VARCHAR NOT NULL, 
	content_sha256 VARCHAR NOT NULL, 
	profile_hash VARCHAR NOT NULL, 
	digest BLOB NOT NULL, 
	document BLOB NOT NULL, 
	PRIMARY KEY (pk), 
	UNIQUE (conversation_id), 
	FOREIGN KEY(batch_id) REFERENCES batches (batch_id) ON UPDATE CASCADE, 
	UNIQUE (content_sha256), 
	FOREIGN KEY(profile_hash) REFERENCES profiles (profile_hash)
);
CREATE INDEX ix_conversations_batch ON conversations (batch_id);
CREATE TABLE training_file_members (
	file_id INTEGER NOT NULL, 
	conversation_pk INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	PRIMARY KEY (file_id, conversation_pk), 
	FOREIGN KEY(file_id) REFERENCES training_files (file_id) ON DELETE CASCADE, 
	FOREIGN KEY(conversation_pk) REFERENCES conversations (pk) ON DELETE RESTRICT
);
CREATE INDEX ix_members_conversation ON training_file_members (conversation_pk);
