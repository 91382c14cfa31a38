"""LoRA fine-tuning of a GGUF chat model: the program the ``lora`` trainer runs in its own process.

Run as ``python -m trainerbot.adapters.learning.lora_train <job folder>``. The folder holds
``job.json`` (written by ``LoraModelTrainer``): the base GGUF file, the examples and the settings.
The program prints one JSON object a line on stdout — ``{"event": "progress", "step": …,
"steps": …, "loss": …}`` as it trains, ``{"event": "done", …}`` at the end — and writes the
adapter to ``adapter.gguf`` in the folder. Anything it cannot do is one line on stdout as
``{"event": "error", "message": …}`` and exit status 2. Logs go to stderr.

How it trains (the rules ``LoraModelTrainer`` promises):
- The base model is the GGUF file, dequantised by transformers to float32 (bf16 on a GPU), with
  LoRA adapters (peft) on the attention and MLP projections of every layer.
- Supervised: each wanted example is rendered with the model's own chat template — the system
  prompt the bot answers with, the prompt's turns, the answer — and the loss is the answer's tokens
  only (the prompt's are masked). Examples marked unwanted are not imitated.
- Preference pairs (an example with a ``rejected`` answer: a correction) add DPO's loss: the
  corrected answer's log-likelihood ratio against the base model (the adapter switched off) must
  beat the rejected answer's, by ``beta``. The supervised loss on the corrected answer stays in the
  objective (DPO with an NLL term, as in Pang et al. 2024's iterative RPO), so a pair teaches the
  answer, not only that the old one was worse.
- ``epochs`` passes over the examples, fewer when that would take more than ``max_steps``
  batches (at least one pass), so a large dataset trains in bounded time.
- Deterministic for a seed on the CPU; uses CUDA when torch sees a GPU.
- The adapter is written as a GGUF LoRA file that llama.cpp loads beside the base model: tensors
  ``blk.N.<name>.weight.lora_a`` / ``.lora_b``, ``adapter.lora.alpha``; the query and key
  projections' ``lora_b`` rows are permuted the way llama.cpp's converter permutes those weights
  for the llama architecture (transformers undid that permutation when it loaded the GGUF file).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("trainerbot.lora_train")

JOB_FILE = "job.json"
ADAPTER_FILE = "adapter.gguf"
# transformers' module names → llama.cpp's tensor names (llama architecture).
TENSOR_NAMES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
TRAINABLE_ARCHITECTURES = frozenset({"llama"})
IGNORE = -100


class TrainingRefused(Exception):
    """Something about the job makes training impossible; its message is one line for the user."""


@dataclass(frozen=True)
class Sample:
    """One rendered example: token ids, which of them are the answer, and the rejected answer's."""

    prompt: list[int]
    answer: list[int]
    rejected: list[int] | None


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    if len(args) != 1:
        print(
            "usage: python -m trainerbot.adapters.learning.lora_train <job folder>", file=sys.stderr
        )
        return 2
    folder = Path(args[0])
    _exit_with_parent()
    try:
        job = json.loads((folder / JOB_FILE).read_text("utf-8"))
        result = train(job, folder / ADAPTER_FILE)
    except TrainingRefused as refused:
        emit("error", message=str(refused))
        return 2
    emit("done", **result)
    return 0


def batches(samples: Sequence[Sample], size: int) -> list[list[Sample]]:
    """One epoch's batches, in a random order. Not grouped by length: the replayed anchor answers
    must share batches with the new facts, or batches of facts alone pull the model off its
    other answers."""
    order = list(range(len(samples)))
    random.shuffle(order)
    return [
        [samples[i] for i in order[start : start + size]] for start in range(0, len(order), size)
    ]


def _length(sample: Sample) -> int:
    return len(sample.prompt) + max(len(sample.answer), len(sample.rejected or ()))


def _exit_with_parent() -> None:
    """Stop when the bot does: it holds this process's stdin open, and it closes (EOF) when the
    bot exits, however it exits. A training nobody waits for is wasted."""

    def watch() -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stdin.buffer.read()
        os._exit(3)

    if not sys.stdin.isatty():
        threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def train(job: dict[str, Any], output: Path) -> dict[str, Any]:
    """Train the adapter ``job`` describes and write it to ``output``; the run's figures."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    threads = int(job.get("threads") or 0)
    if threads > 0:
        torch.set_num_threads(threads)
    seed = int(job.get("seed", 0))
    random.seed(seed)
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    started = time.monotonic()

    weights = Path(job["base_gguf"])
    architecture = gguf_architecture(weights)
    if architecture not in TRAINABLE_ARCHITECTURES:
        raise TrainingRefused(
            f"The lora trainer cannot train a {architecture} model; it trains llama-family GGUF "
            "models (llama, SmolLM, Mistral)."
        )
    tokenizer, model = load_model(weights, device)
    log.info("loaded %s in %.1f s", weights.name, time.monotonic() - started)
    samples = render(tokenizer, job["examples"], job.get("system_prompt"), int(job["max_tokens"]))
    if not samples:
        raise TrainingRefused("No example has an answer to learn (all are marked unwanted).")

    from peft import LoraConfig, get_peft_model

    rank = int(job["rank"])
    alpha = int(job["alpha"])
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=0.0,
        target_modules=[name.split(".")[-1] for name in TENSOR_NAMES],
        bias="none",
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, config)
    beta = float(job.get("dpo_beta", 0.1))
    pairs = [s for s in samples if s.rejected is not None]
    reference = reference_logps(peft_model, pairs, device) if pairs else {}

    batch_size = max(1, int(job.get("batch_size", 8)))
    batches_per_epoch = math.ceil(len(samples) / batch_size)
    # Fewer passes over a big dataset: its many examples teach as much in fewer epochs, and the
    # training time stays bounded (max_steps; at least one whole epoch).
    max_steps = int(job.get("max_steps") or 0)
    epochs = max(1, int(job["epochs"]))
    if max_steps > 0:
        epochs = max(1, min(epochs, max_steps // batches_per_epoch))
    steps = batches_per_epoch * epochs
    parameters = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=float(job["learning_rate"]), weight_decay=0.0)
    warmup = max(1, steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup)
    )
    emit("progress", step=0, steps=steps, loss=None, examples=len(samples), pairs=len(pairs))
    losses: list[float] = []
    peft_model.train()
    step = 0
    for epoch in range(epochs):
        for batch in batches(samples, batch_size):
            loss = batch_loss(peft_model, batch, reference, beta, device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            value = float(loss.detach().cpu())
            losses.append(value)
            emit(
                "progress",
                step=step,
                steps=steps,
                loss=round(value, 5),
                epoch=epoch + 1,
                seconds=round(time.monotonic() - started, 1),
            )

    write_adapter(peft_model, model.config, alpha, output, architecture)
    return {
        "steps": steps,
        "examples": len(samples),
        "pairs": len(pairs),
        "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "seconds": round(time.monotonic() - started, 2),
        "device": device.type,
        "rank": rank,
        "alpha": alpha,
        "losses": [round(x, 5) for x in losses],
    }


# --- the model ---------------------------------------------------------------------------------


def gguf_architecture(weights: Path) -> str:
    """``general.architecture`` of a GGUF file (read from its header, no tensors loaded)."""
    from gguf import GGUFReader

    try:
        reader = GGUFReader(str(weights), "r")
        field = reader.fields["general.architecture"]
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    except (OSError, KeyError, ValueError, IndexError) as error:
        raise TrainingRefused(
            f"The base model {weights.name} is not a readable GGUF file."
        ) from error


def load_model(weights: Path, device: Any) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(  # type: ignore[no-untyped-call]
            str(weights.parent), gguf_file=weights.name
        )
        model = AutoModelForCausalLM.from_pretrained(
            str(weights.parent), gguf_file=weights.name, dtype=dtype
        )
    except (ValueError, OSError, KeyError, RuntimeError) as error:
        log.warning("transformers could not load %s: %s", weights, error)
        raise TrainingRefused(
            f"The base model {weights.name} cannot be trained: transformers cannot load it "
            "from GGUF."
        ) from error
    if not getattr(tokenizer, "chat_template", None):
        raise TrainingRefused(f"The base model {weights.name} has no chat template to train with.")
    model.config.use_cache = False
    return tokenizer, model.to(device)


def render(
    tokenizer: Any, examples: Sequence[dict[str, Any]], system_prompt: str | None, max_tokens: int
) -> list[Sample]:
    """The wanted examples as token ids, split into prompt and answer by the chat template."""
    samples: list[Sample] = []
    for example in examples:
        if not example.get("wanted", True):
            continue
        messages = [dict(m) for m in example["messages"]]
        if system_prompt and not any(m["role"] == "system" for m in messages):
            messages.insert(0, {"role": "system", "content": system_prompt})
        prompt = _ids(tokenizer, messages, None)
        answer = _answer_ids(tokenizer, messages, prompt, example["completion"])
        rejected = None
        if example.get("rejected"):
            rejected = _answer_ids(tokenizer, messages, prompt, example["rejected"])
        sample = Sample(prompt, answer, rejected)
        longest = _length(sample)
        if longest > max_tokens:
            raise TrainingRefused(
                f"An example is {longest} tokens long; the lora trainer's limit is {max_tokens} "
                "(TRAINERBOT_LORA_MAX_TOKENS). Shorten it or leave it out."
            )
        samples.append(sample)
    return samples


def _ids(tokenizer: Any, messages: list[dict[str, str]], answer: str | None) -> list[int]:
    if answer is None:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    else:
        turns = [*messages, {"role": "assistant", "content": answer}]
        text = tokenizer.apply_chat_template(turns, tokenize=False)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _answer_ids(
    tokenizer: Any, messages: list[dict[str, str]], prompt: list[int], answer: str
) -> list[int]:
    """The answer's tokens as the template closes them (``<|im_end|>`` included): the full
    conversation's ids after the prompt's."""
    full = _ids(tokenizer, messages, answer)
    if full[: len(prompt)] != prompt:
        raise TrainingRefused("The model's chat template renders the prompt inconsistently.")
    return full[len(prompt) :]


def _batch(sequences: Sequence[tuple[list[int], list[int]]], device: Any) -> tuple[Any, Any, Any]:
    """Right-padded input ids, attention mask and labels (IGNORE outside the answers)."""
    import torch

    length = max(len(p) + len(a) for p, a in sequences)
    ids = torch.zeros((len(sequences), length), dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    labels = torch.full((len(sequences), length), IGNORE, dtype=torch.long)
    for row, (prompt, answer) in enumerate(sequences):
        tokens = prompt + answer
        ids[row, : len(tokens)] = torch.tensor(tokens)
        mask[row, : len(tokens)] = 1
        labels[row, len(prompt) : len(tokens)] = torch.tensor(answer)
    return ids.to(device), mask.to(device), labels.to(device)


def _token_logps(model: Any, sequences: Sequence[tuple[list[int], list[int]]], device: Any) -> Any:
    """Per sequence: the summed log-probability of its answer tokens, and their count."""
    import torch

    ids, mask, labels = _batch(sequences, device)
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1, :]
    targets = labels[:, 1:]
    # cross_entropy is log_softmax and the pick in one kernel: no full-vocabulary copy per token.
    losses = torch.nn.functional.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]),
        targets.reshape(-1),
        ignore_index=IGNORE,
        reduction="none",
    ).reshape(targets.shape)
    return -losses.sum(dim=1), (targets != IGNORE).sum(dim=1)


def batch_loss(
    model: Any,
    batch: Sequence[Sample],
    reference: dict[int, tuple[float, float]],
    beta: float,
    device: Any,
) -> Any:
    """The supervised loss (mean cross-entropy over every answer token of the batch) plus, for
    the batch's preference pairs, DPO's: -log σ(β·((π_c − ref_c) − (π_r − ref_r))) averaged over
    them. The corrected answers' log-likelihoods serve both."""
    import torch

    summed, counts = _token_logps(model, [(s.prompt, s.answer) for s in batch], device)
    loss = -summed.sum() / counts.sum().clamp(min=1)
    rows = [i for i, s in enumerate(batch) if s.rejected is not None]
    if not rows:
        return loss
    pairs = [batch[i] for i in rows]
    rejected, _ = _token_logps(model, [(s.prompt, s.rejected or []) for s in pairs], device)
    chosen = summed[rows]
    ref = torch.tensor([reference[id(s)] for s in pairs], device=chosen.device)
    margin = (chosen - ref[:, 0]) - (rejected - ref[:, 1])
    return loss - torch.nn.functional.logsigmoid(beta * margin).mean()


def reference_logps(
    model: Any, pairs: Sequence[Sample], device: Any
) -> dict[int, tuple[float, float]]:
    """The base model's (adapter off) log-likelihoods of each pair's two answers, computed once."""
    import torch

    reference: dict[int, tuple[float, float]] = {}
    model.eval()
    with torch.no_grad(), model.disable_adapter():
        for start in range(0, len(pairs), 8):
            chunk = pairs[start : start + 8]
            chosen, _ = _token_logps(model, [(s.prompt, s.answer) for s in chunk], device)
            rejected, _ = _token_logps(model, [(s.prompt, s.rejected or []) for s in chunk], device)
            for sample, c, r in zip(chunk, chosen.tolist(), rejected.tolist(), strict=True):
                reference[id(sample)] = (c, r)
    model.train()
    return reference


# --- the GGUF adapter ----------------------------------------------------------------------------


def _permute(weights: Any, heads: int) -> Any:
    """llama.cpp's converter's row order for the query/key projections (``LlamaModel.permute``)."""
    rows = weights.shape[0]
    return (
        weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def adapter_tensors(model: Any, config: Any) -> Iterator[tuple[str, Any]]:
    """``(gguf name, float32 array)`` for every LoRA A and B matrix of ``model``."""
    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    state = {name: tensor for name, tensor in model.named_parameters() if "lora_" in name}
    layers = int(config.num_hidden_layers)
    for layer in range(layers):
        for module, gguf_name in TENSOR_NAMES.items():
            prefix = f"base_model.model.model.layers.{layer}.{module}"
            a = state.get(f"{prefix}.lora_A.default.weight")
            b = state.get(f"{prefix}.lora_B.default.weight")
            if a is None or b is None:
                continue
            a = a.detach().float().cpu()
            b = b.detach().float().cpu()
            if module == "self_attn.q_proj":
                b = _permute(b, heads)
            elif module == "self_attn.k_proj":
                b = _permute(b, kv_heads)
            name = f"blk.{layer}.{gguf_name}.weight"
            yield f"{name}.lora_a", a.numpy()
            yield f"{name}.lora_b", b.numpy()


def write_adapter(model: Any, config: Any, alpha: float, output: Path, architecture: str) -> None:
    """The adapter as a GGUF LoRA file llama.cpp loads (``general.type`` ``adapter``)."""
    import gguf

    tensors = list(adapter_tensors(model, config))
    if not tensors:
        raise TrainingRefused("The trained adapter has no LoRA tensors; nothing was trained.")
    partial = output.with_name(output.name + ".partial")
    writer = gguf.GGUFWriter(str(partial), architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    for name, array in tensors:
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(partial, output)


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Not sys.exit: the thread blocked reading stdin would deadlock the interpreter's shutdown.
    os._exit(status)
