"""robot6-sb3: Stable-Baselines3 training for a 6-DOF PyBullet arm that stops and resumes exactly.

Importing this package registers the Robot6 Gymnasium environments (see ``robot6_envs``).
"""

import robot6_envs  # noqa: F401  (registers the envs with Gymnasium)

__version__ = "0.1.0"
