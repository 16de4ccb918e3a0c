"""Maternity reimbursement (生育医疗费用报销 / 生育保险待遇; issue 11 promise 5; docs/adr/0037).

The form captures the plurality (单胞胎 / 多胞胎), the delivery mode (顺产 / 难产 / 剖宫产) and
where the money goes: the mother's social security card, or a bank account (开户行 and
银行账号; the account is part of the encrypted case document and shown in full only to the
medical-insurance officer who pays). The seeds give no figure or formula for the amount
(seed 002: 生育医疗费用报销 with 分娩方式 and 胎数 on the form; seed 003: 审核发放相关的生育保险
待遇), so the officer enters the amount paid when completing the item, with the optional
payment reference and time; the parents' SMS says how much went where, the account masked
to its last four digits.
"""

from __future__ import annotations

from collections.abc import Mapping

from onestop.cases.domain.labels import BANKS
from onestop.cases.models import Case
from onestop.workflow.domain.payment import amount_text, parse_amount

MATERNITY_ITEM = "maternity_reimbursement"


def account_tail(account: str | None) -> str:
    """The last four digits of an account number ("" when there is none)."""
    digits = "".join(ch for ch in (account or "") if ch.isdigit())
    return digits[-4:] if len(digits) >= 4 else ""


def payout_words(case: Case) -> str:
    """Where the money goes, as the parents' message says it, the account masked:
    尾号 1234 的银行账户（工商银行）, or 的社会保障卡金融账户."""
    section = case.typed_document().maternity
    if section is not None and section.payout == "bank":
        tail = account_tail(section.account_number)
        bank = dict(BANKS).get(section.bank or "")
        at_bank = f"（{bank}）" if bank else ""
        if tail:
            return f"尾号 {tail} 的银行账户{at_bank}"
        return f"填报的银行账户{at_bank}"
    return "的社会保障卡金融账户"


def payment_words(case: Case, result: Mapping[str, object] | None) -> dict[str, str] | None:
    """The payment as the parents' SMS says it (``amount`` in yuan, ``where``), or None
    where the completion recorded no amount (an automatic grant without a figure)."""
    amount = parse_amount(str((result or {}).get("amount_yuan") or ""))
    if amount is None:
        return None
    where = payout_words(case)
    return {"amount": amount_text(amount), "where": where}
