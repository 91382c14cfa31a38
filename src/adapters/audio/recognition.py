"""Speech-to-text through the SpeechRecognition library's engines, in a pool of workers.

``SpeechRecognitionSpeechToText`` is the port's adapter; the engine it is given (``engine.
RecognitionEngine``: ``sphinx.SphinxEngine``, ``google.GoogleEngine``, ``whisper.
FasterWhisperEngine``) does the recognising, only ever in the adapter's workers: threads, or
processes for an engine that holds the GIL. A long recording is first cut at its pauses
(``silence.split_on_silence``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TypeVar

with warnings.catch_warnings():
    # SpeechRecognition imports aifc (deprecated in 3.11) for AIFF files, which are not used here.
    warnings.simplefilter("ignore", DeprecationWarning)
    import speech_recognition as sr

from trainerbot.core.entities import PcmAudio, Transcript
from trainerbot.core.errors import ServiceError, TrainerbotError
from trainerbot.core.language import recognition_fallback
from trainerbot.ports import SpeechToText

from .engine import SAMPLE_WIDTH, Heard, RecognitionEngine
from .silence import split_on_silence

log = logging.getLogger(__name__)

T = TypeVar("T")

RECOGNITION_FAILED = "Speech recognition failed; please try again."

# How much lower than the bot's own process the recognition worker processes run (POSIX nice).
WORKER_NICENESS = 5


def _prepare_quietly(engine: RecognitionEngine) -> None:
    """Pool initializer: warm the engine in each new worker.

    A failure here would break the whole pool; it is left for ``recognize`` to raise again
    with its proper message.
    """
    try:
        engine.prepare()
    except Exception:  # noqa: BLE001 -- reported by the first recognition instead
        return


def _prepare_worker_process(engine: RecognitionEngine) -> None:
    """Initializer of a worker process: lower its priority, then warm the engine.

    Workers compute flat out; at a lower priority they leave the CPU to the bot's own process
    when both want it, so the event loop stays responsive on a machine with few cores.
    """
    if hasattr(os, "nice"):  # POSIX only
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)
    _prepare_quietly(engine)


def _recognize_piece(
    engine: RecognitionEngine, samples: bytes, sample_rate: int, language: str
) -> Heard:
    """Runs in a worker: one piece of PCM → what was heard."""
    return engine.hear(sr.AudioData(samples, sample_rate, SAMPLE_WIDTH), language)


class SpeechRecognitionSpeechToText(SpeechToText):
    """The ``SpeechToText`` port over one ``RecognitionEngine``.

    - The adapter owns a bounded pool of ``max_workers`` workers for as long as it lives
      (``close()`` ends it): threads named ``stt-*``, or worker processes for an engine that holds
      the GIL (``needs_process``), each warming its engine once and running at a lower priority.
      Nothing blocking ever runs on the event loop.
    - Worker processes are started with ``spawn`` (``fork`` is unsafe in a process with threads,
      as a bot always is), so, as with any multiprocessing on macOS and Windows, a program that
      uses a process engine must guard its entry point with ``if __name__ == "__main__":``.
      trainerbot's own commands do; ``python -m trainerbot`` needs nothing.
    - A recording longer than ``max_chunk_seconds`` is split at its pauses (``split_on_silence``,
      in the pool too) and the pieces are recognised in parallel; their text is joined by spaces.
    - Nothing recognisable is an empty transcript, not an error.
    - The engine's own errors (``TrainerbotError``) pass through; anything else is logged with
      its traceback and reported as ``ServiceError``. A worker process that dies is replaced.
    """

    def __init__(
        self,
        engine: RecognitionEngine,
        *,
        max_workers: int = 2,
        max_chunk_seconds: float = 30.0,
        name: str,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        if max_chunk_seconds <= 0:
            raise ValueError("max_chunk_seconds must be positive")
        self._engine = engine
        self._max_workers = max_workers
        self._max_chunk_seconds = max_chunk_seconds
        self._name = name
        self._pool = self._new_pool()

    @property
    def name(self) -> str:
        return self._name

    def _new_pool(self) -> Executor:
        if self._engine.needs_process:
            return ProcessPoolExecutor(
                self._max_workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_prepare_worker_process,
                initargs=(self._engine,),
            )
        return ThreadPoolExecutor(
            self._max_workers,
            thread_name_prefix="stt",
            initializer=_prepare_quietly,
            initargs=(self._engine,),
        )

    async def warm_up(self) -> None:
        """Load the engine now (a model, a decoder) instead of on the first recording."""
        await self._run(self._engine.prepare)

    async def transcribe(self, audio: PcmAudio, *, language: str) -> Transcript:
        self._engine.check_language(language)
        started = time.perf_counter()
        pieces = [audio]
        if audio.duration_seconds > self._max_chunk_seconds:
            pieces = await self._run(
                functools.partial(
                    split_on_silence, audio, max_chunk_seconds=self._max_chunk_seconds
                )
            )
        texts = await asyncio.gather(
            *(
                self._run(
                    functools.partial(
                        _recognize_piece, self._engine, piece.samples, piece.sample_rate, language
                    )
                )
                for piece in pieces
                if piece.samples
            ),
            # Let every piece finish before reporting a failure, so none is left running unseen.
            return_exceptions=True,
        )
        heard: list[Heard] = []
        for result in texts:
            if isinstance(result, BaseException):
                raise result
            heard.append(result)
        text = " ".join(piece.text.strip() for piece in heard if piece.text.strip())
        # With auto: the language of the longest piece heard (None from engines that cannot tell).
        detected = max(
            (piece for piece in heard if piece.language and piece.text.strip()),
            key=lambda piece: len(piece.text),
            default=None,
        )
        log.debug(
            "%s: %.1f s of audio in %d piece(s) recognised in %.2f s",
            self._name,
            audio.duration_seconds,
            len(pieces),
            time.perf_counter() - started,
        )
        spoken = detected.language if detected is not None else None
        return Transcript(
            text=text, language=spoken or recognition_fallback(language), engine=self._name
        )

    async def _run(self, call: Callable[[], T]) -> T:
        """``call()`` in the pool, its failures as trainerbot errors."""
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, call)
        except TrainerbotError:
            raise
        except BrokenExecutor:
            log.exception("%s: a recognition worker died; starting new workers", self._name)
            if self._pool is pool:  # concurrent callers may all see the same broken pool
                self._pool = self._new_pool()
                pool.shutdown(wait=False, cancel_futures=True)
            raise ServiceError(RECOGNITION_FAILED) from None
        except Exception:
            log.exception("%s failed", self._name)
            raise ServiceError(RECOGNITION_FAILED) from None

    def close(self, *, wait: bool = False) -> None:
        """End the pool: queued recognitions are cancelled; running ones finish in the background
        unless ``wait``. The adapter cannot be used afterwards."""
        self._pool.shutdown(wait=wait, cancel_futures=True)
