"""GAE and the PPO losses on numbers worked out by hand."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.train


def t(*xs):
    import torch

    return torch.tensor(xs, dtype=torch.float32)


def test_gae_monte_carlo_when_lambda_is_one():
    from trainers.ppo import gae

    adv, ret = gae(t(0, 0, 1), t(0.5, 0.5, 0.5), last_value=0.0, gamma=1.0, lam=1.0)
    assert adv.tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert ret.tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_gae_discounted():
    from trainers.ppo import gae

    # delta2 = 1 - .5 = .5; delta1 = .9*.5 - .5 = -.05 -> A1 = -.05 + .45*.5 = .175;
    # delta0 = -.05 -> A0 = -.05 + .45*.175 = .02875
    adv, ret = gae(t(0, 0, 1), t(0.5, 0.5, 0.5), last_value=0.0, gamma=0.9, lam=0.5)
    assert adv.tolist() == pytest.approx([0.02875, 0.175, 0.5])
    assert ret.tolist() == pytest.approx([0.52875, 0.675, 1.0])


def test_gae_bootstraps_a_truncated_episode():
    from trainers.ppo import gae

    adv, ret = gae(t(0, 0, 1), t(0.5, 0.5, 0.5), last_value=2.0, gamma=1.0, lam=1.0)
    assert adv.tolist() == pytest.approx([2.5, 2.5, 2.5])
    assert ret.tolist() == pytest.approx([3.0, 3.0, 3.0])


def test_clipped_policy_loss():
    from trainers.ppo import policy_loss

    logprobs = t(math.log(1.5), math.log(0.5), 0.0)
    old = t(0, 0, 0)
    adv = t(1, 1, -1)
    # ratios 1.5, .5, 1: max(-A r, -A clip(r)) = -1.2, -.5, 1
    loss, approx_kl, clipfrac = policy_loss(logprobs, old, adv, t(1, 1, 1), clip_coef=0.2)
    assert float(loss) == pytest.approx((-1.2 - 0.5 + 1.0) / 3)
    assert float(clipfrac) == pytest.approx(2 / 3)
    assert float(approx_kl) == pytest.approx((0.5 - math.log(1.5) - 0.5 - math.log(0.5)) / 3)
    loss, _, _ = policy_loss(logprobs, old, adv, t(1, 1, 0), clip_coef=0.2)  # padding is masked
    assert float(loss) == pytest.approx((-1.2 - 0.5) / 2)


def test_policy_loss_gradient_vanishes_when_clipped():
    import torch

    from trainers.ppo import policy_loss

    logprobs = torch.tensor([math.log(1.5)], requires_grad=True)
    loss, _, _ = policy_loss(logprobs, t(0), t(1), t(1), clip_coef=0.2)
    loss.backward()
    assert float(logprobs.grad) == 0.0  # ratio above 1 + eps with A > 0: no push further


def test_clipped_value_loss():
    from trainers.ppo import value_loss

    # t0: (1-1)^2 = 0 vs clipped .7 -> .09; t1: (0-1)^2 = 1 vs clipped .3 -> .49
    loss = value_loss(t(1.0, 0.0), t(0.5, 0.5), t(1.0, 1.0), t(1, 1), clip_coef=0.2)
    assert float(loss) == pytest.approx(0.5 * (0.09 + 1.0) / 2)
    unclipped = value_loss(t(1.0, 0.0), t(0.5, 0.5), t(1.0, 1.0), t(1, 1), clip_coef=0.0)
    assert float(unclipped) == pytest.approx(0.5 * (0 + 1.0) / 2)


def test_explained_variance():
    from trainers.ppo import explained_variance

    target = t(1, 2, 3, 4)
    assert explained_variance(target, target) == pytest.approx(1.0)
    assert explained_variance(t(2.5, 2.5, 2.5, 2.5), target) == pytest.approx(0.0)
    assert math.isnan(explained_variance(t(0, 0), t(1, 1)))


def test_config_checks_name_the_value():
    from trainers.ppo import PPOConfig

    with pytest.raises(ValueError, match="gae_lambda must be in \\[0, 1\\], got 1.5"):
        PPOConfig(model="m", tasks="t", output_dir="o", gae_lambda=1.5)
    with pytest.raises(ValueError, match="minibatch_size must be at least 1, got 0"):
        PPOConfig(model="m", tasks="t", output_dir="o", minibatch_size=0)


def test_next_batch_repeats_each_task_and_sees_all_before_repeating():
    import random

    from trainers.ppo import next_batch

    tasks, order, rng = list("abcde"), [], random.Random(0)
    first = next_batch(tasks, order, rng, episodes=4, samples=2)
    assert len(first) == 4 and first[0] == first[1] and first[2] == first[3] != first[0]
    second = next_batch(tasks, order, rng, episodes=4, samples=2)
    assert len(set(first[::2] + second[::2])) == 4  # four distinct tasks before the refill
    third = next_batch(tasks, order, rng, episodes=4, samples=2)
    assert third[0] not in first + second  # the fifth task comes before any repeat
    single = next_batch(tasks, [], random.Random(1), episodes=5, samples=1)
    assert sorted(single) == tasks


def test_samples_per_task_must_divide_the_batch(tmp_path):
    from trainers.ppo import PPOConfig

    with pytest.raises(ValueError, match="multiple of samples_per_task"):
        PPOConfig(model="m", tasks="t", output_dir=str(tmp_path), episodes_per_iter=6,
                  samples_per_task=4)


def test_leave_one_out_compares_each_sample_with_the_others_of_its_task():
    from trainers.ppo import leave_one_out

    returns = [1.0, 0.0, 0.0, 0.0, 0.0, 0.5]
    groups = ["a", "a", "b", "b", "c", "d"]
    # a: 1 - 0 and 0 - 1; b: all alike, no push; c: alone, no baseline; d: alone
    assert leave_one_out(returns, groups) == [1.0, -1.0, 0.0, 0.0, 0.0, 0.0]
    assert leave_one_out([3.0, 1.0, 2.0], ["t"] * 3) == pytest.approx([1.5, -1.5, 0.0])


def test_group_baseline_needs_several_samples(tmp_path):
    from trainers.ppo import PPOConfig

    with pytest.raises(ValueError, match="baseline=group needs samples_per_task >= 2"):
        PPOConfig(model="m", tasks="t", output_dir=str(tmp_path), baseline="group")
    with pytest.raises(ValueError, match="baseline must be value or group"):
        PPOConfig(model="m", tasks="t", output_dir=str(tmp_path), baseline="mean")
