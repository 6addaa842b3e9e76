"""Settings, database engine and API-key hashing shared by the API, workers and CLI."""
