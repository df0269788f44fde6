"""Data for text classification, in the order a run meets it: read → validate → split → batch.

- :mod:`~llmstart.data.read`: :func:`read_table` (CSV/TSV/JSONL/Parquet/.xlsx, encoding checked)
- :mod:`~llmstart.data.spreadsheet`: :func:`read_spreadsheet` (one sheet of an .xlsx workbook)
- :mod:`~llmstart.data.validate`: :func:`validate_frame`, :class:`DataValidationError`
- :mod:`~llmstart.data.load`: :func:`load_data` (a course corpus, a file, a DataFrame, a Hub id)
- :mod:`~llmstart.data.split`: :func:`split_frame` (stratified, de-duplicated), :class:`Splits`
- :mod:`~llmstart.data.unknown_tokens`: :func:`check_coverage` (can the tokenizer read the text?)
- :mod:`~llmstart.data.batches`: :func:`make_loader` (tokenise once, dynamic padding, length grouping)

>>> splits = split_frame(load_data("bbc_news"), seed=0)
>>> splits.label_names
['business', 'entertainment', 'politics', 'sport', 'tech']
"""

from llmstart.data.batches import EncodedDataset, LengthGroupedBatchSampler, encode, make_loader
from llmstart.data.load import load_data
from llmstart.data.read import read_table
from llmstart.data.split import Splits, check_splits, split_frame
from llmstart.data.unknown_tokens import (
           Coverage,
           TokenizerCoverageError,
           check_coverage,
           unknown_token_rate,
)
from llmstart.data.validate import (
           DataValidationError,
           label_names_of,
           label_strings,
           validate_frame,
)

__all__ = ["Coverage", "DataValidationError", "TokenizerCoverageError", "check_coverage", "unknown_token_rate", "EncodedDataset", "LengthGroupedBatchSampler", "Splits", "check_splits",
           "encode", "label_names_of", "label_strings", "load_data", "make_loader", "read_table",
           "split_frame", "validate_frame"]
