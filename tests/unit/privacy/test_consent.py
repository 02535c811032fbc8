"""Who may be contacted for a purpose."""

from __future__ import annotations

import pytest

from retailor.privacy.consent import UnknownPurposeError, check_purpose, may_contact


@pytest.mark.parametrize(
    ("consent", "purpose", "required", "expected"),
    [
        ({}, "marketing_email", False, True),
        ({}, "marketing_email", True, False),
        ({"marketing_email": False}, "marketing_email", False, False),
        ({"marketing_email": True}, "marketing_email", True, True),
        ({"analytics": False}, "marketing_email", False, True),
        ({}, "marketing", False, True),
        ({}, "marketing", True, False),
        ({"marketing_sms": False, "marketing_email": True}, "marketing", False, False),
        ({"marketing_sms": True}, "marketing", True, True),
        ({"personalization": False}, "marketing", False, True),
    ],
)
def test_may_contact(
    consent: dict[str, bool], purpose: str, required: bool, expected: bool
) -> None:
    assert may_contact(consent, purpose, required=required) is expected


def test_purposes_are_checked() -> None:
    assert check_purpose("marketing") == "marketing"
    with pytest.raises(UnknownPurposeError, match="use one of marketing, personalization"):
        check_purpose("telepathy")
