"""hookseal.errors: the hierarchy's codes and the one table of error facts (ERROR_FACTS)."""

from __future__ import annotations

import inspect
import re

import hookseal
import pytest
from hookseal import errors
from hookseal.cli import EXIT_CODES
from hookseal.errors import ERROR_FACTS, ErrorFacts
from hookseal.integrations import STATUS_FOR_CODE
from hookseal.integrations._common import problem
from sdk_vectors import REPO

CONTRACT = REPO / "docs" / "contract.md"


def contract_section_3_codes() -> set[str]:
    text = CONTRACT.read_text(encoding="utf-8")
    section = text.split("## 3. Verification", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))


def test_the_table_covers_every_contract_code_and_the_sdks_own() -> None:
    contract = contract_section_3_codes()
    assert len(contract) == 5  # the parse found the contract's table
    sdk_own = {"invalid_payload", "invalid_configuration"}
    assert contract | sdk_own <= set(ERROR_FACTS)


def test_every_error_class_with_its_own_code_has_its_row() -> None:
    classes = [obj for _, obj in inspect.getmembers(errors, inspect.isclass)
               if issubclass(obj, hookseal.HooksealError) and obj.__module__ == errors.__name__]
    abstract = {"hookseal_error", "verification_failed"}  # base classes, never raised as such
    raised = {cls.code: cls for cls in classes if cls.code not in abstract}
    assert len(raised) == 7
    for code, cls in raised.items():
        assert ERROR_FACTS[code].error is cls
    # and every row naming a class names the class carrying its code
    for code, facts in ERROR_FACTS.items():
        assert facts.code == code
        if facts.error is not None:
            assert facts.error.code == code


def test_the_integrations_and_cli_read_the_table() -> None:
    for code, facts in ERROR_FACTS.items():
        if facts.error is not None and facts.status is not None:
            assert STATUS_FOR_CODE[code] == facts.status
        if facts.exit_code is not None:
            assert EXIT_CODES[code] == facts.exit_code
        if facts.status is not None:
            reply = problem(code, "detail")
            assert (reply.status, reply.payload["title"], reply.payload["code"]) == (facts.status, facts.title, code)
    assert set(EXIT_CODES) == {c for c, f in ERROR_FACTS.items() if f.exit_code is not None}


def test_exit_codes_are_distinct_and_clear_of_0_1_2() -> None:
    exits = [f.exit_code for f in ERROR_FACTS.values() if f.exit_code is not None]
    assert len(exits) == len(set(exits))
    assert not {0, 1, 2} & set(exits)  # 0 verified, 1 other failure, 2 usage error


def test_every_verification_failure_is_answered_4xx() -> None:
    for facts in ERROR_FACTS.values():
        if facts.error is not None and issubclass(facts.error, hookseal.WebhookVerificationError):
            assert facts.status in (400, 401)


def test_a_code_outside_the_table_is_refused_by_problem() -> None:
    with pytest.raises(KeyError):
        problem("no_such_code", "detail")


def test_the_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        ERROR_FACTS["x"] = ErrorFacts("x", "X")  # type: ignore[index]
