"""The DDP script, launched for real: two processes on 127.0.0.1 (gloo on CPU) end with identical
weights and a falling loss; and its small helpers, with bad input."""

import json
import os
import subprocess

import pytest
import torch

from projects.experiments import ddp_training
from projects.experiments.models import make_mlp


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    command = ddp_training.torchrun_command(
        ["--epochs", "2", "--train-size", "2000", "--val-size", "500", "--backend", "gloo",
         "--weights-dir", out / "weights", "--checkpoint-dir", out / "checkpoint"], nproc_per_node=2)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, f"torchrun failed:\n{result.stdout}\n{result.stderr}"
    return out, result.stdout


def test_both_ranks_end_with_identical_weights(two_process_run):
    out, _ = two_process_run
    ranks = [torch.load(out / "weights" / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert ranks[0]["digest"] == ranks[1]["digest"]
    assert ranks[0]["state_dict"].keys() == ranks[1]["state_dict"].keys()
    for name, tensor in ranks[0]["state_dict"].items():
        assert torch.equal(tensor, ranks[1]["state_dict"][name]), name
    # ...and they did train: the final weights differ from the seeded initial ones
    torch.manual_seed(0)
    initial = make_mlp(128, 1).state_dict()
    assert not torch.equal(initial["1.weight"], ranks[0]["state_dict"]["1.weight"])


def test_each_rank_saw_half_the_data_and_the_loss_falls(two_process_run):
    out, log = two_process_run
    history = json.loads((out / "checkpoint" / "ddp_history.json").read_text())
    assert history["world_size"] == 2 and history["backend"] == "gloo" and history["effective_batch"] == 64
    assert history["lr"] == pytest.approx(2 * 0.05)  # the linear scaling rule
    assert history["epoch_loss"][-1] < 0.6 * history["epoch_loss"][0]
    steps = torch.tensor(history["step_loss"])
    assert len(steps) == 2 * 32  # 1000 images per process / 32 per step, rounded up, times 2 epochs
    assert steps[-10:].mean() < 0.5 * steps[:10].mean()
    assert history["val_accuracy"] > 0.8
    assert (out / "checkpoint" / "ddp_mlp.pt").is_file()
    # rank 0 alone logs
    assert "[rank 0] epoch 2/2" in log and "[rank 1]" not in log


def test_without_torchrun_the_script_says_how_to_launch(monkeypatch, tmp_path):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="torchrun"):
        ddp_training.main(["--checkpoint-dir", str(tmp_path)])
    assert not any(tmp_path.iterdir())


def test_bad_flags_are_refused(capsys):
    for argv, message in [(["--epochs", "0"], "--epochs must be at least 1"),
                          (["--lr", "-1"], "--lr must be positive"),
                          (["--backend", "mpi"], "invalid choice: 'mpi'")]:
        with pytest.raises(SystemExit):
            ddp_training.parse_args(argv)
        assert message in capsys.readouterr().err


def test_backend_choice_and_scaling_rules():
    expected = "nccl" if torch.cuda.is_available() else "gloo"
    assert ddp_training.choose_backend("auto", 1) == expected
    assert ddp_training.choose_backend("gloo") == "gloo"
    with pytest.raises(ValueError, match="backend must be one of"):
        ddp_training.choose_backend("mpi")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="needs CUDA"):
            ddp_training.choose_backend("nccl")
    assert ddp_training.scaled_learning_rate(0.05, 4) == pytest.approx(0.2)
    assert ddp_training.scaled_learning_rate(0.05, 4, scale=False) == 0.05
    with pytest.raises(ValueError, match="world_size"):
        ddp_training.scaled_learning_rate(0.05, 0)
    assert [ddp_training.warmup_factor(s, 4) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert ddp_training.warmup_factor(0, 0) == 1.0


def test_digest_and_command():
    torch.manual_seed(0)
    a = make_mlp(8, 1)
    torch.manual_seed(0)
    b = make_mlp(8, 1)
    assert ddp_training.weights_digest(a) == ddp_training.weights_digest(b)
    with torch.no_grad():
        b[1].weight[0, 0] += 1e-6
    assert ddp_training.weights_digest(a) != ddp_training.weights_digest(b)
    command = ddp_training.torchrun_command(["--epochs", "1"], nproc_per_node=3, port=12345)
    assert command[1:3] == ["-m", "torch.distributed.run"]
    assert "--nproc_per_node=3" in command and "--master_addr=127.0.0.1" in command and "--master_port=12345" in command
    assert command[-2:] == ["--epochs", "1"]
    with pytest.raises(ValueError, match="nproc_per_node"):
        ddp_training.torchrun_command(nproc_per_node=0)
    assert 0 < ddp_training.free_port() < 65536
