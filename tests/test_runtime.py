"""dcgan_lib.core.runtime: the helpers every layer shares."""
import os

import pytest
import torch
from torch import nn

from dcgan_lib.core.runtime import cores_here, evaluating, frozen, pick_device, show_progress, side_by_side


def test_evaluating_restores_each_models_mode_also_after_an_error():
    a, b = nn.BatchNorm1d(2), nn.BatchNorm1d(2).eval()
    with evaluating(a, b):
        assert not a.training and not b.training
    assert a.training and not b.training
    with pytest.raises(RuntimeError), evaluating(a):
        raise RuntimeError("boom")
    assert a.training


def test_frozen_blocks_gradients_for_the_weights_not_through_them():
    layer, x = nn.Linear(2, 1), torch.ones(1, 2, requires_grad=True)
    with frozen(layer):
        layer(x).sum().backward()
    assert layer.weight.grad is None and x.grad is not None and layer.weight.requires_grad


def test_device_and_progress_switches(monkeypatch):
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("DCGAN_PROGRESS", "0")
    assert show_progress() is False and show_progress(True) is True


def test_a_machine_is_busy_when_its_load_exceeds_one_and_a_half_per_cpu(monkeypatch):
    import os

    from dcgan_lib.core.runtime import machine_busy

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert not machine_busy(2.9) and machine_busy(3.1) and machine_busy(5.0, factor=2) is True
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    assert not machine_busy()


def test_other_work_is_measured_while_a_block_runs():
    import subprocess
    import sys
    import time

    from dcgan_lib.core.runtime import other_work

    with other_work() as quiet:
        sum(i * i for i in range(2_000_000))                    # this process's own work does not count
    spin = "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass"
    busy_loops = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.3)
        with other_work() as crowded:
            time.sleep(0.8)
    finally:
        for loop in busy_loops:
            loop.wait()
    assert crowded.share > 0.5 and crowded.busy, crowded
    assert quiet.share < crowded.share


def where_it_ran(tag: int) -> tuple[int, int, int]:
    """A job for side_by_side: its tag, the process it ran in and that process's torch threads."""
    if tag < 0:
        raise ValueError(f"tag={tag}")
    return tag, os.getpid(), torch.get_num_threads()


def test_side_by_side_runs_jobs_in_one_thread_workers_in_order_and_re_raises_their_errors():
    jobs = [{"tag": t} for t in range(5)]
    results = side_by_side(where_it_ran, jobs, device="cpu", workers=2, progress=False)
    assert [r[0] for r in results] == list(range(5))
    pids = {r[1] for r in results}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert all(r[2] == 1 for r in results)
    with pytest.raises(ValueError, match="tag=-1"):
        side_by_side(where_it_ran, [{"tag": 1}, {"tag": -1}], device="cpu", workers=2, progress=False)


def test_pools_do_not_nest_a_one_thread_lane_runs_its_jobs_here(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")        # as a book build's lane sets it
    assert cores_here() == 1
    results = side_by_side(where_it_ran, [{"tag": t} for t in range(3)], device="cpu", progress=False)
    assert {r[1] for r in results} == {os.getpid()}
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert cores_here() == (os.cpu_count() or 1)


def test_side_by_side_with_one_worker_runs_here_and_consumes_a_generator_lazily():
    consumed = []

    def jobs(tags):
        for t in tags:
            consumed.append(t)
            yield {"tag": t}

    results = side_by_side(where_it_ran, jobs([0, 1, 2]), device="cpu", workers=1, progress=False)
    assert [r[:2] for r in results] == [(t, os.getpid()) for t in range(3)]
    consumed.clear()
    with pytest.raises(ValueError):
        side_by_side(where_it_ran, jobs([0, -1, 2]), device="cpu", workers=1, progress=False)
    assert consumed == [0, -1]   # the job after the failing one was never made
