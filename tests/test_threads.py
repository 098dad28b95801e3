"""The simulator shares the machine: it never changes the user's torch thread count, and small kernel
launches run on one thread (a one-world step must not wait for a thread another process has)."""

import subprocess
import sys

import pytest

from recsim_marl.models import _kernels

pytestmark = pytest.mark.skipif(not _kernels.available(), reason="numba is not installed")


def test_user_thread_count_survives_the_kernels():
    # in a fresh process: numba's OpenMP layer starts on the first kernel launch and used to set the
    # process's OpenMP thread count to its own (torch then reported and used 2 after set_num_threads(1))
    code = """
import torch
torch.set_num_threads(1)
import recsim_marl
for b in (1, 64):
    v = recsim_marl.make_vec(b, scenario="default", encoder="hash")
    v.reset(seed=0)
    v.step({g: torch.zeros(b, v.num_agents[g], dtype=torch.long) for g in ("users", "items")})
    assert torch.get_num_threads() == 1, torch.get_num_threads()
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_small_launches_run_on_one_thread():
    import numba
    import torch

    import recsim_marl

    v = recsim_marl.make_vec(1, scenario="tiny")
    v.reset(seed=0)
    v.step({g: torch.zeros(1, v.num_agents[g], dtype=torch.long) for g in ("users", "items")})
    assert numba.get_num_threads() == 1  # the last launch was small
    assert _kernels._use_torch_threads(numba, _kernels.SERIAL_WORK) == min(
        torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)


def test_a_small_step_runs_on_one_thread_and_gives_the_users_threads_back(monkeypatch):
    # two processes stepping one world each kept 0.1x of one alone: idle OpenMP threads spun for the
    # other's cores. A step below SERIAL_STEP_WORK runs on one torch thread; the user's count comes back
    import torch

    import recsim_marl

    v = recsim_marl.make_vec(1, scenario="tiny", encoder="hash")
    v.reset(seed=0)
    seen = []
    inner = v._step
    monkeypatch.setattr(v, "_step", lambda *a: (seen.append(torch.get_num_threads()), inner(*a))[1])
    acts = {g: torch.zeros(1, v.num_agents[g], dtype=torch.long) for g in ("users", "items")}
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        v.step(acts)
        assert seen[-1] == 1 and torch.get_num_threads() == 2
        monkeypatch.setattr(_kernels, "SERIAL_STEP_WORK", 0)  # as if the step were large: the user's threads
        v.step(acts)
        assert seen[-1] == 2 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
