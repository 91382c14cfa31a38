"""Training and testing models, and turning a test's failures into corrections."""

from __future__ import annotations

from .. import reports
from ..fix_failure import FixFailureRequest
from ..test_model import TestRequest
from ..train_model import TrainRequest
from .base import Invocation, Reply, command
from .grammar import CommandSpec, Kind, Param


@command(
    CommandSpec(
        "train",
        "Train a model on inline data, an attachment, workspace data or the corrections.",
        (
            Param("data", "inline examples (quoted, or in a code block)"),
            Param("data_dir", "a dataset folder or file in the workspace"),
            Param(
                "positive",
                "label plain documents positive (true) or negative (false); "
                "on chat examples: wanted or unwanted",
                Kind.BOOL,
            ),
            Param("method", "trainer: fewshot, local or openai", positional=False),
            Param(
                "corrections",
                "add the recorded corrections (true/false); every one of them trains",
                Kind.BOOL,
                positional=False,
            ),
            Param(
                "holdout",
                "hold some corrections out for testing (true/false; default false)",
                Kind.BOOL,
                positional=False,
            ),
            Param("name", "name for the dataset", positional=False),
        ),
        trainer_only=True,
        takes_upload=True,
        progress="Checking the dataset and starting training",
    )
)
async def train(call: Invocation) -> Reply:
    result = await call.use_cases.train_model.execute(
        TrainRequest(
            actor=call.actor,
            data=call.text("data"),
            attachment=await call.upload(),
            data_dir=call.text("data_dir"),
            positive=call.flag("positive"),
            method=call.text("method"),
            include_corrections=bool(call.flag("corrections")),
            holdout=bool(call.flag("holdout")),
            name=call.text("name"),
            origin=call.origin,
        )
    )
    running = None if result.job.status.is_final else result.job
    return Reply(reports.train_result(result), job=running)


@command(
    CommandSpec(
        "test",
        "Test a model on inline JSON, an attachment, workspace data or a dataset.",
        (
            Param("data", "test examples as JSON", rest=True),
            Param("data_dir", "a test file or folder in the workspace", positional=False),
            Param("dataset", "a saved dataset name (its held-out split)", positional=False),
            Param("model", "the model to test (default: the active one)", positional=False),
            Param("baseline", "a second model to compare against", positional=False),
        ),
        trainer_only=True,
        takes_upload=True,
        progress="Testing",
    )
)
async def test(call: Invocation) -> Reply:
    result = await call.use_cases.test_model.execute(
        TestRequest(
            actor=call.actor,
            data=call.text("data"),
            attachment=await call.upload(),
            data_dir=call.text("data_dir"),
            dataset=call.text("dataset"),
            model=call.text("model"),
            baseline=call.text("baseline"),
        )
    )
    return Reply(reports.test_result(result), files=tuple(result.files))


@command(
    CommandSpec(
        "fix",
        "Turn a failure of your latest test report into a correction.",
        (
            Param("number", "the number of the failure in that report", required=True),
            Param("text", "the right answer (default: the expected one)", rest=True),
        ),
        trainer_only=True,
    )
)
async def fix(call: Invocation) -> Reply:
    result = await call.use_cases.fix_failure.execute(
        FixFailureRequest(
            actor=call.actor, number=call.text("number") or "", text=call.text("text")
        )
    )
    return Reply(reports.fix_result(result))
