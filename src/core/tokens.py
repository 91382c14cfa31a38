"""Token counts of examples, their statistics, and what a trainer's estimate is made from.

Counting follows OpenAI's cookbook "Data preparation and analysis for chat model fine-tuning"
(``num_tokens_from_messages``): an example is its messages — the prompt, then the completion as an
assistant message — and takes 3 tokens a message, plus the tokens of each message's role and
content, plus 3 that prime the reply. Our messages carry no ``name``, so the cookbook's extra token
per name never applies. Assistant tokens are the tokens of the assistant messages' content (the
completion and any earlier assistant turn). A preference example's rejected answer is not counted:
the counts describe the conversation supervised fine-tuning trains on.

Core keeps only neutral figures: the statistics, and the training part in tokens
(``TrainingTokens``: its examples, each capped at the trainer's per-example limit). What training
would cost — epochs, billed tokens — is the trainer's own rule (``ModelTrainer.estimate``): a
trainer that bills by the token answers with a ``BillingEstimate``, the others with nothing.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

from trainerbot.ports import TokenCounter

from .entities import Example, Role

TOKENS_PER_MESSAGE = 3
REPLY_PRIMING_TOKENS = 3

T = TypeVar("T")

# System prompts repeat on most lines of a chat dataset: their counts are remembered, up to this
# many distinct ones, so each is tokenized once.
_MEMO_SIZE = 256


@dataclass(frozen=True)
class TrainingTokens:
    """The training part of a dataset in tokens: ``examples`` training examples, ``tokens`` their
    tokens (each example's, capped at the trainer's per-example limit). What a trainer that bills
    by the token estimates its cost from."""

    examples: int
    tokens: int


@dataclass(frozen=True)
class BillingEstimate:
    """What a training job on the training part would bill: ``epochs`` passes over
    ``training_tokens``. The trainer decides the epochs (``ModelTrainer.estimate``)."""

    epochs: int
    training_tokens: int

    @property
    def billed_tokens(self) -> int:
        return self.epochs * self.training_tokens

    def describe(self) -> str:
        return (
            f"estimated cost: {self.epochs} {'epoch' if self.epochs == 1 else 'epochs'} × "
            f"{self.training_tokens:,} training tokens ≈ {self.billed_tokens:,} billed tokens"
        )


# A trainer's estimate (``ModelTrainer.estimate``): the training part → its cost, or None.
Estimator = Callable[[TrainingTokens], BillingEstimate | None]


@dataclass(frozen=True)
class TokenCheck:
    """How validation measures examples in tokens, for one trainer.

    ``counter`` counts; ``max_example_tokens`` (when set) makes every example longer than it a
    problem naming its line — the trainer's model would refuse it; ``estimate`` (the trainer's
    ``ModelTrainer.estimate``) turns the training part's tokens into the cost the report shows,
    or ``None`` for a trainer that does not bill by the token.
    """

    counter: TokenCounter
    max_example_tokens: int | None = None
    estimate: Estimator | None = None


@dataclass(frozen=True)
class TokenStats:
    """Tokens per example over a dataset: distribution, total, and how many the answers take.

    Percentiles are nearest-rank: ``p50`` is the smallest count that at least half the examples
    stay at or under (the median), ``p90`` the same for nine in ten.
    """

    encoding: str
    examples: int
    total: int
    assistant: int
    minimum: int
    p50: int
    p90: int
    maximum: int

    @property
    def mean(self) -> float:
        return self.total / self.examples if self.examples else 0.0

    def describe(self) -> str:
        return (
            f"tokens per example ({self.encoding}): min {self.minimum:,}, median {self.p50:,}, "
            f"p90 {self.p90:,}, max {self.maximum:,}, mean {self.mean:,.1f}; "
            f"{self.total:,} in all, {self.assistant:,} of them in answers"
        )


def over_limit(tokens: int, limit: int) -> str:
    """The problem of an example longer than the limit, in words."""
    return f"{tokens:,} tokens, over the {limit:,}-token limit"


class _Sum(NamedTuple):
    """How one example's tokens add up from a batch's counts: its fixed tokens (reply priming, per
    message, roles, remembered system prompts), its own texts ``texts[start:end]`` (the prompt's
    messages but system prompts, then the completion), the system prompts new in the batch (their
    places after the batch's own texts), and the places of its earlier assistant turns."""

    fixed: int
    start: int
    end: int
    shared: tuple[int, ...]
    earlier_answers: tuple[int, ...]


@dataclass
class _Plan(Generic[T]):
    """One batch of examples to count: the texts for the counter, and how to add up each example
    from their counts."""

    tag: T
    held_out: Sequence[bool]
    # The examples' own texts, then the system prompts new in this batch (once each).
    texts: list[str]
    examples: list[_Sum]
    # System prompts new in this batch → their place in ``texts``, to remember.
    fresh: dict[str, int]


class TokenSurvey:
    """Counts a dataset's examples (cookbook rules, module docstring), batch by batch, and gathers
    what the report says of them: statistics, examples over the limit, the training part's tokens.

    Rules:
    - Each batch is one text a message for the counter's ``count_batches``: the roles' tokens are
      known once, and a system prompt seen before (up to a few hundred distinct ones) is not sent
      again. The counter may count a batch elsewhere while the next one is being read.
    - ``measure`` yields, for each batch in order, its tag and its examples over the limit as
      (index in the batch, the problem in words: "70,112 tokens, over the 65,536-token limit").
    - Billable tokens are those of the examples not ``held_out`` (the training part), each capped
      at the limit.
    """

    def __init__(self, check: TokenCheck) -> None:
        self._check = check
        self._counter = check.counter
        roles = list(Role)
        counts = self._counter.count_many([role.value for role in roles])
        self._role_tokens = dict(zip(roles, counts, strict=True))
        self._memo: dict[str, int] = {}
        self._tally = TokenTally()
        self._training_tokens = 0
        self._held_out_tokens = 0

    def measure(
        self, batches: Iterable[tuple[Sequence[Example], Sequence[bool], T]]
    ) -> Iterator[tuple[T, list[tuple[int, str]]]]:
        """Count each batch of (examples, which are held out, tag)."""
        plans: deque[_Plan[T]] = deque()

        def texts() -> Iterator[list[str]]:
            for examples, held_out, tag in batches:
                plan = self._plan(examples, held_out, tag)
                plans.append(plan)
                yield plan.texts

        for counts in self._counter.count_batches(texts()):
            plan = plans.popleft()
            yield plan.tag, self._add(plan, counts)

    def stats(self) -> TokenStats | None:
        return self._tally.stats(self._counter.name)

    def training(self, train_count: int, *, nothing_held_out: bool = False) -> TrainingTokens:
        """The training part: ``train_count`` examples and their billable tokens;
        ``nothing_held_out`` when the split gave every example to training after all (the test
        part would have taken them all)."""
        tokens = self._training_tokens
        if nothing_held_out:
            tokens += self._held_out_tokens
        return TrainingTokens(train_count, tokens)

    def billing(
        self, train_count: int, *, nothing_held_out: bool = False
    ) -> BillingEstimate | None:
        """The trainer's estimate for the training part (``training``); ``None`` when the
        trainer gives none, or when nothing would train."""
        estimate = self._check.estimate
        if estimate is None or not train_count:
            return None
        return estimate(self.training(train_count, nothing_held_out=nothing_held_out))

    def _plan(self, examples: Sequence[Example], held_out: Sequence[bool], tag: T) -> _Plan[T]:
        memo, role_tokens = self._memo, self._role_tokens
        texts: list[str] = []
        fresh: dict[str, int] = {}  # new system prompts → their place among them
        sums: list[_Sum] = []
        answer_tokens = REPLY_PRIMING_TOKENS + TOKENS_PER_MESSAGE + role_tokens[Role.ASSISTANT]
        for example in examples:
            fixed = answer_tokens
            start = len(texts)
            shared: tuple[int, ...] = ()
            earlier: tuple[int, ...] = ()
            for message in example.prompt:
                role, content = message.role, message.content
                fixed += TOKENS_PER_MESSAGE + role_tokens[role]
                if role is Role.SYSTEM:
                    known = memo.get(content)
                    if known is not None:
                        fixed += known
                        continue
                    place = fresh.get(content)
                    if place is None:
                        place = fresh[content] = len(fresh)
                    shared += (place,)
                    continue
                if role is Role.ASSISTANT:
                    earlier += (len(texts),)
                texts.append(content)
            texts.append(example.completion)
            sums.append(_Sum(fixed, start, len(texts), shared, earlier))
        own = len(texts)
        texts += fresh
        return _Plan(tag, held_out, texts, sums, {text: own + i for text, i in fresh.items()})

    def _add(self, plan: _Plan[T], counts: Sequence[int]) -> list[tuple[int, str]]:
        limit = self._check.max_example_tokens
        system = len(counts) - len(plan.fresh)  # where the new system prompts' counts begin
        over: list[tuple[int, str]] = []
        for index, ((fixed, start, end, shared, earlier), tested) in enumerate(
            zip(plan.examples, plan.held_out, strict=True)
        ):
            total = fixed + sum(counts[start:end])
            assistant = counts[end - 1]
            for place in shared:
                total += counts[system + place]
            for place in earlier:
                assistant += counts[place]
            self._tally.add(total, assistant)
            if limit is not None and total > limit:
                over.append((index, over_limit(total, limit)))
            billed = total if limit is None else min(total, limit)
            if tested:
                self._held_out_tokens += billed
            else:
                self._training_tokens += billed
        for text, place in plan.fresh.items():
            if len(self._memo) >= _MEMO_SIZE:
                break
            self._memo[text] = counts[place]
        return over


@dataclass
class TokenTally:
    """Running token statistics: constant memory whatever the number of examples.

    Rules:
    - Exact: lengths are kept as a histogram (length → how many examples), whose size is bounded
      by the longest example, not by how many there are.
    """

    lengths: Counter[int] = field(default_factory=Counter)
    total: int = 0
    assistant: int = 0

    def add(self, tokens: int, assistant: int) -> None:
        self.lengths[tokens] += 1
        self.total += tokens
        self.assistant += assistant

    def stats(self, encoding: str) -> TokenStats | None:
        count = sum(self.lengths.values())
        if not count:
            return None
        ordered = sorted(self.lengths.items())
        return TokenStats(
            encoding=encoding,
            examples=count,
            total=self.total,
            assistant=self.assistant,
            minimum=ordered[0][0],
            p50=_nearest_rank(ordered, count, 50),
            p90=_nearest_rank(ordered, count, 90),
            maximum=ordered[-1][0],
        )


def _nearest_rank(ordered: Sequence[tuple[int, int]], count: int, percent: int) -> int:
    rank = max(1, math.ceil(count * percent / 100))
    seen = 0
    for value, times in ordered:
        seen += times
        if seen >= rank:
            return value
    return ordered[-1][0]
