"""One pydantic-settings `Settings`: every knob of the service, read from `HWSEARCH_*`.

    HWSEARCH_DATABASE_URL=postgresql+psycopg://hws:secret@db/hwsearch hwsearch worker

Commands build `Settings(database_url=...)` from their `--db` option; `get_settings()` is the
environment's default, built once.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from search import GRACE_PERIOD_S, HEARTBEAT_INTERVAL_S

DEFAULT_DATABASE_URL = "sqlite:///runs/hwsearch.db"
MiB = 2**20


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HWSEARCH_", extra="ignore", frozen=True)

    environment: Literal["development", "production"] = "development"
    # One database holds the service's tables (hws_*) and Optuna's; studies are linked to jobs
    # by name. sqlite:///path for the embedded default, postgresql+psycopg://... to scale out.
    database_url: str = DEFAULT_DATABASE_URL
    api_prefix: str = "/v1"  # never /api, /static, /csv or /dashboard: the dashboard owns them
    dashboard: bool = True  # mount optuna-dashboard (guarded by API keys) at /

    # Workers. A worker whose heartbeat is older than lease_s is dead: its trial slots and
    # tasks go back to the pool. It must exceed Optuna's grace period plus one heartbeat, so
    # a dead worker's RUNNING trial is already failed and re-queued when its slot is re-claimed.
    heartbeat_s: float = Field(default=HEARTBEAT_INTERVAL_S, gt=0)
    lease_s: float = Field(default=GRACE_PERIOD_S + 2 * HEARTBEAT_INTERVAL_S, gt=0)
    poll_s: float = Field(default=2.0, gt=0)  # idle workers look for work this often
    confirm_max_attempts: int = Field(default=3, ge=1)  # workers lost on one confirmation
    cache_dir: Path = Path("runs/cache")  # where workers unpack uploaded model/dataset files

    # Untrusted input.
    max_spec_bytes: int = Field(default=256 * 1024, gt=0)
    max_model_bytes: int = Field(default=64 * MiB, gt=0)
    max_dataset_bytes: int = Field(default=256 * MiB, gt=0)

    @model_validator(mode="after")
    def _safe(self) -> "Settings":
        if self.lease_s <= 2 * self.heartbeat_s:
            raise ValueError(f"lease_s {self.lease_s} must exceed two heartbeats")
        if self.environment == "production" and self.database_url == DEFAULT_DATABASE_URL:
            raise ValueError("production needs HWSEARCH_DATABASE_URL set (not the default)")
        for reserved in ("/api", "/static", "/csv", "/dashboard"):
            if self.api_prefix == reserved or self.api_prefix.startswith(reserved + "/"):
                raise ValueError(f"api_prefix {self.api_prefix} collides with the dashboard")
        if not self.api_prefix.startswith("/") or self.api_prefix == "/":
            raise ValueError("api_prefix is a path below / such as /v1")
        return self

    @property
    def max_request_bytes(self) -> int:
        """The largest body a submission may have (spec + model + dataset + form overhead)."""
        return self.max_spec_bytes + self.max_model_bytes + self.max_dataset_bytes + MiB


@lru_cache
def get_settings() -> Settings:
    return Settings()
