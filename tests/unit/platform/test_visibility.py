"""Who may see which record, and how a customer's phone, address and name are shown to
each role: pure functions of the bound principal."""

from __future__ import annotations

import pytest

from repairline_platform import personal, visibility
from repairline_platform.auth import SYSTEM, Principal, bound_principal
from repairline_platform.personal import Disclosure, Hasher, disclosed, mask_address, mask_phone
from repairline_platform.visibility import Owners
from repairline_rules.refusals import NotFound

EVERY = frozenset({"agent", "dispatcher", "engineer", "dealer", "quality", "analyst"})


def caller(*roles: str, regions: tuple[str, ...] = (), **claims: str) -> Principal:
    granted = frozenset(roles)
    p = Principal(f"sub-{'-'.join(roles)}", granted, regions=frozenset(regions), **claims)
    return p.acting(granted)


def test_a_dispatcher_of_cn_east_does_not_see_a_cn_north_record():
    east = caller("dispatcher", regions=("cn-east",))
    assert visibility.admits(east, "cn-east")
    assert not visibility.admits(east, "cn-north")
    assert not visibility.admits(east, None)  # a record of no known region is not his


def test_a_head_office_role_without_regions_sees_every_region():
    assert visibility.admits(caller("billing"), "cn-north")
    assert visibility.admits(SYSTEM, "cn-north", Owners(engineer_id="eng-1"))


def test_an_engineer_sees_only_the_jobs_assigned_to_him():
    eng = caller("engineer", regions=("cn-east",), engineer_id="eng-1")
    assert visibility.admits(eng, "cn-east", Owners(engineer_id="eng-1"))
    assert not visibility.admits(eng, "cn-east", Owners(engineer_id="eng-2"))
    assert not visibility.admits(eng, "cn-east", Owners())  # unassigned


def test_an_engineer_who_is_also_dispatcher_is_scoped_by_region_only():
    both = caller("engineer", "dispatcher", regions=("cn-east",), engineer_id="eng-1")
    assert visibility.admits(both, "cn-east", Owners(engineer_id="eng-2"))


def test_a_dealer_and_a_customer_see_only_their_own_tickets():
    dealer = caller("dealer", dealer_id="dl-1")
    customer = caller("customer", customer_id="app-7")
    assert visibility.admits(dealer, "cn-east", Owners(dealer_id="dl-1"))
    assert not visibility.admits(dealer, "cn-east", Owners(dealer_id="dl-2"))
    assert visibility.admits(customer, "cn-east", Owners(customer_id="app-7"))
    assert not visibility.admits(customer, "cn-east", Owners(dealer_id="dl-1"))


def test_an_own_records_role_without_its_claim_sees_nothing():
    assert not visibility.admits(caller("dealer"), "cn-east", Owners(dealer_id=None))


def test_check_answers_the_text_of_a_missing_record_for_one_out_of_scope():
    with bound_principal(caller("dispatcher", regions=("cn-east",))):
        with pytest.raises(NotFound, match="no ticket T-1"):
            visibility.check("no ticket T-1", "cn-north")
        visibility.check("no ticket T-1", "cn-east")


def test_the_list_filter_of_a_regional_engineer_names_both_columns_with_numbered_args():
    eng = caller("engineer", regions=("cn-east", "cn-south"), engineer_id="eng-1")
    f = visibility.sql_filter(3, region="b.region", engineer="b.engineer_id", p=eng)
    assert f.sql == " and b.region = any($3::text[]) and (b.engineer_id = $4)"
    assert f.args == (["cn-east", "cn-south"], "eng-1")


def test_the_list_filter_is_empty_for_head_office_and_false_for_an_unmatched_own_role():
    assert visibility.sql_filter(1, p=caller("billing")) == visibility.Filter("", ())
    dealer = caller("dealer", dealer_id="dl-1")
    assert visibility.sql_filter(1, engineer="engineer_id", p=dealer).sql == " and false"


@pytest.mark.parametrize(
    ("roles", "how"),
    [
        (("agent",), Disclosure.CLEAR),
        (("dispatcher",), Disclosure.CLEAR),
        (("quality",), Disclosure.CLEAR),
        (("billing",), Disclosure.MASKED),
        (("admin",), Disclosure.MASKED),
        (("engineer",), Disclosure.MASKED),
        (("analyst",), Disclosure.PSEUDONYMISED),
        (("analyst", "agent"), Disclosure.CLEAR),
    ],
)
def test_disclosure_per_role(roles: tuple[str, ...], how: Disclosure):
    assert visibility.disclosure(p=caller(*roles)) is how


def test_an_engineer_sees_the_contact_of_his_open_job_only():
    eng = caller("engineer", engineer_id="eng-1")
    assert visibility.disclosure(engineer_on_open_job=True, p=eng) is Disclosure.CLEAR
    assert visibility.disclosure(engineer_on_open_job=False, p=eng) is Disclosure.MASKED


def test_phones_are_masked_to_their_first_three_and_last_four_digits():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_phone("0571-8888 1234") == "057****1234"


def test_addresses_are_cut_to_their_city_and_district():
    assert mask_address("浙江省杭州市西湖区文三路90号3幢") == "浙江省杭州市西湖区…"
    assert mask_address("北京市朝阳区建国路1号") == "北京市朝阳区…"
    assert mask_address("88 Example Road, Hangzhou") == "…, Hangzhou"


CONTACT = {"customer_name": "Li Wei", "mobile": "13812345678", "address": "1 Test Road"}
KINDS = {"customer_name": "name", "mobile": "mobile", "address": "address"}


def test_masked_contact_hides_the_name_phone_and_street():
    shown = disclosed(CONTACT, KINDS, Disclosure.MASKED)
    assert shown == {"customer_name": "L*", "mobile": "138****5678", "address": "…"}


def test_an_analyst_gets_masked_phones_and_the_exports_keyed_hash(
    monkeypatch: pytest.MonkeyPatch,
):
    key = "k" * 32
    monkeypatch.setenv("REPAIRLINE_EXPORT_HASH_KEY", key)
    personal.configured_hasher.cache_clear()
    try:
        shown = disclosed(CONTACT, KINDS, Disclosure.PSEUDONYMISED)
    finally:
        personal.configured_hasher.cache_clear()
    export_hash = Hasher(key.encode())
    assert shown["mobile"] == "138****5678"
    assert shown["mobile_key"] == export_hash("mobile", "138 1234 5678")  # same as exports
    assert shown["customer_name"] == export_hash("name", "Li Wei")
    assert shown["address"] == export_hash("address", "1 Test Road")


def test_without_a_key_an_analyst_gets_masked_values_never_clear_ones(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.delenv("REPAIRLINE_EXPORT_HASH_KEY", raising=False)
    personal.configured_hasher.cache_clear()
    shown = disclosed(CONTACT, KINDS, Disclosure.PSEUDONYMISED)
    assert shown == disclosed(CONTACT, KINDS, Disclosure.MASKED)


def test_error_texts_lose_the_records_personal_values_and_phone_numbers():
    raw = b'{"data": {"customer": {"name": "Test Customer", "address": "1 Test Road"}}}'
    text = "handler failed: DataError: '13900000000' at 1 Test Road for Test Customer"
    cleaned = personal.scrubbed(text, personal.personal_values(raw))
    assert "13900000000" not in cleaned
    assert "1 Test Road" not in cleaned
    assert "Test Customer" not in cleaned
    assert cleaned.startswith("handler failed: DataError:")
    assert personal.scrubbed("offset 12 on 2026-12-05") == "offset 12 on 2026-12-05"


def test_a_dealer_bound_without_the_routes_grant_is_still_limited_to_its_own_tickets():
    unacted = Principal("dl", frozenset({"dealer"}), dealer_id="dl-1")
    assert not visibility.admits(unacted, "cn-east", Owners(dealer_id="dl-2"))
    assert visibility.admits(unacted, "cn-east", Owners(dealer_id="dl-1"))
