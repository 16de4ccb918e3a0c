"""Every periodic job of the platform, declared in one place.

The worker runs each job when its interval has passed. Jobs are idempotent, so two
workers running one at once, or a run repeated after a crash, do no harm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    run: Callable[[], object]
    description: str


def _sweep_every() -> timedelta:
    """The outbox sweeps run every half of the recovery time, at most every minute."""
    from django.conf import settings

    return timedelta(seconds=min(60, settings.OUTBOX_RECOVERY_SECONDS / 2))


def _notifications_sweep() -> object:
    from onestop.notifications.services import notifications_sweep

    return notifications_sweep()


def _webhooks_sweep() -> object:
    from onestop.integration.services import webhooks_sweep

    return webhooks_sweep()


def _drafts_expire() -> object:
    from onestop.portal.services import drafts_expire

    return drafts_expire()


def _integration_prune() -> object:
    from onestop.integration.services import integration_records_prune

    return integration_records_prune()


def _deadlines_sweep() -> object:
    from onestop.supervision.services import deadlines_sweep

    return deadlines_sweep().as_dict()


SCHEDULE: tuple[PeriodicJob, ...] = (
    PeriodicJob(
        "notifications_sweep",
        _sweep_every(),
        _notifications_sweep,
        "重新排队因进程中断而未发送的消息",
    ),
    PeriodicJob(
        "webhooks_sweep",
        _sweep_every(),
        _webhooks_sweep,
        "重新排队因进程中断而未投递的部门系统回调",
    ),
    PeriodicJob(
        "drafts_expire",
        timedelta(hours=6),
        _drafts_expire,
        "删除30天未更新的在线申请草稿及其上传文件",
    ),
    PeriodicJob(
        "integration_prune",
        timedelta(hours=12),
        _integration_prune,
        "清理过期的幂等应答记录和30天前已送达的回调记录（死信保留）",
    ),
    PeriodicJob(
        "deadlines_sweep",
        timedelta(minutes=5),
        _deadlines_sweep,
        "时限监督：标记即将到期和已超期事项，通知部门和监管人员，超期升级督办",
    ),
)
