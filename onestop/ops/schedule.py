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


def _background_prune() -> object:
    from onestop.ops.retention import background_prune

    return background_prune()


def _drafts_expire() -> object:
    from onestop.portal.services import drafts_expire

    return drafts_expire()


def _integration_prune() -> object:
    from onestop.integration.services import integration_records_prune

    return integration_records_prune()


def _deadlines_sweep() -> object:
    from onestop.supervision.services import deadlines_sweep

    return deadlines_sweep().as_dict()


def _payment_reminders() -> object:
    from onestop.workflow.payment import payment_reminders_sweep

    return payment_reminders_sweep().as_dict()


def _efficiency_rollup() -> object:
    from onestop.supervision.rollups import efficiency_rollup

    return efficiency_rollup()


def _cases_rollup() -> object:
    from onestop.supervision.case_rollups import cases_rollup

    return cases_rollup()


def _ratings_rollup() -> object:
    from onestop.ratings.rollups import ratings_rollup

    return ratings_rollup()


def _follow_ups_silence() -> object:
    from onestop.ratings.silence import follow_ups_silence_close

    return follow_ups_silence_close()


def _calendar_watch() -> object:
    from onestop.supervision.services import calendar_watch

    return calendar_watch().as_dict()


def _confirmations_sweep() -> object:
    from onestop.workflow.confirmations import confirmations_sweep

    return confirmations_sweep()


def _preview_reminders() -> object:
    from onestop.workflow.preview import preview_reminders_sweep

    return preview_reminders_sweep()


def _follow_ups_overdue() -> object:
    from onestop.ratings.overdue import follow_ups_overdue_notify

    return follow_ups_overdue_notify()


def _handover_remind() -> object:
    from onestop.handover.services import handover_reminders_send

    return handover_reminders_send().as_dict()


def _audit_anchor() -> object:
    from onestop.audit.integrity import anchor_write

    anchor = anchor_write()
    return None if anchor is None else {"anchor": anchor.seq, "records": anchor.records_total}


def _audit_verify() -> object:
    from onestop.audit.integrity import audit_verify_and_alert

    report = audit_verify_and_alert()
    return {"intact": report.intact, "problems": len(report.problems)}


SCHEDULE: tuple[PeriodicJob, ...] = (
    PeriodicJob(
        "confirmations_sweep",
        timedelta(minutes=15),
        _confirmations_sweep,
        "父母确认链接：到期前短信提醒（附新链接），逾期未确认的事项不予办理并通知家长",
    ),
    PeriodicJob(
        "background_prune",
        timedelta(hours=1),
        _background_prune,
        "清理保留期已过的已发送短信和已完成的后台任务记录（死信和待发送的保留）",
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
        "清理过期的幂等应答记录和保留期已过的已送达回调记录（死信保留）",
    ),
    PeriodicJob(
        "deadlines_sweep",
        timedelta(minutes=5),
        _deadlines_sweep,
        "时限监督：标记即将到期和已超期事项，通知部门和监管人员，超期升级督办",
    ),
    PeriodicJob(
        "payment_reminders",
        timedelta(hours=1),
        _payment_reminders,
        "医保缴费：缴费期限前按地区安排提醒未缴费的家长（每次提醒只发一次），"
        "期限已过仍未缴费的标记为逾期未缴费并告知家长（监管人员在超期事项中可见）",
    ),
    PeriodicJob(
        "efficiency_rollup",
        timedelta(hours=1),
        _efficiency_rollup,
        "办理效率日汇总：把已结束的每一天按部门、辖区汇总，效率报表读汇总而不是逐件计算",
    ),
    PeriodicJob(
        "cases_rollup",
        timedelta(hours=1),
        _cases_rollup,
        "监管驾驶舱日汇总：把已结束的每一天的受理办件（按地区、医疗机构、渠道、预审结论和原因）"
        "和办结办件（零跑腿、总承诺时限、全流程用时）汇总，驾驶舱读汇总而不是逐件计算",
    ),
    PeriodicJob(
        "ratings_rollup",
        timedelta(hours=1),
        _ratings_rollup,
        "好差评日汇总：把已结束的每一天的评价（按区划、部门、渠道、等级）及其整改状态汇总，"
        "整改状态变化的日期重新汇总，驾驶舱读汇总而不是逐条计算",
    ),
    PeriodicJob(
        "calendar_watch",
        timedelta(hours=1),
        _calendar_watch,
        "工作日历：到期前60天提醒管理员和监管人员录入下一年度节假日安排（每人一次）；"
        "日历已覆盖的暂按双休日计算的办理期限自动重新计算",
    ),
    PeriodicJob(
        "preview_reminders",
        timedelta(hours=1),
        _preview_reminders,
        "预览确认签字：预览生成一天后仍未确认签字的，提醒申请人一次（只读写待确认且未提醒的预览）",
    ),
    PeriodicJob(
        "follow_ups_overdue",
        timedelta(hours=1),
        _follow_ups_overdue,
        "差评整改超期：提醒答复责任人和上一级监管人员（每个整改轮次一次）",
    ),
    PeriodicJob(
        "follow_ups_silence",
        timedelta(hours=1),
        _follow_ups_silence,
        "差评整改确认：已答复的整改，申请人在规定工作日内既未确认也未再次反映的，"
        "按“逾期未确认，视为认可”办结并告知申请人（每个整改一次）",
    ),
    PeriodicJob(
        "handover_remind",
        timedelta(hours=1),
        _handover_remind,
        "出生医学证明档案移交：到期前按政策包规定的工作日数提醒助产机构打印清单并移交"
        "（只读写待移交且未提醒的批次，每批一次）",
    ),
    PeriodicJob(
        "audit_anchor",
        timedelta(hours=1),
        _audit_anchor,
        "为审计日志写入签名锚点（数据库和锚点文件各一份），此后删除记录即可被发现",
    ),
    PeriodicJob(
        "audit_verify",
        timedelta(days=1),
        _audit_verify,
        "核验审计日志的密钥摘要链和签名锚点，发现改动或删除即告警管理员",
    ),
)
