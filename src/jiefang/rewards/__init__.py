"""Rewards: points for duty, drills, responses and verified reports; honours for bravery (见义勇为)."""
