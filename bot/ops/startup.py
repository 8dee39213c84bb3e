"""Start-up checks that end in one clear line instead of a traceback.

Each thing the bot needs before it can serve is checked in the order that fails fastest
and says most: the directories and the database it writes (local, instant), then the
Bot API (network, retried). A failure raises :class:`StartupError`, whose message is the
one line ``python -m bot`` prints (``error: ...``) before exiting with its code:

- 2: something an operator must fix (a rejected token, an unwritable path, nothing to
  serve); restarting will not help.
- 1: the Bot API could not be reached within ``STARTUP_RETRY_S``; a supervisor's restart
  may well succeed.

The Bot API wait retries with exponential backoff for a bounded time, so a network blip
at boot (a container starting before the network, a proxy restarting) does not kill the
bot, while a wrong URL or a dead network still ends in a bounded time. Each attempt has
its own short timeout (``STARTUP_TIMEOUT_S``), so a host that accepts connections and
never answers costs one attempt, not PTB's default timeouts stacked up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from telegram import Bot
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.settings.config import Settings
from bot.storage.database import (
    directory_write_problem,
    is_sqlite,
    safe_url,
    sqlite_write_problem,
    unwritable_line,
)
from bot.telegram.outgoing import retry_after_seconds

log = logging.getLogger(__name__)

TOKEN_REJECTED = "Telegram rejected BOT_TOKEN (revoked or mistyped); get a new one from @BotFather"
DEFAULT_API_URL = "https://api.telegram.org"


class StartupError(Exception):
    """A start-up failure; ``str()`` is one line fit to print, ``exit_code`` the status."""

    def __init__(self, line: str, exit_code: int = 2) -> None:
        super().__init__(line)
        self.exit_code = exit_code


class StartupCancelled(Exception):
    """A stop signal arrived before the bot was up."""


def _unwritable(name: str, path: Path, error: OSError) -> StartupError:
    return StartupError(unwritable_line(name, path, error))


def check_writable_paths(settings: Settings) -> None:
    """Every directory and file the bot writes, before anything is written."""
    for name, directory in (
        ("CHECKPOINT_DIR", settings.checkpoint_dir),
        ("CORPUS_DIR", settings.corpus_dir),
    ):
        problem = directory_write_problem(directory)
        if problem is not None:
            raise _unwritable(name, problem[0], problem[1])
    sqlite_problem = sqlite_write_problem(settings.database_url)
    if sqlite_problem is not None:
        path, error = sqlite_problem
        raise _unwritable("the database (DATABASE_URL)", path, error)


def database_error(url: str, error: BaseException) -> StartupError:
    """One line for a database that failed while the bot was starting (migrating, loading)."""
    cause = getattr(error, "orig", None) or error
    reason = " ".join(str(cause).split())[:300] or type(cause).__name__
    return StartupError(f"the database DATABASE_URL={safe_url(url)} failed at start-up: {reason}")


async def check_database_reachable(url: str, timeout: float) -> None:
    """A server database (PostgreSQL) answers a connection; SQLite files are checked by
    :func:`check_writable_paths`. asyncpg reports a refused connection as a bare OSError,
    which nothing else at start-up would turn into one line."""
    if is_sqlite(url):
        return
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with asyncio.timeout(timeout), engine.connect():
            pass
    except (OSError, TimeoutError) as exc:
        reason = " ".join(str(exc).split()) or f"no answer within {timeout:g} s"
        raise StartupError(
            f"cannot reach the database DATABASE_URL={safe_url(url)}: {reason}", exit_code=1
        ) from None
    except Exception as exc:
        raise database_error(url, exc) from None
    finally:
        await engine.dispose()


def _describe(error: TelegramError, timeout: float) -> str:
    if isinstance(error, TimedOut):
        return f"no answer within {timeout:g} s"
    text = " ".join(str(error).split())
    return text.removeprefix("httpx.").removeprefix("aiohttp.")


async def _pause(seconds: float, stop: asyncio.Event | None) -> None:
    """Sleep, or return early (raising StartupCancelled) when ``stop`` is set."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    if stop.is_set():
        raise StartupCancelled


async def wait_for_bot_api(bot: Bot, settings: Settings, stop: asyncio.Event | None = None) -> None:
    """getMe until it answers, for at most ``STARTUP_RETRY_S``; StartupError otherwise."""
    url = settings.telegram_api_root
    timeout = settings.startup_timeout_s
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + settings.startup_retry_s
    delay = 0.5
    attempt = 0
    while True:
        attempt += 1
        try:
            await bot.get_me(
                read_timeout=timeout,
                write_timeout=timeout,
                connect_timeout=timeout,
                pool_timeout=timeout,
            )
            if attempt > 1:
                log.info("the Bot API at %s answered (attempt %d)", url, attempt)
            return
        except InvalidToken:
            hint = (
                ""
                if url == DEFAULT_API_URL
                else f" (or TELEGRAM_API_URL={url} is not a Bot API server)"
            )
            raise StartupError(TOKEN_REJECTED + hint) from None
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            what = f"flood control: retry after {wait:g} s"
        except NetworkError as exc:  # includes TimedOut and Telegram's 5xx answers
            wait = delay
            what = _describe(exc, timeout)
        except TelegramError as exc:  # 400/403/409: retrying will not change the answer
            raise StartupError(
                f"the Bot API at TELEGRAM_API_URL={url} refused getMe: {_describe(exc, timeout)}"
            ) from None
        remaining = deadline - loop.time()
        # A blip gets one last attempt at the deadline; a flood wait beyond it does not.
        if remaining <= 0 or (wait > remaining and what.startswith("flood")):
            raise StartupError(
                f"cannot reach the Telegram Bot API at TELEGRAM_API_URL={url}: getMe failed "
                f"({what}) {attempt} time(s) in {loop.time() - started:.0f} s; check the URL "
                "and the network (STARTUP_RETRY_S sets how long to keep trying)",
                exit_code=1,
            )
        log.warning(
            "the Bot API at %s did not answer getMe (attempt %d: %s); retrying in %.1f s",
            url, attempt, what, min(wait, remaining),
        )  # fmt: skip
        await _pause(min(wait, remaining), stop)
        delay = min(delay * 2, 10.0)
