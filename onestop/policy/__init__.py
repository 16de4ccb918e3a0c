"""Policy packs: each region's plan as validated data (pure; no Django)."""

from onestop.policy.loader import PackRegistry, default_packs, load_packs
from onestop.policy.schema import PolicyPack

__all__ = ["PackRegistry", "PolicyPack", "default_packs", "load_packs"]
