"""The ``local`` trainer: a scikit-learn text classifier, fully offline.

The classifier is word (1–2-gram) and character (2–5-gram, within words, seen in two texts or
more) TF-IDF features into a linear SVM: it trains in well under a second on a few hundred texts,
needs no download, and the character n-grams carry it over spelling variants and word forms it
has not seen.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

from trainerbot.core.entities import JobStatus, Task, TrainingJob, TrainingSpec
from trainerbot.core.errors import DatasetInvalid, ServiceError
from trainerbot.core.text import plural
from trainerbot.ports import ModelTrainer

from ._worker import Worker
from .artifacts import LOCAL, Artifact, ArtifactStore, model_id_for, pack
from .fewshot import base_manifest, settle

log = logging.getLogger(__name__)

KIND = "classifier"
CLASSIFIER_FILE = "classifier.skops"
DESCRIPTION = "word and character TF-IDF, linear SVM"


def _pipeline(seed: int) -> Any:
    # Imported here: scikit-learn takes about a second to import, paid on first training instead
    # of at every start of the bot, and in the worker thread rather than on the event loop.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.svm import LinearSVC

    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            # Character n-grams seen in one text only are noise, and half the model's size.
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2
                ),
            ),
        ]
    )
    return Pipeline([("features", features), ("classifier", LinearSVC(random_state=seed))])


class TextClassifier:
    """A fitted text classifier over ``labels``. Read-only after fitting: safe across threads."""

    def __init__(self, pipeline: Any, labels: Sequence[str]) -> None:
        self._pipeline = pipeline
        self.labels = tuple(labels)

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[str], *, seed: int = 0) -> TextClassifier:
        pipeline = _pipeline(seed)
        pipeline.fit(list(texts), list(labels))
        for _, vectorizer in pipeline.named_steps["features"].transformer_list:
            # Every n-gram min_df dropped, kept only for inspection: scikit-learn documents that
            # it may be cleared before saving, and it would be most of the file.
            vectorizer.stop_words_ = None
        return cls(pipeline, sorted(set(labels)))

    def predict(self, text: str) -> str:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[str]:
        return [str(label) for label in self._pipeline.predict(list(texts))]

    def artifact(self, manifest: Mapping[str, Any]) -> Artifact:
        """The classifier in skops' secure format (no pickle), with its labels in the manifest."""
        import sklearn
        import skops.io

        return Artifact(
            manifest={
                **manifest,
                "kind": KIND,
                "labels": list(self.labels),
                "estimator": DESCRIPTION,
                "scikit_learn": sklearn.__version__,
            },
            files={CLASSIFIER_FILE: skops.io.dumps(self._pipeline)},
        )

    @classmethod
    def from_artifact(cls, artifact: Artifact, model_id: str) -> TextClassifier:
        """Load with skops' default trusted types only: a file naming any other type is refused
        without running anything from it."""
        import skops.io

        try:
            pipeline = skops.io.loads(artifact.files[CLASSIFIER_FILE])
            labels = [str(label) for label in artifact.manifest["labels"]]
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            ImportError,
            zipfile.BadZipFile,
        ) as error:
            # TypeError covers skops' UntrustedTypesFoundException and UnsupportedTypeException.
            log.warning("classifier artifact %s cannot be loaded: %s", model_id, error)
            raise ServiceError(
                f"The model {model_id} cannot be read (damaged, or saved by another version of "
                "scikit-learn); train it again."
            ) from None
        return cls(pipeline, labels)


class LocalModelTrainer(ModelTrainer):
    """The ``local`` trainer: offline training on this machine.

    Rules:
    - Labelled data (``Task.CLASSIFICATION``) trains a text classifier on the training part; its
      model is ``local:<dataset>-<job hex>``, which answers with the predicted label. The training
      part must hold at least two labels (``DatasetInvalid`` otherwise). With held-out data in the
      spec (``validation``) the job reports the classifier's accuracy on it as ``valid_accuracy``.
    - Chat data goes to ``chat_trainer`` (the ``fewshot`` trainer over the embedded chat model), so
      its model is a ``fewshot:`` one; the job stays a ``local`` job.
    - Unwanted examples (``wanted=False``) teach a classifier nothing and are left out.
    - Fitting, scoring and saving run in this trainer's own worker thread(s). Training is immediate;
      ``refresh`` and ``cancel`` behave as the fewshot trainer's do.
    """

    def __init__(
        self,
        artifacts: ArtifactStore,
        *,
        chat_trainer: ModelTrainer,
        max_workers: int = 1,
        seed: int = 0,
    ) -> None:
        self._artifacts = artifacts
        self._chat_trainer = chat_trainer
        self._seed = seed
        self._worker = Worker(max_workers, "local-train")
        self._starting: set[str] = set()

    @property
    def name(self) -> str:
        return "local"

    @property
    def min_examples(self) -> int:
        # Chat data: as the fewshot trainer. Labelled data needs two labels in training, which
        # TrainModel's report and ``start`` check.
        return 1

    async def start(self, spec: TrainingSpec, *, job: TrainingJob) -> TrainingJob:
        if spec.dataset.task is not Task.CLASSIFICATION:
            return await self._chat_trainer.start(spec, job=job)
        examples = [e for e in spec.dataset.examples if e.wanted]
        labels = sorted({e.completion for e in examples})
        if len(labels) < 2:
            found = f"only {labels[0]!r}" if labels else "none"
            raise DatasetInvalid(
                f"A classifier needs training examples of at least two labels; the training part "
                f"of {spec.dataset.name} has {found}. Add examples of the other labels."
            )
        model_id = model_id_for(LOCAL, job)
        self._starting.add(job.id)
        try:
            metrics = await self._worker.run(self._train_and_save, model_id, job, spec)
        finally:
            self._starting.discard(job.id)
        events = [
            f"trained a classifier ({DESCRIPTION}) on {plural(len(examples), 'example')}, "
            f"{plural(len(labels), 'label')}"
        ]
        if "valid_accuracy" in metrics:
            events.append(
                f"held-out accuracy {metrics['valid_accuracy']:.2f} on "
                f"{plural(int(metrics['valid_examples']), 'example')}"
            )
        return job.with_status(
            JobStatus.SUCCEEDED, model=model_id, events=tuple(events), metrics=metrics
        )

    def _train_and_save(
        self, model_id: str, job: TrainingJob, spec: TrainingSpec
    ) -> dict[str, float]:
        examples = [e for e in spec.dataset.examples if e.wanted]
        seed = spec.seed if spec.seed is not None else self._seed
        classifier = TextClassifier.fit(
            [e.user_text for e in examples], [e.completion for e in examples], seed=seed
        )
        metrics = {"train_examples": float(len(examples)), "labels": float(len(classifier.labels))}
        held_out = spec.validation
        if held_out is not None and held_out.task is Task.CLASSIFICATION and held_out.examples:
            predicted = classifier.predict_many([e.user_text for e in held_out.examples])
            correct = sum(
                p == e.completion for p, e in zip(predicted, held_out.examples, strict=True)
            )
            metrics["valid_examples"] = float(len(held_out.examples))
            metrics["valid_accuracy"] = correct / len(held_out.examples)
        manifest = base_manifest(model_id, job, spec)
        self._artifacts.save(model_id, pack(classifier.artifact(manifest)))
        return metrics

    async def refresh(self, job: TrainingJob) -> TrainingJob:
        settled = await settle(job, LOCAL, self._artifacts, self._worker, self._starting)
        if settled.status is JobStatus.FAILED and not job.status.is_final:
            # Perhaps a chat dataset: its model is the fewshot trainer's.
            return await self._chat_trainer.refresh(job)
        return settled

    async def cancel(self, job: TrainingJob) -> TrainingJob:
        return job if job.status.is_final else job.with_status(JobStatus.CANCELLED)

    def close(self) -> None:
        self._worker.close()
