"""A thin wrapper around one PyBullet physics client.

Every :class:`Simulation` owns its own client (never PyBullet's global one), so several
environments live side by side in one process without interfering.

PyBullet prints a build banner when it is imported and ``argv[0]=`` on every connection,
straight from C. Those lines would land in the middle of ``robot6 ... --json`` output and
training logs, so they go to ``/dev/null``: this module imports pybullet silently, first
(the package imports it before anything else that uses pybullet), and connects silently.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

_LIBC = ctypes.CDLL(None)


@contextlib.contextmanager
def silenced_native_output() -> Iterator[None]:
    """Send what C code writes to file descriptors 1 and 2 to ``/dev/null`` for the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no standard streams at all: nothing to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        _LIBC.fflush(None)  # C stdio buffers still point at /dev/null: empty them there
        for fd, copy in ((1, saved[0]), (2, saved[1])):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


with silenced_native_output():
    import pybullet

import numpy as np  # noqa: E402  (after the silenced import of pybullet, on purpose)
import pybullet_data  # noqa: E402
from pybullet_utils.bullet_client import BulletClient  # noqa: E402

GRAVITY = -9.81
"""Gravity along z, in m/s^2."""


class Simulation:
    """One PyBullet world: physics client, stepping, body creation and camera rendering.

    :param render_mode: ``"human"`` opens the PyBullet GUI; anything else runs headless (DIRECT).
    :param timestep: physics timestep, in seconds.
    :param n_substeps: physics steps per :meth:`step`, so one step lasts
        ``timestep * n_substeps`` seconds.
    """

    def __init__(
        self, render_mode: str | None = None, timestep: float = 0.01, n_substeps: int = 4
    ) -> None:
        self.render_mode = render_mode
        self.timestep = timestep
        self.n_substeps = n_substeps
        connection_mode = pybullet.GUI if render_mode == "human" else pybullet.DIRECT
        with silenced_native_output():  # PyBullet prints "argv[0]=" on every connection
            self.physics_client: BulletClient | None = BulletClient(connection_mode=connection_mode)
        if render_mode == "human":
            self.physics_client.configureDebugVisualizer(pybullet.COV_ENABLE_GUI, 0)
        self.physics_client.setAdditionalSearchPath(pybullet_data.getDataPath())
        self.physics_client.setTimeStep(timestep)
        self.physics_client.setGravity(0.0, 0.0, GRAVITY)

    @property
    def client(self) -> BulletClient:
        """The physics client; raises :class:`RuntimeError` once closed."""
        if self.physics_client is None:
            raise RuntimeError("the simulation is closed; make a new environment")
        return self.physics_client

    @property
    def dt(self) -> float:
        """Simulated time of one :meth:`step`, in seconds."""
        return self.timestep * self.n_substeps

    def step(self) -> None:
        """Advance the physics by ``n_substeps`` timesteps."""
        client = self.client
        for _ in range(self.n_substeps):
            client.stepSimulation()
        if self.render_mode == "human":
            time.sleep(self.dt)

    def load_urdf(self, file_name: str, base_position: tuple[float, float, float]) -> int:
        """Load a URDF from ``pybullet_data`` with a fixed base.

        :param file_name: path relative to ``pybullet_data.getDataPath()``.
        :param base_position: base position, in meters, (x, y, z).
        :return: the body id.
        """
        return self.client.loadURDF(
            file_name,
            basePosition=base_position,
            useFixedBase=True,
        )

    def create_visual_sphere(
        self,
        radius: float,
        rgba_color: tuple[float, float, float, float],
        position: tuple[float, float, float],
    ) -> int:
        """A sphere that is drawn but never collides (no collision shape, no mass).

        :param radius: in meters.
        :param rgba_color: red, green, blue, alpha in [0, 1].
        :param position: center, in meters, (x, y, z).
        :return: the body id.
        """
        return self._visual_body(
            position, pybullet.GEOM_SPHERE, radius=radius, rgbaColor=rgba_color
        )

    def create_visual_box(
        self,
        half_extents: tuple[float, float, float],
        rgba_color: tuple[float, float, float, float],
        position: tuple[float, float, float],
    ) -> int:
        """A box that is drawn but never collides (no collision shape, no mass).

        :param half_extents: half sizes, in meters, (x, y, z).
        :param rgba_color: red, green, blue, alpha in [0, 1].
        :param position: center, in meters, (x, y, z).
        :return: the body id.
        """
        return self._visual_body(
            position, pybullet.GEOM_BOX, halfExtents=half_extents, rgbaColor=rgba_color
        )

    def _visual_body(
        self, position: tuple[float, float, float], shape: int, **shape_options: Any
    ) -> int:
        visual = self.client.createVisualShape(shape, **shape_options)
        return self.client.createMultiBody(baseVisualShapeIndex=visual, basePosition=position)

    def set_base_position(self, body: int, position: tuple[float, float, float]) -> None:
        """Move a body's base, keeping it unrotated.

        :param position: in meters, (x, y, z).
        """
        self.client.resetBasePositionAndOrientation(body, position, (0.0, 0.0, 0.0, 1.0))

    def render(
        self,
        width: int = 480,
        height: int = 360,
        target_position: tuple[float, float, float] = (0.3, 0.0, 0.2),
        distance: float = 1.1,
        yaw: float = 50.0,
        pitch: float = -30.0,
    ) -> np.ndarray:
        """Render a camera image with TinyRenderer (works headless).

        :param width: image width, in pixels.
        :param height: image height, in pixels.
        :param target_position: point the camera looks at, in meters, (x, y, z).
        :param distance: camera distance from ``target_position``, in meters.
        :param yaw: camera yaw, in degrees.
        :param pitch: camera pitch, in degrees.
        :return: RGB image, shape (height, width, 3), dtype uint8.
        """
        client = self.client
        view = client.computeViewMatrixFromYawPitchRoll(
            cameraTargetPosition=target_position,
            distance=distance,
            yaw=yaw,
            pitch=pitch,
            roll=0.0,
            upAxisIndex=2,
        )
        projection = client.computeProjectionMatrixFOV(
            fov=60.0, aspect=width / height, nearVal=0.05, farVal=10.0
        )
        _, _, rgba, _, _ = client.getCameraImage(
            width=width,
            height=height,
            viewMatrix=view,
            projectionMatrix=projection,
            renderer=pybullet.ER_TINY_RENDERER,
            flags=pybullet.ER_NO_SEGMENTATION_MASK,
        )
        return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()

    def close(self) -> None:
        """Disconnect the physics client; calling it again does nothing."""
        if self.physics_client is not None:
            self.physics_client.disconnect()
            self.physics_client = None
