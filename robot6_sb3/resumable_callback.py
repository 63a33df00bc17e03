"""``ResumableCheckpointCallback``: one SB3 callback that makes any supported run safe to stop
at any moment and resume exactly (SPEC 4-8).

At each episode's consistent point (see :mod:`robot6_sb3.episodes`) it appends the episode's
CSV row and TensorBoard scalars, the replay rows added since the last save, and writes
``latest.pth`` (plus ``best.pth`` and ``ckpt_ep_N.pth`` when due), all in that order on one
background thread, so training does not wait for the disk and no file ever runs ahead of the
checkpoint that covers it.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym

from robot6_sb3.checkpoint import Progress, build_checkpoint
from robot6_sb3.env_state import capture_env_state
from robot6_sb3.episodes import EpisodeEndCallback, EpisodeRecord
from robot6_sb3.errors import Robot6Warning, TrainingDivergedError
from robot6_sb3.layout import (
    BEST_EVAL,
    BEST_EVAL_NAME,
    BEST_NAME,
    ENV_STATE,
    EVAL_COLUMNS,
    LATEST_NAME,
    MODEL,
    REPLAY,
    RNG_STATE,
    periodic_name,
)
from robot6_sb3.model_state import actor_is_finite, apply_noise, non_finite_parts
from robot6_sb3.periodic_evaluation import PeriodicEvaluation, eval_env_like
from robot6_sb3.replay_recorder import ReplayRecorder
from robot6_sb3.resume_point import ResumePoint, new_run_id, prepare_run_folders
from robot6_sb3.rng import capture_rng, restore_rng
from robot6_sb3.run_files import RunFiles, SaveJob
from robot6_sb3.run_identity import RunIdentity
from robot6_sb3.run_metadata import RunMetadata
from robot6_sb3.run_settings import RunSettings
from robot6_sb3.supported_setups import check_supported_setup, has_state_protocol


class InexactResumeWarning(Robot6Warning):
    """Checkpoints of this run will be written, but resuming them will not be exact."""


class ResumableCheckpointCallback(EpisodeEndCallback):
    """Writes a run's checkpoints and logs so it can stop at any moment and resume exactly.

    After every episode it writes ``latest.pth`` in ``save_path``, ``best.pth`` when an
    episode beats the best reward so far, and ``ckpt_ep_N.pth`` when the run's episode count
    reaches a multiple of ``save_every`` (with several envs, episodes end in groups: N is the
    count at the first save at or past each multiple). It appends one row per episode to
    ``training.csv`` and writes TensorBoard events in ``log_path``. The checkpoints hold the
    networks, optimizers, entropy coefficient, SB3's counters, every random generator, each
    sub-env's state and (through the replay log in ``save_path/replay``) the replay buffer;
    :func:`robot6_sb3.load_resumable` continues the run from any of them.

    Supported: SAC, TQC, TD3, DDPG and CrossQ; ``DummyVecEnv`` and ``SubprocVecEnv`` of
    ``Monitor``-wrapped envs; Box and Dict observations; ``ReplayBuffer``,
    ``DictReplayBuffer``, ``HerReplayBuffer`` and n-step returns. Anything else is refused
    when training starts, before a file is written. Resuming is exact when the env offers the
    state protocol (``get_state()``/``set_state()``); otherwise the checkpoints say they are
    not, and one :class:`InexactResumeWarning` says why.

    :param save_path: the run's checkpoint folder (e.g. ``checkpoints/<run>``); its name is
        the run's name. It must not hold another run's checkpoints.
    :param log_path: the run's log folder (e.g. ``runs/<run>``) for ``training.csv`` and
        TensorBoard events; ``None`` puts them in ``save_path``
    :param save_every: completed episodes between two ``ckpt_ep_N.pth`` files
    :param keep_last: keep only this many newest ``ckpt_ep_N.pth`` files (``None``: all);
        ``latest.pth`` and ``best.pth`` always stay
    :param replay_log: log the replay buffer, which exact resume needs (about 0.2 KB per
        transition of the robot6 env); ``False`` saves disk, and a resume then starts with an
        empty buffer
    :param eval_every: evaluate the policy deterministically every this many completed
        episodes, in an env of its own; the best evaluation is kept as ``best_eval.pth`` and
        each one is logged to ``evaluations.csv`` and TensorBoard (``eval/*``); ``None``: no
        evaluations
    :param eval_episodes: episodes per evaluation
    :param eval_env: builds the evaluation env (default: ``gym.make`` of the training env's
        id and kwargs)
    :param verbose: 0 no output, 1 warnings and a line when a stop discards unsaved episodes
    :param labels: plain values stored in every checkpoint's metadata (e.g. a sweep's study and
        trial); they survive resumes and forks
    """

    def __init__(
        self,
        save_path: str | os.PathLike[str],
        log_path: str | os.PathLike[str] | None = None,
        save_every: int = RunSettings.save_every,
        keep_last: int | None = RunSettings.keep_last,
        replay_log: bool = RunSettings.replay_log,
        verbose: int = 1,
        labels: dict[str, Any] | None = None,
        eval_every: int | None = RunSettings.eval_every,
        eval_episodes: int = RunSettings.eval_episodes,
        eval_env: Callable[[], gym.Env] | None = None,
    ) -> None:
        super().__init__(start_episode=0, verbose=verbose)
        self.save_path = Path(save_path)
        self.log_path = Path(log_path) if log_path is not None else self.save_path
        self.settings = RunSettings(
            save_every=save_every,
            keep_last=keep_last,
            replay_log=replay_log,
            eval_every=eval_every,
            eval_episodes=eval_episodes,
            log_dir=RunSettings.relative_log_dir(self.log_path, self.save_path),
        )
        """The run's settings as its checkpoints record them (checked here: a value out of
        range raises :class:`~robot6_sb3.config_fields.ConfigError`, a ``ValueError``)."""
        self.labels = dict(labels or {})
        self._eval_env = eval_env
        self._evaluation: PeriodicEvaluation | None = None
        self.best_reward = -math.inf
        self.last_saved_step: int | None = None
        """``global_step`` of the newest save in this session (``None`` before the first)."""
        self.last_saved_episode: int | None = None
        """Episodes the newest save of this session holds (``None`` before the first)."""
        self.metadata: RunMetadata | None = None
        self._resume: ResumePoint | None = None
        self._restore_randomness: dict[str, Any] | None = None
        self._run_id = new_run_id()
        self._recorder: ReplayRecorder | None = None
        self._env_protocol = False
        self._timesteps_at_save = 0
        self._wall_time_offset = 0.0
        self._started = time.monotonic()
        self._prepared = False
        self._files = RunFiles(self.save_path, self.log_path)

    @property
    def run_name(self) -> str:
        return self.save_path.name

    def _continue_from(self, resume: ResumePoint) -> None:
        """Make this callback continue the run (or fork) at ``resume`` (for load_resumable)."""
        self._resume = resume
        if resume.continues:
            self._run_id = resume.metadata.run_id
        self.episodes_completed = resume.episode
        self.best_reward = resume.best_reward
        self._wall_time_offset = resume.wall_time
        self._restore_randomness = resume.randomness

    # -- setup ------------------------------------------------------------------------------

    def _init_callback(self) -> None:
        check_supported_setup(self.model, self.training_env, self.settings.replay_log)
        if not self._prepared:
            if self._resume is not None and self.model.num_timesteps != self._resume.global_step:
                raise ValueError(
                    f"this model continues run {self._resume.metadata.run_name} at global_step "
                    f"{self._resume.global_step}, but learn() reset its counters to "
                    f"{self.model.num_timesteps}; call learn(..., reset_num_timesteps=False)"
                )
            self._env_protocol = has_state_protocol(self.training_env)
            self.metadata = RunMetadata.of_run(
                self.model,
                self.run_name,
                self._run_id,
                self.settings,
                origin=self._resume.metadata if self._resume else None,
                parent=self._resume.parent() if self._resume else None,
                labels=self.labels,
            )
            self._warn_if_inexact()
        self._open()
        self._prepared = True
        self._timesteps_at_save = int(self.model.num_timesteps)
        self._started = time.monotonic()

    def _warn_if_inexact(self) -> None:
        assert self.metadata is not None
        if self.metadata.inexact_reasons and self.verbose >= 1:
            warnings.warn(
                f"checkpoints of run {self.run_name} will not resume exactly: "
                + "; ".join(self.metadata.inexact_reasons),
                InexactResumeWarning,
                stacklevel=2,
            )

    def _open(self) -> None:
        """Take the run's lock, prepare its folders once, and open the logs and the writer."""
        first = not self._prepared
        self._files.lock()
        try:
            rebuilt = self._prepare(self.model.replay_buffer) if first else []
            continued = first and self._resume is not None and self._resume.continues
            resumed_step = self._resume.global_step if continued and self._resume else None
            evaluations = self.settings.eval_every is not None
            self._files.open(self.model.logger, resumed_step, rebuilt, evaluations)
        except BaseException:
            self.close()
            raise

    def _prepare(self, buffer: Any) -> list[EpisodeRecord]:
        """What only the first ``learn`` of the run does: check the folders are this run's and
        put the files a resume continues in the checkpoint's state; returns the episodes
        rebuilt for a deleted log."""
        identity = RunIdentity(self.run_name, self._run_id)
        rebuilt = prepare_run_folders(self.save_path, self.log_path, identity, self._resume)
        if self.settings.replay_log:
            lineage = self._resume.lineage if self._resume else []
            self._recorder = ReplayRecorder(self.run_name, self._run_id, lineage)
            self._recorder.adopt(buffer, resumed=self._resume is not None)
        if self.settings.eval_every is not None:
            assert self.metadata is not None
            self._evaluation = PeriodicEvaluation(
                self.settings.eval_every,
                self.settings.eval_episodes,
                self._eval_env or eval_env_like(self.metadata.env_id, self.metadata.env_kwargs),
                best=self._resume.best_evaluation if self._resume else None,
            )
        return rebuilt

    # -- training ---------------------------------------------------------------------------

    def _on_rollout_start(self) -> None:
        if self._restore_randomness is not None:
            # After SB3's learn() has reset the action noise and before the first action.
            state, self._restore_randomness = self._restore_randomness, None
            if state.get(RNG_STATE) is not None:
                restore_rng(self.model.action_space, state[RNG_STATE])
            apply_noise(self.model.action_noise, state.get("action_noise"))
        if not actor_is_finite(self.model):
            self._diverged(["actor"])
        super()._on_rollout_start()

    def _on_episodes_complete(self, records: list[EpisodeRecord]) -> None:
        self._save(records)

    def _save(self, records: list[EpisodeRecord]) -> None:
        """Save at a consistent point after ``records`` ended (none: ``learn`` ended between
        episodes, and only ``latest.pth`` moves on)."""
        assert self.metadata is not None
        episode = self.episodes_completed
        targets = []
        if records:
            rewards = [record.reward for record in records]
            targets = [BEST_NAME] if max(rewards) > self.best_reward else []
            self.best_reward = max(self.best_reward, *rewards)
            if episode // self.settings.save_every > records[0].episode // self.settings.save_every:
                targets.append(periodic_name(episode))
        steps = (int(self.num_timesteps) - self._timesteps_at_save) // self.training_env.num_envs
        self._timesteps_at_save = int(self.num_timesteps)
        replay = None
        if self._recorder is not None:
            replay = self._recorder.new_rows(self.model.replay_buffer, steps)
        eval_row = None
        evaluation = self._evaluation
        if evaluation is not None and records and evaluation.due(records[0].episode, episode):
            result, improved = evaluation.run(self.model)
            eval_row = [episode, int(self.num_timesteps), result.mean_reward]
            eval_row += [result.success_rate, result.mean_final_distance]
            targets += [BEST_EVAL_NAME] if improved else []
        wall_time = self._wall_time_offset + time.monotonic() - self._started
        exact_state = {
            RNG_STATE: capture_rng(self.model.action_space, cuda=self.model.device.type == "cuda"),
            ENV_STATE: capture_env_state(self.training_env) if self._env_protocol else None,
            REPLAY: {"lineage": self._recorder.lineage} if self._recorder else None,
            BEST_EVAL: evaluation.best_state() if evaluation else None,
        }
        progress = Progress(episode, int(self.num_timesteps), self.best_reward, wall_time)
        checkpoint = build_checkpoint(self.model, progress, self.metadata, exact_state)
        diverged = non_finite_parts(checkpoint[MODEL])
        if diverged:
            self._diverged(diverged)
        assert self._files.tensorboard is not None
        self._files.tensorboard.write_episodes(records)
        if eval_row is not None:
            self._files.tensorboard.write_evaluation(dict(zip(EVAL_COLUMNS, eval_row, strict=True)))
        replay_log = self._recorder.log(self.save_path.parent) if self._recorder else None
        self._files.submit_save(
            SaveJob(
                [r.csv_row() for r in records],
                eval_row,
                (replay_log, *replay) if replay_log and replay else None,
                checkpoint,
                targets,
                self.settings.keep_last,
            )
        )
        self.last_saved_step = int(self.num_timesteps)
        self.last_saved_episode = episode

    def _diverged(self, parts: list[str]) -> None:
        """Stop: the weights went non-finite. Every earlier save is finished and kept; the
        episodes since the last one are not saved."""
        self._pending.clear()
        self.close()
        latest = self.save_path / LATEST_NAME
        raise TrainingDivergedError(
            f"training diverged at global_step {self.num_timesteps}: NaN or infinite values "
            f"in {', '.join(parts)}",
            checkpoint=latest if latest.exists() else None,
        )

    def _on_episodes_discarded(self, records: list[EpisodeRecord]) -> None:
        if self.verbose >= 1:
            print(
                f"learn() stopped before episode{'s' if len(records) > 1 else ''} "
                f"{', '.join(str(r.episode) for r in records)} reached a point where it can be "
                f"saved; run {self.run_name} stays at episode {self.episodes_completed} "
                "(a resume replays the discarded episodes exactly)"
            )

    def _on_training_end(self) -> None:
        try:
            at_consistent_point = self._rollout_ran_to_end
            super()._on_training_end()
            if at_consistent_point and self.model.num_timesteps > self._timesteps_at_save:
                self._save([])
            self._files.flush()
        finally:
            self.close()

    def close(self) -> None:
        """Finish the pending writes and release the run's files and lock (idempotent; runs
        when ``learn`` ends)."""
        try:
            self._files.close()
        finally:
            if self._evaluation is not None:
                self._evaluation.close()
