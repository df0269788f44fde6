"""Is this folder something ``llmstart serve`` can load? Checked before any heavy import.

Also the serving settings (``serving.json``) that evaluation stores beside the weights.

>>> check_model_folder("/no/such/folder")
Traceback (most recent call last):
...
llmstart.serve.folder.ModelFolderError: /no/such/folder: no such folder. Pass the folder that `llmstart train --out DIR` (or save_model) wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from llmstart.files import ADAPTER_INFO

__all__ = ["ModelFolderError", "ServingSettings", "check_model_folder", "SETTINGS_FILE"]

SETTINGS_FILE = "serving.json"


class ModelFolderError(ValueError):
    """The folder given to ``serve`` is missing, or is not a saved classifier."""


@dataclass
class ServingSettings:
    """What evaluation decided for serving, stored beside the weights in ``serving.json``.

    ``temperature`` divides the logits (calibration fitted on validation), ``abstain_threshold``
    flags predictions whose confidence is below it, ``reference`` holds the label shares and
    confidences of the validation set (what drift is measured against).

    >>> ServingSettings().temperature, ServingSettings().abstain_threshold
    (1.0, 0.0)
    """

    temperature: float = 1.0
    abstain_threshold: float = 0.0
    reference: dict = field(default_factory=dict)

    @classmethod
    def read(cls, folder: str | Path) -> ServingSettings:
        """Read ``serving.json`` from a model folder; defaults when there is none."""
        path = Path(folder) / SETTINGS_FILE
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(float(data.get("temperature", 1.0)), float(data.get("abstain_threshold", 0.0)),
                       dict(data.get("reference", {})))
        except (ValueError, TypeError, AttributeError) as err:
            raise ModelFolderError(f"{path}: not a valid serving settings file ({err}); delete it "
                                   "or write it again with llmstart.evaluation.write_serving_settings") from err


def check_model_folder(folder: str | Path) -> Path:
    """The folder as a Path if it holds a saved classifier, else one clear :class:`ModelFolderError`.

    >>> import tempfile
    >>> check_model_folder(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    llmstart.serve.folder.ModelFolderError: ...: config.json missing, so this is not a saved model. ...
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFolderError(f"{folder}: no such folder. Pass the folder that "
                               "`llmstart train --out DIR` (or save_model) wrote.")
    if (folder / ADAPTER_INFO).is_file():  # `llmstart train --lora`: adapter + head, base model by name
        if not (folder / "adapter_model.safetensors").is_file():
            raise ModelFolderError(f"{folder}: adapter_model.safetensors missing; the folder is incomplete, "
                                   "train again with --lora.")
        try:
            json.loads((folder / ADAPTER_INFO).read_text(encoding="utf-8"))["base_model"]
        except (ValueError, KeyError, TypeError) as err:
            raise ModelFolderError(f"{folder / ADAPTER_INFO}: damaged ({type(err).__name__}: {err}); train "
                                   "again with --lora.") from err
        return folder
    config = folder / "config.json"
    if not config.is_file():
        raise ModelFolderError(f"{folder}: config.json missing, so this is not a saved model. Pass the "
                               "folder that `llmstart train --out DIR` (or save_model) wrote.")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ModelFolderError(f"{config}: not valid JSON ({err}); the folder is damaged, save the "
                               "model again.") from err
    if not data.get("id2label"):
        raise ModelFolderError(f"{config}: no id2label, so this is not a classifier.")
    if not (folder / "model.safetensors").is_file():
        raise ModelFolderError(f"{folder}: model.safetensors missing; the folder is incomplete, save "
                               "the model again (llmstart only loads safetensors).")
    if not any((folder / n).is_file() for n in ("tokenizer.json", "vocab.txt", "tokenizer_config.json")):
        raise ModelFolderError(f"{folder}: no tokenizer files; save the model with its tokenizer "
                               "(save_model(model, folder, tokenizer)).")
    return folder
