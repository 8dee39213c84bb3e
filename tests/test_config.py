"""Start-up settings: a bad one is one clear line naming it, never echoing its value."""

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings.config import ConfigError, load_settings

TOKEN = "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def settings(**values: object) -> object:
    return load_settings(_env_file=None, **values)


@pytest.mark.parametrize("token", [None, "", "   "])
def test_a_missing_or_empty_token_says_where_to_get_one(token: str | None) -> None:
    values = {} if token is None else {"bot_token": token}
    with pytest.raises(ConfigError, match=r"^BOT_TOKEN is not set: .*@BotFather"):
        settings(**values)


def test_a_malformed_token_is_named_without_echoing_it() -> None:
    with pytest.raises(ConfigError, match=r"^BOT_TOKEN is malformed") as info:
        settings(bot_token="12345:short-secret-value")
    assert "short-secret-value" not in str(info.value)


@pytest.mark.parametrize(
    "field,value,expected",
    [
        ("admin_ids", "1, two", "ADMIN_IDS is malformed"),
        ("default_temperature", "3", "DEFAULT_TEMPERATURE is malformed"),
        ("telegram_api_url", "ftp://x", "TELEGRAM_API_URL is malformed"),
        ("log_level", "LOUD", "LOG_LEVEL is malformed"),
    ],
)
def test_malformed_settings_name_the_variable(field: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=f"^{expected}"):
        settings(bot_token=TOKEN, **{field: value})


def test_webhook_mode_requires_a_secret() -> None:
    with pytest.raises(ConfigError, match=r"^WEBHOOK_SECRET is not set"):
        settings(bot_token=TOKEN, webhook_url="https://bot.example.org/hook")


def test_admin_ids_are_parsed_from_a_comma_separated_list() -> None:
    loaded = settings(bot_token=TOKEN, admin_ids="1, 22,333")
    assert loaded.admin_ids == frozenset({1, 22, 333})  # type: ignore[attr-defined]


def test_python_m_bot_without_a_token_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BOT_TOKEN=\n", encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "BOT_TOKEN is not set" in proc.stderr
    assert "Traceback" not in proc.stderr


# TELEGRAM_API_URL and the start-up retry settings.


@pytest.mark.parametrize(
    "given", ["http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/bot/", "http://127.0.0.1:8081/"]
)
def test_an_api_url_ending_with_bot_is_normalised(given: str) -> None:
    loaded = settings(bot_token=TOKEN, telegram_api_url=given)
    assert loaded.telegram_api_root == "http://127.0.0.1:8081"  # type: ignore[attr-defined]
    assert loaded.api_base_url == "http://127.0.0.1:8081/bot"  # type: ignore[attr-defined]
    assert loaded.api_base_file_url == "http://127.0.0.1:8081/file/bot"  # type: ignore[attr-defined]


def test_a_path_prefix_that_merely_starts_with_bot_is_kept() -> None:
    loaded = settings(bot_token=TOKEN, telegram_api_url="https://proxy.example/botapi")
    assert loaded.api_base_url == "https://proxy.example/botapi/bot"  # type: ignore[attr-defined]
    loaded = settings(bot_token=TOKEN, telegram_api_url="https://bothost.example")
    assert loaded.api_base_url == "https://bothost.example/bot"  # type: ignore[attr-defined]


@pytest.mark.parametrize("sep", [":", "%3A"])
def test_an_api_url_with_a_token_in_it_is_refused_without_echoing_it(sep: str) -> None:
    url = f"https://api.telegram.org/bot{TOKEN.replace(':', sep)}/"
    with pytest.raises(ConfigError, match=r"^TELEGRAM_API_URL is malformed: .*without /bot<token>"):
        settings(bot_token=TOKEN, telegram_api_url=url)
    with pytest.raises(ConfigError) as info:
        settings(bot_token=TOKEN, telegram_api_url=url)
    assert TOKEN.split(":")[1] not in str(info.value)


def test_startup_retry_settings_have_bounded_defaults() -> None:
    loaded = settings(bot_token=TOKEN)
    assert loaded.startup_retry_s == 60 and loaded.startup_timeout_s == 10  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"^STARTUP_TIMEOUT_S is malformed"):
        settings(bot_token=TOKEN, startup_timeout_s="0")


# --- fair use


@pytest.mark.parametrize(
    "field,value,expected",
    [
        ("access", "closed", "ACCESS is malformed: must be open or allowlist"),
        ("allowed_user_ids", "12, @someone", "ALLOWED_USER_IDS is malformed"),
        ("allowed_user_ids", "99999999999999999999", "ALLOWED_USER_IDS is malformed"),
        ("user_max_pending", "-1", "USER_MAX_PENDING is malformed"),
        ("user_rate_per_minute", "many", "USER_RATE_PER_MINUTE is malformed"),
    ],
)
def test_bad_fair_use_settings_name_the_variable(field: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=f"^{expected}"):
        settings(bot_token=TOKEN, **{field: value})


def test_fair_use_defaults_and_an_allow_list() -> None:
    loaded = settings(bot_token=TOKEN, access=" AllowList ", allowed_user_ids="5, 6")
    assert loaded.access == "allowlist"  # type: ignore[attr-defined]
    assert loaded.allowed_user_ids == frozenset({5, 6})  # type: ignore[attr-defined]
    assert loaded.user_max_pending == 2 and loaded.user_rate_per_minute == 20  # type: ignore[attr-defined]
