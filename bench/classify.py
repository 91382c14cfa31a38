"""Classifier benchmark: the ``local`` trainer on 1,000 real review sentences.

    .venv/bin/python bench/classify.py                # prints the table (two to three minutes)
    .venv/bin/python bench/classify.py --threads 2    # torch threads for the embeddings
    .venv/bin/python bench/classify.py --runs 3       # more timed runs (median shown)
    .venv/bin/python bench/classify.py --data F.txt   # another ``text<TAB>label`` file

The data: ``tests/data/yelp_labelled.txt``, 1,000 Yelp review sentences labelled 1 or 0 (the UCI
"Sentiment Labelled Sentences" data set: Kotzias, Denil, de Freitas and Smyth, "From Group to
Individual Labels using Deep Features", KDD 2015; public research data), read as an upload is read:
one ``{"text", "label"}`` JSON line each through ``parse_text`` and ``build_dataset``, which drops
exact duplicates (996 distinct sentences remain).

Side by side, three recipes:
(a) TF-IDF (today) — word 1–2-gram and character 2–5-gram TF-IDF into a linear SVM: the ``local``
    trainer without embeddings;
(b) embeddings — all-MiniLM-L6-v2 sentence embeddings (``MiniLMEmbeddings``, offline) into a
    logistic regression, nothing else (a baseline of this benchmark, not shipped);
(c) both — the TF-IDF features and the embedding side by side into a logistic regression: the
    ``local`` trainer with embeddings (what ships).

Accuracy: on the fixed split TrainModel makes (``Dataset.split``: 20% held out by the hash of the
question, 200 sentences here), and the mean of a 5-fold stratified cross-validation (shuffled,
seed 0) over all 996. Every sentence is embedded once for the accuracy columns.

Train time and memory: each recipe in a fresh Python process, the real ``LocalModelTrainer.start``
for (a) and (c) (embedding, fitting and saving the artifact), embedding plus fitting for (b), on the
996 sentences and on 2,000. The 2,000 are the 996 and perturbed copies of them: one pair of
adjacent words swapped at a random place (seeded; a sentence of fewer than three words gets
"Really." appended), drawn again until 2,000 distinct sentences, each copy keeping its label.
scikit-learn, skops and the embedding model are loaded before the clock starts, as in a bot that
has trained before; the model's one-off first load (import and weights check included) is shown
apart. Peak memory is the process's peak resident size (ru_maxrss), imports and model included.

Targets: (c) at least 0.90 held out; training 2,000 sentences within 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "yelp_labelled.txt"
RECIPES = {
    "tfidf": "(a) TF-IDF, linear SVM (today)",
    "embeddings": "(b) embeddings, logistic regression",
    "both": "(c) both, logistic regression (ships)",
}
SIZES = (1_000, 2_000)


# --- the data -------------------------------------------------------------------------------------


def read_pairs(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            text, label = line.rsplit("\t", 1)
            pairs.append((text.strip(), label.strip()))
    return pairs


def as_dataset(pairs: list[tuple[str, str]], name: str = "yelp") -> Any:
    """The pairs as TrainModel reads an uploaded JSON Lines file of text/label objects."""
    from trainerbot.core.datasets import build_dataset, parse_text

    text = "\n".join(json.dumps({"text": t, "label": y}, ensure_ascii=False) for t, y in pairs)
    parsed = parse_text(text, filename=f"{name}.jsonl")
    assert not parsed.problems, parsed.problems[:3]
    dataset, _ = build_dataset(name, parsed, source=f"{name}.jsonl")
    return dataset


def perturbed(pairs: list[tuple[str, str]], size: int, seed: int = 7) -> list[tuple[str, str]]:
    """``pairs`` and perturbed copies of them (module docstring), ``size`` distinct in all."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    seen = {text for text, _ in pairs}
    grown = list(pairs)
    while len(grown) < size:
        for text, label in pairs:
            words = text.split()
            if len(words) < 3:
                words.append("Really.")
            else:
                at = rng.randrange(len(words) - 1)
                words[at], words[at + 1] = words[at + 1], words[at]
            variant = " ".join(words)
            if variant not in seen:
                seen.add(variant)
                grown.append((variant, label))
            if len(grown) == size:
                break
    return grown


# --- accuracy -------------------------------------------------------------------------------------


def fit_predict(
    recipe: str,
    train: list[tuple[str, str]],
    test: list[str],
    vectors: dict[str, list[float]],
    name: str,
) -> list[str]:
    from sklearn.linear_model import LogisticRegression

    from trainerbot.adapters.learning import TextClassifier

    texts, labels = [t for t, _ in train], [y for _, y in train]
    if recipe == "embeddings":
        model = LogisticRegression(max_iter=2_000).fit([vectors[t] for t in texts], labels)
        return [str(y) for y in model.predict([vectors[t] for t in test])]
    if recipe == "tfidf":
        return TextClassifier.fit(texts, labels).predict_many(test)
    classifier = TextClassifier.fit(
        texts, labels, vectors=[vectors[t] for t in texts], embedding_model=name
    )
    return classifier.predict_many(test, [vectors[t] for t in test])


def accuracies(dataset: Any, threads: int) -> tuple[dict[str, tuple[float, float]], int, int]:
    """Per recipe: fixed-split accuracy and 5-fold cross-validation mean; the split's sizes."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from trainerbot.adapters.embeddings import MiniLMEmbeddings

    pairs = [(e.user_text, e.completion) for e in dataset.examples]
    embeddings = MiniLMEmbeddings(threads=threads)
    texts = [t for t, _ in pairs]
    vectors = dict(zip(texts, embeddings.embed_sync(texts), strict=True))
    train, test = dataset.split()
    fixed_train = [(e.user_text, e.completion) for e in train.examples]
    fixed_test = [(e.user_text, e.completion) for e in test.examples]
    labels = np.array([y for _, y in pairs])
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(texts, labels))
    found = {}
    for recipe in RECIPES:
        predicted = fit_predict(
            recipe, fixed_train, [t for t, _ in fixed_test], vectors, embeddings.name
        )
        fixed = np.mean([p == y for p, (_, y) in zip(predicted, fixed_test, strict=True)])
        scores = []
        for train_at, test_at in folds:
            fold_test = [pairs[i] for i in test_at]
            predicted = fit_predict(
                recipe,
                [pairs[i] for i in train_at],
                [t for t, _ in fold_test],
                vectors,
                embeddings.name,
            )
            scores.append(np.mean([p == y for p, (_, y) in zip(predicted, fold_test, strict=True)]))
        found[recipe] = (float(fixed), float(np.mean(scores)))
    embeddings.close()
    return found, len(fixed_train), len(fixed_test)


# --- train time and memory (in a child process) ---------------------------------------------------


def measure_child(recipe: str, data: str, size: int, threads: int) -> None:
    """Train ``recipe`` once on ``size`` sentences and print its cost as JSON."""
    import sklearn.linear_model
    import sklearn.svm
    import skops.io  # noqa: F401  (loaded before measuring: a bot that trained before has them)

    from trainerbot.adapters.embeddings import MiniLMEmbeddings
    from trainerbot.adapters.learning import (
        FewShotModelTrainer,
        FilesystemArtifactStore,
        LocalModelTrainer,
    )
    from trainerbot.core.entities import JobStatus, TrainingJob, TrainingSpec

    pairs = read_pairs(Path(data))
    distinct = [(e.user_text, e.completion) for e in as_dataset(pairs).examples]
    dataset = as_dataset(perturbed(distinct, size) if size > len(distinct) else distinct)
    embeddings = None
    load_seconds = 0.0
    if recipe != "tfidf":
        embeddings = MiniLMEmbeddings(threads=threads)
        started = time.perf_counter()
        embeddings.embed_sync(["warm up"])
        load_seconds = time.perf_counter() - started
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        if recipe == "embeddings":
            assert embeddings is not None
            texts = [e.user_text for e in dataset.examples]
            vectors = asyncio.run(embeddings.embed(texts))
            sklearn.linear_model.LogisticRegression(max_iter=2_000).fit(
                vectors, [e.completion for e in dataset.examples]
            )
            event = None
        else:
            artifacts = FilesystemArtifactStore(Path(folder))
            trainer = LocalModelTrainer(
                artifacts,
                chat_trainer=FewShotModelTrainer(artifacts, base_model="base"),
                embeddings=embeddings,
            )
            job = TrainingJob(
                id="job-0123456789ab",
                trainer="local",
                status=JobStatus.VALIDATING,
                dataset_name=dataset.name,
                dataset_version=dataset.version,
                example_count=len(dataset.examples),
                requested_by="bench",
            )
            done = asyncio.run(trainer.start(TrainingSpec(dataset=dataset), job=job))
            assert done.status is JobStatus.SUCCEEDED, done
            event = done.events[-1]
            trainer.close()
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "examples": len(dataset.examples),
                "seconds": seconds,
                "load_seconds": load_seconds,
                "rss_peak_mb": peak / 1024,
                "rss_growth_mb": (peak - rss_before) / 1024,
                "event": event,
            }
        )
    )


def run_child(recipe: str, data: Path, size: int, threads: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", recipe, str(data), str(size), str(threads)],
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
    parser.add_argument("--data", type=Path, default=DATA, help="a text<TAB>label file")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for embeddings")
    parser.add_argument("--runs", type=int, default=1, help="timed runs each (median shown)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        recipe, data, size, threads = args.child
        measure_child(recipe, data, int(size), int(threads))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here downloads; make sure of it
    dataset = as_dataset(read_pairs(args.data))
    print(
        f"trainerbot classifier benchmark — {args.data.name}: {len(dataset.examples)} distinct "
        f"sentences, {os.cpu_count()} cores, embeddings on {args.threads} torch thread(s), "
        f"median of {args.runs} run(s)\n"
    )
    found, train_size, test_size = accuracies(dataset, args.threads)
    columns = (
        f"| {'recipe':<38} | {f'fixed split ({test_size} held out)':>26} | {'5-fold CV mean':>14} "
        f"| {'train 996 s':>11} | {'train 2,000 s':>13} | {'peak RSS MB (2,000)':>19} "
        f"| {'model first load s':>18} |"
    )
    print(columns)
    print("|" + "|".join("-" * len(cell) for cell in columns.split("|")[1:-1]) + "|")
    for recipe, label in RECIPES.items():
        timed = {
            size: [run_child(recipe, args.data, size, args.threads) for _ in range(args.runs)]
            for size in SIZES
        }
        small, large = (statistics.median(r["seconds"] for r in timed[s]) for s in SIZES)
        peak = max(r["rss_peak_mb"] for r in timed[SIZES[-1]])
        load = statistics.median(r["load_seconds"] for r in timed[SIZES[-1]])
        fixed, cv = found[recipe]
        print(
            f"| {label:<38} | {fixed:>26.3f} | {cv:>14.3f} | {small:>11.1f} | {large:>13.1f} "
            f"| {peak:>19.0f} | {load if recipe != 'tfidf' else 0.0:>18.1f} |"
        )
    print(f"\n   fixed split: trained on {train_size}, tested on {test_size}")


if __name__ == "__main__":
    main()
