"""Kept where it was for callers of this name: the offset resets live in mlc_ops.offsets."""

from mlc_ops.offsets import (
    GROUP_TOPICS,
    GroupBusy,
    Move,
    Target,
    apply,
    committed,
    group_members,
    plan,
)

__all__ = [
    "GROUP_TOPICS",
    "GroupBusy",
    "Move",
    "Target",
    "apply",
    "committed",
    "group_members",
    "plan",
]
