"""Shared base of the pure domain cores: errors and Beijing time. Imports no Django."""
