from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from onestop.ops.demo import DEMO_TOTP_KEY


class Command(BaseCommand):
    help = (
        "Print the current TOTP code of a demo account (admin, <region>-supervisor). Works "
        "only for devices holding the published demo key, never for a real account's device."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        device = TOTPDevice.objects.filter(
            user__username=options["username"], confirmed=True, key=DEMO_TOTP_KEY
        ).first()
        if device is None:
            raise CommandError("该账户没有演示动态口令 (no demo TOTP device for this account)")
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{code:0{device.digits}d}")
