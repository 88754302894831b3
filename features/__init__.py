"""Feature stage: user and item features from validated events, a Feast repo over them
(offline Parquet, SQLite or Redis online store), text embeddings, real-time pushes."""
