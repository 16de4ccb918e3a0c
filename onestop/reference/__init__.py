"""Reference data (ethnic groups, divisions, institutions, banks) and resident ID numbers.

Pure Python; imports no Django.
"""

from onestop.reference.domain import (
    Bank,
    BankBranch,
    Division,
    EthnicGroup,
    Institution,
    InstitutionKind,
    ReferenceData,
    default_reference,
    division_in,
    load_reference,
)
from onestop.reference.idnumber import (
    IdProblem,
    InvalidIdNumber,
    ResidentId,
    is_valid_resident_id,
    make_resident_id,
    mask_id_number,
    mask_name,
    mask_phone,
    parse_resident_id,
)

__all__ = [
    "Bank",
    "BankBranch",
    "Division",
    "EthnicGroup",
    "IdProblem",
    "Institution",
    "InstitutionKind",
    "InvalidIdNumber",
    "ReferenceData",
    "ResidentId",
    "default_reference",
    "division_in",
    "is_valid_resident_id",
    "load_reference",
    "make_resident_id",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "parse_resident_id",
]
