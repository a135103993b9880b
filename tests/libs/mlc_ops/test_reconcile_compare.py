from __future__ import annotations

from mlc_ops.reconcile_compare import compare, differing_fields


def test_each_record_lands_in_one_of_four_groups() -> None:
    expected = {
        "01-A": {"Account_Name": "Alpha", "Phone": "1"},
        "01-B": {"Account_Name": "Beta", "Phone": "2"},
        "01-C": {"Account_Name": "Gamma"},
    }
    zoho = {
        "01-A": {"id": "1", "Account_Name": "Alpha ", "Phone": "1"},
        "01-B": {"id": "2", "Account_Name": "Beta", "Phone": "9"},
        "01-Z": {"id": "3", "Account_Name": "Zombie"},
    }
    found = {f.key: f for f in compare("ar_customer", expected, zoho)}
    assert found["01-A"].status == "equal"
    assert found["01-B"].status == "different" and found["01-B"].fields == ("Phone",)
    assert found["01-C"].status == "only_in_sage" and found["01-C"].zoho_id is None
    assert found["01-Z"].status == "only_in_zoho" and found["01-Z"].zoho_id == "3"


def test_missing_and_empty_are_the_same_but_a_lost_value_is_a_difference() -> None:
    assert differing_fields({"Fax": ""}, {}) == ()
    assert differing_fields({"Fax": "555"}, {"Fax": None}) == ("Fax",)
