"""E-licences on a real database: every completed item's result is sealed and verifies;
one changed byte anywhere fails; rotation keeps old licences valid; the public verification
page shows only a masked summary; the PDF carries the QR code; later items see the verified
licence instead of paper. The verification answers are remembered but never stale, and the
licences sealed by the pure-Python SM2 verify with the compiled one."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client

from onestop.cases.notices import qr_png
from onestop.cases.services import case_submit
from onestop.certificates import seal as seal_module
from onestop.certificates.models import ELicence
from onestop.certificates.seal import (
    SM2_SM3,
    Sm2Sm3Python,
    b64url,
    b64url_decode,
    verify_sealed,
)
from onestop.certificates.services import (
    elicence_seal_missing,
    elicence_verify,
    keystore,
    published_keys,
    qr_content,
    verify_cache_clear,
    verify_record,
)
from onestop.testing.factories import officer, parent
from onestop.testing.newborns import another_newborn
from onestop.workflow.models import CaseItem, ItemState
from onestop.workflow.services import item_complete

pytestmark = pytest.mark.django_db

RESULTS = {
    "birth_certificate": {"bmc_number": "Q450123456"},
    "vaccination_certificate": {"certificate_number": "YF2026-0001"},
    "birth_registration": {
        "hukou_entry": "HK450703-0001",
        "citizen_id_number": "450703202611100112",
    },
    "medical_insurance_enrolment": {"insurance_number": "YB4507030001"},
    "maternity_reimbursement": {"amount_yuan": "3200.00"},
    "social_security_card": {"card_number": "A45070312", "pickup_place": "工商银行钦州分行营业部"},
    "parenting_guidance": {},
    "medical_insurance_payment": {"payment_reference": "SW2026110001", "amount_yuan": "400"},
}
# Personal data of the qinbei-accept example that must never appear on a public page.
SECRETS = (
    "450703199203150220",  # mother's ID number
    "450703199001010174",  # father's ID number
    "450703202611100112",  # the child's new ID number
    "13800000000",
    "13900000000",
    "新棠街12号",
    "覃沐阳",
    "黄丽",
    "覃军",
)


@pytest.fixture(autouse=True)
def seal_keys(settings, tmp_path: Path) -> Path:
    folder = tmp_path / "seal-keys"
    settings.SEAL_KEYS_DIR = folder
    return folder


def _officer_for(item: CaseItem):
    return officer(item.department, item.jurisdiction_kind, item.jurisdiction_code)


def complete(case, only: set[str] | None = None, *, beijing) -> None:
    now = beijing("2026-11-20T10:00:00+08:00")
    for _ in range(10):
        ready = [
            i
            for i in CaseItem.objects.filter(case=case, state=ItemState.READY)
            if only is None or i.item in only
        ]
        if not ready:
            return
        for item in ready:
            item_complete(
                item_id=item.pk, actor=_officer_for(item), result=RESULTS[item.item], now=now
            )


@pytest.fixture
def case(example, beijing, media_root):
    return case_submit(
        document=example("qinbei-accept"), actor=None, now=beijing("2026-11-20T09:30:00+08:00")
    ).case


@pytest.fixture
def done_case(case, beijing):
    complete(case, beijing=beijing)
    return case


@pytest.fixture
def bmc(case, beijing) -> ELicence:
    complete(case, {"birth_certificate"}, beijing=beijing)
    return ELicence.objects.get(case=case, kind="birth_certificate")


def test_every_completed_item_carries_a_seal_that_verifies(done_case):
    licences = list(ELicence.objects.filter(case=done_case))
    assert len(licences) == 7
    assert {e.item.state for e in licences} == {"done"}
    for licence in licences:
        assert licence.algorithm == "SM2-SM3" and licence.key_id and licence.signature
        assert verify_record(licence).valid, licence.serial
        by_serial = elicence_verify(serial=licence.serial)
        assert by_serial.valid and by_serial.issuer_name == licence.issuer_name
        from_qr = elicence_verify(content=qr_content(licence))
        assert from_qr.valid and from_qr.summary
        doc = json.loads(licence.sealed)
        assert doc["serial"] == licence.serial and doc["kid"] == licence.key_id
        for secret in SECRETS:
            assert secret not in licence.sealed, (licence.serial, secret)
    # One key per issuing body, made on first use.
    issuers = {e.issuer_code for e in licences}
    assert {k.issuer for k in keystore().public_keys().values()} == issuers


def _raw_payload(licence: ELicence) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload FROM certificates_elicence WHERE id = %s", [licence.pk])
        return str(cursor.fetchone()[0])


def _set_raw(licence: ELicence, column: str, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE certificates_elicence SET {column} = %s WHERE id = %s", [value, licence.pk]
        )


def _flip_char(text: str, at: int) -> str:
    return text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1 :]


def test_one_changed_byte_of_the_payload_fails(bmc):
    payload = dict(bmc.payload)
    payload["result"] = {"bmc_number": "Q450123457"}  # one character of the stored content
    ELicence.objects.filter(pk=bmc.pk).update(payload=payload)
    bmc.refresh_from_db()
    answer = elicence_verify(serial=bmc.serial)
    assert not answer.valid and answer.code == "digest_mismatch"
    assert elicence_verify(content=qr_content(bmc)).code == "digest_mismatch"


def test_one_changed_byte_of_the_encrypted_payload_fails(bmc):
    raw = _raw_payload(bmc)
    _set_raw(bmc, "payload", _flip_char(raw, len(raw) // 2))
    assert elicence_verify(serial=bmc.serial).code == "digest_mismatch"


def test_one_changed_byte_of_the_sealed_document_fails(bmc):
    at = bmc.sealed.index("Q450123456") + 9
    _set_raw(bmc, "sealed", bmc.sealed[:at] + "7" + bmc.sealed[at + 1 :])
    bmc.refresh_from_db()
    assert elicence_verify(serial=bmc.serial).code == "bad_signature"
    # The genuine QR content no longer matches the registry either.
    assert not elicence_verify(content=qr_content(bmc)).valid


def test_one_changed_byte_of_the_signature_fails(bmc):
    signature = bytearray(b64url_decode(bmc.signature))
    content = qr_content(bmc)
    for at in (5, len(signature) - 1):
        changed = bytearray(signature)
        changed[at] ^= 0x01
        _set_raw(bmc, "signature", b64url(bytes(changed)))
        assert elicence_verify(serial=bmc.serial).code == "bad_signature"
    _set_raw(bmc, "signature", b64url(bytes(signature)))
    assert elicence_verify(serial=bmc.serial).valid
    # And in the QR content: a changed signature character fails.
    assert not elicence_verify(content=_flip_char(content, len(content) - 5)).valid


def test_key_rotation_keeps_old_licences_valid(case, example, beijing):
    complete(case, {"birth_certificate"}, beijing=beijing)
    old = ELicence.objects.get(case=case, kind="birth_certificate")
    out = io.StringIO()
    call_command("seal_keys", "rotate", "--issuer", old.issuer_code, stdout=out)
    assert "new active key" in out.getvalue()
    # The hospital's next licence is sealed with the new key; both verify.
    second = case_submit(
        document=another_newborn(example("qinbei-accept"), 1),
        actor=None,
        now=beijing("2026-11-21T09:30:00+08:00"),
    ).case
    complete(second, {"birth_certificate"}, beijing=beijing)
    new = ELicence.objects.get(case=second, kind="birth_certificate")
    assert new.issuer_code == old.issuer_code and new.key_id != old.key_id
    assert elicence_verify(serial=old.serial).valid
    assert elicence_verify(serial=new.serial).valid
    assert elicence_verify(content=qr_content(old)).valid
    keys = keystore().public_keys()
    assert keys[old.key_id].retired_at is not None
    active = keystore().active_key(old.issuer_code)
    assert active is not None and active.key_id == new.key_id
    published = Client().get("/verify/keys.json").json()["keys"]
    mine = [k for k in published if k["issuer"] == old.issuer_code]
    assert len(mine) == 2 and sorted(k["active"] for k in mine) == [False, True]
    call_command("seal_keys", "revoke", old.key_id, stdout=io.StringIO())
    assert elicence_verify(serial=old.serial).code == "key_revoked"


def test_licences_from_before_sealing_can_be_sealed(bmc):
    ELicence.objects.filter(pk=bmc.pk).update(sealed="", signature="", key_id="", algorithm="")
    assert elicence_verify(serial=bmc.serial).code == "unsealed"
    assert elicence_seal_missing() == 1
    assert elicence_verify(serial=bmc.serial).valid


# --- the public page ---------------------------------------------------------------------


def _assert_nothing_personal(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def test_verification_page_from_the_qr_code_needs_no_login_and_shows_only_a_mask(done_case):
    reg = ELicence.objects.get(case=done_case, kind="birth_registration")
    client = Client()
    page = client.get("/verify/", {"c": qr_content(reg)})
    assert page.status_code == 200
    html = page.content.decode()
    assert "电子印章有效" in html and 'data-valid="true"' in html
    assert reg.issuer_name in html and "出生登记" in html and reg.serial in html
    assert "覃**" in html and "HK450703-0001" in html and "450703********0112" in html
    assert page["X-Robots-Tag"].startswith("noindex")
    _assert_nothing_personal(html)

    body = client.get("/verify/", {"c": qr_content(reg), "format": "json"}).json()
    assert body["valid"] is True and body["issuer"]["name"] == reg.issuer_name
    assert body["summary"]["newborns"] == [{"name": "覃**", "sex": "男", "born": "2026-11-10"}]
    _assert_nothing_personal(json.dumps(body, ensure_ascii=False))


def test_verification_by_serial_shows_validity_but_no_summary(done_case):
    for licence in ELicence.objects.filter(case=done_case):
        client = Client()
        html = client.get(f"/verify/{licence.serial}/").content.decode()
        assert "电子印章有效" in html and licence.issuer_name in html
        assert "覃**" not in html
        _assert_nothing_personal(html)
        body = client.get(f"/verify/{licence.serial}.json").json()
        assert body["valid"] is True and "summary" not in body
        assert body["seal"]["algorithm"] == "SM2-SM3"
        _assert_nothing_personal(json.dumps(body, ensure_ascii=False))


def test_verification_page_answers_bad_input_plainly(bmc):
    client = Client()
    assert client.get("/verify/").status_code == 200
    assert client.get("/verify/", {"c": "nonsense"}).status_code == 400
    assert client.get("/verify/NOPE-01.json").status_code == 404
    assert client.get("/verify/", {"serial": bmc.serial}).status_code == 200
    tampered = _flip_char(qr_content(bmc), 60)
    page = client.get("/verify/", {"c": tampered})
    html = page.content.decode()
    assert 'data-valid="false"' in html and "验证未通过" in html
    assert "Q450123456" not in html  # nothing unverified is shown as fact


def test_keys_json_publishes_public_keys_only(bmc):
    body = Client().get("/verify/keys.json").json()
    assert body["format"] == "onestop-seal-keys/1"
    (key,) = [k for k in body["keys"] if k["key_id"] == bmc.key_id]
    assert key["algorithm"] == "SM2-SM3" and key["public_key"].startswith("04")
    assert "BEGIN PUBLIC KEY" in key["public_key_pem"]
    private = (keystore().folder / f"{bmc.key_id}.key").read_text().strip()
    assert private not in json.dumps(body)


# --- PDFs and consumption ------------------------------------------------------------------


def _pdf_text(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    run = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return run.stdout.decode("utf-8")


def _pdf_images(pdf: bytes, folder: Path) -> list[Path]:
    if shutil.which("pdfimages") is None:
        pytest.skip("pdfimages (poppler-utils) not installed")
    (folder / "in.pdf").write_bytes(pdf)
    subprocess.run(["pdfimages", "-png", "in.pdf", "img"], cwd=folder, check=True)
    return sorted(folder.glob("img-*.png"))


def test_parent_downloads_the_pdf_with_chinese_text_and_the_qr_code(bmc, tmp_path, settings):
    # Issue 8 (defect 11): the QR URL is the configured public base URL, never the request's
    # Host header (a forged Host ended up in the QR) nor http:// behind a TLS proxy.
    settings.PUBLIC_BASE_URL = "https://onestop.example.gov.cn"
    mother = Client()
    mother.force_login(parent("13800000000"))
    response = mother.get(f"/my/elicences/{bmc.serial}.pdf", HTTP_HOST="evil.example")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "电子证照" in text and "出生医学证明" in text and "Q450123456" in text
    assert "覃沐阳" in text and bmc.serial in text  # the owner's copy is in full
    # The QR code is exactly the verification URL with the sealed content.
    from PIL import Image

    def qr(url: str) -> bytes:
        return Image.open(io.BytesIO(qr_png(url))).convert("L").tobytes()

    expected = qr(f"https://onestop.example.gov.cn/verify/?c={qr_content(bmc)}")
    forged = qr(f"http://evil.example/verify/?c={qr_content(bmc)}")
    images = [Image.open(p).convert("L").tobytes() for p in _pdf_images(response.content, tmp_path)]
    assert expected in images, "the QR code of the verification URL is not in the PDF"
    assert forged not in images
    assert "evil.example" not in text


def test_pdf_is_for_the_owner_and_the_officers_who_use_it_only(bmc):
    other = Client()
    other.force_login(parent("13700000000"))
    assert other.get(f"/my/elicences/{bmc.serial}.pdf").status_code == 404
    anonymous = Client().get(f"/my/elicences/{bmc.serial}.pdf")
    assert anonymous.status_code == 302
    police = Client()
    police.force_login(officer("police", "police_station", "qinbei-xintang"))
    assert police.get(f"/work/elicences/{bmc.serial}.pdf").status_code == 200
    stranger = Client()
    stranger.force_login(officer("police", "police_station", "qinbei-other"))
    assert stranger.get(f"/work/elicences/{bmc.serial}.pdf").status_code == 404
    hospital = Client()
    hospital.force_login(officer("hospital", "hospital", "qinbei-mch"))
    assert hospital.get(f"/work/elicences/{bmc.serial}.pdf").status_code == 200


def test_police_task_shows_the_verified_bmc_licence_not_an_upload(bmc):
    reg = CaseItem.objects.get(case=bmc.case, item="birth_registration")
    police = Client()
    police.force_login(officer("police", "police_station", "qinbei-xintang"))
    html = police.get(f"/work/tasks/{reg.pk}/").content.decode()
    assert "Q450123456" in html and bmc.serial in html and "电子印章有效" in html
    ELicence.objects.filter(pk=bmc.pk).update(
        payload={**bmc.payload, "result": {"bmc_number": "Q999999999"}}
    )
    html = police.get(f"/work/tasks/{reg.pk}/").content.decode()
    assert "Q999999999" not in html and "电子印章校验未通过" in html


def test_parent_case_page_lists_the_licences_with_pdf_and_verification_links(bmc):
    mother = Client()
    mother.force_login(parent("13800000000"))
    html = mother.get(f"/my/cases/{bmc.case.number}/").content.decode()
    assert f'data-elicence="{bmc.serial}"' in html
    assert f"/my/elicences/{bmc.serial}.pdf" in html and "/verify/?c=OS1." in html


def test_verification_page_follows_the_language(bmc):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/verify/", {"c": qr_content(bmc)}).content.decode()
    assert "E-seal valid" in html and "E-licence verification" in html
    body = client.get(f"/verify/{bmc.serial}.json").json()
    assert body["reason"].startswith("The e-seal is valid")


# --- issue 10: the /verify/ answers remembered, never stale; the switch to compiled SM2 -----
# "the answer for a serial never changes" — except when the row, its stored ciphertext, the
# sealed bytes or the key's state does: those are verified afresh.


@pytest.fixture
def count_checks(monkeypatch):
    """How many signature checks the registry verification made."""
    calls: list[int] = []

    def counting(*args, **kwargs):
        calls.append(1)
        return verify_sealed(*args, **kwargs)

    monkeypatch.setattr("onestop.certificates.services.verify_sealed", counting)
    return calls


def test_a_valid_answer_is_remembered(bmc, count_checks):
    verify_cache_clear()
    assert elicence_verify(serial=bmc.serial).valid
    assert len(count_checks) == 1
    for _ in range(3):
        assert elicence_verify(serial=bmc.serial).valid
        assert elicence_verify(content=qr_content(bmc)).valid
    assert len(count_checks) == 1  # the QR content equal to the record: the same answer
    body = Client().get(f"/verify/{bmc.serial}.json").json()
    assert body["valid"] is True and len(count_checks) == 1


@pytest.mark.parametrize(
    "column",
    ["sealed", "signature", "payload", "issuer_code", "kind", "key_id"],
)
def test_a_changed_row_is_not_answered_from_the_cache(bmc, count_checks, column):
    verify_cache_clear()
    assert elicence_verify(serial=bmc.serial).valid  # remembered
    if column == "sealed":
        at = bmc.sealed.index("Q450123456") + 9
        value = bmc.sealed[:at] + "7" + bmc.sealed[at + 1 :]
    elif column == "signature":
        raw = bytearray(b64url_decode(bmc.signature))
        raw[-1] ^= 0x01
        value = b64url(bytes(raw))
    elif column == "payload":
        raw_payload = _raw_payload(bmc)
        value = _flip_char(raw_payload, len(raw_payload) // 2)
    else:
        value = getattr(bmc, column) + "x"
    _set_raw(bmc, column, value)
    answer = elicence_verify(serial=bmc.serial)
    assert not answer.valid, column
    assert answer.code in ("bad_signature", "registry_mismatch", "digest_mismatch", "unknown_key")
    assert not Client().get(f"/verify/{bmc.serial}.json").json()["valid"]
    # Put back, the row verifies (and is found in the cache again).
    _set_raw(bmc, column, getattr(bmc, column) if column != "payload" else raw_payload)
    before = len(count_checks)
    assert elicence_verify(serial=bmc.serial).valid
    assert len(count_checks) == before


def test_a_revoked_key_is_never_answered_valid_from_the_cache(bmc):
    verify_cache_clear()
    assert elicence_verify(serial=bmc.serial).valid
    assert elicence_verify(content=qr_content(bmc)).valid
    call_command("seal_keys", "revoke", bmc.key_id, stdout=io.StringIO())
    assert elicence_verify(serial=bmc.serial).code == "key_revoked"
    assert elicence_verify(content=qr_content(bmc)).code == "key_revoked"
    assert Client().get(f"/verify/{bmc.serial}.json").json()["code"] == "key_revoked"


def test_rotation_keeps_the_remembered_answer_valid(bmc):
    verify_cache_clear()
    assert elicence_verify(serial=bmc.serial).valid
    call_command("seal_keys", "rotate", "--issuer", bmc.issuer_code, stdout=io.StringIO())
    assert elicence_verify(serial=bmc.serial).valid


def test_presented_content_that_differs_from_the_record_is_refused(bmc):
    verify_cache_clear()
    assert elicence_verify(content=qr_content(bmc)).valid
    content = qr_content(bmc)
    assert not elicence_verify(content=_flip_char(content, len(content) - 5)).valid
    assert not elicence_verify(content=_flip_char(content, 40)).valid


def test_licences_sealed_by_the_pure_python_sm2_still_verify(case, beijing, monkeypatch):
    """An e-licence issued before the switch (pure-Python SM2) verifies with the compiled
    implementation, through the service and the public JSON."""
    monkeypatch.setitem(seal_module.ALGORITHMS, SM2_SM3, Sm2Sm3Python())
    complete(case, {"birth_certificate"}, beijing=beijing)
    old = ELicence.objects.get(case=case, kind="birth_certificate")
    monkeypatch.undo()
    assert type(seal_module.ALGORITHMS[SM2_SM3]) is seal_module.Sm2Sm3
    verify_cache_clear()
    assert elicence_verify(serial=old.serial).valid
    assert elicence_verify(content=qr_content(old)).valid
    assert Client().get(f"/verify/{old.serial}.json").json()["valid"] is True
    # And the other way: the pure-Python one verifies what the compiled one seals now.
    complete(case, beijing=beijing)
    new = ELicence.objects.filter(case=case).exclude(pk=old.pk)
    assert new.count() == 6
    keys = published_keys()
    for licence in new:
        signature = b64url_decode(licence.signature)
        public = keys[licence.key_id].public_key
        assert Sm2Sm3Python().verify(public, licence.sealed.encode(), signature)
        assert elicence_verify(serial=licence.serial).valid


def test_prior_licences_are_the_querysets_with_the_statement_compiled_once(case, example, beijing):
    """`prior_elicences` reads with one statement per list of awaited items, compiled
    once (issue 10, h-inserts): the licences the case's queryset reads, for each case."""
    from django.db.models import Q, TextField
    from django.db.models.functions import Cast
    from django.test.utils import CaptureQueriesContext

    from onestop.cases.services import case_submit as submit
    from onestop.certificates import selectors
    from onestop.workflow.domain.newborns import split_key

    other = submit(
        document=another_newborn(example("qinbei-accept"), 1),
        actor=None,
        now=beijing("2026-11-20T09:40:00+08:00"),
    ).case
    complete(case, {"birth_certificate"}, beijing=beijing)
    complete(other, {"birth_certificate", "vaccination_certificate"}, beijing=beijing)
    for one in (case, other):
        for item in CaseItem.objects.filter(case=one).exclude(after=[]).select_related("case"):
            wanted = Q(pk__in=[])
            for key in item.after:
                code, newborn = split_key(key)
                wanted |= Q(kind=code, item__newborn=newborn)
            expected = list(
                one.elicences.filter(wanted, superseded_at__isnull=True)
                .defer("payload")
                .annotate(payload_raw=Cast("payload", TextField()))
                .order_by("issued_at")
            )
            compiled = selectors._PRIOR.get(tuple(item.after))
            with CaptureQueriesContext(connection) as queries:
                got = selectors.prior_elicences(item)
            assert [p["serial"] for p in got] == [e.serial for e in expected]
            assert all(p["valid"] and p["result"] for p in got)
            assert len(queries.captured_queries) <= 1
            if compiled is not None:  # read before: the same statement, not built again
                assert selectors._PRIOR.get(tuple(item.after)) is compiled
    items = CaseItem.objects.filter(case=other)
    serials = {p["serial"] for item in items for p in selectors.prior_elicences(item)}
    assert serials and all(s.startswith(other.number) for s in serials)


def test_the_parents_card_escapes_what_it_shows_and_names_a_replaced_licence(done_case):
    """The e-licences card is written in Python (session 24): every value escaped as the
    template's ``{{ }}`` did, and a licence replaced by a correction (ADR 0042) says which
    one replaced it instead of offering its PDF."""
    from django.urls import reverse

    from onestop.certificates.templatetags.elicence_tags import case_elicences_card

    first, second = ELicence.objects.filter(case=done_case).order_by("pk")[:2]
    ELicence.objects.filter(pk=first.pk).update(
        issuer_name="<b>某\"医院'&</b>", superseded_by=second
    )
    html = str(case_elicences_card(done_case))
    assert "<b>" not in html
    assert "&lt;b&gt;某&quot;医院&#x27;&amp;&lt;/b&gt;" in html
    assert f'data-elicence="{first.serial}" data-superseded-by="{second.serial}"' in html
    assert f"已被更正，以 {second.serial} 为准" in html
    assert reverse("certificates:parent_pdf", args=[first.serial]) not in html
    assert reverse("certificates:parent_pdf", args=[second.serial]) in html
