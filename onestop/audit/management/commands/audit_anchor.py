"""Write a signed anchor of the audit log now (the worker does it every hour)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from onestop.audit.integrity import anchor_write
from onestop.core.clock import to_beijing


class Command(BaseCommand):
    help = "Anchor every audit record written since the last anchor (signed, DB and file)."

    def handle(self, *args: Any, **options: Any) -> None:
        anchor = anchor_write()
        if anchor is None:
            self.stdout.write("没有新的审计记录，无需锚定。")
            return
        self.stdout.write(
            f"已写入锚点 {anchor.seq}：{to_beijing(anchor.at):%Y年%m月%d日 %H:%M}，"
            f"记录 {anchor.records_total} 条，对象 {anchor.streams_total} 个，"
            f"截至记录 {anchor.last_id}，签名密钥 {anchor.key_id}。"
        )
