"""A plain Stable-Baselines3 script with robot6's checkpoints: run it, stop it whenever you like
(Ctrl-C, a crash, a power cut), run it again, and it continues exactly where the last
checkpoint left off.

    python examples/resumable_sac.py                 # 4,000 env steps, 2 envs
    python examples/resumable_sac.py --steps 8000    # run again: 8,000 more from latest.pth
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stable_baselines3 import SAC
from stable_baselines3.common.env_util import make_vec_env

from robot6_sb3 import ResumableCheckpointCallback, load_resumable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=4_000, help="env steps to train this time")
    parser.add_argument("--folder", type=Path, default=Path("my_run"), help="where the run lives")
    parser.add_argument("--net-arch", type=int, nargs="+", default=[128, 128])
    args = parser.parse_args()

    env = make_vec_env("Robot6Reach-v0", n_envs=2, seed=0)
    latest = args.folder / "checkpoints" / "latest.pth"
    if latest.exists():
        # Weights, optimizers, counters, random generators, env state and replay buffer.
        model, callback = load_resumable(latest, env)
        print(f"Resuming at step {model.num_timesteps}, episode {callback.episodes_completed}")
    else:
        model = SAC(
            "MlpPolicy",
            env,
            learning_rate=1e-3,
            batch_size=256,
            gamma=0.95,
            tau=0.05,
            ent_coef="auto_0.1",
            learning_starts=1_000,
            policy_kwargs={"net_arch": args.net_arch},
            seed=0,
        )
        callback = ResumableCheckpointCallback(
            args.folder / "checkpoints", args.folder / "logs", save_every=20
        )
    model.learn(args.steps, callback=callback, reset_num_timesteps=False)
    print(f"Saved: {latest} (episode {callback.episodes_completed}, step {model.num_timesteps})")
    env.close()


if __name__ == "__main__":
    main()
