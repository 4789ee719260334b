"""Under DDP the monitor sees the synchronized gradients (equal on every rank); rank 0 writes."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from gradtrace.monitor import Monitor, read_jsonl

WORLD = 2


class TinyGRU(nn.Module):
    """Embedding -> GRU -> linear over 7 tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(7, 4)
        self.gru = nn.GRU(4, 6, batch_first=True)
        self.decoder = nn.Linear(6, 7)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.gru(self.embed(tokens))[0])


def _worker(rank: int, folder: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{folder}/store", rank=rank, world_size=WORLD
    )
    torch.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(TinyGRU())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    local = TinyGRU()  # the same weights without DDP: its gradients are this rank's alone
    local.load_state_dict(model.module.state_dict())
    reference, unsynchronized = [], []
    sinks = [f"{folder}/rank{rank}.jsonl"]
    with Monitor(model, opt, sinks=sinks, profile_every=2) as monitor:
        for step in range(3):
            g = torch.Generator().manual_seed(100 * rank + step)  # different data on each rank
            tokens = torch.randint(0, 7, (4, 9), generator=g)
            for m in (model, local):
                m.zero_grad()
                logits = m(tokens[:, :-1])
                nn.functional.cross_entropy(
                    logits.reshape(-1, 7), tokens[:, 1:].reshape(-1)
                ).backward()
            reference.append(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]))
            unsynchronized.append(
                torch.nn.utils.get_total_norm([p.grad for p in local.parameters()])
            )
            local.load_state_dict(model.module.state_dict())
            opt.step()
            local.load_state_dict(model.module.state_dict())
    torch.save(
        {
            "norms": monitor.history.series["global_norm"],
            "layers": sorted(monitor.history.layers()),
            "profiles": [p.step for p in monitor.history.profiles],
            "reference": [t.item() for t in reference],
            "local": [t.item() for t in unsynchronized],
        },
        f"{folder}/rank{rank}.pt",
    )
    dist.barrier()
    dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_norms_are_of_synchronized_gradients_and_only_rank0_writes(tmp_path):
    assert dist.is_available(), "the pinned torch build ships torch.distributed (gloo)"
    # fork: the workers need not import torch again (spawn costs seconds per process)
    mp.start_processes(_worker, args=(str(tmp_path),), nprocs=WORLD, start_method="fork")
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    assert ranks[0]["norms"] == ranks[1]["norms"]  # all-reduced gradients: the same everywhere
    for r in ranks:
        assert r["norms"] == pytest.approx(r["reference"], rel=1e-6)
    assert ranks[0]["local"] != pytest.approx(ranks[1]["local"], rel=1e-3)  # the data differ
    assert ranks[0]["layers"] == ["decoder", "embed", "gru.l0"]  # no "module." prefix
    assert [r["step"] for r in read_jsonl(tmp_path / "rank0.jsonl", kind="step")] == [0, 1, 2]
    profiles = read_jsonl(tmp_path / "rank0.jsonl", kind="profile")
    assert [r["step"] for r in profiles] == [0, 2]  # traced through the DDP wrapper
    assert [row["name"] for row in profiles[0]["layers"]] == ["gru.l0"]
    assert ranks[1]["profiles"] == [0, 2]  # every rank traces; only rank 0 writes
    assert not (tmp_path / "rank1.jsonl").exists()
