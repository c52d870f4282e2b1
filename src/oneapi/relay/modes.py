"""Relay modes: which kind of request a `/v1/*` path carries (SPEC §6.0)."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    CHAT = "chat_completions"
    COMPLETIONS = "completions"
    EMBEDDINGS = "embeddings"
    MODERATIONS = "moderations"
    IMAGES_GENERATIONS = "images_generations"
    IMAGES_EDITS = "images_edits"
    AUDIO_SPEECH = "audio_speech"
    AUDIO_TRANSCRIPTION = "audio_transcription"
    AUDIO_TRANSLATION = "audio_translation"
    RERANK = "rerank"
    RESPONSES = "responses"
    CLAUDE_MESSAGES = "claude_messages"
    PROXY = "proxy"
