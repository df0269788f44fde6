"""A packaged GGUF model made trainable: dequantised once into a plain safetensors checkpoint.

``transformers`` loads a GGUF file (``from_pretrained(folder, gguf_file=...)``) but its Trainer and
``save_pretrained`` refuse the result. So the model is rebuilt from its config without the
quantisation config, the dequantised weights are loaded into it (every key must match), and the
checkpoint is saved under :func:`llmstart.models.hub.cache_dir`.

The cache folder's name holds everything the result depends on: the GGUF file, the version of the
package that shipped it, the transformers version and the quantisation type. A new package or
transformers version therefore converts again instead of reusing stale weights. Conversion writes
into a unique temporary folder and renames it into place, so two processes converting at once both
succeed (the second rename finds the work done), and a failed conversion leaves nothing behind.

>>> from llmstart.models.hub import ModelSource
>>> src = ModelSource("m", "/pkg", "package", gguf_file="M-135M.Q4_1.gguf", package_version="0.1.2")
>>> cache_key(src, transformers_version="5.24.0")
'M-135M.Q4_1-pkg0.1.2-transformers5.24.0'
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import torch

from llmstart.files import temp_dir_beside
from llmstart.models.hub import ModelSource, cache_dir
from llmstart.runtime import quiet_transformers

log = logging.getLogger(__name__)

MODEL_FILES = ("model.safetensors", "config.json", "tokenizer_config.json")
TOKENIZER_FILES = ("tokenizer_config.json",)


def cache_key(src: ModelSource, transformers_version: str | None = None) -> str:
    """The cache folder name for a GGUF source: file stem (with its quant type), package and transformers versions.

    >>> from llmstart.models.hub import ModelSource
    >>> a = ModelSource("m", "/p", "package", gguf_file="x.Q8_0.gguf", package_version="1")
    >>> cache_key(a, "5.0") != cache_key(a, "5.1")
    True
    """
    if not src.gguf_file:
        raise ValueError(f"{src.name} is not a GGUF source")
    if transformers_version is None:
        import transformers

        transformers_version = transformers.__version__
    return f"{Path(src.gguf_file).stem}-pkg{src.package_version or 'unknown'}-transformers{transformers_version}"


def build_once(target: Path, build: Callable[[Path], None], required: tuple[str, ...]) -> Path:
    """Run ``build(tmp)`` into a fresh temporary folder and rename it to ``target`` (once).

    If ``target`` already holds every ``required`` file, nothing runs. If another process
    finished first, its result is kept and ours is discarded. If ``build`` fails, the temporary
    folder is removed and the error propagates.

    >>> import tempfile, pathlib
    >>> t = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> build_once(t, lambda d: (d / "f").write_text("x"), ("f",)).name
    'out'
    >>> build_once(t, lambda d: 1 / 0, ("f",)) == t   # already built: build is not called
    True
    """
    if all((target / f).is_file() for f in required):
        return target
    tmp = temp_dir_beside(target)
    try:
        build(tmp)
        missing = [f for f in required if not (tmp / f).is_file()]
        if missing:
            raise RuntimeError(f"building {target.name} produced no {missing}")
        try:
            tmp.rename(target)  # atomic; fails if another process created target meanwhile
        except OSError:
            if not all((target / f).is_file() for f in required):
                shutil.rmtree(target, ignore_errors=True)  # a broken leftover: replace it
                tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def converted_tokenizer(src: ModelSource) -> Path:
    """Folder with the GGUF model's tokenizer only (seconds; the weights are not converted).

    >>> from llmstart.models.hub import resolve
    >>> (converted_tokenizer(resolve("smollm2")) / "tokenizer_config.json").is_file()
    True
    """
    from transformers import AutoTokenizer

    full = cache_dir() / "models" / cache_key(src)
    if all((full / f).is_file() for f in TOKENIZER_FILES):
        return full

    def build(tmp: Path) -> None:
        with quiet_transformers():
            AutoTokenizer.from_pretrained(src.path, gguf_file=src.gguf_file).save_pretrained(tmp)

    return build_once(cache_dir() / "tokenizers" / cache_key(src), build, TOKENIZER_FILES)


def converted_checkpoint(src: ModelSource) -> Path:
    """Dequantise a packaged GGUF model once into a plain safetensors checkpoint; return its folder.

    The first call converts (about 30 s, 0.5 GB on disk) and says so at INFO on the
    ``llmstart.models.from_gguf`` logger (shown in notebooks and the CLI, silent in doctests).
    """
    target = cache_dir() / "models" / cache_key(src)
    if all((target / f).is_file() for f in MODEL_FILES):
        return target
    log.info("llmstart: converting %s (%s) to a trainable checkpoint in %s (once, about 30 s)",
             src.gguf_file, src.description, target)
    return build_once(target, lambda tmp: _convert(src, tmp), MODEL_FILES)


def _convert(src: ModelSource, out: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with quiet_transformers():
        gguf_model = AutoModelForCausalLM.from_pretrained(src.path, gguf_file=src.gguf_file, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(src.path, gguf_file=src.gguf_file)
        config = gguf_model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        missing, unexpected = plain.load_state_dict(gguf_model.state_dict(), strict=False)
        missing = [k for k in missing if k != "lm_head.weight" or not config.tie_word_embeddings]
        if missing or unexpected:
            raise RuntimeError(f"GGUF conversion of {src.gguf_file}: missing={missing} unexpected={unexpected}")
        plain.tie_weights()
        if plain.generation_config is not None and gguf_model.generation_config is not None:
            plain.generation_config = gguf_model.generation_config
        plain.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
