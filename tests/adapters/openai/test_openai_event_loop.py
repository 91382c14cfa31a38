"""The OpenAI adapters never block the event loop: a ticker on the same loop keeps ticking while
slow requests and a whole fine-tuning start are in flight."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

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

TICK = 0.01
MAX_GAP = 0.1
SLOW = 0.5
SLOW_CHATS = 4


@dataclass
class Ticker:
    """Sleeps TICK at a time and records the longest wait between two ticks."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    ticks: int = 0
    max_gap: float = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not self.stop.is_set():
            await asyncio.sleep(TICK)
            now = loop.time()
            self.max_gap = max(self.max_gap, now - last)
            self.ticks += 1
            last = now


async def test_event_loop_keeps_ticking_while_slow_requests_and_a_fine_tuning_start_run(
    openai_server: FakeOpenAI,
) -> None:
    openai_server.inject("slow", path="/chat/completions", delay=SLOW, times=SLOW_CHATS)
    openai_server.inject("slow", path="/audio/transcriptions", delay=SLOW)
    openai_server.require_processed_files = True
    service = service_name(openai_server.base_url)
    train = chat_dataset(200)
    ticker = Ticker()
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

        ticking = asyncio.create_task(ticker.run())
        began = loop.time()
        *replies, transcript, final = await asyncio.gather(
            *(
                chat.complete([ChatMessage(Role.USER, f"question {i}")], model=CHAT_MODEL)
                for i in range(SLOW_CHATS)
            ),
            stt.transcribe(PcmAudio(samples=b"\x00\x01" * 16_000), language="en-US"),
            fine_tune(),
        )
        elapsed = loop.time() - began
        ticker.stop.set()
        await ticking

    assert replies == [f"reply to: question {i}" for i in range(SLOW_CHATS)]
    assert transcript.text == openai_server.transcript
    assert final is JobStatus.SUCCEEDED
    assert elapsed < SLOW * 2, f"the slow requests did not overlap: {elapsed:.2f} s"
    assert ticker.ticks >= SLOW / TICK / 2, f"the ticker ran only {ticker.ticks} times"
    assert ticker.max_gap < MAX_GAP, (
        f"the event loop stalled for {ticker.max_gap * 1000:.0f} ms "
        f"(limit {MAX_GAP * 1000:.0f} ms) while requests were in flight"
    )
