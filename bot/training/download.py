"""Downloading an uploaded document without trusting its announced size.

A message's ``file_size`` is optional, so the size limit is enforced on the bytes as
they arrive: the download stops at the first byte over the limit. The file URL carries
the bot token, so no error from here ever includes the URL or the HTTP library's text.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
from telegram import File

from bot.texts.worded import Worded

TIMEOUT_S = 60.0

log = logging.getLogger(__name__)


class DownloadError(Worded):
    """The download failed; one line for the admin, in their language (bot.texts.worded)."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key, **values)


class TooLargeError(DownloadError):
    def __init__(self) -> None:
        super().__init__("download_too_large")


async def download_limited(file: File, limit: int) -> bytes:
    path = file.file_path
    if not path:
        raise DownloadError("download_no_path")
    if not path.startswith(("http://", "https://")):  # a local Bot API server's own disk
        local = Path(path)
        if local.stat().st_size > limit:
            raise TooLargeError
        return local.read_bytes()
    data = bytearray()
    try:
        async with (
            httpx.AsyncClient(timeout=TIMEOUT_S) as client,
            client.stream("GET", path) as response,
        ):
            if response.status_code != 200:
                raise DownloadError("download_http", status=response.status_code)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise TooLargeError
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > limit:
                    raise TooLargeError
    except httpx.HTTPError as exc:
        log.warning("downloading a file failed: %s", type(exc).__name__)
        raise DownloadError("download_network") from None
    return bytes(data)
