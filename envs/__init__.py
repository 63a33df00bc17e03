"""Gymnasium PyBullet environments for a 6-DOF arm (import name ``robot6_envs``)."""
