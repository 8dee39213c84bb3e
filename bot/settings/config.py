"""Settings read once from the environment and `.env` into one typed object."""

from __future__ import annotations

import importlib
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_PATTERN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,}$")
BOTFATHER_HINT = (
    "get a token from @BotFather in Telegram (https://t.me/BotFather, command /newbot) "
    "and put it in .env as BOT_TOKEN=123456789:AA..."
)


class ConfigError(Exception):
    """One line naming the bad setting and how to fix it; never contains the token."""


# a step count, or "auto" for a budget sized from the text (model/recipe.py).
TrainSteps = Annotated[int, Field(ge=1, le=1_000_000)] | Literal["auto"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    bot_token: SecretStr
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    database_url: str = "sqlite+aiosqlite:///var/bot.db"
    # SQLite only: how long a write waits for the write lock before it fails.
    sqlite_busy_timeout_s: float = Field(15.0, gt=0, le=600)
    checkpoint_dir: Path = Path("var/checkpoints")
    corpus_dir: Path = Path("var/corpora")
    corpus_path: Path = Path("data/arabic_text.txt")
    # The trained default model the repository ships: served at first start when it was
    # trained on CORPUS_PATH's text (training a good model on a CPU takes tens of minutes).
    shipped_model: Path = Path("data/default-model.pt")
    device: str = "auto"
    # 1.0 with the engine's min-p cut-off (0.2) writes the most varied text that stays under
    # 3 % non-words by the dictionary (the grid in docs/MODEL.md, "Model quality").
    default_temperature: float = Field(1.0, ge=0.1, le=2.0)
    min_temperature: float = Field(0.1, gt=0)
    max_temperature: float = Field(2.0, gt=0)
    default_length: int = Field(300, ge=1, le=4000)
    max_seed_chars: int = Field(500, ge=1, le=3000)
    history_limit: int = Field(10, ge=1, le=50)
    telegram_api_url: str = "https://api.telegram.org"
    log_level: str = "INFO"
    # --- operations: logs, probes and metrics, alerts to the admins
    # text: one readable line per record; json: one JSON object per line (for a log store).
    log_format: Literal["text", "json"] = "text"
    # GET /healthz, /readyz and /metrics on a port of their own (0: none; the image sets
    # 8081). In webhook mode they are on the webhook port as well. Loopback by default:
    # they are for the operator, never the public. Off by default so that several bots
    # (and test runs) on one host never fight over a port.
    health_listen: str = "127.0.0.1"
    health_port: int = Field(0, ge=0, le=65535)
    # An unexpected error is told to the admins at most once per kind in this many
    # seconds; more of the same kind meanwhile become one message with their count.
    alert_interval_s: float = Field(600.0, ge=1, le=7 * 86_400)
    # Steps for the model trained at first start when no checkpoint exists ("auto":
    # sized from the corpus by the recipe).
    default_train_steps: TrainSteps = "auto"
    max_queue: int = Field(1024, ge=1)
    max_batch: int = Field(256, ge=1)
    max_concurrent_updates: int = Field(512, ge=1)
    rate_limit: bool = True
    shutdown_grace_s: float = Field(20.0, ge=0)
    # /retrain: what a new model is trained with (defaults: the reference recipe).
    retrain_steps: TrainSteps = "auto"  # a number, or "auto" (sized from the text)
    retrain_seq_len: int = Field(64, ge=2, le=4096)
    retrain_batch_size: int = Field(32, ge=1, le=4096)
    retrain_lr: float = Field(3e-3, gt=0, le=1)
    retrain_val_fraction: float = Field(0.1, gt=0, lt=0.5)
    retrain_embed_size: int = Field(32, ge=1, le=4096)
    retrain_hidden_size: int = Field(128, ge=1, le=8192)
    retrain_device: str = ""  # empty: the engine's DEVICE
    retrain_threads: int = Field(1, ge=1)
    # --- training recipes and fine-tuning (model/recipe.py, bot/training/plan.py)
    default_train_recipe: Literal["reference", "fit"] = "fit"
    default_train_time_budget_s: float = Field(600.0, ge=0, le=86_400)
    retrain_recipe: Literal["reference", "fit"] = "fit"
    retrain_time_budget_s: float = Field(900.0, ge=0, le=86_400)
    # What /retrain does when the admin names neither "finetune" nor "fresh".
    retrain_method: Literal["auto", "finetune", "fresh"] = "auto"
    # Generated words judged by a dictionary after each /retrain (model/realism.py); 0 = off.
    retrain_realism_words: int = Field(2500, ge=0, le=100_000)
    # Uploads above this are refused; Telegram itself lets bots download up to 20 MB.
    max_corpus_bytes: int = Field(10_000_000, ge=1_000, le=20 * 1024 * 1024)
    progress_edit_interval_s: float = Field(2.0, ge=0)
    generations_page_size: int = Field(5, ge=1, le=20)
    # Webhook mode (instead of long polling) when WEBHOOK_URL is set.
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(8443, ge=1, le=65535)
    webhook_cert: Path | None = None
    webhook_key: Path | None = None
    # start-up. How long to keep retrying a Bot API that does not answer (a
    # network blip at boot), and each attempt's connect/read timeout.
    startup_retry_s: float = Field(60.0, ge=0, le=3600)
    startup_timeout_s: float = Field(10.0, gt=0, le=300)
    # --- fair use: per-user limits and access control; 0 means unlimited.
    user_max_pending: int = Field(2, ge=0, le=1000)
    user_rate_per_minute: int = Field(20, ge=0, le=100_000)
    access: str = "open"
    allowed_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()

    @field_validator("access")
    @classmethod
    def _access_mode(cls, value: str) -> str:
        mode = value.strip().lower()
        if mode not in ("open", "allowlist"):
            raise ValueError("must be open or allowlist")
        return mode

    @field_validator("allowed_user_ids", mode="before")
    @classmethod
    def _split_allowed_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
            if not all(re.fullmatch(r"\d{1,19}", p) and int(p) < 2**63 for p in parts):
                raise ValueError("expected comma-separated numeric Telegram user ids")
            return frozenset(int(p) for p in parts)
        return value

    # --- /export ---
    # Largest file /export uploads as is; above it the CSV is gzipped. Telegram's limit for
    # bots is 50 MB (a self-hosted Bot API server allows up to 2000 MB).
    export_max_bytes: int = Field(50_000_000, ge=1_000, le=2_000_000_000)
    # --- trainers. ``local``: the bot's host trains (as before); ``queue``:
    # runs go on the PostgreSQL job queue for ``python -m bot.trainer`` processes.
    training: str = "local"
    # A live run's driver renews its lease this often x3; a run whose lease expired has
    # no driver any more and is failed by whoever notices first.
    training_lease_s: float = Field(30.0, ge=1.0, le=3600)
    # How long a queued run may wait for a trainer to take it (queue mode).
    trainer_wait_s: float = Field(600.0, ge=1.0, le=7 * 24 * 3600)
    # How often a trainer writes its heartbeat row; 3 missed beats and it is dead, on any
    # host, well before its run's lease runs out.
    trainer_heartbeat_s: float = Field(5.0, ge=0.2, le=600)
    # How long a process's claim on an update lasts unrenewed: how long a killed process's
    # acknowledged updates wait before another process (or its restart) takes them over.
    # Renewed every third of it, so a live process under load never loses one.
    inbox_lease_s: float = Field(15.0, ge=3.0, le=3600)
    # Retention: the active version, this many newest ones and the pinned ones (/pin)
    # are kept; every other version's checkpoint file and blob are deleted (its row stays).
    model_versions_keep: int = Field(5, ge=1, le=10_000)

    @field_validator("training")
    @classmethod
    def _training_mode(cls, value: str) -> str:
        mode = value.strip().lower()
        if mode not in ("local", "queue"):
            raise ValueError("must be local or queue")
        return mode

    # --- scale-out: replicas ---
    # How often a replica refreshes its heartbeat row; a row unseen for 3 intervals is
    # shown as gone, and deleted after REPLICA_FORGET_S.
    replica_heartbeat_s: float = Field(10.0, ge=0.5, le=3600)
    replica_forget_s: float = Field(600.0, ge=1, le=86_400 * 30)
    # The periodic check for a new active version, behind LISTEN/NOTIFY (PostgreSQL).
    version_check_s: float = Field(30.0, ge=0.5, le=3600)
    # Cluster mode: a pending /write slot held by a replica that died is given back after
    # this long (longer than any generation plus its 30 s of delivery retries).
    user_slot_ttl_s: float = Field(300.0, ge=5, le=86_400)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        value = value.strip()
        if value and not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError("must be the public https URL Telegram should post updates to")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr) -> SecretStr:
        # Telegram's rule for secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and -.
        if value.get_secret_value() and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("webhook_cert", "webhook_key", mode="before")
    @classmethod
    def _empty_path(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def webhook_path(self) -> str:
        path = re.sub(r"^https?://[^/]+", "", self.webhook_url)
        return path.strip("/")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
            if not all(re.fullmatch(r"\d{1,20}", p) for p in parts):
                raise ValueError("expected comma-separated numeric Telegram user ids")
            return frozenset(int(p) for p in parts)
        return value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not TOKEN_PATTERN.match(value.get_secret_value().strip()):
            raise ValueError("does not look like a bot token")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL such as https://api.telegram.org")
        # ".../bot<token>" pasted from a request URL: refuse it (without echoing).
        if re.search(r"/bot\d+(:|%3[Aa])", urlsplit(value).path):
            raise ValueError(
                "must be the server's address without /bot<token>, e.g. https://api.telegram.org"
            )
        return value.rstrip("/")

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("default_temperature", "min_temperature", "max_temperature")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @property
    def token(self) -> str:
        return self.bot_token.get_secret_value()

    @property
    def telegram_api_root(self) -> str:
        """TELEGRAM_API_URL without a trailing ``/bot``, which the bot adds itself
        (self-hosted servers are often documented as ``https://host/bot``)."""
        return self.telegram_api_url.removesuffix("/bot")

    @property
    def api_base_url(self) -> str:
        return f"{self.telegram_api_root}/bot"

    @property
    def api_base_file_url(self) -> str:
        return f"{self.telegram_api_root}/file/bot"

    @property
    def default_checkpoint(self) -> Path:
        return self.checkpoint_dir / "default.pt"

    @property
    def cluster(self) -> bool:
        """Several replicas may serve this bot (PostgreSQL and webhooks), so
        start-up, versions and per-user limits are coordinated through the database."""
        return bool(self.webhook_url) and self.database_url.startswith("postgresql")

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
    if name == "BOT_TOKEN":
        # `BOT_TOKEN=` as copied from .env.example is as unset as a missing line.
        if first["type"] == "missing" or not str(first.get("input", "")).strip():
            return f"BOT_TOKEN is not set: {BOTFATHER_HINT}"
        return f"BOT_TOKEN is malformed: {BOTFATHER_HINT}"
    if first["type"] == "missing":
        return f"{name} is not set; see .env.example"
    reason = str(first["msg"]).removeprefix("Value error, ")
    # Never echo the offending value: it may be a secret pasted into the wrong variable.
    return f"{name} is malformed: {reason}; see .env.example"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, or raise ConfigError with one line saying what to fix."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    if settings.webhook_url and not settings.webhook_secret.get_secret_value():
        raise ConfigError(
            "WEBHOOK_SECRET is not set: webhook mode needs a secret (1-256 characters of "
            "A-Z, a-z, 0-9, _ and -) so that only Telegram can post updates"
        )
    if settings.training == "queue" and not settings.database_url.startswith("postgresql"):
        # the job queue lives in PostgreSQL.
        raise ConfigError(
            "TRAINING=queue needs DATABASE_URL to be PostgreSQL (postgresql+asyncpg://...); "
            "use TRAINING=local with SQLite"
        )
    missing = missing_driver(settings.database_url, settings.training)
    if missing:
        raise ConfigError(missing)
    if settings.min_temperature >= settings.max_temperature:
        raise ConfigError("MIN_TEMPERATURE must be below MAX_TEMPERATURE; see .env.example")
    if not settings.min_temperature <= settings.default_temperature <= settings.max_temperature:
        raise ConfigError(
            "DEFAULT_TEMPERATURE must lie between MIN_TEMPERATURE and MAX_TEMPERATURE"
        )
    return settings


POSTGRES_EXTRA_HINT = "install the postgres extra: pip install -e '.[postgres]'"


def missing_module(name: str) -> bool:
    """Whether ``name`` cannot be imported (checked by importing, as the bot will)."""
    try:
        importlib.import_module(name)
    except ImportError:
        return True
    return False


def missing_driver(database_url: str, training: str = "local") -> str | None:
    """One line naming the setting whose optional packages are not installed, or None.

    PostgreSQL (asyncpg) and the job queue (pgqueuer) are an optional extra; without this
    check a bot installed without it dies at start-up with an ImportError traceback.
    """
    if database_url.startswith("postgresql") and missing_module("asyncpg"):
        return f"DATABASE_URL is PostgreSQL but asyncpg is not installed; {POSTGRES_EXTRA_HINT}"
    if training == "queue" and missing_module("pgqueuer"):
        return f"TRAINING=queue needs pgqueuer, which is not installed; {POSTGRES_EXTRA_HINT}"
    return None
