"""The OpenAI adapters never block the event loop: a ticker on the same loop keeps ticking while
slow requests and a whole fine-tuning start are in flight."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fake_openai import FakeOpenAI
from openai_adapter_support import (
    API_KEY,
    CHAT_MODEL,
    STT_MODEL,
    TUNABLE_MODEL,
    chat_dataset,
    job_for,
    spec_for,
)

from trainerbot.adapters.openai import (
    OpenAIChatModel,
    OpenAIModelTrainer,
    OpenAISpeechToText,
    make_client,
    service_name,
)
from trainerbot.core.entities import ChatMessage, JobStatus, PcmAudio, Role

if TYPE_CHECKING:
    from conftest import LoopWatch

TICK = 0.01
MAX_GAP = 0.1
SLOW = 0.5
SLOW_CHATS = 4


async def test_event_loop_keeps_ticking_while_slow_requests_and_a_fine_tuning_start_run(
    openai_server: FakeOpenAI,
    event_loop_watch: type[LoopWatch],
) -> None:
    openai_server.inject("slow", path="/chat/completions", delay=SLOW, times=SLOW_CHATS)
    openai_server.inject("slow", path="/audio/transcriptions", delay=SLOW)
    openai_server.require_processed_files = True
    service = service_name(openai_server.base_url)
    train = chat_dataset(200)
    loop = asyncio.get_running_loop()

    async with make_client(
        api_key=API_KEY, base_url=openai_server.base_url, timeout=5.0, max_retries=0
    ) as client:
        chat = OpenAIChatModel(client, service=service)
        stt = OpenAISpeechToText(client, model=STT_MODEL, service=service)
        trainer = OpenAIModelTrainer(
            client, base_model=TUNABLE_MODEL, service=service, poll_interval=TICK
        )

        async def fine_tune() -> JobStatus:
            job = await trainer.start(spec_for(train), job=job_for(train))
            while not job.status.is_final:
                job = await trainer.refresh(job)
            return job.status

        began = loop.time()
        async with event_loop_watch(tick=TICK) as watch:
            *replies, transcript, final = await asyncio.gather(
                *(
                    chat.complete([ChatMessage(Role.USER, f"question {i}")], model=CHAT_MODEL)
                    for i in range(SLOW_CHATS)
                ),
                stt.transcribe(PcmAudio(samples=b"\x00\x01" * 16_000), language="en-US"),
                fine_tune(),
            )
        elapsed = loop.time() - began

    assert replies == [f"reply to: question {i}" for i in range(SLOW_CHATS)]
    assert transcript.text == openai_server.transcript
    assert final is JobStatus.SUCCEEDED
    assert elapsed < SLOW * 2, f"the slow requests did not overlap: {elapsed:.2f} s"
    assert watch.ticks >= SLOW / TICK / 2, f"the ticker ran only {watch.ticks} times"
    assert watch.max_gap < MAX_GAP, (
        f"the event loop stalled for {watch.max_gap * 1000:.0f} ms "
        f"(limit {MAX_GAP * 1000:.0f} ms) while requests were in flight"
    )
