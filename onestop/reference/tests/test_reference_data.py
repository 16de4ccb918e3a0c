import pytest

from onestop.reference.domain import ReferenceData, default_reference, division_in

HOSPITALS = {
    "qinbei-mch": ("钦北区妇幼保健院", "450703"),
    "qinbei-people": ("钦北区人民医院", "450703"),
    "qinbei-xiaodong": ("钦北区小董镇中心卫生院", "450703"),
    "qinbei-dasi": ("钦北区大寺镇中心卫生院", "450703"),
    "qinbei-pingji": ("钦北区平吉镇中心卫生院", "450703"),
    "qinbei-dazhi": ("钦北区大直镇中心卫生院", "450703"),
    "qinbei-nameng": ("钦北区那蒙镇中心卫生院", "450703"),
    "qinbei-bancheng": ("钦北区板城镇卫生院", "450703"),
    "qinbei-naxiang": ("钦北区板城镇那香卫生院", "450703"),
    "qinbei-qingtang": ("钦北区青塘镇卫生院", "450703"),
    "qinbei-xintang": ("钦北区新棠镇卫生院", "450703"),
    "qinbei-changtan": ("钦北区长滩镇卫生院", "450703"),
    "qinbei-guitai": ("钦北区贵台镇卫生院", "450703"),
    "qinbei-dadong": ("钦北区大垌镇卫生院", "450703"),
    "qinnan-demo": ("钦南区示范医院", "450702"),
    "lanzhou-mch": ("兰州市妇幼保健院", "620102"),
    "lanzhou-qilihe": ("兰州市七里河区人民医院", "620103"),
    "tianshui-demo": ("天水市示范妇幼保健院", "620502"),
    "xian-demo": ("西安市示范妇产医院", "610113"),
    "yuanling-people": ("沅陵县人民医院", "431222"),
    "yuanling-mch": ("沅陵县妇幼保健院", "431222"),
    "huaihua-demo": ("怀化市示范医院", "431202"),
    "fujian-mch": ("福建省妇幼保健院", "350102"),
    "fuzhou-first": ("福州市第一医院", "350103"),
    "fuzhou-jinan": ("福州市晋安区医院", "350111"),
    "minhou-demo": ("闽侯县示范医院", "350121"),
    "changchun-mch": ("长春市妇产医院", "220102"),
    "jilin-city-mch": ("吉林市妇幼保健院", "220202"),
    "shenyang-demo": ("沈阳市示范妇产医院", "210102"),
}

POLICE_STATIONS = {
    "qinbei-ps": "450703",
    "lanzhou-ps": "620102",
    "lanzhou-qilihe-ps": "620103",
    "yuanling-ps": "431222",
    "fuzhou-ps": "350102",
    "jilin-ps": "220102",
}
QINBEI_TOWNSHIPS = [
    "xiaodong", "dasi", "pingji", "dazhi", "nameng", "bancheng",
    "qingtang", "xintang", "changtan", "guitai", "dadong",
]  # fmt: skip
SERVICE_CENTERS = {
    "qinbei-sc": ("钦北区政务服务中心", "450703"),
    "lanzhou-sc": ("兰州市政务服务中心", "620102"),
    "yuanling-sc": ("沅陵县政务服务中心", "431222"),
    "fuzhou-sc": ("福州市行政服务中心", "350102"),
    "jilin-sc": ("长春市南关区政务服务中心", "220102"),
}
BANKS = {
    "boc": "中国银行",
    "icbc": "工商银行",
    "ccb": "建设银行",
    "abc": "农业银行",
    "psbc": "邮储银行",
    "rural_commercial": "农商银行",
    "other": "其他",
}


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return default_reference()


def test_default_reference_is_cached(ref: ReferenceData) -> None:
    assert default_reference() is ref


def test_tables_are_read_only(ref: ReferenceData) -> None:
    with pytest.raises(TypeError):
        ref.banks["new"] = ref.banks["boc"]  # type: ignore[index]


def test_56_recognized_groups_in_order(ref: ReferenceData) -> None:
    groups = ref.recognized_ethnic_groups
    assert len(groups) == 56
    assert [group.code for group in groups] == [f"{n:02d}" for n in range(1, 57)]
    assert len({group.name for group in groups}) == 56


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("01", "汉族"), ("02", "蒙古族"), ("03", "回族"), ("04", "藏族"), ("05", "维吾尔族"),
        ("08", "壮族"), ("10", "朝鲜族"), ("11", "满族"), ("15", "土家族"), ("16", "哈尼族"),
        ("23", "高山族"), ("29", "柯尔克孜族"), ("37", "仡佬族"), ("44", "俄罗斯族"),
        ("49", "京族"), ("55", "珞巴族"), ("56", "基诺族"),
    ],
)  # fmt: skip
def test_ethnic_group_codes(ref: ReferenceData, code: str, name: str) -> None:
    assert ref.ethnic_groups[code].name == name
    assert ref.ethnic_groups[code].recognized
    assert ref.is_ethnic_group(code)
    assert ref.ethnic_group_name(code) == name


def test_unrecognized_and_foreign_origin(ref: ReferenceData) -> None:
    assert ref.is_ethnic_group("97") and ref.is_ethnic_group("98")
    assert not ref.ethnic_groups["97"].recognized
    assert ref.ethnic_groups["98"].name == "外国血统中国籍人士"
    assert ref.ethnic_groups["01"].name_en == "Han"
    for code in ("00", "57", "96", "99", "1", "001", ""):
        assert not ref.is_ethnic_group(code)


def test_every_hospital_present(ref: ReferenceData) -> None:
    assert set(ref.hospitals) == set(HOSPITALS)
    for code, (name, division) in HOSPITALS.items():
        hospital = ref.hospitals[code]
        assert (hospital.name, hospital.division) == (name, division)
        assert hospital.kind == "hospital"
        assert hospital.midwifery
        assert ref.division_name(division) is not None
        assert ref.institution("hospital", code) == hospital


def test_police_stations(ref: ReferenceData) -> None:
    for code, division in POLICE_STATIONS.items():
        assert ref.police_stations[code].division == division
    for town in QINBEI_TOWNSHIPS:
        station = ref.police_stations[f"qinbei-{town}"]
        assert station.division == "450703"
        assert station.name.startswith("钦州市公安局钦北分局")
        assert station.name.endswith("派出所")
        assert station.kind == "police_station"
    assert ref.institution("police_station", "qinbei-mch") is None


def test_service_centers_and_banks(ref: ReferenceData) -> None:
    assert {code: (sc.name, sc.division) for code, sc in ref.service_centers.items()} == (
        SERVICE_CENTERS
    )
    assert {code: bank.name for code, bank in ref.banks.items()} == BANKS


def test_institutions_lie_in_known_divisions(ref: ReferenceData) -> None:
    for table in (ref.hospitals, ref.police_stations, ref.service_centers):
        for institution in table.values():
            assert institution.division in ref.divisions


def test_34_province_level_units(ref: ReferenceData) -> None:
    provinces = {code for code, d in ref.divisions.items() if d.parent is None}
    assert len(provinces) == 34
    assert {"110000", "450000", "620000", "710000", "810000", "820000"} <= provinces
    assert ref.division_name("820000") == "澳门特别行政区"


@pytest.mark.parametrize(
    ("code", "full_name"),
    [
        ("450703", "广西壮族自治区钦州市钦北区"),
        ("450700", "广西壮族自治区钦州市"),
        ("450000", "广西壮族自治区"),
        ("620123", "甘肃省兰州市榆中县"),
        ("620503", "甘肃省天水市麦积区"),
        ("431222", "湖南省怀化市沅陵县"),
        ("350181", "福建省福州市福清市"),
        ("220184", "吉林省长春市公主岭市"),
        ("220211", "吉林省吉林市丰满区"),
        ("610113", "陕西省西安市雁塔区"),
        ("210102", "辽宁省沈阳市和平区"),
    ],
)
def test_division_full_name(ref: ReferenceData, code: str, full_name: str) -> None:
    assert ref.division_full_name(code) == full_name


def test_division_unknown(ref: ReferenceData) -> None:
    assert ref.division_name("620199") is None
    assert ref.division_full_name("620199") is None


def test_requested_divisions_present(ref: ReferenceData) -> None:
    requested = [
        "620102", "620103", "620104", "620105", "620111", "620121", "620122", "620123", "620502",
        "620503", "610113", "431202", "431222", "450702", "450703", "450721", "450722", "350102",
        "350103", "350104", "350105", "350111", "350112", "350121", "350122", "350123", "350124",
        "350125", "350128", "350181", "220102", "220103", "220104", "220105", "220106", "220112",
        "220113", "220182", "220183", "220184", "220122", "220202", "220203", "220204", "220211",
        "210102",
    ]  # fmt: skip
    for code in requested:
        division = ref.divisions[code]
        assert division.parent == code[:4] + "00"
        assert ref.divisions[code[:4] + "00"].parent == code[:2] + "0000"


def test_is_well_formed_division(ref: ReferenceData) -> None:
    assert ref.is_well_formed_division("450703")
    assert ref.is_well_formed_division("629999")  # unknown district of a known province
    assert ref.is_well_formed_division("710000")
    for code in ("", "45070", "4507031", "45070a", "990101", "000000", "450703\n", "４５0703"):
        assert not ref.is_well_formed_division(code)


def test_division_in(ref: ReferenceData) -> None:
    assert ref.division_in("620123", ["62"])
    assert ref.division_in("620123", ["6201"])
    assert not ref.division_in("620502", ["6201"])
    assert ref.division_in("450703", ["450703"])
    assert not ref.division_in("450702", ["450703"])
    assert ref.division_in("350111", ["350102", "350111"])
    assert not ref.division_in("450703", [])
    assert not ref.division_in("450703", [""])
    assert division_in("220202", ("22",))
