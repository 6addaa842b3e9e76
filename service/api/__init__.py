"""The REST API: routers under `Settings.api_prefix` (/v1)."""
