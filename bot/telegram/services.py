"""What handlers need, built once at start-up and kept in ``application.bot_data``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, ContextTypes

from bot.settings.config import Settings
from bot.storage import Storage
from model.engine import GenerationEngine

if TYPE_CHECKING:
    from bot.retrain.manager import RetrainManager

KEY = "services"


@dataclass
class Services:
    settings: Settings
    storage: Storage
    engine: GenerationEngine
    retrain: RetrainManager | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def get_services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services = context.application.bot_data.get(KEY)
    if not isinstance(services, Services):
        raise RuntimeError("services are not initialised (post_init has not run)")
    return services


def set_services(
    application: Application[Any, Any, Any, Any, Any, Any], services: Services
) -> None:
    application.bot_data[KEY] = services
