"""The fake Bot API server's methods for files: sendDocument, sendPhoto and getFile.

A file is sent as a fresh multipart upload or by a known ``file_id``; uploads are stored
and downloadable by path (server.py serves the downloads). Telegram's limits apply:
50 MB up, 20 MB down, and a photo must be an image of sane dimensions.
"""

from __future__ import annotations

import time
from typing import Literal

from .messages import MessageMethods
from .objects import JsonDict, image_size
from .params import Params
from .records import (
    MAX_CAPTION_LENGTH,
    MAX_UPLOAD_BYTES,
    ApiError,
    SentMessage,
    StoredFile,
    UploadedFile,
    bad_request,
)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


class FileMethods(MessageMethods):
    """Documents and photos, sent by upload or file_id, and getFile."""

    def _input_file(self, params: Params, name: str) -> StoredFile | UploadedFile:
        """The file a send* method refers to: a fresh upload or a known file_id."""
        value = params.raw(name)
        upload = params.files.get(name)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = params.files.get(value.removeprefix("attach://"))
        if upload is not None:
            if len(upload.content) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            if not upload.content:
                raise bad_request("file must be non-empty")
            return upload
        if value is None or value == "":
            raise bad_request(f"there is no {name} in the request")
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _file_message(
        self, params: Params, kind: Literal["document", "photo"], stored: StoredFile
    ) -> SentMessage:
        chat_id = self._target_chat(params)
        _, caption, entities = self._formatted(params, "caption", "caption_entities")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        markup = self._checked_markup(params)
        reply_to = self._reply_target(chat_id, params)
        return SentMessage(
            chat_id=chat_id,
            message_id=self._new_message_id(chat_id),
            date=int(time.time()),
            kind=kind,
            parse_mode=params.text("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply_to,
            document=stored.content,
            filename=stored.filename,
            mime_type=stored.mime_type,
            file_id=stored.file_id,
            caption=caption or None,
            caption_entities=entities,
        )

    async def _send_document(self, params: Params) -> JsonDict:
        self._target_chat(params)
        source = self._input_file(params, "document")
        if isinstance(source, UploadedFile):
            source = self._store_file(
                source.content,
                source.filename,
                source.content_type or "application/octet-stream",
                "documents",
            )
        return self._record_sent(self._file_message(params, "document", source))

    async def _send_photo(self, params: Params) -> JsonDict:
        self._target_chat(params)
        source = self._input_file(params, "photo")
        if isinstance(source, UploadedFile):
            size = image_size(source.content)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > 10000 or max(width, height) > 20 * min(width, height):
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
            source = self._store_file(source.content, source.filename, "image/jpeg", "photos")
            source.width, source.height = width, height
        elif source.width is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return self._record_sent(self._file_message(params, "photo", source))

    async def _get_file(self, params: Params) -> JsonDict:
        stored = self.files.get(params.text("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }
