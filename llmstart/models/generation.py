"""Generative models: chat prompts, instruction-tuning batches, perplexity (decoding: :mod:`llmstart.models.decoding`).

* :func:`format_chat` turns a question (plus an optional system prompt and few-shot
  examples) into the exact text the model was trained on, with the tokenizer's chat template.
* :func:`encode_sft` / :class:`SFTCollator` / :func:`make_sft_loader` build causal-LM
  batches for supervised fine-tuning where only the *answer* tokens carry a loss: every
  prompt and padding position has label ``-100``, which PyTorch's cross-entropy ignores.
* :func:`generate` decodes a batch of prompts (left padding, so every prompt ends right
  where generation starts) greedily or by sampling (temperature, top-k, top-p,
  repetition penalty); :func:`next_token_probs` shows what each of these does to one step.
* :func:`perplexity` scores held-out answers: ``exp`` of the mean negative log-likelihood
  of the answer tokens given their prompts (lower is better; 1 is perfect).

>>> from llmstart.models.pretrained import load_tokenizer
>>> tok = load_tokenizer("smollm2")
>>> format_chat(tok, "Hi!", system="Be brief.")
'<|im_start|>system\\nBe brief.<|im_end|>\\n<|im_start|>user\\nHi!<|im_end|>\\n<|im_start|>assistant\\n'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader, Dataset

from llmstart.runtime import eval_mode, pad_token_id

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    Tokenizer = PreTrainedTokenizerBase

IGNORE_INDEX = -100  # label value that cross-entropy skips

Pairs = Any  # a DataFrame with prompt/answer columns, or an iterable of (prompt, answer) / dicts


# --------------------------------------------------------------------------- prompts


def chat_messages(
    prompt: str,
    system: str | None = None,
    examples: Sequence[tuple[str, str]] = (),
    answer: str | None = None,
) -> list[dict[str, str]]:
    """A conversation as a list of ``{"role", "content"}`` messages.

    ``examples`` (question, answer) pairs become earlier turns: few-shot prompting.

    >>> [m["role"] for m in chat_messages("Q?", system="S", examples=[("q", "a")])]
    ['system', 'user', 'assistant', 'user']
    """
    messages = [{"role": "system", "content": system}] if system else []
    for q, a in examples:
        messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    messages.append({"role": "user", "content": prompt})
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return messages


def format_chat(
    tokenizer: Tokenizer,
    prompt: str,
    system: str | None = None,
    examples: Sequence[tuple[str, str]] = (),
) -> str:
    """The text a chat model sees before it answers ``prompt`` (ends with the assistant header).

    Tokenizers without a chat template get a plain ``Question: ... Answer:`` layout.

    >>> from llmstart.models.pretrained import load_tokenizer
    >>> format_chat(load_tokenizer("smollm2"), "Hi").endswith("<|im_start|>assistant\\n")
    True
    """
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            chat_messages(prompt, system, examples), tokenize=False, add_generation_prompt=True
        )
    turns = [system] if system else []
    turns += [f"Question: {q}\nAnswer: {a}" for q, a in examples]
    turns.append(f"Question: {prompt}\nAnswer:")
    return "\n\n".join(turns)


def as_pairs(data: Pairs, prompt_col: str = "question", answer_col: str = "answer") -> list[tuple[str, str]]:
    """Normalise a DataFrame, a list of dicts or a list of tuples to ``[(prompt, answer), ...]``.

    >>> as_pairs([{"question": "q", "answer": "a"}])
    [('q', 'a')]
    """
    if hasattr(data, "columns"):
        return list(zip(data[prompt_col].astype(str), data[answer_col].astype(str), strict=True))
    out = []
    for item in data:
        if isinstance(item, dict):
            out.append((str(item[prompt_col]), str(item[answer_col])))
        else:
            prompt, answer = item
            out.append((str(prompt), str(answer)))
    return out


# --------------------------------------------------------------------------- training batches


def encode_sft(
    tokenizer: Tokenizer,
    prompt: str,
    answer: str,
    system: str | None = None,
    max_length: int = 256,
    examples: Sequence[tuple[str, str]] = (),
) -> dict[str, list[int]]:
    """Token ids of prompt + answer + end-of-turn, and labels that are ``-100`` on the prompt.

    The prompt is tokenised exactly as :func:`generate` will tokenise it, and the answer
    is followed by the end-of-sequence token, so the model also learns *when to stop*.
    A too-long example keeps its whole prompt and a truncated answer (with no end token).

    >>> from llmstart.models.pretrained import load_tokenizer
    >>> tok = load_tokenizer("smollm2")
    >>> ex = encode_sft(tok, "Say hi", "Hi!")
    >>> tok.decode([t for t, y in zip(ex["input_ids"], ex["labels"]) if y != -100])
    'Hi!<|im_end|>'
    """
    prompt_ids = tokenizer(format_chat(tokenizer, prompt, system, examples), add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    room = max_length - len(prompt_ids)
    if room < 1:
        raise ValueError(f"the prompt alone is {len(prompt_ids)} tokens, max_length is {max_length}: "
                         f"raise max_length or shorten the prompt {prompt[:60]!r}")
    answer_ids = answer_ids[:room]
    return {
        "input_ids": prompt_ids + answer_ids,
        "attention_mask": [1] * (len(prompt_ids) + len(answer_ids)),
        "labels": [IGNORE_INDEX] * len(prompt_ids) + answer_ids,
    }


class SFTDataset(Dataset):
    """(prompt, answer) pairs tokenised once with :func:`encode_sft`.

    >>> from llmstart.models.pretrained import load_tokenizer
    >>> len(SFTDataset([("q", "a"), ("q2", "a2")], load_tokenizer("smollm2")))
    2
    """

    def __init__(self, pairs: Pairs, tokenizer: Tokenizer, system: str | None = None,
                 max_length: int = 256, prompt_col: str = "question", answer_col: str = "answer"):
        self.examples = [encode_sft(tokenizer, p, a, system, max_length)
                         for p, a in as_pairs(pairs, prompt_col, answer_col)]

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return self.examples[i]

    @property
    def lengths(self) -> list[int]:
        """Token count of each example (to batch similar lengths together)."""
        return [len(e["input_ids"]) for e in self.examples]


class SFTCollator:
    """Pad a list of :func:`encode_sft` examples to the longest one (dynamic padding).

    Padding goes on the right, with ``attention_mask`` 0 and label ``-100``, so it is
    neither attended to nor scored.

    >>> batch = SFTCollator(pad_token_id=0)([
    ...     {"input_ids": [5, 6, 7], "attention_mask": [1, 1, 1], "labels": [-100, 6, 7]},
    ...     {"input_ids": [5, 8], "attention_mask": [1, 1], "labels": [-100, 8]}])
    >>> batch["input_ids"].tolist(), batch["labels"].tolist()
    ([[5, 6, 7], [5, 8, 0]], [[-100, 6, 7], [-100, 8, -100]])
    """

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, features: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        pad_values = {"input_ids": self.pad_token_id, "attention_mask": 0, "labels": IGNORE_INDEX}
        return {
            key: torch.tensor([f[key] + [value] * (width - len(f[key])) for f in features])
            for key, value in pad_values.items()
        }


def make_sft_loader(
    pairs: Pairs,
    tokenizer: Tokenizer,
    batch_size: int = 8,
    max_length: int = 256,
    shuffle: bool = False,
    seed: int = 0,
    system: str | None = None,
    prompt_col: str = "question",
    answer_col: str = "answer",
    group_by_length: bool = True,
) -> DataLoader:
    """A DataLoader of causal-LM batches (``input_ids``, ``attention_mask``, ``labels``) for :func:`~llmstart.train.fit`.

    Only answer tokens are scored; batches are padded to their longest example, and
    ``group_by_length`` batches examples of similar length together.

    >>> from llmstart.models.pretrained import load_tokenizer
    >>> loader = make_sft_loader([("Say hi", "Hi!")] * 4, load_tokenizer("smollm2"), batch_size=2)
    >>> sorted(next(iter(loader)))
    ['attention_mask', 'input_ids', 'labels']
    """
    from llmstart.data import LengthGroupedBatchSampler

    dataset = SFTDataset(pairs, tokenizer, system, max_length, prompt_col, answer_col)
    sampler = LengthGroupedBatchSampler(dataset.lengths, batch_size, shuffle, group_by_length, seed)
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=SFTCollator(pad_token_id(tokenizer)),
                      generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- scoring


@torch.no_grad()
def _nll_sums(model: torch.nn.Module, tokenizer: Tokenizer, dataset: SFTDataset,
              batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per example: summed negative log-likelihood of the scored tokens, and their count."""
    device = next(model.parameters()).device
    collate = SFTCollator(pad_token_id(tokenizer))
    sums, counts = [], []
    with eval_mode(model):
        for i in range(0, len(dataset), batch_size):
            batch = collate([dataset[j] for j in range(i, min(i + batch_size, len(dataset)))])
            batch = {k: v.to(device) for k, v in batch.items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            logits, labels = logits[:, :-1].float(), batch["labels"][:, 1:]  # position t predicts token t + 1
            nll = torch.nn.functional.cross_entropy(
                logits.transpose(1, 2), labels, ignore_index=IGNORE_INDEX, reduction="none")
            sums.append(nll.sum(1).double().cpu())
            counts.append((labels != IGNORE_INDEX).sum(1).cpu())
    return torch.cat(sums), torch.cat(counts)


def answer_nll(
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    pairs: Pairs,
    system: str | None = None,
    batch_size: int = 8,
    max_length: int = 256,
    prompt_col: str = "question",
    answer_col: str = "answer",
    pooled: bool = False,
) -> torch.Tensor:
    """Mean negative log-likelihood (nats per token) of each answer given its prompt.

    ``pooled``: one number instead, the mean over all the answers' tokens together (a 0-d tensor;
    its ``exp`` is :func:`perplexity`).

    >>> import torch
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> from llmstart.models.pretrained import load_tokenizer
    >>> tok = load_tokenizer("smollm2")
    >>> _ = torch.manual_seed(0)
    >>> model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=16,
    ...     intermediate_size=32, num_hidden_layers=1, num_attention_heads=2))
    >>> answer_nll(model, tok, [("q", "a b c"), ("q", "a")]).shape
    torch.Size([2])
    """
    dataset = SFTDataset(pairs, tokenizer, system, max_length, prompt_col, answer_col)
    sums, counts = _nll_sums(model, tokenizer, dataset, batch_size)
    if pooled:
        return sums.sum() / counts.sum()
    return (sums / counts.clamp(min=1)).float()


def perplexity(model: torch.nn.Module, tokenizer: Tokenizer, pairs: Pairs, **options) -> float:
    """Perplexity of the answers given their prompts: ``exp`` of the mean NLL over all answer tokens.

    Prompt tokens are not scored (the model is not asked to predict the user's question).
    A model that guessed uniformly over its vocabulary would score the vocabulary size.
    ``options``: those of :func:`answer_nll` (``system``, ``batch_size``, ``max_length``,
    ``prompt_col``, ``answer_col``).

    >>> import torch
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> from llmstart.models.pretrained import load_tokenizer
    >>> tok = load_tokenizer("smollm2")
    >>> _ = torch.manual_seed(0)
    >>> model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=16,
    ...     intermediate_size=32, num_hidden_layers=1, num_attention_heads=2))
    >>> 10_000 < perplexity(model, tok, [("Say hi", "Hi there!")]) < 100_000  # untrained: about len(tok)
    True
    """
    return float(torch.exp(answer_nll(model, tokenizer, pairs, pooled=True, **options)))


# Decoding lives in llmstart.models.decoding; these names stay importable from here too.
from llmstart.models.decoding import filter_logits, generate, next_token_probs, repetition_rate  # noqa: E402

__all__ = ["IGNORE_INDEX", "SFTCollator", "SFTDataset", "answer_nll", "as_pairs", "chat_messages",
           "encode_sft", "filter_logits", "format_chat", "generate", "make_sft_loader", "next_token_probs",
           "perplexity", "repetition_rate"]
