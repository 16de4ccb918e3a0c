"""Operational tables the product's processes share."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class RateCounter(models.Model):
    """A fixed-window rate-limit counter (onestop.common.ratelimit, ADR 0024): one row
    per counted name (limit and key), its current window and the hits in it, counted with
    one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per use."""

    name = models.CharField(max_length=200, primary_key=True)
    bucket = models.BigIntegerField()  # the window's number: (now + offset) // period
    hits = models.IntegerField()

    objects: ClassVar[models.Manager[RateCounter]] = models.Manager()

    class Meta:
        db_table = "onestop_rate_counter"

    def __str__(self) -> str:
        return f"{self.name}: {self.hits} in window {self.bucket}"
