"""FixFailure: one failure of a trainer's latest test becomes a correction (training data)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from trainerbot.ports import CorrectionStore

from .access import require_trainer
from .entities import Actor, ChatMessage, Correction, Role, Task, new_id
from .errors import CorrectionUnchanged, InvalidArgument, MessageTooLong
from .evaluation import EvaluationReport, Prediction
from .limits import DEFAULT_LIMITS, Limits
from .prompts import classification_instruction
from .text import command, plural

RECENT_TESTS_KEPT = 64
MAX_NUMBER_DIGITS = 6


@dataclass
class RememberedTest:
    """A trainer's latest test, and which of its failures became corrections."""

    report: EvaluationReport
    # failure number → the id of the correction made from it ("" while it is being stored)
    fixed: dict[int, str] = field(default_factory=dict)


class RecentTests:
    """Each trainer's latest test report, so ``!fix`` can name its failures by number.

    In memory only: a restart forgets them (run ``!test`` again). The ``capacity`` trainers who
    tested most recently are kept. ``TestModel`` remembers; ``FixFailure`` reads.
    """

    def __init__(self, capacity: int = RECENT_TESTS_KEPT) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._tests: OrderedDict[str, RememberedTest] = OrderedDict()

    def remember(self, actor_id: str, report: EvaluationReport) -> None:
        """``report`` becomes ``actor_id``'s latest test (replacing the one before)."""
        self._tests[actor_id] = RememberedTest(report)
        self._tests.move_to_end(actor_id)
        while len(self._tests) > self._capacity:
            self._tests.popitem(last=False)

    def latest(self, actor_id: str) -> RememberedTest | None:
        """``actor_id``'s latest test, or None when they have none (or it was forgotten)."""
        return self._tests.get(actor_id)


@dataclass(frozen=True)
class FixFailureRequest:
    actor: Actor
    number: str
    text: str | None = None


@dataclass(frozen=True)
class FixFailureResult:
    number: int
    correction: Correction
    failure: Prediction


class FixFailure:
    """Turn one failure of the trainer's latest test into a correction.

    Rules:
    - Trainers only. ``number`` names a failure of the model tested in the trainer's own latest
      test (not the baseline's): 1 is the worst, as the report and ``predictions.jsonl`` number
      them. Latest tests are remembered in memory, per trainer, until the bot restarts.
    - The correction is the one ``!correct`` would record had the model answered in chat: the
      example's question, with the conversation before it (and, for a classifier, the label
      instruction the model was given) → the corrected answer, the model's output being the wrong
      answer. The corrected answer is ``text`` when given, else the example's expected answer.
    - Refused, each with one line: no test yet; a number that is not a whole number or not one of
      the failures; a failure that is a model error (no answer to correct); an example saying what
      *not* to answer, without ``text``; ``text`` over ``max_correction_chars``; a correction
      equal to the output; a failure already turned into a correction.
    - The correction is durable before the result returns; ``!train corrections=true`` trains on it.
    """

    def __init__(
        self,
        *,
        recent: RecentTests,
        corrections: CorrectionStore,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self._recent = recent
        self._corrections = corrections
        self._limits = limits

    async def execute(self, request: FixFailureRequest) -> FixFailureResult:
        require_trainer(request.actor)
        number = _number(request.number)
        remembered = self._recent.latest(request.actor.id)
        if remembered is None:
            raise InvalidArgument(
                "You have not run a test yet (or I restarted since): run "
                f"{command('test')} first, then {command('fix', '<number>')} turns one of its "
                "failures into a correction."
            )
        report = remembered.report
        failures = report.failures
        if not failures:
            raise InvalidArgument(f"Your latest test of {report.model} had no failures to fix.")
        if not 1 <= number <= len(failures):
            raise InvalidArgument(
                f"Your latest test has {plural(len(failures), 'failure')}: give a number from 1 "
                f"to {len(failures)}."
            )
        failure = failures[number - 1]
        example = failure.example
        if failure.error is not None:
            raise InvalidArgument(
                f"Failure {number} is a model error, not a wrong answer: there is nothing to "
                "correct."
            )
        text = (request.text or "").strip()
        if not text and not example.wanted:
            raise InvalidArgument(
                f"Failure {number} says what not to answer: give the right answer, "
                f"{command('fix', f'{number} <text>')}."
            )
        if len(text) > self._limits.max_correction_chars:
            raise MessageTooLong(
                f"That correction is {len(text)} characters; the limit is "
                f"{self._limits.max_correction_chars}."
            )
        corrected = text or example.completion
        if " ".join(corrected.split()) == " ".join(failure.output.split()):
            raise CorrectionUnchanged(
                "The correction is the same as the model's answer: nothing to correct."
            )
        already = remembered.fixed.get(number)
        if already is not None:
            raise InvalidArgument(
                f"Failure {number} is already correction {already or 'being recorded'}."
            )
        correction = Correction(
            id=new_id("cor"),
            # A test answer has no chat interaction or message behind it.
            interaction_id="",
            message_id="",
            author_id=request.actor.id,
            prompt=example.user_text,
            wrong_answer=failure.output,
            corrected=corrected,
            model=report.model,
            history=_history(report, failure),
        )
        remembered.fixed[number] = ""  # claimed: a second !fix of it meanwhile is refused
        try:
            await self._corrections.add(correction)
        except BaseException:
            del remembered.fixed[number]
            raise
        remembered.fixed[number] = correction.id
        return FixFailureResult(number=number, correction=correction, failure=failure)


def _number(text: str) -> int:
    digits = text.strip().removeprefix("#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > MAX_NUMBER_DIGITS:
        raise InvalidArgument(
            f"Give the failure's number from the {command('test')} report, not "
            f"{text.strip()[:20]!r}: {command('fix', '<number> [right answer]')}."
        )
    return int(digits)


def _history(report: EvaluationReport, failure: Prediction) -> tuple[ChatMessage, ...]:
    """What the model saw before the question: the label instruction for a classifier, then the
    example's conversation up to its last user turn."""
    prompt = failure.example.prompt
    last_user = max(
        (index for index, message in enumerate(prompt) if message.role is Role.USER), default=-1
    )
    before = prompt[:last_user] if last_user >= 0 else prompt
    if report.task is Task.CLASSIFICATION:
        return (classification_instruction(report.labels), *before)
    return tuple(before)
