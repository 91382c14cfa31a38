"""Teaching benchmark: do corrections stick offline, on questions asked in other words?

    .venv/bin/python bench/teach.py                         # every variant (about 25 minutes)
    .venv/bin/python bench/teach.py --variants lora,lora+recall
    .venv/bin/python bench/teach.py --sizes 20,200          # training time and memory only
    .venv/bin/python bench/teach.py --thresholds            # the semantic threshold's calibration
    .venv/bin/python bench/teach.py --loops                 # looping replies, before and after

The facts are ``bench/teach_facts.py``'s: 22 fictional facts about a team (things no model can
know), each with the question as first asked, the correction, two rephrasings never shown in
training and a near-miss question (same words, another meaning), and 20 unrelated general
questions. Everything runs offline with the embedded model (SmolLM2-135M-Instruct, llama.cpp) in
a fresh workspace per variant, through the real use cases, as a member would:

    ask each question → !correct the answer → !train corrections=true method=… → follow the job
    → !use the model → ask the rephrasings, the near misses and the unrelated questions

Variants: ``base`` (nothing trained: what the model says on its own), ``fewshot-tfidf`` (the
fewshot trainer with TF-IDF retrieval, as before this change), ``fewshot-semantic`` (fewshot with
the bundled sentence embeddings: semantic recall), ``lora`` (the LoRA adapter alone), and
``lora+recall`` (the adapter, with semantic recall in front of it).

Scores: *recall* — rephrasings answered with the taught fact (its key words in the answer);
*false hits* — near misses answered with a taught fact (any fact's key words); *worse* — unrelated
questions whose answer got worse after training (the base model's answer had the right word and
the trained one does not, or the trained one states a taught fact). Training time is the job's
wall time; peak memory is the bot process's and the training process's peak resident memory.

Targets (issue 13): recall ≥ 80%, false hits ≤ 10%, training 200 chat examples ≤ 5 minutes on 2
cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from teach_facts import FACTS, UNRELATED, mentions

from trainerbot import create_container
from trainerbot.config import Settings
from trainerbot.core.answer_message import AnswerRequest
from trainerbot.core.entities import Actor, TrainingJob
from trainerbot.core.record_correction import CorrectionRequest
from trainerbot.core.refresh_job import RefreshJobRequest
from trainerbot.core.train_model import TrainRequest
from trainerbot.core.use_model import UseModelRequest

TRAINER = Actor("bench-trainer", "trainer", can_train=True)
VARIANTS = {
    # name: (trainer, embeddings, lora recall)
    "base": (None, "none", False),
    "fewshot-tfidf": ("fewshot", "none", False),
    "fewshot-semantic": ("fewshot", "local", False),
    "lora": ("lora", "local", False),
    "lora+recall": ("lora", "local", True),
}
ALL_KEYS = tuple(key for fact in FACTS for key in fact.keys)


@dataclass
class Outcome:
    variant: str
    recall: int = 0
    rephrasings: int = 0
    false_hits: int = 0
    near_misses: int = 0
    worse: int = 0
    unrelated: int = 0
    train_seconds: float = 0.0
    peak_mb: float = 0.0
    model: str = ""


LORA_OVERRIDES: dict[str, object] = {}


def settings_for(workspace: Path, embeddings: str, recall: bool, **extra: object) -> Settings:
    extra = {**LORA_OVERRIDES, **extra}
    return Settings(
        workspace=workspace,
        chat_backend="local",
        embeddings=embeddings,
        lora_recall=recall,
        rate_limit_per_minute=0,
        temperature=0.0,
        _env_file=None,  # type: ignore[call-arg]
        **extra,  # type: ignore[arg-type]
    )


async def ask(use_cases: object, text: str, n: int) -> tuple[str, str]:
    message_id = f"m{n}"
    result = await use_cases.answer_message.execute(  # type: ignore[attr-defined]
        AnswerRequest(conversation_id=f"c{n}", author=TRAINER, text=text, message_id=message_id)
    )
    return message_id, result.reply


async def follow(use_cases: object, job: TrainingJob, verbose: bool = False) -> TrainingJob:
    shown = ""
    while not job.status.is_final:
        await asyncio.sleep(1.0)
        result = await use_cases.refresh_job.execute(  # type: ignore[attr-defined]
            RefreshJobRequest(actor=TRAINER, job_id=job.id)
        )
        job = result.job
        line = job.events[-1] if job.events else job.status.value
        if verbose and line != shown:
            print(f"  {job.id}: {line}", flush=True)
            shown = line
    return job


async def run_variant(name: str, base_unrelated: dict[str, str] | None, verbose: bool) -> Outcome:
    trainer, embeddings, recall = VARIANTS[name]
    outcome = Outcome(name)
    with tempfile.TemporaryDirectory(prefix="teach-") as folder:
        container = create_container(settings_for(Path(folder), embeddings, recall))
        use_cases = container.use_cases()
        n = 0
        if trainer is not None:
            for fact in FACTS:
                n += 1
                message_id, _ = await ask(use_cases, fact.question, n)
                await use_cases.record_correction.execute(
                    CorrectionRequest(actor=TRAINER, message_id=message_id, text=fact.correction)
                )
            started = time.monotonic()
            result = await use_cases.train_model.execute(
                TrainRequest(actor=TRAINER, include_corrections=True, method=trainer)
            )
            job = await follow(use_cases, result.job, verbose)
            outcome.train_seconds = time.monotonic() - started
            if job.model is None:
                raise SystemExit(f"{name}: training ended {job.status.value}: {job.error}")
            outcome.model = job.model
            await use_cases.use_model.execute(UseModelRequest(actor=TRAINER, model=job.model))
        for fact in FACTS:
            for question in fact.rephrasings:
                n += 1
                _, reply = await ask(use_cases, question, n)
                hit = mentions(reply, fact.keys)
                outcome.recall += hit
                outcome.rephrasings += 1
                if verbose:
                    print(f"  [{name}] {'HIT ' if hit else 'miss'} {question!r} -> {reply[:90]!r}")
            for question in fact.near_misses:
                n += 1
                _, reply = await ask(use_cases, question, n)
                false = mentions(reply, ALL_KEYS)
                outcome.false_hits += false
                outcome.near_misses += 1
                if verbose and false:
                    print(f"  [{name}] FALSE {question!r} -> {reply[:90]!r}")
        for question, keys in UNRELATED:
            n += 1
            _, reply = await ask(use_cases, question, n)
            outcome.unrelated += 1
            if base_unrelated is None:
                continue
            before = base_unrelated[question]
            worse = (mentions(before, keys) and not mentions(reply, keys)) or mentions(
                reply, ALL_KEYS
            )
            outcome.worse += worse
            if verbose and worse:
                print(f"  [{name}] WORSE {question!r}: {before[:60]!r} -> {reply[:60]!r}")
    outcome.peak_mb = peak_mb()
    return outcome


async def base_answers() -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="teach-") as folder:
        container = create_container(settings_for(Path(folder), "none", False))
        use_cases = container.use_cases()
        answers = {}
        for n, (question, _) in enumerate(UNRELATED):
            _, answers[question] = await ask(use_cases, question, n)
        return answers


def peak_mb() -> float:
    """This process's and its children's (the training process) largest resident memory, MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


async def train_size(trainer: str, size: int) -> tuple[float, float]:
    """Wall time of training ``size`` chat examples with ``trainer``; the peak child memory."""
    examples = [
        {
            "messages": [
                {"role": "user", "content": f"What is the room number of team member {i}?"},
                {
                    "role": "assistant",
                    "content": f"Team member {i} sits in room {100 + i * 7 % 900}.",
                },
            ]
        }
        for i in range(size)
    ]
    data = "\n".join(json.dumps(e) for e in examples)
    with tempfile.TemporaryDirectory(prefix="teach-size-") as folder:
        container = create_container(settings_for(Path(folder), "local", True))
        use_cases = container.use_cases()
        started = time.monotonic()
        result = await use_cases.train_model.execute(
            TrainRequest(actor=TRAINER, data=data, method=trainer, name=f"size{size}")
        )
        job = await follow(use_cases, result.job)
        seconds = time.monotonic() - started
        if job.model is None:
            raise SystemExit(f"{trainer} on {size}: {job.status.value}: {job.error}")
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def table(outcomes: Sequence[Outcome]) -> str:
    rows = [
        "| variant | recall (rephrasings) | false hits (near misses) | unrelated answers worse | "
        "training | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        rows.append(
            f"| {o.variant} | {o.recall}/{o.rephrasings} ({o.recall / max(1, o.rephrasings):.0%}) "
            f"| {o.false_hits}/{o.near_misses} ({o.false_hits / max(1, o.near_misses):.0%}) "
            f"| {o.worse}/{o.unrelated} | {o.train_seconds:.1f} s | {o.peak_mb:.0f} MB |"
        )
    return "\n".join(rows)


async def thresholds() -> None:
    """The recall rule's calibration (all-MiniLM-L6-v2): for each threshold on the cosine to a
    taught question *with its answer* (the question-alone threshold fixed at 0.75), the
    rephrasings recalled with the right fact and the near misses answered. Then a two-fold check
    of the choice: the threshold is chosen on the facts of one half (most recall with at most 10%
    false hits) and scored on the other half's questions."""
    import numpy as np

    from trainerbot.adapters.embeddings import MiniLMEmbeddings

    embed = MiniLMEmbeddings()
    questions = np.asarray(await embed.embed([f.question for f in FACTS]))
    pairs = np.asarray(await embed.embed([f"{f.question} {f.correction}" for f in FACTS]))
    reph = [(q, i) for i, f in enumerate(FACTS) for q in f.rephrasings]
    near = [(q, i) for i, f in enumerate(FACTS) for q in f.near_misses]
    r_vectors = np.asarray(await embed.embed([q for q, _ in reph]))
    n_vectors = np.asarray(await embed.embed([q for q, _ in near]))

    def pick(vector: object, pair_threshold: float) -> int | None:
        by_pair, by_question = pairs @ vector, questions @ vector
        if by_pair.max() >= pair_threshold:
            return int(by_pair.argmax())
        return int(by_question.argmax()) if by_question.max() >= 0.75 else None

    def score(t: float, facts: set[int]) -> tuple[int, int, int, int]:
        rs = [(v, i) for v, (_, i) in zip(r_vectors, reph, strict=True) if i in facts]
        ns = [v for v, (_, i) in zip(n_vectors, near, strict=True) if i in facts]
        good = sum(pick(v, t) == i for v, i in rs)
        bad = sum(pick(v, t) is not None for v in ns)
        return good, len(rs), bad, len(ns)

    grid = [round(0.50 + 0.02 * k, 2) for k in range(11)]
    everything = set(range(len(FACTS)))
    print("| pair threshold | rephrasings recalled (right fact) | near misses answered |")
    print("|---|---|---|")
    for t in grid:
        good, total, bad, misses = score(t, everything)
        print(f"| {t:.2f} | {good}/{total} | {bad}/{misses} |")
    halves = ({i for i in everything if i % 2 == 0}, {i for i in everything if i % 2 == 1})
    for chosen_on, scored_on in (halves, halves[::-1]):

        def quality(t: float, facts: set[int] = chosen_on) -> tuple[int, float]:
            good, _, bad, misses = score(t, facts)
            return (good if bad <= 0.1 * misses else -1), -t

        best = max(grid, key=quality)
        good, total, bad, misses = score(best, scored_on)
        print(
            f"chosen on one half: {best:.2f}; on the other half: {good}/{total} recalled, "
            f"{bad}/{misses} near misses answered"
        )


def loops() -> None:
    """Replies that fall into a loop (a run of at least six words repeated three times in a row,
    what ``trim_repetition`` cuts), from the embedded model on every question of the set: with
    llama.cpp's defaults, and with ours (repeat penalty 1.1 and end-of-turn stop sequences) before
    the trimming — which then cuts whatever loops are left, so none reaches a user."""
    import trainerbot.adapters.llama.chat as chat
    from trainerbot.core.entities import ChatMessage, Role

    questions = [f.question for f in FACTS] + [q for f in FACTS for q in f.rephrasings]
    questions += [q for f in FACTS for q in f.near_misses] + [q for q, _ in UNRELATED]
    system = Settings(_env_file=None).system_prompt  # type: ignore[call-arg]
    real_trim, real_stop = chat.trim_repetition, chat.STOP_SEQUENCES
    chat.trim_repetition = lambda text, **_: text  # measure what generation itself produces

    async def run(model: chat.LlamaCppChatModel) -> tuple[int, float]:
        looped = words = 0
        for question in questions:
            reply = await model.complete(
                [ChatMessage(Role.SYSTEM, system), ChatMessage(Role.USER, question)], model="m"
            )
            looped += real_trim(reply) != reply
            words += len(reply.split())
        model.close()
        return looped, words / len(questions)

    chat.STOP_SEQUENCES = []
    before = asyncio.run(run(chat.LlamaCppChatModel(temperature=0.2, repeat_penalty=1.0)))
    chat.STOP_SEQUENCES = real_stop
    after = asyncio.run(run(chat.LlamaCppChatModel(temperature=0.2)))
    chat.trim_repetition = real_trim
    print("| generation | replies that loop | mean words |")
    print("|---|---|---|")
    print(f"| llama.cpp defaults | {before[0]}/{len(questions)} | {before[1]:.0f} |")
    print(f"| repeat penalty 1.1 + stop sequences | {after[0]}/{len(questions)} | {after[1]:.0f} |")
    print("| + loop trimming (what users get) | 0 by construction (those left are cut) | |")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--sizes", default="")
    parser.add_argument("--thresholds", action="store_true")
    parser.add_argument("--loops", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--set",
        default="",
        help="settings for every variant, e.g. lora_learning_rate=5e-4,lora_epochs=4",
    )
    args = parser.parse_args()
    for item in filter(None, args.set.split(",")):
        key, _, value = item.partition("=")
        LORA_OVERRIDES[key.strip()] = value.strip()
    if args.thresholds:
        await thresholds()
        return
    if args.loops:
        await asyncio.to_thread(loops)
        return
    if args.sizes:
        print("| trainer | examples | training wall time | training process peak RSS |")
        print("|---|---|---|---|")
        for size in (int(s) for s in args.sizes.split(",")):
            for trainer in ("fewshot", "lora"):
                seconds, peak = await train_size(trainer, size)
                # fewshot trains inside the bot's process: no training process of its own.
                shown = f"{peak:.0f} MB" if trainer == "lora" else "— (in the bot's process)"
                print(f"| {trainer} | {size} | {seconds:.1f} s | {shown} |", flush=True)
        return
    base = await base_answers()
    outcomes = []
    for name in args.variants.split(","):
        outcome = await run_variant(name, base, args.verbose)
        outcomes.append(outcome)
        print(table([outcome]).splitlines()[-1], flush=True)
    print()
    print(table(outcomes))


if __name__ == "__main__":
    asyncio.run(main())
