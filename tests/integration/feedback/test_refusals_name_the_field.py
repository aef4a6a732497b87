"""A callback's refusals name the field, through feedback's real HTTP app on the real
PostgreSQL (FBK-5): a reached customer's callback without a grade names `grade`; a
dissatisfied one without a reason names `reason`, not the whole body."""

from __future__ import annotations

import pytest

from tests.support.served import served


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reached": True, "grade": "dissatisfied"}, "reason"),
        ({"reached": True, "grade": "dissatisfied", "reason": "   "}, "reason"),
        ({"reached": True}, "grade"),
    ],
)
async def test_fbk_5_a_callback_refusal_names_the_missing_field(runtime_of, body, field):
    rt = await runtime_of("feedback")
    async with served(rt) as http:
        answer = await http.post("/callbacks/cb-1/attempts", json=body)
        assert answer.status_code == 422, answer.json()
        assert answer.json()["error"] == "validation_failed"
        assert [e["field"] for e in answer.json()["errors"]] == [field]
