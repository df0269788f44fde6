"""Train the tiny classifier once; run alone or under torchrun / accelerate launch (2 CPU processes).

Usage: python tests/ddp_run.py OUT.safetensors [--accum N] [--batch B]
The loader's batch is the global batch; with 2 processes each sees half of it.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from accelerate import PartialState  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from conftest import synthetic_frame, tiny_bert  # noqa: E402
from llmstart.data import make_loader  # noqa: E402
from llmstart.models.pretrained import load_tokenizer  # noqa: E402
from llmstart.train import TrainConfig, fit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--accum", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()

    frame = synthetic_frame(96)
    names = sorted(frame.label.unique())
    tok = load_tokenizer("minilm")
    # No length grouping: then batch k of size 16 is exactly batches 2k and 2k+1 of size 8,
    # so runs with different micro-batch sizes see the same global batches.
    loader = make_loader(frame, tok, names, batch_size=args.batch, shuffle=True, seed=0,
                         group_by_length=False)
    val = make_loader(frame.iloc[:48], tok, names, batch_size=16)
    model = tiny_bert(dropout=0.0)
    history = fit(model, loader, val,
                  TrainConfig(epochs=4, lr=3e-3, grad_accum_steps=args.accum, precision="fp32", restore_best=False, seed=0),
                  progress=False)
    if PartialState().is_main_process:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, args.out)
        print(f"processes={history.num_processes} device={history.device} steps={history.steps[-1]['step']} "
              f"loss={history.steps[-1]['loss']:.6f} val_acc={history.evals[-1]['accuracy']:.4f}")


if __name__ == "__main__":
    main()
