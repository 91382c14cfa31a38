"""Reading training and test data in every supported format, and the validation report.

Formats (chosen by file extension; without a file name, sniffed from the content — ``reading``):

- ``.jsonl`` — one JSON object a line, in any of these shapes (``records``):
  * OpenAI chat: ``{"messages": [{"role": ..., "content": ...}, ...]}``. The prompt is every message
    before the *last* assistant message; that message's content is the completion. Messages after it
    are ignored (nothing would learn from them). An assistant message with ``"weight": 0`` is one
    OpenAI does not train on, so the completion is the last assistant message not weighted 0.
  * OpenAI preference (DPO): ``{"input": {"messages": [...]}, "preferred_output": [assistant],
    "non_preferred_output": [assistant]}`` → an example whose ``rejected`` is the non-preferred answer.
  * prompt/completion: ``{"prompt": "...", "completion": "..."}`` (also ``input``/``output`` and
    ``question``/``answer``; ``prompt`` may be a list of messages, as ``Example.to_dict`` writes it,
    with optional ``rejected``, ``wanted`` and ``origin``) → a single-turn chat example.
  * text/label: ``{"text": "...", "label": "..."}`` → a classification example (integer labels are
    read as their decimal text).
- ``.json`` — an array of such objects, one such object, or an object mapping each input string to
  its expected answer (the original bot's ``!test`` data). Problems name the 1-based item, not a line.
- ``.csv`` — a header row with ``prompt,completion`` (or ``input,output``, ``question,answer``) or
  ``text,label`` columns, case-insensitive; other columns are ignored; problems name the CSV line.
- ``.txt``, ``.md`` or no extension — plain text: one document a non-blank line, or with
  ``document_per_file`` the whole text as one document. Plain text carries no label, so it needs the
  ``positive`` flag: ``True`` labels every document POSITIVE, ``False`` NEGATIVE, ``None`` is a problem
  (unlabelled text teaches nothing) — except in a folder, where documents in a subfolder take the
  subfolder's name as their label (``reviews/negative/a.txt`` → ``negative``). A ``.txt`` file
  whose content is unmistakably JSON Lines, JSON or CSV with a known header is read as that (a long
  message pasted into Discord arrives as ``message.txt``), unless ``document_per_file`` is set.

Each line that fails a check is reported with its 1-based line number and produces no example
(``problems``). The ``positive`` flag: on chat-like examples ``False`` marks them ``wanted=False`` —
what not to say; on labelled data it is ignored. A dataset is a classification dataset when every
example is labelled, a chat dataset otherwise; mixing both kinds is a problem.

The validation report (``validate``, ``validation``) adds what needs the whole dataset: too few
examples, one label, duplicates, leakage between the train and test parts, and — given a
``TokenCheck`` — token counts, examples over the model's token limit and the cost estimate.
``validate_stream`` (``stream``) gives the same report for a JSON Lines file read line by line, in
memory that does not hold the file, built on the same rules (``rules``) as ``validate``.

Modules: ``problems`` (parse results), ``records`` (record shapes), ``formats`` (one reader a
format), ``reading`` (the entry points and sniffing), ``report`` (``ValidationReport``), ``rules``
(split, duplicates, version, leakage), ``validation`` and ``stream`` (building the report).
"""

from .problems import MIXED_KINDS, NEEDS_LABEL, NOT_UTF8, UNSUPPORTED_FILE, ParseResult, Problem
from .reading import decode, parse_files, parse_text
from .report import MAX_PROBLEMS_KEPT, ValidationReport
from .stream import validate_stream
from .validation import build_dataset, validate

__all__ = [
    "MAX_PROBLEMS_KEPT",
    "MIXED_KINDS",
    "NEEDS_LABEL",
    "NOT_UTF8",
    "UNSUPPORTED_FILE",
    "ParseResult",
    "Problem",
    "ValidationReport",
    "build_dataset",
    "decode",
    "parse_files",
    "parse_text",
    "validate",
    "validate_stream",
]
