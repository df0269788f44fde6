"""Training progress in a log: whole lines, no carriage returns, a bounded number of them."""

from __future__ import annotations

import io

import torch
from torch.utils.data import DataLoader

from llmstart.train import TrainConfig, fit
from llmstart.train.progress import LineProgress, progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_not_a_terminal_gets_a_line_every_ten_percent_and_no_carriage_return():
    log = io.StringIO()
    bar = progress_bar(total=335, desc="training", file=log)  # the 335 redraws of the 66 s run
    assert isinstance(bar, LineProgress)
    for step in range(335):
        bar.update(1)
        bar.set_postfix(loss=f"{1 / (step + 1):.4f}", refresh=False)
    bar.close()
    text = log.getvalue()
    assert "\r" not in text and len(text.splitlines()) == 10
    assert text.splitlines()[0].startswith("training: 10% (34/335 steps), loss ")
    assert text.splitlines()[-1].startswith("training: 100% (335/335 steps)") and "left" not in text.splitlines()[-1]


def test_a_terminal_keeps_tqdm_bar_and_a_resumed_run_counts_from_its_step():
    screen = Terminal()
    bar = progress_bar(total=20, file=screen)
    for _ in range(20):
        bar.update(1)
    bar.close()
    assert not isinstance(bar, LineProgress) and "\r" in screen.getvalue()  # the bar redraws in place
    log = io.StringIO()
    resumed = progress_bar(total=100, initial=55, file=log)
    for _ in range(45):
        resumed.update(1)
    assert [line.split(" (")[0] for line in log.getvalue().splitlines()] == [
        "training: 60%", "training: 70%", "training: 80%", "training: 90%", "training: 100%"]
    assert progress_bar(total=5, disable=True, file=io.StringIO()).disable  # --no-progress: tqdm, silent


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)

    def forward(self, x, labels):
        logits = self.lin(x)
        return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}


def test_fit_writes_whole_lines_when_its_output_is_captured(capsys):
    """pytest's capture is not a terminal, as `llmstart train > run.log` is not."""
    data = [{"x": torch.tensor([float(i % 2), 1.0]), "labels": i % 2} for i in range(64)]
    loader = DataLoader(data, batch_size=2)
    fit(Tiny(), loader, loader, TrainConfig(epochs=5, lr=0.1, precision="fp32"), cpu=True,
        progress=True)  # 160 steps
    out, err = capsys.readouterr()
    assert "\r" not in out + err
    progress = [line for line in err.splitlines() if line.startswith("training: ")]
    assert len(progress) == 10 and progress[-1].startswith("training: 100% (160/160 steps), loss ")
    assert out.startswith("fit: cpu, fp32") and "training: 160/160 steps" in out
