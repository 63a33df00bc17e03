"""The xArm6 arm from ``pybullet_data``: joint state, end effector and the two action modes."""

from __future__ import annotations

import numpy as np
import pybullet
from gymnasium import spaces

from robot6_envs.simulation import Simulation

URDF_FILE = "xarm/xarm6_robot.urdf"
"""The arm, relative to ``pybullet_data.getDataPath()``."""

JOINT_INDICES = (1, 2, 3, 4, 5, 6)
"""PyBullet indices of the revolute joints 1-6 (index 0 is the fixed world joint)."""

EE_LINK = 6
"""The end-effector link (``link6``); its link frame, not its CoM, is the end effector."""

HOME_JOINT_POSITIONS = (0.0, -0.2132, -0.4962, 0.0, 0.7094, 0.0)
"""Joint angles at reset, in radians: the end effector at about (0.35, 0.0, 0.25) m, pointing
down, at the center of the target workspace."""

EE_DOWN_ORIENTATION = (1.0, 0.0, 0.0, 0.0)
"""End-effector orientation kept by the IK, quaternion (x, y, z, w): tool axis pointing down."""

EE_STEP = 0.05
"""End-effector displacement commanded by an action of 1 in ``"ee"`` control, in meters."""

JOINT_STEP = 0.1
"""Joint-angle change commanded by an action of 1 in ``"joints"`` control, in radians."""

EE_BOUNDS_LOW = (0.15, -0.3, 0.05)
"""Lower corner of the box the commanded end-effector position is clipped to, in meters."""

EE_BOUNDS_HIGH = (0.55, 0.3, 0.5)
"""Upper corner of the box the commanded end-effector position is clipped to, in meters."""

POSITION_GAIN = 0.3
"""Gain of PyBullet's position-control motors (the position error term)."""

VELOCITY_GAIN = 1.0
"""Gain of PyBullet's position-control motors (the velocity error term)."""

IK_JOINT_DAMPING = (0.01,) * 6
"""Damping of PyBullet's damped-least-squares IK; lower than its default 0.1 so that ten
iterations converge to well under a millimeter."""

IK_MAX_ITERATIONS = 10
"""Iterations of one IK solve."""

CONTROL_MODES = ("ee", "joints")
"""Allowed values of ``control``."""


class XArm6:
    """The xArm6 with a fixed base, driven by PyBullet position-control motors.

    Every action is relative to the arm's current measured state, so the arm carries no
    controller state between steps: its joint positions and velocities determine its future.

    :param sim: the simulation to load the arm into.
    :param control: ``"ee"``: an action is an end-effector displacement (x, y, z), scaled by
        :data:`EE_STEP` and solved with IK (tool pointing down); ``"joints"``: an action is a
        change of the six joint angles, scaled by :data:`JOINT_STEP`.
    """

    def __init__(self, sim: Simulation, control: str = "ee") -> None:
        if control not in CONTROL_MODES:
            raise ValueError(f"control must be one of {CONTROL_MODES}, got {control!r}")
        self.sim = sim
        self.control = control
        self.body = sim.load_urdf(URDF_FILE, base_position=(0.0, 0.0, 0.0))
        client = sim.client
        infos = [client.getJointInfo(self.body, joint) for joint in JOINT_INDICES]
        self.joint_lower_limits = np.array([info[8] for info in infos])
        """Lower joint limits from the URDF, in radians."""
        self.joint_upper_limits = np.array([info[9] for info in infos])
        """Upper joint limits from the URDF, in radians."""
        self.max_forces = [info[10] for info in infos]
        """Motor torque limits from the URDF, in N m."""
        self.max_velocities = np.array([info[11] for info in infos])
        """Joint speed limits from the URDF, in rad/s (enforced by PyBullet's motors)."""
        n_actions = 3 if control == "ee" else len(JOINT_INDICES)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(n_actions,), dtype=np.float32)

    def reset(self) -> None:
        """Put the arm at rest in :data:`HOME_JOINT_POSITIONS`."""
        self.set_joint_state(HOME_JOINT_POSITIONS, (0.0,) * len(JOINT_INDICES))

    def set_action(self, action: np.ndarray) -> None:
        """Set the motor targets for the next simulation step.

        :param action: in [-1, 1]; shape (3,) for ``"ee"``, (6,) for ``"joints"``.
        """
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        if self.control == "ee":
            target_ee = np.clip(
                self.get_ee_position() + EE_STEP * action, EE_BOUNDS_LOW, EE_BOUNDS_HIGH
            )
            target_joints = self.sim.client.calculateInverseKinematics(
                self.body,
                EE_LINK,
                target_ee.tolist(),
                EE_DOWN_ORIENTATION,
                jointDamping=IK_JOINT_DAMPING,
                maxNumIterations=IK_MAX_ITERATIONS,
                residualThreshold=1e-5,
            )
        else:
            joint_positions, _ = self.get_joint_state()
            target_joints = np.clip(
                joint_positions + JOINT_STEP * action,
                self.joint_lower_limits,
                self.joint_upper_limits,
            ).tolist()
        self.sim.client.setJointMotorControlArray(
            self.body,
            JOINT_INDICES,
            pybullet.POSITION_CONTROL,
            targetPositions=target_joints,
            targetVelocities=(0.0,) * len(JOINT_INDICES),
            forces=self.max_forces,
            positionGains=(POSITION_GAIN,) * len(JOINT_INDICES),
            velocityGains=(VELOCITY_GAIN,) * len(JOINT_INDICES),
        )

    def get_joint_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Joint angles, in radians, and joint velocities, in rad/s, each of shape (6,)."""
        states = self.sim.client.getJointStates(self.body, JOINT_INDICES)
        positions = np.array([state[0] for state in states])
        velocities = np.array([state[1] for state in states])
        return positions, velocities

    def set_joint_state(self, positions: tuple[float, ...], velocities: tuple[float, ...]) -> None:
        """Teleport the joints (no physics step).

        :param positions: joint angles, in radians, shape (6,).
        :param velocities: joint velocities, in rad/s, shape (6,).
        """
        client = self.sim.client
        for joint, position, velocity in zip(JOINT_INDICES, positions, velocities, strict=True):
            client.resetJointState(
                self.body, joint, targetValue=float(position), targetVelocity=float(velocity)
            )

    def get_ee_position(self) -> np.ndarray:
        """End-effector (link 6 frame) position in the world frame, in meters, (x, y, z)."""
        state = self.sim.client.getLinkState(self.body, EE_LINK, computeForwardKinematics=True)
        return np.array(state[4])
